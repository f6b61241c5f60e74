package fake

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/batonhq/baton/runtime"
)

// ContainerLogs writes the container's log lines to w, one line with its
// trailing newline per Write. With TailLines it starts with the last that
// many lines. With Follow it then waits for new lines and returns nil once
// the container has exited (or been removed) and every line is written, or
// an error wrapping ctx.Err() when ctx ends first. It fails with an error
// matching runtime.ErrNotFound for an unknown container. w is written
// without the fake's lock held.
func (r *Runtime) ContainerLogs(ctx context.Context, id string, opts runtime.LogOptions, w io.Writer) error {
	if err := r.enter(ctx, "container logs"); err != nil {
		return err
	}
	r.mu.Lock()
	c := r.containerLocked(id)
	if c == nil {
		r.mu.Unlock()
		return fmt.Errorf("fake runtime: logs of container %s: %w", id, runtime.ErrNotFound)
	}
	// The logs are only ever appended to, so the lines below index next
	// stay as they are after the lock is released.
	all := c.logs()
	pending, next := all, len(all)
	if opts.TailLines > 0 && len(pending) > opts.TailLines {
		pending = pending[len(pending)-opts.TailLines:]
	}
	var buf []byte
	for {
		done := !opts.Follow || c.removed || c.state == stateExited
		var changed <-chan struct{}
		if !done {
			changed = c.waitLocked()
		}
		r.mu.Unlock()
		for _, line := range pending {
			buf = append(append(buf[:0], line...), '\n')
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("fake runtime: logs of container %s: write: %w", id, err)
			}
		}
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("fake runtime: follow logs of container %s: %w", id, ctx.Err())
		}
		r.mu.Lock()
		all = c.logs()
		pending, next = all[next:], len(all)
	}
}

// WriteLog appends line to the log of container id, whatever its state, as
// if the container had printed it; a trailing newline is dropped. Followers
// see it at once. It fails with an error matching runtime.ErrNotFound for
// an unknown container.
func (r *Runtime) WriteLog(id, line string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.containerLocked(id)
	if c == nil {
		return fmt.Errorf("fake runtime: write log of container %s: %w", id, runtime.ErrNotFound)
	}
	x := c.more()
	x.logs = append(x.logs, strings.TrimSuffix(line, "\n"))
	r.notifyLocked(c)
	return nil
}
