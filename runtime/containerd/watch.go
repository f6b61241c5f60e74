package containerd

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"
	"go.uber.org/zap"
)

// Topics of containerd's task events the Runtime follows.
const (
	topicTaskExit = "/tasks/exit"
	topicTaskOOM  = "/tasks/oom"
)

// watch follows containerd's task events until Close, resubscribing with
// backoff whenever the stream breaks (containerd restarted or is down).
// After each subscription it reconciles, so exits missed meanwhile are
// recorded, and closes synced after the first.
func (r *Runtime) watch(synced chan<- struct{}) {
	defer r.wg.Done()
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(50*time.Millisecond),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(0),
	)
	for {
		err := r.watchOnce(func() {
			bo.Reset()
			if synced != nil {
				close(synced)
				synced = nil
			}
		})
		r.ready.Store(false)
		if r.ctx.Err() != nil {
			return
		}
		wait := bo.NextBackOff()
		r.log.Info("containerd event stream broke; resubscribing", zap.Error(err), zap.Duration("after", wait))
		t := r.clock.NewTimer(wait)
		select {
		case <-t.C():
		case <-r.ctx.Done():
			t.Stop()
			return
		}
	}
}

// watchOnce subscribes, reconciles, calls onSynced and handles events
// until the stream fails.
func (r *Runtime) watchOnce(onSynced func()) error {
	ctx, cancel := context.WithCancel(r.ctx)
	ns := r.opts.namespace
	evs, errs := r.client.Subscribe(ctx,
		`namespace==`+ns+`,topic=="`+topicTaskExit+`"`,
		`namespace==`+ns+`,topic=="`+topicTaskOOM+`"`,
	)
	defer func() {
		cancel()
		for range errs { // wait for the client's receiving goroutine
		}
	}()
	if err := r.reconcile(ctx); err != nil {
		return err
	}
	r.ready.Store(true)
	r.log.Debug("subscribed to containerd's task events")
	onSynced()
	for {
		select {
		case env := <-evs:
			r.handleEvent(env)
		case err := <-errs:
			if err == nil {
				err = errors.New("event stream closed")
			}
			return err
		}
	}
}

// handleEvent acts on one task event.
func (r *Runtime) handleEvent(env *events.Envelope) {
	if env == nil || env.Event == nil {
		return
	}
	v, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		r.log.Warn("decode containerd event", zap.String("topic", env.Topic), zap.Error(err))
		return
	}
	switch e := v.(type) {
	case *apievents.TaskExit:
		if e.ID != e.ContainerID {
			return // an exec'd process, not the container's
		}
		at := e.ExitedAt.AsTime()
		r.goAsync(func() { r.onExit(e.ContainerID, int32(e.ExitStatus), at) })
	case *apievents.TaskOOM:
		r.mu.Lock()
		r.oom[e.ContainerID] = true
		r.mu.Unlock()
	}
}

// onExit records the exit of container id, unless already recorded.
func (r *Runtime) onExit(id string, code int32, at time.Time) {
	ctx, cancel := r.background(time.Minute)
	defer cancel()
	unlock := r.locks.lock(id)
	defer unlock()
	rec, err := r.getContainer(ctx, id)
	if err != nil {
		return // not ours, or removed meanwhile
	}
	if !rec.finishedAt.IsZero() {
		return
	}
	if err := r.finishLocked(ctx, rec, code, at, ""); err != nil {
		r.log.Warn("record container exit; the next reconnection retries", zap.String("container", id), zap.Error(err))
	}
}
