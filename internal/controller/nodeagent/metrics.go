package nodeagent

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/runtime"
)

// PodUsage is a Pod's measured resource use: the sum over its running
// containers.
type PodUsage struct {
	// MilliCPU is the CPU used per second, in thousandths of a core,
	// averaged since the previous measurement of the same containers.
	MilliCPU int64
	// CPUKnown is false while some container has been measured only once:
	// a CPU rate needs two readings. MilliCPU is then not to be used.
	CPUKnown bool
	// MemoryBytes is the memory working set.
	MemoryBytes int64
	// Timestamp is when it was measured, on the runtime's clock.
	Timestamp time.Time
}

// ErrNoMetrics says a Pod has no usage to report yet: none of its
// containers runs.
var ErrNoMetrics = fmt.Errorf("no metrics yet")

// cpuSample is the last cumulative CPU reading of a container, and the
// rate measured when it was taken.
type cpuSample struct {
	nanos uint64
	at    time.Time
	// milli is the rate up to at, or -1 when unknown.
	milli int64
}

// minRateWindow is the shortest time a CPU rate is measured over; a
// reading sooner than that after the last returns the last rate, so that
// frequent callers do not shrink the window to nothing.
const minRateWindow = time.Second

// PodUsage measures pod through its node's agent. Measuring is on demand,
// so nothing is sampled for Pods nobody autoscales; the CPU rate is the
// average since the previous call for the same containers.
func (m *Manager) PodUsage(ctx context.Context, pod *api.Pod) (PodUsage, error) {
	a := m.agents[pod.Spec.NodeName]
	if a == nil {
		return PodUsage{}, fmt.Errorf("pod %s is on node %q, which has no agent: %w", pod.Key(), pod.Spec.NodeName, ErrNoMetrics)
	}
	return a.podUsage(ctx, pod)
}

func (a *Agent) podUsage(ctx context.Context, pod *api.Pod) (PodUsage, error) {
	var rec *podRuntime
	for _, r := range a.cache.get(controller.RequestFor(pod)) {
		if r.uid == pod.UID {
			rec = r
		}
	}
	if rec == nil {
		return PodUsage{}, fmt.Errorf("pod %s: %w", pod.Key(), ErrNoMetrics)
	}
	var usage PodUsage
	measured, rated := 0, 0
	for _, c := range rec.containers {
		if c.state != runtime.ContainerRunning {
			continue
		}
		stats, err := a.rt.ContainerStats(ctx, c.id)
		if err != nil {
			return PodUsage{}, fmt.Errorf("stats of pod %s container %s: %w", pod.Key(), c.name, err)
		}
		measured++
		usage.MemoryBytes += int64(stats.MemoryWorkingSetBytes)
		if stats.Timestamp.After(usage.Timestamp) {
			usage.Timestamp = stats.Timestamp
		}
		if milli, ok := a.cpuRate(c.id, stats); ok {
			usage.MilliCPU += milli
			rated++
		}
	}
	if measured == 0 {
		return PodUsage{}, fmt.Errorf("pod %s: %w", pod.Key(), ErrNoMetrics)
	}
	usage.CPUKnown = rated == measured
	return usage, nil
}

// cpuRate records a container's CPU reading and returns its rate since the
// previous one, in millicores; false when there is no previous reading (or
// the counter went backwards: the container restarted).
func (a *Agent) cpuRate(id string, stats runtime.Stats) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev, ok := a.cpuSamples[id]
	if ok && stats.Timestamp.Sub(prev.at) < minRateWindow && stats.CPUUsageNanos >= prev.nanos {
		return prev.milli, prev.milli >= 0
	}
	next := cpuSample{nanos: stats.CPUUsageNanos, at: stats.Timestamp, milli: -1}
	if ok && stats.CPUUsageNanos >= prev.nanos {
		elapsed := stats.Timestamp.Sub(prev.at)
		next.milli = int64(float64(stats.CPUUsageNanos-prev.nanos) / float64(elapsed.Nanoseconds()) * 1000)
	}
	a.cpuSamples[id] = next
	return next.milli, next.milli >= 0
}

// forgetSamples drops the CPU samples of containers that are gone.
func (a *Agent) forgetSamples(rec *podRuntime) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range rec.containers {
		delete(a.cpuSamples, c.id)
	}
}
