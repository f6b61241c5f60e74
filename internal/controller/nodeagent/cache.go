package nodeagent

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/runtime"
)

// sandboxRecord is what the agent needs to know of a pod sandbox.
type sandboxRecord struct {
	id      string
	attempt uint32
	ready   bool
	ip      string
}

func sandboxRecordOf(sb runtime.Sandbox) sandboxRecord {
	return sandboxRecord{id: sb.ID, attempt: sb.Config.Attempt, ready: sb.State == runtime.SandboxReady, ip: sb.IP}
}

// containerRecord is what the agent needs to know of a container: far less
// than runtime.Container, which carries its whole config, so that the
// cache stays small with many thousands of Pods.
type containerRecord struct {
	id, sandboxID, name string
	// hash is the container's spec hash label.
	hash    string
	imageID string
	attempt uint32
	state   runtime.ContainerState
	// exitCode, reason and message describe an exited container.
	exitCode              int32
	reason, message       string
	startedAt, finishedAt stamp
}

// stamp is a time in 8 bytes (Unix nanoseconds; 0 for none) rather than
// time.Time's 24: there is one of these per container run, and a node may
// run thousands.
type stamp int64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(t.UnixNano())
}

func (s stamp) time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

func containerRecordOf(c runtime.Container) containerRecord {
	return containerRecord{
		id:         c.ID,
		sandboxID:  c.SandboxID,
		name:       c.Config.Name,
		hash:       c.Config.Labels[runtime.LabelContainerHash],
		imageID:    c.ImageID,
		attempt:    c.Config.Attempt,
		state:      c.State,
		exitCode:   c.ExitCode,
		reason:     c.Reason,
		message:    c.Message,
		startedAt:  stampOf(c.StartedAt),
		finishedAt: stampOf(c.FinishedAt),
	}
}

// podRuntime is what the runtime holds for one Pod UID. Values handed out
// by the cache are copies.
type podRuntime struct {
	key controller.Request
	uid string
	// grace is the Pod's termination grace period, read back from the
	// labels, for killing a Pod whose object is gone.
	grace      time.Duration
	sandboxes  []sandboxRecord
	containers []containerRecord
	// touched is the cache sequence number of the last change this agent
	// made itself; a relist that began earlier must not undo it.
	touched uint64
}

func (p *podRuntime) clone() *podRuntime {
	out := *p
	out.sandboxes = slices.Clone(p.sandboxes)
	out.containers = slices.Clone(p.containers)
	return &out
}

// readySandbox returns the ready sandbox with the highest attempt.
func (p *podRuntime) readySandbox() (sandboxRecord, bool) {
	var best sandboxRecord
	found := false
	for _, sb := range p.sandboxes {
		if sb.ready && (!found || sb.attempt > best.attempt) {
			best, found = sb, true
		}
	}
	return best, found
}

// nextSandboxAttempt returns the attempt number for a new sandbox.
func (p *podRuntime) nextSandboxAttempt() uint32 {
	var next uint32
	for _, sb := range p.sandboxes {
		next = max(next, sb.attempt+1)
	}
	return next
}

// attempts returns the containers named name in sandboxID, newest attempt
// first.
func (p *podRuntime) attempts(sandboxID, name string) []containerRecord {
	var out []containerRecord
	for _, c := range p.containers {
		if c.sandboxID == sandboxID && c.name == name {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b containerRecord) int { return int(b.attempt) - int(a.attempt) })
	return out
}

func (p *podRuntime) hasSandbox(id string) bool {
	return slices.ContainsFunc(p.sandboxes, func(sb sandboxRecord) bool { return sb.id == id })
}

func (p *podRuntime) setSandbox(sb sandboxRecord) {
	if i := slices.IndexFunc(p.sandboxes, func(s sandboxRecord) bool { return s.id == sb.id }); i >= 0 {
		p.sandboxes[i] = sb
		return
	}
	p.sandboxes = append(p.sandboxes, sb)
}

func (p *podRuntime) setContainer(c containerRecord) {
	if i := slices.IndexFunc(p.containers, func(x containerRecord) bool { return x.id == c.id }); i >= 0 {
		p.containers[i] = c
		return
	}
	p.containers = append(p.containers, c)
}

func (p *podRuntime) removeContainer(id string) {
	p.containers = slices.DeleteFunc(p.containers, func(c containerRecord) bool { return c.id == id })
}

// cache is the agent's view of its runtime, rebuilt by relisting and kept
// current by the agent's own operations and the runtime's events. It is
// safe for concurrent use.
type cache struct {
	mu  sync.Mutex // guards every field
	seq uint64
	// byKey holds the UIDs under one namespace/name: normally one, two
	// while a Pod is replaced by a namesake.
	byKey map[controller.Request][]*podRuntime
}

func newCache() *cache {
	return &cache{byKey: map[controller.Request][]*podRuntime{}}
}

func (c *cache) lookupLocked(key controller.Request, uid string) *podRuntime {
	for _, p := range c.byKey[key] {
		if p.uid == uid {
			return p
		}
	}
	return nil
}

// sequence returns the current sequence number, to pass to merge.
func (c *cache) sequence() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// get returns copies of the runtime state of every UID under key.
func (c *cache) get(key controller.Request) []*podRuntime {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*podRuntime
	for _, p := range c.byKey[key] {
		out = append(out, p.clone())
	}
	return out
}

// sandboxIP returns the IP of the ready sandbox of the Pod at key with
// uid, or "".
func (c *cache) sandboxIP(key controller.Request, uid string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.lookupLocked(key, uid); p != nil {
		if sb, ok := p.readySandbox(); ok {
			return sb.ip
		}
	}
	return ""
}

func (c *cache) entryLocked(key controller.Request, uid string) *podRuntime {
	p := c.lookupLocked(key, uid)
	if p == nil {
		p = &podRuntime{key: key, uid: uid}
		c.byKey[key] = append(c.byKey[key], p)
	}
	return p
}

func (c *cache) touchLocked(p *podRuntime) {
	c.seq++
	p.touched = c.seq
}

// putSandbox records a sandbox the agent made or saw.
func (c *cache) putSandbox(key controller.Request, uid string, sb sandboxRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.entryLocked(key, uid)
	p.setSandbox(sb)
	c.touchLocked(p)
}

// putContainer records a container the agent made or saw.
func (c *cache) putContainer(key controller.Request, uid string, ctr containerRecord, grace time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.entryLocked(key, uid)
	p.setContainer(ctr)
	p.grace = grace
	c.touchLocked(p)
}

// removeContainer forgets a container the agent removed.
func (c *cache) removeContainer(key controller.Request, uid, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.lookupLocked(key, uid); p != nil {
		p.removeContainer(id)
		c.touchLocked(p)
	}
}

// removePod forgets everything of uid, after the agent tore it down.
func (c *cache) removePod(key controller.Request, uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(key, uid)
}

func (c *cache) removePodLocked(key controller.Request, uid string) {
	rest := slices.DeleteFunc(c.byKey[key], func(q *podRuntime) bool { return q.uid == uid })
	if len(rest) == 0 {
		delete(c.byKey, key)
	} else {
		c.byKey[key] = rest
	}
	c.seq++
}

// exited applies a runtime exit event. It reports the Pod's key and
// whether the container was known.
func (c *cache) exited(ev runtime.Event) (controller.Request, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := controller.Request{Namespace: ev.Labels[runtime.LabelPodNamespace], Name: ev.Labels[runtime.LabelPodName]}
	p := c.lookupLocked(key, ev.Labels[runtime.LabelPodUID])
	if p == nil {
		return key, false
	}
	i := slices.IndexFunc(p.containers, func(x containerRecord) bool { return x.id == ev.ContainerID })
	if i < 0 {
		return p.key, false
	}
	ctr := &p.containers[i]
	ctr.state = runtime.ContainerExited
	ctr.exitCode = ev.ExitCode
	ctr.reason = ev.Reason
	ctr.finishedAt = stampOf(ev.At)
	return p.key, true
}

// merge replaces the cache's view with a full listing of the runtime taken
// after sequence number since, except for Pods the agent changed after that
// (the listing may predate those changes). It returns the keys whose state
// changed.
func (c *cache) merge(since uint64, sandboxes []runtime.Sandbox, containers []runtime.Container) []controller.Request {
	listed := map[string]*podRuntime{}
	for _, sb := range sandboxes {
		uid := sb.Config.Labels[runtime.LabelPodUID]
		if uid == "" {
			continue // not Baton's
		}
		listedEntry(listed, sb.Config.Labels, uid).setSandbox(sandboxRecordOf(sb))
	}
	for _, ctr := range containers {
		uid := ctr.Config.Labels[runtime.LabelPodUID]
		if uid == "" {
			continue
		}
		p := listedEntry(listed, ctr.Config.Labels, uid)
		p.setContainer(containerRecordOf(ctr))
		p.grace = graceFromLabels(ctr.Config.Labels)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	changed := map[controller.Request]bool{}
	for key, pods := range c.byKey {
		for _, p := range pods {
			if _, ok := listed[p.uid]; !ok && p.touched <= since {
				changed[key] = true
				c.removePodLocked(key, p.uid)
			}
		}
	}
	for uid, fresh := range listed {
		cur := c.lookupLocked(fresh.key, uid)
		if cur != nil && cur.touched > since {
			continue
		}
		if cur != nil && sameRuntimeState(cur, fresh) {
			continue
		}
		p := c.entryLocked(fresh.key, uid)
		p.sandboxes, p.containers, p.grace = fresh.sandboxes, fresh.containers, fresh.grace
		changed[fresh.key] = true
	}
	return slices.Collect(maps.Keys(changed))
}

func listedEntry(listed map[string]*podRuntime, labels map[string]string, uid string) *podRuntime {
	p, ok := listed[uid]
	if !ok {
		p = &podRuntime{
			key: controller.Request{Namespace: labels[runtime.LabelPodNamespace], Name: labels[runtime.LabelPodName]},
			uid: uid,
		}
		listed[uid] = p
	}
	return p
}

func sameRuntimeState(a, b *podRuntime) bool {
	if len(a.sandboxes) != len(b.sandboxes) || len(a.containers) != len(b.containers) {
		return false
	}
	for _, sb := range a.sandboxes {
		i := slices.IndexFunc(b.sandboxes, func(x sandboxRecord) bool { return x.id == sb.id })
		if i < 0 || b.sandboxes[i].ready != sb.ready {
			return false
		}
	}
	for _, ctr := range a.containers {
		i := slices.IndexFunc(b.containers, func(x containerRecord) bool { return x.id == ctr.id })
		if i < 0 || b.containers[i].state != ctr.state || b.containers[i].exitCode != ctr.exitCode {
			return false
		}
	}
	return true
}
