package baton_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// hpaHarness runs a Deployment "web" of image "app" and an autoscaler of
// it on the fake runtime and a fake clock, with scripted usage: a CPU rate
// per container (millicores) and a memory working set.
type hpaHarness struct {
	t      *testing.T
	o      *baton.Orchestrator
	fc     *clock.Fake
	ctx    context.Context
	cpu    *load
	memory atomic.Int64 // bytes
	hpas   <-chan baton.WatchEvent[*baton.HorizontalPodAutoscaler]
	// replicas records every replica count the Deployment was given.
	replicas chan int32
}

func newHPAHarness(t *testing.T, replicas int32, requests baton.ResourceList) *hpaHarness {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := &hpaHarness{t: t, fc: fc, cpu: &load{clock: fc, since: fc.Now()}, ctx: ctxFor(t), replicas: make(chan int32, 1000)}
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Usage: func(d time.Duration) runtime.Stats {
		s := h.cpu.stats(d)
		s.MemoryWorkingSetBytes = uint64(h.memory.Load())
		return s
	}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	h.o = o
	start(t, o)
	d := deploymentOf("web", replicas, "app")
	d.Spec.Template.Spec.Containers[0].Resources.Requests = requests
	if _, err := o.Deployments("default").Create(h.ctx, d); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, o, "default", "web")
	deployments, err := o.Deployments("default").Watch(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range deployments {
			select {
			case h.replicas <- *ev.Object.Spec.Replicas:
			default:
			}
		}
	}()
	if h.hpas, err = o.HorizontalPodAutoscalers("default").Watch(h.ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

// started waits for the autoscaler's first sync, on its creation. For CPU
// it only takes a first sample, as a CPU rate needs two, and says so
// (FailedGetResourceMetric); memory is measured at once.
func (h *hpaHarness) started() {
	h.t.Helper()
	h.next("a first sync", func(a *baton.HorizontalPodAutoscaler) bool {
		return a.Status.Condition("ScalingActive") != nil
	})
}

// next waits for an autoscaler status that satisfies cond.
func (h *hpaHarness) next(what string, cond func(*baton.HorizontalPodAutoscaler) bool) *baton.HorizontalPodAutoscaler {
	h.t.Helper()
	for {
		select {
		case ev := <-h.hpas:
			if cond(ev.Object) {
				return ev.Object
			}
		case <-h.ctx.Done():
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// sync waits until the Deployment has settled, advances the clock one sync
// period, and waits until the autoscaler has reported a measurement of
// want (percent of the request; the test varies the load so that each
// sync reports a new one).
func (h *hpaHarness) sync(want int32) *baton.HorizontalPodAutoscaler {
	h.t.Helper()
	waitSettled(h.t, h.o, "default", "web")
	h.fc.Advance(15 * time.Second)
	return h.next(fmt.Sprintf("a sync measuring %d%%", want), func(a *baton.HorizontalPodAutoscaler) bool {
		m := a.Status.CurrentMetrics
		return len(m) == 1 && m[0].Resource.Current.AverageUtilization != nil && *m[0].Resource.Current.AverageUtilization == want
	})
}

func (h *hpaHarness) current() int32 {
	h.t.Helper()
	d, err := h.o.Deployments("default").Get(h.ctx, "web")
	if err != nil {
		h.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// history returns the replica counts the Deployment was given, in order,
// each once.
func (h *hpaHarness) history() []int32 {
	var out []int32
	for {
		select {
		case n := <-h.replicas:
			if len(out) == 0 || out[len(out)-1] != n {
				out = append(out, n)
			}
			continue
		default:
		}
		return out
	}
}

// rescales waits until the autoscaler has recorded n SuccessfulRescale
// events and returns their messages, in no particular order.
func (h *hpaHarness) rescales(n int) []string {
	h.t.Helper()
	events, err := h.o.Events("default").Watch(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var got []string
	for ev := range events {
		if e := ev.Object; e.Reason == "SuccessfulRescale" && e.InvolvedObject.Kind == "HorizontalPodAutoscaler" && !slices.Contains(got, e.Message) {
			got = append(got, e.Message)
			if len(got) == n {
				return got
			}
		}
	}
	h.t.Fatalf("only %d SuccessfulRescale events, want %d: %q", len(got), n, got)
	return nil
}

// Memory utilization end to end: a scripted working set above the target
// scales up with a SuccessfulRescale event naming the metric; below it,
// the configured 60-second scale-down window (not the default 5 minutes)
// decides when the autoscaler scales down.
func TestAutoscalerMemoryUtilizationAndConfiguredWindow(t *testing.T) {
	h := newHPAHarness(t, 2, baton.ResourceList{baton.ResourceMemory: baton.MustParseQuantity("64Mi")})
	// At the target to begin with: memory is measured at the first sync,
	// which then changes nothing.
	h.memory.Store(32 << 20)
	_, err := h.o.Apply(h.ctx, strings.NewReader(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60}
`))
	if err != nil {
		t.Fatal(err)
	}
	h.started()
	// 48Mi of 64Mi is 75% of a 50% target: ceil(2 × 1.5) = 3.
	h.memory.Store(48 << 20)
	a := h.sync(75)
	lastThree := h.fc.Now()
	if n := h.current(); n != 3 || a.Status.DesiredReplicas != 3 {
		t.Fatalf("at 75%% memory on 2 replicas: %d replicas, desired %d; want 3", n, a.Status.DesiredReplicas)
	}
	if c := a.Status.Condition("AbleToScale"); c == nil || c.Reason != "SucceededRescale" {
		t.Errorf("AbleToScale = %+v, want SucceededRescale", c)
	}
	// Then 8Mi (12%) and 9Mi (14%) in turn: every Pod's memory is
	// measured at its first sample, so from the next sync on the
	// recommendation is 1, but the 3 holds for the 60s window.
	var scaledDown time.Time
	for i := 0; scaledDown.IsZero(); i++ {
		mi := int64(8 + i%2)
		h.memory.Store(mi << 20)
		a := h.sync(int32(mi * 100 / 64))
		if a.Status.DesiredReplicas != 3 {
			scaledDown = h.fc.Now()
		}
		if i > 20 {
			t.Fatalf("never scaled down; %d replicas", h.current())
		}
	}
	if got := scaledDown.Sub(lastThree); got != 60*time.Second {
		t.Errorf("scaled down %s after the last recommendation of 3, want the 60s window", got)
	}
	if n := h.current(); n != 1 {
		t.Errorf("scaled down to %d, want the minimum 1", n)
	}
	msgs := h.rescales(2)
	slices.Sort(msgs) // a watch lists the events already recorded in no set order
	want := []string{
		"New size: 1; reason: All metrics below target",
		"New size: 3; reason: memory resource utilization (percentage of request) above target",
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("SuccessfulRescale events %q, want %q", msgs, want)
	}
}

// Load that wavers around the target, alternately within the tolerance
// and just beyond it, moves the Deployment once and then holds it: the
// scale-down window outlasts every dip.
func TestAutoscalerDoesNotFlap(t *testing.T) {
	h := newHPAHarness(t, 4, baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("100m")})
	target := int32(50)
	_, err := h.o.HorizontalPodAutoscalers("default").Create(h.ctx, &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr(int32(1)), MaxReplicas: 10,
			Metrics: []baton.MetricSpec{{Type: baton.MetricSourceResource, Resource: &baton.ResourceMetricSource{
				Name: baton.ResourceCPU, Target: baton.MetricTarget{Type: baton.UtilizationMetricType, AverageUtilization: &target},
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.started()
	// The work is shared: a total of 190m or 230m over the replicas.
	// On 4: 47% is within the tolerance, 57% beyond it (ceil(4 × 1.14)
	// = 5). On 5: 46% is within it, 38% beyond it (ceil(5 × 0.76) = 4),
	// which only the window keeps from shrinking back to 4.
	for i := range 40 {
		total := []int64{190, 230}[i%2]
		per := total / int64(waitSettled(t, h.o, "default", "web").Status.Replicas)
		h.cpu.set(per)
		h.sync(int32(per))
	}
	if got := h.history(); !slices.Equal(got, []int32{4, 5}) {
		t.Errorf("replicas went %v over 10 minutes of wavering load, want [4 5]", got)
	}
	if msgs := h.rescales(1); msgs[0] != "New size: 5; reason: cpu resource utilization (percentage of request) above target" {
		t.Errorf("SuccessfulRescale %q", msgs[0])
	}
}

// Without a behavior, scaling up is limited as in Kubernetes: at most 4
// Pods or 100% more (whichever allows more) per 15 seconds.
func TestAutoscalerDefaultScaleUpLimit(t *testing.T) {
	h := newHPAHarness(t, 1, baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("100m")})
	target := int32(50)
	_, err := h.o.HorizontalPodAutoscalers("default").Create(h.ctx, &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MaxReplicas:    40,
			Metrics: []baton.MetricSpec{{Type: baton.MetricSourceResource, Resource: &baton.ResourceMetricSource{
				Name: baton.ResourceCPU, Target: baton.MetricTarget{Type: baton.UtilizationMetricType, AverageUtilization: &target},
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.started()
	// 500% of a 50% target asks for ceil(1 × 10) = 10; the limit is
	// max(1 + 4, 1 × 2) = 5.
	h.cpu.set(500)
	a := h.sync(500)
	if n := h.current(); n != 5 {
		t.Fatalf("from 1 replica at 500%%: %d replicas, want the limit 5", n)
	}
	if c := a.Status.Condition("ScalingLimited"); c == nil || c.Status != baton.ConditionTrue || c.Reason != "ScaleUpLimit" {
		t.Errorf("ScalingLimited = %+v, want True, ScaleUpLimit", c)
	}
	// 15s later the four new Pods have no rate yet and count as idle:
	// 510m of 500m requested is 102%, ceil(5 × 2.04) = 11; the limit is
	// now max(5 + 4, 5 × 2) = 10.
	h.cpu.set(510)
	h.sync(510)
	if n := h.current(); n != 10 {
		t.Fatalf("from 5 replicas: %d, want the limit 10", n)
	}
}

// Policies and selectPolicy from a manifest, with Kubernetes' meaning:
// scale up by at most one Pod a minute; never scale down.
func TestAutoscalerPoliciesFromManifest(t *testing.T) {
	h := newHPAHarness(t, 1, baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("100m")})
	_, err := h.o.Apply(h.ctx, strings.NewReader(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleUp:
      policies:
      - {type: Pods, value: 1, periodSeconds: 60}
    scaleDown:
      selectPolicy: Disabled
`))
	if err != nil {
		t.Fatal(err)
	}
	h.started()
	var counts []int32
	for i := range 6 {
		pct := int32(400 + i)
		h.cpu.set(int64(pct))
		a := h.sync(pct)
		counts = append(counts, h.current())
		if c := a.Status.Condition("ScalingLimited"); c == nil || c.Reason != "ScaleUpLimit" {
			t.Errorf("sync %d: ScalingLimited = %+v, want ScaleUpLimit", i, c)
		}
	}
	// One Pod at the first sync, then none until that change is 60s
	// old (a change counts while it is less than a period old).
	if want := []int32{2, 2, 2, 2, 3, 3}; !slices.Equal(counts, want) {
		t.Errorf("replicas at successive syncs %v, want %v", counts, want)
	}
	// Idle for longer than any window: scaling down is disabled.
	for i := range 25 {
		pct := int32(1 + i%2)
		h.cpu.set(int64(pct))
		h.sync(pct)
	}
	if n := h.current(); n != 3 {
		t.Errorf("scaled down to %d with scaleDown.selectPolicy Disabled", n)
	}
}
