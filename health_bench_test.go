package baton_test

import (
	"context"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// BenchmarkRestartLatency kills running containers of a 100-replica
// Deployment one at a time and measures, on real time, how long the node
// agent takes from the exit to the replacement container's start (the
// first restart has no back-off). It reports the median and the 99th
// percentile.
func BenchmarkRestartLatency(b *testing.B) {
	rt := fake.New()
	o, err := baton.New(baton.WithRuntime(rt), baton.WithCrashLoopBackoff(time.Hour, time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 100, "nginx")); err != nil {
		b.Fatal(err)
	}
	if err := o.Deployments("default").RolloutStatus(ctx, "web", nil); err != nil {
		b.Fatal(err)
	}
	events, err := rt.Events(ctx)
	if err != nil {
		b.Fatal(err)
	}
	// Each container is killed once: its restart would otherwise wait an
	// hour of back-off.
	var victims []runtime.Container
	for _, c := range rt.Containers() {
		if c.State == runtime.ContainerRunning {
			victims = append(victims, c)
		}
	}
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		c := victims[i%len(victims)]
		if i >= len(victims) {
			b.Skip("more iterations than containers; use -benchtime 100x")
		}
		start := time.Now()
		if err := rt.Kill(c.ID, 1, runtime.ReasonError); err != nil {
			b.Fatal(err)
		}
		for ev := range events {
			if ev.Type == runtime.ContainerStartedEvent && ev.Labels[runtime.LabelPodUID] == c.Config.Labels[runtime.LabelPodUID] {
				latencies = append(latencies, time.Since(start))
				break
			}
		}
	}
	b.StopTimer()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[n*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkProbeCPU measures the CPU a node agent with 1,000 probed Pods
// uses. It reports two figures:
//
//   - %core-whole-at-10s-period: the whole process (node agent, relists,
//     heartbeats, store and every controller) with an exec readiness probe
//     every 10 seconds on each Pod, over 20 s of steady state: an upper
//     bound on the agent's share of one core.
//   - %core-at-1s-period and %core-at-10s-period: the CPU of probing alone,
//     from the same Deployment run twice for 3 s, with a probe every second
//     and without, and a tenth of that difference.
func BenchmarkProbeCPU(b *testing.B) {
	if testing.Short() {
		b.Skip("runs for about 40 seconds; run without -short")
	}
	measure := func(period int32, window time.Duration) time.Duration {
		rt := fake.New()
		rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: func([]string, io.Writer, io.Writer) int { return 0 }})
		o, err := baton.New(baton.WithNode(baton.NodeConfig{Name: "n", Runtime: rt,
			Capacity: baton.ResourceList{baton.ResourcePods: baton.MustParseQuantity("2000")}}))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- o.Run(ctx) }()
		defer func() { cancel(); <-done }()
		d := deploymentOf("web", 1000, "app")
		if period > 0 {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe = &baton.Probe{
				ProbeHandler:  baton.ProbeHandler{Exec: &baton.ExecAction{Command: []string{"true"}}},
				PeriodSeconds: period,
			}
		}
		if _, err := o.Deployments("default").Create(ctx, d); err != nil {
			b.Fatal(err)
		}
		if err := o.Deployments("default").RolloutStatus(ctx, "web", nil); err != nil {
			b.Fatal(err)
		}
		before := cpuTime()
		time.Sleep(window) // measuring steady state over wall time, not synchronising
		return cpuTime() - before
	}
	for range b.N {
		const window, wholeWindow = 3 * time.Second, 20 * time.Second
		idle := measure(0, window)
		busy := measure(1, window)
		perSecond := (busy - idle).Seconds() / window.Seconds()
		b.ReportMetric(perSecond*100, "%core-at-1s-period")
		b.ReportMetric(perSecond*100/10, "%core-at-10s-period")
		whole := measure(10, wholeWindow)
		b.ReportMetric(whole.Seconds()/wholeWindow.Seconds()*100, "%core-whole-at-10s-period")
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
