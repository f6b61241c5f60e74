package clock

import (
	"context"
	"errors"
	"time"
)

// WithTimeout is context.WithTimeout on clock c: the returned context ends
// once d has passed on c, and then its Err is context.DeadlineExceeded.
// Call cancel to release it early, as with context.WithTimeout. On the
// real clock it is context.WithTimeout. On another clock its Deadline is
// the parent's: a deadline is read as real time by the standard library
// (a net.Dialer's, say), and a fake clock's time is not real time.
// Contexts derived from it see its end as context.Canceled.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if _, real := c.(realClock); real {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	timer := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return clockDeadline{ctx}, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}

// clockDeadline reports DeadlineExceeded once its timer ended it, as a
// context from context.WithTimeout does.
type clockDeadline struct{ context.Context }

func (c clockDeadline) Err() error {
	err := c.Context.Err()
	if err != nil && errors.Is(context.Cause(c.Context), context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}
