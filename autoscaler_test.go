package baton_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// load is a scripted CPU load per container, as a rate in millicores that
// the test changes; the fake runtime reports the cumulative CPU time.
type load struct {
	clock *clock.Fake
	mu    sync.Mutex // guards the fields below
	rate  int64      // millicores
	since time.Time
	cum   float64 // nanoseconds of CPU up to since
}

func (l *load) set(milli int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.cum += float64(l.rate) / 1000 * float64(now.Sub(l.since).Nanoseconds())
	l.rate, l.since = milli, now
}

func (l *load) stats(time.Duration) runtime.Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	cum := l.cum + float64(l.rate)/1000*float64(now.Sub(l.since).Nanoseconds())
	return runtime.Stats{Timestamp: now, CPUUsageNanos: uint64(cum), MemoryWorkingSetBytes: 32 << 20}
}

func TestAutoscalerScalesUpUnderLoadAndDownAfterTheWindow(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := &load{clock: fc, since: fc.Now()}
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Usage: l.stats})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	d := deploymentOf("web", 2, "app")
	d.Spec.Template.Spec.Containers[0].Resources.Requests = baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("100m")}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "2 ready pods", readyPods(2))
	minReplicas, target := int32(1), int32(50)
	_, err = o.HorizontalPodAutoscalers("default").Create(ctx, &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    5,
			Metrics: []baton.MetricSpec{{Type: baton.MetricSourceResource, Resource: &baton.ResourceMetricSource{
				Name: baton.ResourceCPU, Target: baton.MetricTarget{Type: baton.UtilizationMetricType, AverageUtilization: &target},
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Every replica count the Deployment ever has stays within [1, 5].
	replicas := make(chan int32, 100)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	deployments, _ := o.Deployments("default").Watch(watchCtx)
	go func() {
		for ev := range deployments {
			replicas <- *ev.Object.Spec.Replicas
		}
	}()
	hpas, _ := o.HorizontalPodAutoscalers("default").Watch(ctx)
	// sync waits until the Deployment has settled on its replicas, then
	// advances the clock one sync period and waits until the autoscaler
	// has reported a measurement of want percent. Without the wait, a
	// sync could measure Pods that a scale-down is about to delete: the
	// controllers pace themselves on real time, the fake clock does not.
	sync := func(want int32) *baton.HorizontalPodAutoscaler {
		t.Helper()
		waitSettled(t, o, "default", "web")
		fc.Advance(15 * time.Second)
		for {
			select {
			case ev := <-hpas:
				m := ev.Object.Status.CurrentMetrics
				if len(m) == 1 && *m[0].Resource.Current.AverageUtilization == want {
					return ev.Object
				}
			case <-ctx.Done():
				n, _ := o.Nodes().Get(context.Background(), "local")
				t.Fatalf("no sync measured %d%%; node %+v", want, n.Status.Conditions)
			}
		}
	}
	current := func() int32 {
		d, _ := o.Deployments("default").Get(ctx, "web")
		return *d.Spec.Replicas
	}

	// The first sync, on creation, only takes a first sample: a CPU rate
	// needs two. Its status says so.
	for ev := range hpas {
		if c := ev.Object.Status.Condition("ScalingActive"); c != nil && c.Reason == "FailedGetResourceMetric" {
			break
		}
	}
	// Around the target, within the 10% tolerance: no change, however the
	// measurements wobble.
	for _, pct := range []int64{48, 53, 50, 47, 54, 49} {
		l.set(pct)
		sync(int32(pct))
		if n := current(); n != 2 {
			t.Fatalf("at %d%% utilization the autoscaler moved to %d replicas", pct, n)
		}
	}

	// Load at 90% of the request: ceil(2 × 90/50) = 4.
	l.set(90)
	h := sync(90)
	if n := current(); n != 4 || h.Status.DesiredReplicas != 4 {
		t.Fatalf("at 90%% on 2 replicas: %d replicas, desired %d; want 4", n, h.Status.DesiredReplicas)
	}
	waitPods(t, o, "default", "4 ready pods", readyPods(4))
	// Two syncs: the new Pods' first sample, then a rate for all four:
	// ceil(4 × 90/50) = 8, held to the maximum of 5.
	l.set(91)
	sync(91)
	l.set(90)
	h = sync(90)
	if n := current(); n != 5 {
		t.Fatalf("at 90%% on 4 replicas: %d replicas, want the maximum 5", n)
	}
	if c := h.Status.Condition("ScalingLimited"); c == nil || c.Reason != "TooManyReplicas" {
		t.Errorf("ScalingLimited = %+v, want TooManyReplicas", c)
	}
	waitPods(t, o, "default", "5 ready pods", readyPods(5))

	// Load drops to 10%: the recommendation is 1, but nothing shrinks
	// until the 5-minute scale-down window has passed.
	lowSince := fc.Now()
	var scaledDownAt time.Time
	for i := 0; current() != 1; i++ {
		pct := int32(10 + i%2) // wobble so that every sync reports
		l.set(int64(pct))
		sync(pct)
		if current() < 5 && scaledDownAt.IsZero() {
			scaledDownAt = fc.Now()
		}
		if i > 60 {
			t.Fatalf("never scaled down to the minimum; %d replicas", current())
		}
	}
	if waited := scaledDownAt.Sub(lowSince); waited < 5*time.Minute {
		t.Errorf("scaled down %s after the load dropped, before the 5m window", waited)
	}
	stopWatch()
	for {
		select {
		case n := <-replicas:
			if n < 1 || n > 5 {
				t.Errorf("the deployment had %d replicas, outside [1, 5]", n)
			}
			continue
		default:
		}
		break
	}
}

// waitSettled waits until a Deployment has caught up with its replicas:
// its status describes its current generation, and exactly that many of
// its Pods exist, none of them terminating, all ready and available.
func waitSettled(t *testing.T, o *baton.Orchestrator, ns, name string) *baton.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	pods, err := o.Pods(ns).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deployments, err := o.Deployments(ns).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d *baton.Deployment
	var counted int
	for {
		d, err = o.Deployments(ns).Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		list, err := o.Pods(ns).List(ctx, baton.MatchLabels(d.Spec.Selector.MatchLabels))
		if err != nil {
			t.Fatal(err)
		}
		counted = 0
		settled := true
		for _, p := range list {
			if p.IsTerminal() {
				continue
			}
			counted++
			if p.DeletionTimestamp != nil || !p.IsReady() {
				settled = false
			}
		}
		want := *d.Spec.Replicas
		s := d.Status
		if settled && int32(counted) == want && s.ObservedGeneration == d.Generation &&
			s.Replicas == want && s.UpdatedReplicas == want && s.AvailableReplicas == want {
			return d
		}
		select {
		case <-pods:
		case <-deployments:
		case <-ctx.Done():
			t.Fatalf("deployment %s never settled on %d replicas: %d pods, status %+v", name, want, counted, s)
		}
	}
}

func TestAutoscalerBadInput(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	min := int32(5)
	_, err := o.HorizontalPodAutoscalers("default").Create(ctx, &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: "bad"},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "StatefulSet", Name: "web"},
			MinReplicas:    &min,
			MaxReplicas:    2,
		},
	})
	expectInvalid(t, err, "spec.scaleTargetRef.kind", "spec.maxReplicas")

	// A target that does not exist is no input error: the autoscaler says
	// so in its status, as in Kubernetes.
	_, err = o.HorizontalPodAutoscalers("default").Create(ctx, &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: "orphan"},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "Deployment", Name: "missing"},
			MaxReplicas:    3,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	hpas, _ := o.HorizontalPodAutoscalers("default").Watch(ctx)
	for ev := range hpas {
		if c := ev.Object.Status.Condition("AbleToScale"); c != nil && c.Status == baton.ConditionFalse && c.Reason == "FailedGetScale" {
			break
		}
	}
}

func TestAutoscalerManifest(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := o.Apply(ctxFor(t), strings.NewReader(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 60
  - type: Resource
    resource:
      name: memory
      target:
        type: AverageValue
        averageValue: 200Mi
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 120
`))
	if err != nil {
		t.Fatal(err)
	}
	h := objs[0].(*baton.HorizontalPodAutoscaler)
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 || len(h.Spec.Metrics) != 2 ||
		*h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 120 || h.Spec.Metrics[1].Resource.Target.AverageValue.String() != "200Mi" {
		t.Errorf("decoded %+v", h.Spec)
	}
	_, err = o.Apply(ctxFor(t), strings.NewReader(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: bad}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 3
  metrics:
  - type: Pods
    pods: {}
`))
	expectInvalid(t, err, "spec.metrics[0].pods")
}
