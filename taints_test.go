package baton_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

func int64Ptr(v int64) *int64 { return &v }

// A Node that is not Ready is tainted node.kubernetes.io/not-ready
// NoExecute, and each of its Pods is evicted when its tolerations say:
// tolerationSeconds after the taint, never with a toleration that has no
// seconds, and after the Orchestrator's toleration (300 s) with none of its
// own. The taint goes when the Node is Ready again.
func TestTolerationsDecideWhenPodsLeaveANotReadyNode(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	o, err := baton.New(baton.WithClock(fc), baton.WithNode(baton.NodeConfig{Name: "a", Runtime: rt}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	notReady := baton.Toleration{Key: baton.TaintNodeNotReady, Operator: baton.TolerationOpExists, Effect: baton.TaintNoExecute}
	short := notReady
	short.TolerationSeconds = int64Ptr(30)
	pods := map[string][]baton.Toleration{
		"default": nil,
		"short":   {short},
		"forever": {notReady},
		"all":     {{Operator: baton.TolerationOpExists}},
	}
	for name, tolerations := range pods {
		p := podOf(name, "", baton.Container{Name: "app", Image: "app"})
		p.Spec.Tolerations = tolerations
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitPods(t, o, "default", "4 ready pods", readyPods(4))

	nodes, _ := o.Nodes().Watch(ctx)
	rt.SetUnavailable(true)
	for !nodeNotReady(t, o, "a") {
		fc.Advance(10 * time.Second) // heartbeats notice
		waitForNodeChange(t, nodes)
	}
	var taint baton.Taint
	for taint.Key == "" {
		a, _ := o.Nodes().Get(ctx, "a")
		for _, tt := range a.Spec.Taints {
			if tt.Key == baton.TaintNodeNotReady {
				taint = tt
			}
		}
		if taint.Key == "" {
			waitForNodeChange(t, nodes)
		}
	}
	if taint.Effect != baton.TaintNoExecute || taint.TimeAdded == nil {
		t.Fatalf("taint %+v; want effect NoExecute with timeAdded", taint)
	}
	since := taint.TimeAdded.Time
	evicted := func(want ...string) {
		t.Helper()
		waitPods(t, o, "default", "evicted: ["+strings.Join(want, " ")+"]", func(pods []*baton.Pod) bool {
			gone := map[string]bool{}
			for _, p := range pods {
				gone[p.Name] = p.DeletionTimestamp != nil
			}
			for _, name := range []string{"default", "short", "forever", "all"} {
				if gone[name] != slices.Contains(want, name) {
					return false
				}
			}
			return true
		})
	}
	fc.Set(since.Add(29 * time.Second))
	evicted()
	fc.Set(since.Add(31 * time.Second))
	evicted("short")
	fc.Set(since.Add(299 * time.Second))
	evicted("short")
	fc.Set(since.Add(301 * time.Second))
	evicted("short", "default")
	fc.Set(since.Add(time.Hour))
	evicted("short", "default")

	rt.SetUnavailable(false)
	for nodeNotReady(t, o, "a") {
		fc.Advance(10 * time.Second)
		waitForNodeChange(t, nodes)
	}
	for {
		a, _ := o.Nodes().Get(ctx, "a")
		if len(a.Spec.Taints) == 0 {
			break
		}
		waitForNodeChange(t, nodes)
	}
	// The reconcile that lifted the taint came after every earlier one, so
	// by now any wrongful eviction would show.
	for _, name := range []string{"forever", "all"} {
		if p, err := o.Pods("default").Get(ctx, name); err != nil || p.DeletionTimestamp != nil {
			t.Errorf("pod %s, tolerating the taint for ever, was evicted (%v)", name, err)
		}
	}
}

// A NoExecute taint a user puts on a Node evicts at once the Pods that do
// not tolerate it; a NoSchedule taint keeps new Pods off.
func TestUserTaintsEvictAndRepel(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	tolerant := podOf("tolerant", "", baton.Container{Name: "app", Image: "app"})
	tolerant.Spec.Tolerations = []baton.Toleration{{Key: "maintenance", Operator: baton.TolerationOpExists}}
	for _, p := range []*baton.Pod{podOf("plain", "", baton.Container{Name: "app", Image: "app"}), tolerant} {
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitPods(t, o, "default", "2 ready pods", readyPods(2))
	node, err := o.Nodes().Get(ctx, baton.DefaultNodeName)
	if err != nil {
		t.Fatal(err)
	}
	node.Spec.Taints = []baton.Taint{
		{Key: "maintenance", Value: "disk", Effect: baton.TaintNoExecute},
		{Key: "dedicated", Effect: baton.TaintNoSchedule},
	}
	if _, err := o.Nodes().Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "plain evicted, tolerant kept", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && pods[0].Name == "tolerant" && pods[0].DeletionTimestamp == nil
	})
	if _, err := o.Pods("default").Create(ctx, podOf("new", "", baton.Container{Name: "app", Image: "app"})); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "the new Pod unschedulable", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if c := p.Status.Condition("PodScheduled"); p.Name == "new" && c != nil && c.Status == "False" {
				return p.Spec.NodeName == ""
			}
		}
		return false
	})
}

func TestBadTolerationsAndTaintsAreRefused(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	p := podOf("p", "", baton.Container{Name: "app", Image: "app"})
	p.Spec.Tolerations = []baton.Toleration{
		{Key: "k", Effect: baton.TaintNoSchedule, TolerationSeconds: int64Ptr(5)},
		{Operator: baton.TolerationOpEqual, Value: "v"},
		{Key: "k", Operator: baton.TolerationOpExists, Value: "v"},
		{Key: "k", Effect: "Sometimes"},
	}
	_, err = o.Pods("default").Create(ctx, p)
	expectInvalid(t, err, "spec.tolerations[0].tolerationSeconds", "spec.tolerations[1].operator",
		"spec.tolerations[2].value", "spec.tolerations[3].effect")
	node, _ := o.Nodes().Get(ctx, baton.DefaultNodeName)
	before := node.ResourceVersion
	node.Spec.Taints = []baton.Taint{{Key: "", Effect: baton.TaintNoSchedule}, {Key: "k", Effect: baton.TaintNoExecute}, {Key: "k", Effect: baton.TaintNoExecute}}
	_, err = o.Nodes().Update(ctx, node)
	expectInvalid(t, err, "spec.taints[0].key", "spec.taints[2]")
	if after, _ := o.Nodes().Get(ctx, baton.DefaultNodeName); after.ResourceVersion != before || len(after.Spec.Taints) != 0 {
		t.Errorf("a refused Node update changed the Node: %+v", after.Spec)
	}
}
