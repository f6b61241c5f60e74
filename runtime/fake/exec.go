package fake

import (
	"context"
	"fmt"
	"io"

	"github.com/batonhq/baton/runtime"
)

// Exec runs cmd in a running container by calling its Behavior.Exec (by
// default: exit code 0, no output) and returns the exit code. Stdin is
// ignored. It fails with an error matching runtime.ErrNotFound for an
// unknown container and runtime.ErrFailedPrecondition for one that is not
// running.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string, opts runtime.ExecOptions) (int, error) {
	if err := r.enter(ctx, "exec"); err != nil {
		return 0, err
	}
	r.mu.Lock()
	c, err := r.runningLocked(id, "exec in")
	var b Behavior
	if err == nil {
		b = r.behaviorLocked(c)
	}
	r.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if b.Exec == nil {
		return 0, nil
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return b.Exec(cmd, stdout, stderr), nil
}

// ContainerStats reports a running container's usage: what SetStats set,
// else what its Behavior.Usage says, else zero usage. The Timestamp is the
// clock's now unless the source set one. It fails with an error matching
// runtime.ErrNotFound for an unknown container and
// runtime.ErrFailedPrecondition for one that is not running.
func (r *Runtime) ContainerStats(ctx context.Context, id string) (runtime.Stats, error) {
	if err := r.enter(ctx, "container stats"); err != nil {
		return runtime.Stats{}, err
	}
	r.mu.Lock()
	c, err := r.runningLocked(id, "stats of")
	if err != nil {
		r.mu.Unlock()
		return runtime.Stats{}, err
	}
	now := r.clock.Now()
	var s runtime.Stats
	switch usage := r.behaviorLocked(c).Usage; {
	case c.extra != nil && c.extra.stats != nil:
		s = *c.extra.stats
		r.mu.Unlock()
	case usage != nil:
		elapsed := now.Sub(r.timeOf(c.started))
		r.mu.Unlock()
		s = usage(elapsed)
	default:
		r.mu.Unlock()
	}
	if s.Timestamp.IsZero() {
		s.Timestamp = now
	}
	return s, nil
}

// SetStats makes ContainerStats of container id report s from now on,
// overriding Behavior.Usage, until the container is removed. A zero
// s.Timestamp is reported as the clock's now. It fails with an error
// matching runtime.ErrNotFound for an unknown container.
func (r *Runtime) SetStats(id string, s runtime.Stats) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containerLocked(id)
	if c == nil {
		return fmt.Errorf("fake runtime: set stats of container %s: %w", id, runtime.ErrNotFound)
	}
	c.more().stats = &s
	return nil
}

// runningLocked returns container id if it is running; verb names the
// operation in errors.
func (r *Runtime) runningLocked(id, verb string) (*container, error) {
	c := r.containerLocked(id)
	if c == nil {
		return nil, fmt.Errorf("fake runtime: %s container %s: %w", verb, id, runtime.ErrNotFound)
	}
	if c.state != stateRunning {
		return nil, fmt.Errorf("fake runtime: %s container %s: it is %s, not Running: %w", verb, id, c.state.public(), runtime.ErrFailedPrecondition)
	}
	return c, nil
}
