package containerd

import (
	"context"
	"fmt"

	cg1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cg2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/typeurl/v2"

	"github.com/batonhq/baton/runtime"
)

// ContainerStats returns the running container's usage from its cgroup,
// as containerd's shim reads it (cgroup v1 or v2): cumulative CPU time, and
// the memory working set as the kubelet computes it (usage less inactive
// file pages). It fails with an error matching runtime.ErrNotFound for an
// unknown container and runtime.ErrFailedPrecondition for one that is not
// running.
func (r *Runtime) ContainerStats(ctx context.Context, id string) (runtime.Stats, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Stats{}, err
	}
	if _, err := r.getContainer(ctx, id); err != nil {
		return runtime.Stats{}, err
	}
	t, err := r.getTask(ctx, id)
	if err != nil {
		return runtime.Stats{}, err
	}
	if t == nil || t.Status != task.Status_RUNNING {
		return runtime.Stats{}, errorf(runtime.ErrFailedPrecondition, "stats of container %s: it is not running", id)
	}
	m, err := r.metrics(ctx, id)
	if err != nil {
		return runtime.Stats{}, err
	}
	st := runtime.Stats{Timestamp: r.clock.Now()}
	switch m := m.(type) {
	case *cg1.Metrics:
		if m.CPU != nil && m.CPU.Usage != nil {
			st.CPUUsageNanos = m.CPU.Usage.Total
		}
		if m.Memory != nil && m.Memory.Usage != nil {
			st.MemoryWorkingSetBytes = workingSet(m.Memory.Usage.Usage, m.Memory.TotalInactiveFile)
		}
	case *cg2.Metrics:
		if m.CPU != nil {
			st.CPUUsageNanos = m.CPU.UsageUsec * 1000
		}
		if m.Memory != nil {
			st.MemoryWorkingSetBytes = workingSet(m.Memory.Usage, m.Memory.InactiveFile)
		}
	}
	return st, nil
}

// workingSet is usage less inactive file pages, never below zero.
func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// metrics returns container id's cgroup metrics: a *cg1.Metrics or a
// *cg2.Metrics.
func (r *Runtime) metrics(ctx context.Context, id string) (any, error) {
	resp, err := r.client.TaskService().Metrics(ctx, &tasks.MetricsRequest{Filters: []string{"id==" + id}})
	if err != nil {
		return nil, wrapErr(err, "metrics of container %s", id)
	}
	if len(resp.Metrics) == 0 || resp.Metrics[0].Data == nil {
		return nil, errorf(runtime.ErrNotFound, "metrics of container %s: containerd has none", id)
	}
	v, err := typeurl.UnmarshalAny(resp.Metrics[0].Data)
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: decode the metrics of container %s: %w", id, err)
	}
	return v, nil
}

// oomKilled reports whether rec, which exited with code, was killed for
// running out of memory: containerd said so (a /tasks/oom event), or it
// was SIGKILLed under a memory limit and its cgroup counts an OOM kill.
func (r *Runtime) oomKilled(ctx context.Context, rec containerRecord, code int32) bool {
	r.mu.Lock()
	seen := r.oom[rec.id]
	r.mu.Unlock()
	if seen {
		return true
	}
	if code != 128+9 || rec.config.Resources.MemoryLimitBytes <= 0 {
		return false
	}
	m, err := r.metrics(ctx, rec.id)
	if err != nil {
		return false
	}
	switch m := m.(type) {
	case *cg1.Metrics:
		return m.MemoryOomControl != nil && m.MemoryOomControl.OomKill > 0
	case *cg2.Metrics:
		return m.MemoryEvents != nil && m.MemoryEvents.OomKill > 0
	}
	return false
}
