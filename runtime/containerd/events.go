package containerd

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/runtime"
)

// subscriber is one Events call. Events are appended to its queue under its
// own mutex and handed to the channel by its own goroutine, so publishing
// never waits for a slow reader.
type subscriber struct {
	mu sync.Mutex // guards queue
	// queue holds events not yet handed to the channel; unbounded.
	queue []runtime.Event
	// wake holds a token when queue may have grown; capacity 1.
	wake chan struct{}
}

// Events returns a channel of the container events from now on:
// ContainerCreated and ContainerStarted as this Runtime's verbs succeed,
// ContainerExited once an exit is recorded (from containerd's /tasks/exit
// events, never by polling, or by StopContainer, StopPodSandbox and
// RemoveContainer), and ContainerRemoved. Exits of containers that other
// Runtimes on the same namespace made are reported too; their creation and
// start are not. Nothing is dropped while the Runtime is connected: each
// subscriber has an unbounded queue. An exit that happens while containerd
// is down is recorded and reported when the Runtime reconnects. The channel
// closes when ctx ends or the Runtime is closed.
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, error) {
	if _, err := r.enter(ctx); err != nil {
		return nil, err
	}
	s := &subscriber{wake: make(chan struct{}, 1)}
	out := make(chan runtime.Event)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	r.subs = append(r.subs, s)
	r.wg.Add(1)
	go r.feed(ctx, s, out)
	return out, nil
}

// feed moves events from s's queue to out until ctx ends or the Runtime
// closes, then unsubscribes s and closes out.
func (r *Runtime) feed(ctx context.Context, s *subscriber, out chan<- runtime.Event) {
	defer r.wg.Done()
	defer close(out)
	defer r.unsubscribe(s)
	var batch []runtime.Event
	for {
		clear(batch)
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for _, ev := range batch {
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			case <-r.ctx.Done():
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		case <-r.ctx.Done():
			return
		}
	}
}

func (r *Runtime) unsubscribe(s *subscriber) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = slices.DeleteFunc(r.subs, func(other *subscriber) bool { return other == s })
}

// publish queues an event about c for every subscriber, each with labels
// of its own.
func (r *Runtime) publish(c containerRecord, typ runtime.EventType, at time.Time) {
	ev := runtime.Event{
		Type:        typ,
		ContainerID: c.id,
		SandboxID:   c.sandboxID,
		At:          at,
	}
	if typ == runtime.ContainerExitedEvent {
		ev.ExitCode, ev.Reason = c.exitCode, c.reason
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.subs {
		e := ev
		e.Labels = maps.Clone(c.config.Labels)
		s.mu.Lock()
		s.queue = append(s.queue, e)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}
