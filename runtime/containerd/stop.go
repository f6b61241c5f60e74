package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"github.com/batonhq/baton/runtime"
)

// StopContainer stops a running container: it sends the image's stop
// signal (SIGTERM unless the image says otherwise), waits up to grace on the
// Runtime's clock for the container to exit, then sends SIGKILL; it returns
// once the exit is recorded (and reported). A grace of zero or less sends
// SIGKILL at once. If ctx ends first, StopContainer returns an error wrapping
// ctx.Err() and the container may keep running. Stopping a container that is
// missing or not running succeeds.
func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	ctx, err := r.enter(ctx)
	if err != nil {
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	return r.stopLocked(ctx, id, grace, "")
}

// stopLocked stops container id as StopContainer does, recording message
// with its exit. The caller holds id's lock.
func (r *Runtime) stopLocked(ctx context.Context, id string, grace time.Duration, message string) error {
	rec, err := r.getContainer(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !rec.finishedAt.IsZero() {
		return nil
	}
	t, err := r.getTask(ctx, id)
	if err != nil || t == nil {
		return err
	}
	switch t.Status {
	case task.Status_STOPPED:
		return r.finishTask(rec, t, message)
	case task.Status_CREATED:
		return nil // never started
	}

	wctx, cancel := context.WithCancel(ctx)
	exited := r.waitTask(wctx, id)
	defer func() {
		cancel()
		for range exited { // wait for the Wait call to return
		}
	}()
	kill := func(sig string) error {
		_, err := r.client.TaskService().Kill(ctx, &tasks.KillRequest{ContainerID: id, Signal: uint32(signalNumber(sig))})
		if err != nil && !errdefs.IsNotFound(native(err)) {
			return wrapErr(err, "signal container %s with %s", id, sig)
		}
		return nil
	}
	var res waitResult
	got := false
	if grace > 0 {
		if err := kill(rec.stopSignal); err != nil {
			return err
		}
		timer := r.clock.NewTimer(grace)
		select {
		case res, got = <-exited:
		case <-timer.C():
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("containerd runtime: stop container %s: it is still running: %w", id, ctx.Err())
		}
		timer.Stop()
	}
	if !got {
		if err := kill("SIGKILL"); err != nil {
			return err
		}
		select {
		case res, got = <-exited:
		case <-ctx.Done():
			return fmt.Errorf("containerd runtime: stop container %s: it was sent SIGKILL but has not exited yet: %w", id, ctx.Err())
		}
	}
	if !got || res.err != nil {
		err := errors.New("the wait for its exit ended")
		if got {
			err = res.err
		}
		return wrapErr(err, "stop container %s", id)
	}
	cctx, ccancel := r.background(time.Minute)
	defer ccancel()
	return r.finishLocked(cctx, rec, res.code, res.at, message)
}

// waitResult is how a task ended.
type waitResult struct {
	code int32
	at   time.Time
	err  error
}

// waitTask waits for container id's task to exit. The channel gets one
// result, or none if ctx ends first, and is then closed.
func (r *Runtime) waitTask(ctx context.Context, id string) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		defer close(ch)
		resp, err := r.client.TaskService().Wait(ctx, &tasks.WaitRequest{ContainerID: id})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			ch <- waitResult{err: err}
			return
		}
		ch <- waitResult{code: int32(resp.ExitStatus), at: resp.ExitedAt.AsTime()}
	}()
	return ch
}

// finishTask records the exit of rec's stopped task t.
func (r *Runtime) finishTask(rec containerRecord, t *task.Process, message string) error {
	ctx, cancel := r.background(time.Minute)
	defer cancel()
	return r.finishLocked(ctx, rec, int32(t.ExitStatus), t.ExitedAt.AsTime(), message)
}

// finishLocked records that rec exited with code at at: it waits briefly
// for the last of its output, stores the exit on its record, reports
// ContainerExited, and deletes its task (stopping containerd's shim) and
// FIFOs. The caller holds rec's lock.
func (r *Runtime) finishLocked(ctx context.Context, rec containerRecord, code int32, at time.Time, message string) error {
	if at.IsZero() || at.Unix() <= 0 {
		at = r.clock.Now()
	}
	reason := runtime.ReasonCompleted
	if code != 0 {
		reason = runtime.ReasonError
	}
	if r.oomKilled(ctx, rec, code) {
		reason = runtime.ReasonOOMKilled
	}
	// The shim closes the FIFOs once the process is gone; wait for the
	// copy to drain so the log is whole once the exit shows.
	l := r.activeLog(rec.id)
	waitLog(l, time.Second)
	if len(message) > maxMessage {
		message = message[:maxMessage]
	}
	err := r.updateLabels(ctx, rec.id, map[string]string{
		labelFinishedAt: timeLabel(at),
		labelExitCode:   strconv.Itoa(int(code)),
		labelReason:     reason,
		labelMessage:    message,
	})
	if err != nil {
		return fmt.Errorf("containerd runtime: record the exit of container %s: %w", rec.id, err)
	}
	rec.finishedAt, rec.exitCode, rec.reason, rec.message = at, code, reason, message
	r.publish(rec, runtime.ContainerExitedEvent, at)
	r.mu.Lock()
	delete(r.oom, rec.id)
	r.mu.Unlock()
	if _, err := r.client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: rec.id}); err != nil && !errdefs.IsNotFound(native(err)) {
		// The reconciliation after the next reconnection retries.
		r.log.Warn("delete the task of an exited container", zap.String("container", rec.id), zap.Error(err))
	}
	// With the shim gone nothing writes any more: should the copy still
	// not have ended, end it, so followers of the log return.
	if !waitLog(l, 2*time.Second) {
		r.log.Warn("a container's output did not end with it; stopped copying it", zap.String("container", rec.id))
		l.detach()
	}
	_ = os.RemoveAll(r.fifoPath(rec.id))
	return nil
}

// waitLog waits up to d for l (if not nil) to end, and reports whether it
// has.
func waitLog(l *logFile, d time.Duration) bool {
	if l == nil {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-l.done:
		return true
	case <-t.C:
		return false
	}
}

// RemoveContainer removes a container: it kills it first if it runs (its
// exit recorded with the message "killed: container removed"), then
// deletes its task, snapshot, record and logs, and reports
// ContainerRemoved. Removing a missing container succeeds.
func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx, err := r.enter(ctx)
	if err != nil {
		return err
	}
	return r.removeContainer(ctx, id)
}

func (r *Runtime) removeContainer(ctx context.Context, id string) error {
	unlock := r.locks.lock(id)
	defer unlock()
	if err := r.stopLocked(ctx, id, 0, "killed: container removed"); err != nil {
		return err
	}
	rec, err := r.getContainer(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := r.client.TaskService().Delete(ctx, &tasks.DeleteTaskRequest{ContainerID: id}); err != nil && !errdefs.IsNotFound(native(err)) {
		return wrapErr(err, "remove container %s: delete its task", id)
	}
	if l := r.activeLog(id); l != nil {
		l.detach()
	}
	if err := r.client.SnapshotService(r.opts.snapshotter).Remove(ctx, id); err != nil && !errdefs.IsNotFound(native(err)) {
		return wrapErr(err, "remove container %s: remove its snapshot", id)
	}
	if err := r.client.ContainerService().Delete(ctx, id); err != nil && !errdefs.IsNotFound(native(err)) {
		return wrapErr(err, "remove container %s", id)
	}
	_ = os.RemoveAll(r.fifoPath(id))
	path := r.logPath(rec.sandboxID, id)
	_ = os.Remove(path)
	for n := 1; n < r.opts.logMaxFiles; n++ {
		_ = os.Remove(rotatedPath(path, n))
	}
	r.mu.Lock()
	delete(r.started, id)
	r.mu.Unlock()
	r.publish(rec, runtime.ContainerRemovedEvent, r.clock.Now())
	return nil
}
