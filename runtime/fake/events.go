package fake

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/batonhq/baton/runtime"
)

// subscriber is one Events call. The fake appends to its queue under
// Runtime.mu, so every subscriber sees events in the same order, and its own
// goroutine feeds the channel from the queue, so the fake never waits for a
// slow reader.
type subscriber struct {
	mu sync.Mutex // guards queue
	// queue holds events not yet handed to the channel; unbounded.
	queue []queuedEvent
	// wake holds a token when queue may have grown since the feeder last
	// looked; capacity 1.
	wake chan struct{}
}

// queuedEvent is an event whose Labels map is made only when it is
// delivered, off the hot path.
type queuedEvent struct {
	event  runtime.Event
	labels labelSet
}

// Events returns a channel that receives every container event from now on
// (ContainerCreated, ContainerStarted, ContainerExited, ContainerRemoved),
// in the order they happened, each with the container's labels in a map of
// its own. Nothing is dropped: each subscriber has an unbounded queue, so a
// reader that falls behind costs memory, not events, and never slows the
// fake. The channel closes when ctx ends; the goroutine feeding it exits
// then, and undelivered events are discarded.
func (r *Runtime) Events(ctx context.Context) (<-chan runtime.Event, error) {
	if err := r.enter(ctx, "events"); err != nil {
		return nil, err
	}
	s := &subscriber{wake: make(chan struct{}, 1)}
	out := make(chan runtime.Event)
	r.mu.Lock()
	r.subs = append(r.subs, s)
	r.mu.Unlock()
	go r.feed(ctx, s, out)
	return out, nil
}

// feed moves events from s's queue to out until ctx ends, then unsubscribes
// s and closes out.
func (r *Runtime) feed(ctx context.Context, s *subscriber, out chan<- runtime.Event) {
	defer close(out)
	defer r.unsubscribe(s)
	var batch []queuedEvent
	for {
		clear(batch) // drop references to delivered events
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		for _, q := range batch {
			ev := q.event
			ev.Labels = q.labels.toMap()
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
		if len(batch) > 0 {
			continue // more may have come while we delivered
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (r *Runtime) unsubscribe(s *subscriber) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = slices.DeleteFunc(r.subs, func(other *subscriber) bool { return other == s })
}

// publishLocked queues an event about c for every subscriber.
func (r *Runtime) publishLocked(c *container, typ runtime.EventType, at time.Time) {
	if len(r.subs) == 0 {
		return
	}
	q := queuedEvent{
		event: runtime.Event{
			Type:        typ,
			ContainerID: c.id,
			SandboxID:   c.sb.id,
			At:          at,
		},
		labels: c.labels,
	}
	if typ == runtime.ContainerExitedEvent {
		q.event.ExitCode, q.event.Reason = c.exitCode, c.reason
	}
	for _, s := range r.subs {
		s.mu.Lock()
		s.queue = append(s.queue, q)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default: // a token is already waiting
		}
	}
}
