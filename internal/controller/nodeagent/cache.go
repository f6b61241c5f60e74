package nodeagent

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/runtime"
)

// podRuntime is what the runtime holds for one Pod UID: its sandboxes and
// containers. Values handed out by the cache are copies.
type podRuntime struct {
	key controller.Request
	uid string
	// grace is the Pod's termination grace period, read back from the
	// labels, for killing a Pod whose object is gone.
	grace time.Duration
	// sandboxes by ID; containers by ID.
	sandboxes  map[string]runtime.Sandbox
	containers map[string]runtime.Container
	// touched is the cache sequence number of the last change this agent
	// made itself; a relist that began earlier must not undo it.
	touched uint64
}

func (p *podRuntime) clone() *podRuntime {
	out := *p
	out.sandboxes = maps.Clone(p.sandboxes)
	out.containers = maps.Clone(p.containers)
	return &out
}

// readySandbox returns the ready sandbox with the highest attempt.
func (p *podRuntime) readySandbox() (runtime.Sandbox, bool) {
	var best runtime.Sandbox
	found := false
	for _, sb := range p.sandboxes {
		if sb.State == runtime.SandboxReady && (!found || sb.Config.Attempt > best.Config.Attempt) {
			best, found = sb, true
		}
	}
	return best, found
}

// nextSandboxAttempt returns the attempt number for a new sandbox.
func (p *podRuntime) nextSandboxAttempt() uint32 {
	var next uint32
	for _, sb := range p.sandboxes {
		next = max(next, sb.Config.Attempt+1)
	}
	return next
}

// attempts returns the containers named name in sandboxID, newest attempt
// first.
func (p *podRuntime) attempts(sandboxID, name string) []runtime.Container {
	var out []runtime.Container
	for _, c := range p.containers {
		if c.SandboxID == sandboxID && c.Config.Name == name {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b runtime.Container) int { return int(b.Config.Attempt) - int(a.Config.Attempt) })
	return out
}

// cache is the agent's view of its runtime, rebuilt by relisting and kept
// current by the agent's own operations and the runtime's events. It is
// safe for concurrent use.
type cache struct {
	mu    sync.Mutex // guards every field
	seq   uint64
	byUID map[string]*podRuntime
	byKey map[controller.Request]map[string]*podRuntime
}

func newCache() *cache {
	return &cache{byUID: map[string]*podRuntime{}, byKey: map[controller.Request]map[string]*podRuntime{}}
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

func (c *cache) entryLocked(key controller.Request, uid string) *podRuntime {
	p, ok := c.byUID[uid]
	if !ok {
		p = &podRuntime{key: key, uid: uid, sandboxes: map[string]runtime.Sandbox{}, containers: map[string]runtime.Container{}}
		c.byUID[uid] = p
		if c.byKey[key] == nil {
			c.byKey[key] = map[string]*podRuntime{}
		}
		c.byKey[key][uid] = p
	}
	return p
}

func (c *cache) touchLocked(p *podRuntime) {
	c.seq++
	p.touched = c.seq
}

// putSandbox records a sandbox the agent made or saw.
func (c *cache) putSandbox(key controller.Request, uid string, sb runtime.Sandbox) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.entryLocked(key, uid)
	p.sandboxes[sb.ID] = sb
	c.touchLocked(p)
}

// putContainer records a container the agent made or saw.
func (c *cache) putContainer(key controller.Request, uid string, ctr runtime.Container, grace time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.entryLocked(key, uid)
	p.containers[ctr.ID] = ctr
	p.grace = grace
	c.touchLocked(p)
}

// removeContainer forgets a container the agent removed.
func (c *cache) removeContainer(uid, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byUID[uid]; ok {
		delete(p.containers, id)
		c.touchLocked(p)
	}
}

// removePod forgets everything of uid, after the agent tore it down.
func (c *cache) removePod(uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(uid)
}

func (c *cache) removePodLocked(uid string) {
	p, ok := c.byUID[uid]
	if !ok {
		return
	}
	delete(c.byUID, uid)
	delete(c.byKey[p.key], uid)
	if len(c.byKey[p.key]) == 0 {
		delete(c.byKey, p.key)
	}
	c.seq++
}

// exited applies a runtime exit event. It reports the Pod's key and
// whether the container was known.
func (c *cache) exited(ev runtime.Event) (controller.Request, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byUID[ev.Labels[runtime.LabelPodUID]]
	if !ok {
		return controller.Request{}, false
	}
	ctr, ok := p.containers[ev.ContainerID]
	if !ok {
		return p.key, false
	}
	ctr.State = runtime.ContainerExited
	ctr.ExitCode = ev.ExitCode
	ctr.Reason = ev.Reason
	ctr.FinishedAt = ev.At
	p.containers[ev.ContainerID] = ctr
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
		p := listedEntry(listed, sb.Config.Labels, uid)
		p.sandboxes[sb.ID] = sb
	}
	for _, ctr := range containers {
		uid := ctr.Config.Labels[runtime.LabelPodUID]
		if uid == "" {
			continue
		}
		p := listedEntry(listed, ctr.Config.Labels, uid)
		p.containers[ctr.ID] = ctr
		p.grace = graceFromLabels(ctr.Config.Labels)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	changed := map[controller.Request]bool{}
	for uid, p := range c.byUID {
		if _, ok := listed[uid]; !ok && p.touched <= since {
			changed[p.key] = true
			c.removePodLocked(uid)
		}
	}
	for uid, fresh := range listed {
		cur, ok := c.byUID[uid]
		if ok && cur.touched > since {
			continue
		}
		if ok && sameRuntimeState(cur, fresh) {
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
			key:        controller.Request{Namespace: labels[runtime.LabelPodNamespace], Name: labels[runtime.LabelPodName]},
			uid:        uid,
			sandboxes:  map[string]runtime.Sandbox{},
			containers: map[string]runtime.Container{},
		}
		listed[uid] = p
	}
	return p
}

func sameRuntimeState(a, b *podRuntime) bool {
	if len(a.sandboxes) != len(b.sandboxes) || len(a.containers) != len(b.containers) {
		return false
	}
	for id, sb := range a.sandboxes {
		if other, ok := b.sandboxes[id]; !ok || other.State != sb.State {
			return false
		}
	}
	for id, ctr := range a.containers {
		if other, ok := b.containers[id]; !ok || other.State != ctr.State || other.ExitCode != ctr.ExitCode {
			return false
		}
	}
	return true
}
