package fake

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
)

// Exit codes of containers the fake ends, as a shell reports them.
const (
	exitStartFailed = 128      // the start failed; nothing ran
	exitSIGTERM     = 128 + 15 // stopped by SIGTERM
	exitSIGKILL     = 128 + 9  // killed by SIGKILL
)

// container is a container. Runtime.mu guards every field. Fields are
// ordered to pack the struct into a small size class: a simulation holds
// one per container.
type container struct {
	id string
	sb *sandbox
	// config is the fake's own copy; its Labels is nil (see labels) and
	// its slices are never mutated. Neither config nor labels changes
	// after creation, so reading them needs no lock.
	config  runtime.ContainerConfig
	labels  labelSet
	imageID string

	created, started, finished stamp
	reason, message            string
	exitCode                   int32
	state                      state
	// starting is set while StartContainer waits out a StartDelay.
	starting bool
	// removed is set once RemoveContainer or RemovePodSandbox forgot it.
	removed bool

	// rule is the rule deciding the behavior, as of SetBehavior call
	// number ruleGen.
	rule    *rule
	ruleGen uint64

	// extra holds what few containers need; nil until needed, to keep
	// the many that need none small.
	extra *containerExtra
}

// state is a runtime.ContainerState in one byte.
type state uint8

const (
	stateCreated state = iota
	stateRunning
	stateExited
)

// public returns s as the runtime package names it.
func (s state) public() runtime.ContainerState {
	switch s {
	case stateCreated:
		return runtime.ContainerCreated
	case stateRunning:
		return runtime.ContainerRunning
	case stateExited:
		return runtime.ContainerExited
	}
	return runtime.ContainerUnknown
}

// containerExtra is the part of a container made on first need.
type containerExtra struct {
	// logs are the lines written so far; only ever appended to.
	logs []string
	// exitTimer is the pending scripted exit of Behavior.Exit.
	exitTimer clock.Timer
	// stats, when set by SetStats, answers ContainerStats.
	stats *runtime.Stats
	// changed, when not nil, is closed and cleared at the next change of
	// state or logs; waiters (StopContainer, ContainerLogs with Follow)
	// make it on demand.
	changed chan struct{}
	// serve runs the servers of Behavior.Serve while the container runs.
	serve *serving
}

// more returns c.extra, making it if need be.
func (c *container) more() *containerExtra {
	if c.extra == nil {
		c.extra = new(containerExtra)
	}
	return c.extra
}

// logs returns c's log lines.
func (c *container) logs() []string {
	if c.extra == nil {
		return nil
	}
	return c.extra.logs
}

// CreateContainer creates a Created container in the sandbox and emits a
// ContainerCreated event. It fails with an error matching
// runtime.ErrNotFound if the sandbox or the image is missing,
// runtime.ErrFailedPrecondition if the sandbox is stopped, and
// runtime.ErrAlreadyExists if the sandbox has a container of the same name
// and attempt.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, config runtime.ContainerConfig) (runtime.Container, error) {
	if err := r.enter(ctx, "create container"); err != nil {
		return runtime.Container{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := r.sandboxLocked(sandboxID)
	if sb == nil {
		return runtime.Container{}, fmt.Errorf("fake runtime: create container %q: sandbox %s: %w (run the sandbox first)", config.Name, sandboxID, runtime.ErrNotFound)
	}
	if !sb.ready {
		return runtime.Container{}, fmt.Errorf("fake runtime: create container %q: sandbox %s is stopped: %w; run a new sandbox", config.Name, sandboxID, runtime.ErrFailedPrecondition)
	}
	img, ok := r.images[config.Image]
	if !ok {
		return runtime.Container{}, fmt.Errorf("fake runtime: create container %q: image %q: %w (pull it first, see runtime.EnsureImage)", config.Name, config.Image, runtime.ErrNotFound)
	}
	for _, other := range sb.containers {
		if other.config.Name == config.Name && other.config.Attempt == config.Attempt {
			return runtime.Container{}, fmt.Errorf("fake runtime: create container %q attempt %d in sandbox %s: container %s: %w; remove it or create the next attempt",
				config.Name, config.Attempt, sandboxID, other.id, runtime.ErrAlreadyExists)
		}
	}
	now := r.clock.Now()
	id, key := r.newIDLocked()
	c := &container{
		id:      id,
		sb:      sb,
		imageID: img.ID,
		state:   stateCreated,
		created: r.stamp(now),
	}
	c.config, c.labels = ownContainerConfig(config)
	r.containers[key] = c
	sb.containers = append(sb.containers, c)
	r.publishLocked(c, runtime.ContainerCreatedEvent, now)
	return r.snapshotLocked(c), nil
}

// StartContainer runs a Created container, as its Behavior says: after
// StartDelay, unless FailStart fails it; it then writes Output to its log,
// emits ContainerStarted and schedules its Exit. A start that FailStart
// fails leaves the container Exited with code 128 and emits
// ContainerExited, as a runtime whose task failed to start does; the node
// agent removes such a container. StartContainer fails with an error
// matching runtime.ErrNotFound for an unknown container and
// runtime.ErrFailedPrecondition for a container that is not Created, is
// already being started, or whose sandbox is stopped.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	if err := r.enter(ctx, "start container"); err != nil {
		return err
	}
	r.mu.Lock()
	c, err := r.startableLocked(id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	var b Behavior
	attempt := 0
	if rl := r.ruleLocked(c); rl != nil {
		rl.attempts++
		b, attempt = rl.behavior, rl.attempts
	}
	if b.StartDelay > 0 {
		c.starting = true
		r.mu.Unlock()
		err := r.sleep(ctx, b.StartDelay)
		r.mu.Lock()
		c.starting = false
		if err != nil {
			r.mu.Unlock()
			return fmt.Errorf("fake runtime: start container %s: during its start delay: %w", id, err)
		}
		// The sandbox may have stopped, or the container gone, meanwhile.
		if _, err := r.startableLocked(id); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	defer r.mu.Unlock()
	now := r.clock.Now()
	if b.FailStart != nil {
		if err := b.FailStart(attempt); err != nil {
			r.exitLocked(c, exitStartFailed, runtime.ReasonError, err.Error(), now)
			return fmt.Errorf("fake runtime: start container %s: %w", id, err)
		}
	}
	if err := r.serveLocked(c, b.Serve); err != nil {
		r.exitLocked(c, exitStartFailed, runtime.ReasonError, err.Error(), now)
		return fmt.Errorf("fake runtime: start container %s: %w", id, err)
	}
	c.state = stateRunning
	c.started = r.stamp(now)
	r.running++
	r.starts[c.config.Name]++
	if len(b.Output) > 0 {
		c.more().logs = append(c.more().logs, b.Output...)
	}
	r.publishLocked(c, runtime.ContainerStartedEvent, now)
	r.notifyLocked(c)
	if e := b.Exit; e != nil {
		if e.After <= 0 {
			r.exitLocked(c, e.Code, exitReason(e.Code, e.Reason), "", now)
		} else {
			exit := *e
			c.more().exitTimer = r.clock.AfterFunc(exit.After, func() { r.scriptedExit(c, exit) })
		}
	}
	return nil
}

// startableLocked returns container id if StartContainer may start it.
func (r *Runtime) startableLocked(id string) (*container, error) {
	c := r.containerLocked(id)
	switch {
	case c == nil:
		return nil, fmt.Errorf("fake runtime: start container %s: %w", id, runtime.ErrNotFound)
	case c.state != stateCreated:
		return nil, fmt.Errorf("fake runtime: start container %s: it is %s, not Created: %w; create a new container to run again", id, c.state.public(), runtime.ErrFailedPrecondition)
	case c.starting:
		return nil, fmt.Errorf("fake runtime: start container %s: another StartContainer is starting it: %w", id, runtime.ErrFailedPrecondition)
	case !c.sb.ready:
		return nil, fmt.Errorf("fake runtime: start container %s: its sandbox %s is stopped: %w", id, c.sb.id, runtime.ErrFailedPrecondition)
	}
	return c, nil
}

// sleep waits d on the clock, or until ctx ends.
func (r *Runtime) sleep(ctx context.Context, d time.Duration) error {
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scriptedExit is the timer function of Behavior.Exit.
func (r *Runtime) scriptedExit(c *container, e Exit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.state != stateRunning {
		return // stopped, killed or removed first
	}
	c.extra.exitTimer = nil
	r.exitLocked(c, e.Code, exitReason(e.Code, e.Reason), "", r.clock.Now())
}

// exitLocked ends c with code and reason and emits ContainerExited.
func (r *Runtime) exitLocked(c *container, code int32, reason, message string, now time.Time) {
	if c.state == stateRunning {
		r.running--
	}
	r.stopServingLocked(c)
	if c.extra != nil && c.extra.exitTimer != nil {
		c.extra.exitTimer.Stop()
		c.extra.exitTimer = nil
	}
	c.state = stateExited
	c.exitCode, c.reason, c.message = code, reason, message
	c.finished = r.stamp(now)
	r.publishLocked(c, runtime.ContainerExitedEvent, now)
	r.notifyLocked(c)
}

// StopContainer stops a running container. Without Behavior.IgnoreSIGTERM
// it exits at once with code 143; with it, StopContainer waits grace on the
// clock (returning early if the container exits meanwhile) and then kills it
// with code 137. A grace of zero or less kills at once with 137. If ctx ends
// during the grace, StopContainer returns an error wrapping ctx.Err() and the
// container keeps running. Stopping a container that is missing or not
// running succeeds.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	if err := r.enter(ctx, "stop container"); err != nil {
		return err
	}
	r.mu.Lock()
	c := r.containerLocked(id)
	if c == nil || c.state != stateRunning {
		r.mu.Unlock()
		return nil
	}
	now := r.clock.Now()
	if grace <= 0 {
		r.exitLocked(c, exitSIGKILL, runtime.ReasonError, "", now)
		r.mu.Unlock()
		return nil
	}
	if !r.behaviorLocked(c).IgnoreSIGTERM && !r.drainLocked(c) {
		r.exitLocked(c, exitSIGTERM, runtime.ReasonError, "", now)
		r.mu.Unlock()
		return nil
	}
	r.mu.Unlock()

	timer := r.clock.NewTimer(grace)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if c.state != stateRunning {
			r.mu.Unlock()
			return nil
		}
		changed := c.waitLocked()
		r.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C():
			r.mu.Lock()
			if c.state == stateRunning {
				r.exitLocked(c, exitSIGKILL, runtime.ReasonError, "", r.clock.Now())
			}
			r.mu.Unlock()
			return nil
		case <-ctx.Done():
			return fmt.Errorf("fake runtime: stop container %s: it ignores SIGTERM and is still running: %w", id, ctx.Err())
		}
	}
}

// RemoveContainer removes a container, killing it first (exit code 137) if
// it runs, and emits ContainerRemoved. Removing a missing container
// succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	if err := r.enter(ctx, "remove container"); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.containerLocked(id); c != nil {
		r.removeContainerLocked(c, r.clock.Now(), true)
	}
	return nil
}

// removeContainerLocked kills c if it runs and forgets it; detach also
// takes it off its sandbox's list.
func (r *Runtime) removeContainerLocked(c *container, now time.Time, detach bool) {
	if c.state == stateRunning {
		r.exitLocked(c, exitSIGKILL, runtime.ReasonError, "killed: container removed", now)
	}
	c.removed = true
	delete(r.containers, mustKey(c.id))
	if detach {
		if i := slices.Index(c.sb.containers, c); i >= 0 {
			c.sb.containers = slices.Delete(c.sb.containers, i, i+1)
		}
	}
	r.publishLocked(c, runtime.ContainerRemovedEvent, now)
	r.notifyLocked(c)
}

// ContainerStatus returns the container, or an error matching
// runtime.ErrNotFound.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (runtime.Container, error) {
	if err := r.enter(ctx, "container status"); err != nil {
		return runtime.Container{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containerLocked(id)
	if c == nil {
		return runtime.Container{}, fmt.Errorf("fake runtime: container %s: %w", id, runtime.ErrNotFound)
	}
	return r.snapshotLocked(c), nil
}

// ListContainers returns the containers matching filter, sorted by ID.
func (r *Runtime) ListContainers(ctx context.Context, filter runtime.ContainerFilter) ([]runtime.Container, error) {
	if err := r.enter(ctx, "list containers"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listContainersLocked(filter), nil
}

func (r *Runtime) listContainersLocked(f runtime.ContainerFilter) []runtime.Container {
	var candidates []*container
	switch {
	case f.ID != "":
		if c := r.containerLocked(f.ID); c != nil {
			candidates = []*container{c}
		}
	case f.SandboxID != "":
		if sb := r.sandboxLocked(f.SandboxID); sb != nil {
			candidates = sb.containers // already in ID order
		}
	default:
		candidates = make([]*container, 0, len(r.containers))
		for _, c := range r.containers {
			candidates = append(candidates, c)
		}
		sortByID(candidates, func(c *container) string { return c.id })
	}
	var out []runtime.Container
	for _, c := range candidates {
		if (f.SandboxID == "" || c.sb.id == f.SandboxID) &&
			(f.State == "" || c.state.public() == f.State) &&
			c.labels.match(f.Labels) {
			out = append(out, r.snapshotLocked(c))
		}
	}
	return out
}

// Kill makes container id's process die now, as kill -9 from outside
// would: it becomes Exited with exitCode and reason (empty means Completed
// for code 0 and Error otherwise) and ContainerExited is emitted. It fails
// with an error matching runtime.ErrNotFound for an unknown container and
// runtime.ErrFailedPrecondition for one that is not running.
func (r *Runtime) Kill(id string, exitCode int32, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containerLocked(id)
	if c == nil {
		return fmt.Errorf("fake runtime: kill container %s: %w", id, runtime.ErrNotFound)
	}
	if c.state != stateRunning {
		return fmt.Errorf("fake runtime: kill container %s: it is %s, not Running: %w", id, c.state.public(), runtime.ErrFailedPrecondition)
	}
	r.exitLocked(c, exitCode, exitReason(exitCode, reason), "", r.clock.Now())
	return nil
}

// notifyLocked wakes whoever waits on c's next change.
func (r *Runtime) notifyLocked(c *container) {
	if c.extra != nil && c.extra.changed != nil {
		close(c.extra.changed)
		c.extra.changed = nil
	}
}

// waitLocked returns a channel closed at c's next change. Runtime.mu must be
// held.
func (c *container) waitLocked() <-chan struct{} {
	x := c.more()
	if x.changed == nil {
		x.changed = make(chan struct{})
	}
	return x.changed
}

// configCopy returns a copy of c's config that shares no memory with it.
// It needs no lock: config and labels never change.
func (c *container) configCopy() runtime.ContainerConfig {
	cfg := c.config
	cfg.Labels = c.labels.toMap()
	cfg.Command = slices.Clone(cfg.Command)
	cfg.Args = slices.Clone(cfg.Args)
	cfg.Env = slices.Clone(cfg.Env)
	cfg.Mounts = slices.Clone(cfg.Mounts)
	return cfg
}

// snapshotLocked returns a copy of c that shares no memory with it.
// Runtime.mu must be held.
func (r *Runtime) snapshotLocked(c *container) runtime.Container {
	return runtime.Container{
		ID:         c.id,
		SandboxID:  c.sb.id,
		Config:     c.configCopy(),
		ImageID:    c.imageID,
		State:      c.state.public(),
		CreatedAt:  r.timeOf(c.created),
		StartedAt:  r.timeOf(c.started),
		FinishedAt: r.timeOf(c.finished),
		ExitCode:   c.exitCode,
		Reason:     c.reason,
		Message:    c.message,
	}
}
