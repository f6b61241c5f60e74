package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWithTimeoutEndsOnTheFakeClock(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := WithTimeout(context.Background(), f, 5*time.Second)
	defer cancel()
	f.Advance(4 * time.Second)
	if err := ctx.Err(); err != nil {
		t.Fatalf("ended after 4s of a 5s timeout: %v", err)
	}
	f.Advance(time.Second)
	<-ctx.Done()
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err = %v, want context.DeadlineExceeded", err)
	}
	// No Deadline: the standard library would read a fake clock's time as
	// real time (a dial would time out at once).
	if d, ok := ctx.Deadline(); ok {
		t.Errorf("Deadline = %s; want none, as the parent has none", d)
	}
}

// A parent cancelled with a cause of its own still reads as Canceled.
func TestWithTimeoutKeepsCanceledForOtherCauses(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	parent, stop := context.WithCancelCause(context.Background())
	ctx, cancel := WithTimeout(parent, f, time.Hour)
	defer cancel()
	stop(errors.New("shutting down"))
	<-ctx.Done()
	if err := ctx.Err(); err != context.Canceled {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
}

func TestWithTimeoutCancelAndParent(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx, cancel := WithTimeout(context.Background(), f, time.Hour)
	cancel()
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel, Err = %v, want context.Canceled", err)
	}
	parent, stop := context.WithCancel(context.Background())
	child, cancelChild := WithTimeout(parent, f, time.Hour)
	defer cancelChild()
	stop()
	<-child.Done()
	if err := child.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("after the parent ended, Err = %v, want context.Canceled", err)
	}
}
