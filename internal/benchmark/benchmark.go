// Package benchmark is the scale scenario shared by the root package's
// go test benchmarks and cmd/batonbench: apply a Deployment of N replicas
// over many fake nodes and wait until every Pod is Running and ready.
package benchmark

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/pprof"
	"time"

	"github.com/batonhq/baton"
	batonruntime "github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// Config is one run of the scenario.
type Config struct {
	// Pods is the Deployment's replicas.
	Pods int
	// Nodes is the number of fake nodes; each gets room for all the Pods.
	Nodes int
	// Timeout bounds the run.
	Timeout time.Duration
	// HeapProfile, when set, receives a heap profile taken when every Pod
	// is ready, to see where the memory per Pod goes.
	HeapProfile io.Writer
}

// Result is what one run measured.
type Result struct {
	Pods  int
	Nodes int
	// Elapsed runs from the Deployment's creation until the last Pod is
	// reported ready in the Deployment's status.
	Elapsed time.Duration
	// HeapPerPod is the growth of the live heap (after a forced GC) from
	// before the Deployment to the end, divided by Pods.
	HeapPerPod float64
	// AllocsPerPod and BytesPerPod count every allocation during the run.
	AllocsPerPod float64
	BytesPerPod  float64
}

// PodsPerSecond is the throughput of the run.
func (r Result) PodsPerSecond() float64 { return float64(r.Pods) / r.Elapsed.Seconds() }

// PerPod is the wall time per Pod.
func (r Result) PerPod() time.Duration { return r.Elapsed / time.Duration(r.Pods) }

// Run runs the scenario once.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	o, stop, err := start(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer stop()

	m := startMeter()
	deployment := benchDeployment(cfg.Pods, "registry.invalid/bench:1")
	replicas := *deployment.Spec.Replicas
	watch, err := o.Deployments("default").Watch(ctx)
	if err != nil {
		return Result{}, err
	}
	m.startClock()
	if _, err := o.Deployments("default").Create(ctx, deployment); err != nil {
		return Result{}, err
	}
	for ready := false; !ready; {
		select {
		case ev := <-watch:
			ready = ev.Object.Status.ReadyReplicas == replicas
		case <-ctx.Done():
			d, _ := o.Deployments("default").Get(context.Background(), "bench")
			return Result{}, fmt.Errorf("%d of %d pods ready when the run timed out: %w", d.Status.ReadyReplicas, replicas, ctx.Err())
		}
	}
	r := m.stop(cfg)
	if cfg.HeapProfile != nil {
		if err := pprof.WriteHeapProfile(cfg.HeapProfile); err != nil {
			return Result{}, err
		}
	}
	goruntime.KeepAlive(o)
	return r, nil
}

// meter measures the time, allocations and live heap of a run.
type meter struct {
	before  goruntime.MemStats
	startAt time.Time
}

// startMeter forces a GC and notes the heap; it also starts the clock.
func startMeter() *meter {
	m := &meter{}
	goruntime.GC()
	goruntime.ReadMemStats(&m.before)
	m.startClock()
	return m
}

// startClock restarts the clock, for runs with setup after startMeter.
func (m *meter) startClock() { m.startAt = time.Now() }

// stop ends the run: its allocations, then the live heap after a forced GC.
func (m *meter) stop(cfg Config) Result {
	elapsed := time.Since(m.startAt)
	var after goruntime.MemStats
	goruntime.ReadMemStats(&after)
	allocs, bytes := after.Mallocs-m.before.Mallocs, after.TotalAlloc-m.before.TotalAlloc
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	n := float64(cfg.Pods)
	return Result{
		Pods:         cfg.Pods,
		Nodes:        cfg.Nodes,
		Elapsed:      elapsed,
		HeapPerPod:   (float64(after.HeapAlloc) - float64(m.before.HeapAlloc)) / n,
		AllocsPerPod: float64(allocs) / n,
		BytesPerPod:  float64(bytes) / n,
	}
}

// start makes and runs an Orchestrator with cfg.Nodes fake nodes, each
// with room for every Pod, and waits until all are Ready. stop ends it.
func start(ctx context.Context, cfg Config) (o *baton.Orchestrator, stop func(), err error) {
	perNode := int64(cfg.Pods/cfg.Nodes + 1)
	var opts []baton.Option
	for i := range cfg.Nodes {
		opts = append(opts, baton.WithNode(baton.NodeConfig{
			Name:    fmt.Sprintf("node-%03d", i),
			Runtime: fake.New(),
			Capacity: baton.ResourceList{
				baton.ResourceCPU:    baton.MustParseQuantity("64"),
				baton.ResourceMemory: baton.MustParseQuantity("256Gi"),
				baton.ResourcePods:   baton.MustParseQuantity(fmt.Sprint(perNode * 3)),
			},
		}))
	}
	o, err = baton.New(opts...)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(runCtx) }()
	stop = func() {
		cancel()
		<-done
	}
	if err := waitNodesReady(ctx, o, cfg.Nodes); err != nil {
		stop()
		return nil, nil, err
	}
	return o, stop, nil
}

// benchDeployment is the Deployment every scenario runs: one container
// with CPU and memory requests.
func benchDeployment(pods int, image string) *baton.Deployment {
	replicas := int32(pods)
	labels := map[string]string{"app": "bench"}
	return &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: "bench"},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec: baton.PodSpec{Containers: []baton.Container{{
					Name:  "app",
					Image: image,
					Resources: baton.ResourceRequirements{Requests: baton.ResourceList{
						baton.ResourceCPU:    baton.MustParseQuantity("10m"),
						baton.ResourceMemory: baton.MustParseQuantity("16Mi"),
					}},
				}}},
			},
		},
	}
}

func waitNodesReady(ctx context.Context, o *baton.Orchestrator, n int) error {
	watch, err := o.Nodes().Watch(ctx)
	if err != nil {
		return err
	}
	ready := map[string]bool{}
	for len(ready) < n {
		select {
		case ev := <-watch:
			if ev.Object.IsReady() {
				ready[ev.Object.Name] = true
			}
		case <-ctx.Done():
			return fmt.Errorf("%d of %d nodes ready: %w", len(ready), n, ctx.Err())
		}
	}
	return nil
}

// RunBaseline starts the same number of Pods straight on fake runtimes,
// one sandbox and one container each, with no Baton in between: the floor
// that Run's figures are compared against in the same run.
func RunBaseline(ctx context.Context, cfg Config) (Result, error) {
	runtimes := make([]*fake.Runtime, cfg.Nodes)
	for i := range runtimes {
		runtimes[i] = fake.New()
	}
	m := startMeter()
	for i := range cfg.Pods {
		rt := runtimes[i%cfg.Nodes]
		uid := fmt.Sprintf("pod-%d", i)
		sb, err := rt.RunPodSandbox(ctx, batonruntime.SandboxConfig{Name: uid, Namespace: "default", UID: uid,
			Labels: map[string]string{batonruntime.LabelPodUID: uid}})
		if err != nil {
			return Result{}, err
		}
		_, err = batonruntime.StartContainer(ctx, rt, sb.ID, batonruntime.ContainerConfig{Name: "app", Image: "registry.invalid/bench:1",
			Labels: map[string]string{batonruntime.LabelPodUID: uid, batonruntime.LabelContainerName: "app"}}, batonruntime.PullIfNotPresent)
		if err != nil {
			return Result{}, err
		}
	}
	r := m.stop(cfg)
	goruntime.KeepAlive(runtimes)
	return r, nil
}

// RunRollingUpdate measures a rolling update: a Deployment of cfg.Pods
// replicas (maxSurge 25%, maxUnavailable 25%) is brought up on cfg.Nodes
// fake nodes, then its image changes, and the clock runs from the change
// until the rollout is complete (every Pod new and available, no old one
// left).
func RunRollingUpdate(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	o, stop, err := start(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	d := benchDeployment(cfg.Pods, "registry.invalid/bench:1")
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		return Result{}, err
	}
	if err := o.Deployments("default").RolloutStatus(ctx, d.Name, nil); err != nil {
		return Result{}, err
	}
	m := startMeter()
	next := benchDeployment(cfg.Pods, "registry.invalid/bench:2")
	if _, err := o.Deployments("default").Apply(ctx, next); err != nil {
		return Result{}, err
	}
	if err := o.Deployments("default").RolloutStatus(ctx, d.Name, nil); err != nil {
		return Result{}, err
	}
	r := m.stop(cfg)
	goruntime.KeepAlive(o)
	return r, nil
}
