package containerd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/batonhq/baton/runtime"
)

// ContainerStatus returns the container, or an error matching
// runtime.ErrNotFound.
func (r *Runtime) ContainerStatus(ctx context.Context, id string) (runtime.Container, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Container{}, err
	}
	rec, t, err := r.containerAndTask(ctx, id)
	if err != nil {
		return runtime.Container{}, err
	}
	if rec, err = r.recheckVanished(ctx, rec, t); err != nil {
		return runtime.Container{}, err
	}
	return r.describe(rec, t), nil
}

// containerAndTask returns container id's record and its task (nil if it
// has none), asking for both at once.
func (r *Runtime) containerAndTask(ctx context.Context, id string) (containerRecord, *task.Process, error) {
	var (
		rec        containerRecord
		t          *task.Process
		cErr, tErr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { rec, cErr = r.getContainer(ctx, id) })
	wg.Go(func() { t, tErr = r.getTask(ctx, id) })
	wg.Wait()
	if cErr != nil {
		return containerRecord{}, nil, cErr
	}
	return rec, t, tErr
}

// recheckVanished reads rec again if, with its task t, it looks like a
// container whose task vanished: started, no exit recorded, no task. The
// record and the task are read separately (at the same time), and an exit
// recorded between the two reads (its labels written, then its task
// deleted) looks just like that; the second read sees the recorded exit. A container that
// still looks vanished after it really is.
func (r *Runtime) recheckVanished(ctx context.Context, rec containerRecord, t *task.Process) (containerRecord, error) {
	if t != nil || !rec.finishedAt.IsZero() || r.describe(rec, nil).State != runtime.ContainerExited {
		return rec, nil
	}
	again, err := r.getContainer(ctx, rec.id)
	if errors.Is(err, runtime.ErrNotFound) {
		return rec, nil
	}
	return again, err
}

// ListContainers returns the containers matching filter, oldest first.
func (r *Runtime) ListContainers(ctx context.Context, filter runtime.ContainerFilter) ([]runtime.Container, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	var recs []containerRecord
	ts := map[string]*task.Process{}
	if filter.ID != "" {
		rec, t, err := r.containerAndTask(ctx, filter.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		recs = []containerRecord{rec}
		ts[filter.ID] = t
	} else {
		if recs, err = r.listContainerRecords(ctx, filter.SandboxID); err != nil {
			return nil, err
		}
		if ts, err = r.listTasks(ctx); err != nil {
			return nil, err
		}
	}
	var out []runtime.Container
	for _, rec := range recs {
		if filter.SandboxID != "" && rec.sandboxID != filter.SandboxID {
			continue
		}
		if !runtime.MatchLabels(rec.config.Labels, filter.Labels) {
			continue
		}
		rec, err := r.recheckVanished(ctx, rec, ts[rec.id])
		if err != nil {
			return nil, err
		}
		c := r.describe(rec, ts[rec.id])
		if filter.State != "" && c.State != filter.State {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// loadContainer returns container id's record and its client handle, from
// one call, or an error matching runtime.ErrNotFound.
func (r *Runtime) loadContainer(ctx context.Context, id string) (containerRecord, client.Container, error) {
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return containerRecord{}, nil, wrapErr(err, "container %s", id)
	}
	info, err := c.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return containerRecord{}, nil, wrapErr(err, "container %s", id)
	}
	rec, err := decodeContainer(info)
	return rec, c, err
}

// getContainer returns container id's record, or an error matching
// runtime.ErrNotFound.
func (r *Runtime) getContainer(ctx context.Context, id string) (containerRecord, error) {
	c, err := r.client.ContainerService().Get(ctx, id)
	if err != nil {
		return containerRecord{}, wrapErr(err, "container %s", id)
	}
	return decodeContainer(c)
}

// listContainerRecords returns the containers of sandbox sandboxID, or
// every container when it is empty, oldest first.
func (r *Runtime) listContainerRecords(ctx context.Context, sandboxID string) ([]containerRecord, error) {
	filter := `labels."` + labelKind + `"==` + kindContainer
	if sandboxID != "" {
		if strings.ContainsAny(sandboxID, `",\`) {
			return nil, nil // no ID of ours
		}
		filter += `,labels."` + labelSandbox + `"=="` + sandboxID + `"`
	}
	cs, err := r.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, wrapErr(err, "list containers")
	}
	out := make([]containerRecord, 0, len(cs))
	for _, c := range cs {
		rec, err := decodeContainer(c)
		if err != nil {
			continue
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b containerRecord) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out, nil
}

// getTask returns container id's task, or nil if it has none.
func (r *Runtime) getTask(ctx context.Context, id string) (*task.Process, error) {
	resp, err := r.client.TaskService().Get(ctx, &tasks.GetRequest{ContainerID: id})
	if err != nil {
		if errdefs.IsNotFound(native(err)) {
			return nil, nil
		}
		return nil, wrapErr(err, "task of container %s", id)
	}
	return resp.Process, nil
}

// listTasks returns every task in the namespace by container ID.
func (r *Runtime) listTasks(ctx context.Context) (map[string]*task.Process, error) {
	resp, err := r.client.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil {
		return nil, wrapErr(err, "list tasks")
	}
	out := make(map[string]*task.Process, len(resp.Tasks))
	for _, t := range resp.Tasks {
		out[t.ID] = t
	}
	return out, nil
}

// describe returns rec, whose task is t (nil if none), as the runtime
// package names containers.
func (r *Runtime) describe(rec containerRecord, t *task.Process) runtime.Container {
	if rec.startedAt.IsZero() {
		r.mu.Lock()
		rec.startedAt = r.started[rec.id]
		r.mu.Unlock()
	}
	c := runtime.Container{
		ID:        rec.id,
		SandboxID: rec.sandboxID,
		Config:    rec.config,
		ImageID:   rec.imageID,
		CreatedAt: rec.createdAt,
		StartedAt: rec.startedAt,
	}
	switch {
	case !rec.finishedAt.IsZero():
		c.State = runtime.ContainerExited
		c.FinishedAt, c.ExitCode, c.Reason, c.Message = rec.finishedAt, rec.exitCode, rec.reason, rec.message
	case t == nil && rec.startedAt.IsZero():
		c.State = runtime.ContainerCreated
	case t == nil:
		c.State = runtime.ContainerExited
		c.ExitCode, c.Reason = exitVanished, runtime.ReasonError
		c.Message = "its task is gone without a recorded exit (was the host rebooted, or containerd's state lost?)"
	case t.Status == task.Status_STOPPED:
		c.State = runtime.ContainerExited
		c.ExitCode, c.FinishedAt = int32(t.ExitStatus), t.ExitedAt.AsTime()
		c.Reason = runtime.ReasonCompleted
		if c.ExitCode != 0 {
			c.Reason = runtime.ReasonError
		}
		r.mu.Lock()
		if r.oom[rec.id] {
			c.Reason = runtime.ReasonOOMKilled
		}
		r.mu.Unlock()
	case t.Status == task.Status_RUNNING, t.Status == task.Status_PAUSED, t.Status == task.Status_PAUSING:
		c.State = runtime.ContainerRunning
	case t.Status == task.Status_CREATED:
		c.State = runtime.ContainerCreated
	default:
		c.State = runtime.ContainerUnknown
	}
	return c
}
