package nodeagent

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
)

// minGraceAfterPreStop is the least time a container gets between SIGTERM
// and SIGKILL however long its preStop hook took, as in Kubernetes.
const minGraceAfterPreStop = 2 * time.Second

// runHook runs a lifecycle handler against a container, within timeout.
func (a *Agent) runHook(ctx context.Context, pod *api.Pod, c *api.Container, containerID string, h *api.LifecycleHandler, timeout time.Duration) error {
	ctx, cancel := clock.WithTimeout(ctx, a.clock, timeout)
	defer cancel()
	switch {
	case h.Exec != nil:
		if ok, detail := a.runExec(ctx, containerID, h.Exec.Command); !ok {
			return fmt.Errorf("%s", detail)
		}
	case h.HTTPGet != nil:
		if ok, detail := a.runHTTPGet(ctx, pod, c, h.HTTPGet); !ok {
			return fmt.Errorf("%s", detail)
		}
	case h.Sleep != nil:
		t := a.clock.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stopContainer stops one container the way kubelet does: its preStop
// hook first, then SIGTERM with what is left of the grace period (never
// less than two seconds), then SIGKILL. c may be nil for a container whose
// spec is unknown (an orphan).
func (a *Agent) stopContainer(ctx context.Context, pod *api.Pod, c *api.Container, id string, grace time.Duration) error {
	if pod != nil && c != nil && c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		start := a.clock.Now()
		if err := a.runHook(ctx, pod, c, id, c.Lifecycle.PreStop, grace); err != nil {
			a.events.Warning(pod, "FailedPreStopHook", "PreStopHook failed for container %s: %v", c.Name, err)
		}
		grace = max(grace-a.clock.Since(start), minGraceAfterPreStop)
	}
	a.prober.forget(id)
	return a.rt.StopContainer(ctx, id, grace)
}

// containerSpec returns the spec of the container named name in pod, or
// nil.
func containerSpec(pod *api.Pod, name string) *api.Container {
	if pod == nil {
		return nil
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

// stopAll stops every running container of rec at once, each through
// stopContainer, before its sandbox is torn down.
func (a *Agent) stopAll(ctx context.Context, pod *api.Pod, rec *podRuntime, grace time.Duration) error {
	errs := make(chan error, len(rec.containers))
	running := 0
	for _, c := range rec.containers {
		if c.state != runtime.ContainerRunning {
			continue
		}
		running++
		go func() { errs <- a.stopContainer(ctx, pod, containerSpec(pod, c.name), c.id, grace) }()
	}
	var first error
	for range running {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
