package clock

import (
	"context"
	"time"
)

// WithTimeout is context.WithTimeout on clock c: the returned context ends
// once d has passed on c, and then its Err is context.DeadlineExceeded.
// Call cancel to release it early, as with context.WithTimeout.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if _, real := c.(realClock); real {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	timer := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return deadlineErr{ctx}, func() {
		timer.Stop()
		cancel(context.Canceled)
	}
}

// deadlineErr makes Err report the cause of the cancellation, so that a
// context ended by its timer says context.DeadlineExceeded as one from
// context.WithTimeout does.
type deadlineErr struct{ context.Context }

func (d deadlineErr) Err() error {
	if d.Context.Err() == nil {
		return nil
	}
	return context.Cause(d.Context)
}
