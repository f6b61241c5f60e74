package clock

import (
	"context"
	"errors"
	"time"
)

// WithTimeout is context.WithTimeout on clock c: the returned context ends
// once d has passed on c, and then its Err is context.DeadlineExceeded;
// Deadline reports when, on c. Call cancel to release it early, as with
// context.WithTimeout. On the real clock it is context.WithTimeout. On
// another clock, contexts derived from the returned one see its end as
// context.Canceled, as they cannot know it was a deadline.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if _, real := c.(realClock); real {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	deadline := c.Now().Add(d)
	timer := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return clockDeadline{Context: ctx, deadline: deadline}, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}

// clockDeadline reports its deadline, and DeadlineExceeded once its timer
// ended it, as a context from context.WithTimeout does.
type clockDeadline struct {
	context.Context
	deadline time.Time
}

func (c clockDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c clockDeadline) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}
