package baton_test

import (
	"context"
	"errors"
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
	// Each eviction is stamped with the clock's time (deletionTimestamp),
	// so one that came too early shows, whenever the controller made it.
	due := map[string]time.Time{"short": since.Add(30 * time.Second), "default": since.Add(300 * time.Second)}
	evicted := func(want ...string) {
		t.Helper()
		pods := waitPods(t, o, "default", "evicted: ["+strings.Join(want, " ")+"]", func(pods []*baton.Pod) bool {
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
		for _, p := range pods {
			if p.DeletionTimestamp != nil && p.DeletionTimestamp.Time.Before(due[p.Name]) {
				t.Errorf("pod %s evicted at +%s; due at +%s", p.Name, p.DeletionTimestamp.Sub(since), due[p.Name].Sub(since))
			}
		}
	}
	// at moves the clock and touches the Node, so that the node lifecycle
	// controller looks at it at the new time whatever timers it has armed.
	// The checks after it cannot tell "not yet" from "not looked at yet";
	// an eviction that came early shows in its deletionTimestamp at the
	// next check.
	at := func(d time.Duration) {
		t.Helper()
		fc.Set(since.Add(d))
		for {
			n, err := o.Nodes().Get(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			n.Labels = map[string]string{"touched": d.String()}
			if _, err = o.Nodes().Update(ctx, n); !errors.Is(err, baton.ErrConflict) {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	at(29 * time.Second)
	evicted()
	at(31 * time.Second)
	evicted("short")
	at(299 * time.Second)
	evicted("short")
	at(301 * time.Second)
	evicted("short", "default")
	at(time.Hour)
	evicted("short", "default")

	rt.SetUnavailable(false)
	// Heartbeats arm their next beat when the last one is done, so one
	// move of the clock may come before it is armed: move it until the
	// Node is Ready and untainted, looking again at every change of it.
	deadline := time.Now().Add(waitTimeout)
	for {
		a, err := o.Nodes().Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if a.IsReady() && len(a.Spec.Taints) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Node came back as %+v, taints %+v", a.Status.Conditions, a.Spec.Taints)
		}
		fc.Advance(10 * time.Second)
		select {
		case <-nodes:
		case <-time.After(20 * time.Millisecond):
		}
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
	node, err = o.Nodes().Get(ctx, baton.DefaultNodeName)
	if err != nil {
		t.Fatal(err)
	}
	if tt := node.Spec.Taints[0]; tt.Key != "maintenance" || tt.TimeAdded == nil {
		t.Errorf("the user's NoExecute taint is %+v; want it dated when first seen", tt)
	}
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

// tolerationSeconds count from when a user's NoExecute taint was first
// seen, and an update that leaves timeAdded out keeps that date.
func TestTolerationSecondsOfAUserTaintRunOut(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	o, err := baton.New(baton.WithClock(fc), baton.WithNode(baton.NodeConfig{Name: "a", Runtime: fake.New(fake.WithClock(fc))}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	p := podOf("p", "", baton.Container{Name: "app", Image: "app"})
	p.Spec.Tolerations = []baton.Toleration{{Key: "maintenance", Operator: baton.TolerationOpExists, Effect: baton.TaintNoExecute, TolerationSeconds: int64Ptr(30)}}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a ready pod", readyPods(1))
	taint := func() {
		t.Helper()
		for { // the node agent's heartbeats write the Node too
			node, err := o.Nodes().Get(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			node.Spec.Taints = []baton.Taint{{Key: "maintenance", Effect: baton.TaintNoExecute}}
			if _, err = o.Nodes().Update(ctx, node); !errors.Is(err, baton.ErrConflict) {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
		}
	}
	taint()
	nodes, _ := o.Nodes().Watch(ctx)
	var added time.Time
	for added.IsZero() {
		if ev := <-nodes; len(ev.Object.Spec.Taints) == 1 && ev.Object.Spec.Taints[0].TimeAdded != nil {
			added = ev.Object.Spec.Taints[0].TimeAdded.Time
		}
	}
	fc.Set(added.Add(20 * time.Second))
	// Once the controller has looked at the Node then, its next look is
	// armed for 5 s on (its monitor period), before the Pod is due.
	ctx2, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := fc.WaitForTimer(ctx2, func(d time.Time) bool { return d.Equal(added.Add(25 * time.Second)) }); err != nil {
		t.Fatal("the node lifecycle controller armed no look for +25s")
	}
	taint() // again without a date: it keeps the first
	if n, _ := o.Nodes().Get(ctx, "a"); n.Spec.Taints[0].TimeAdded == nil || !n.Spec.Taints[0].TimeAdded.Time.Equal(added) {
		t.Errorf("after an update without timeAdded the taint is %+v; want the date %s kept", n.Spec.Taints[0], added)
	}
	fc.Set(added.Add(31 * time.Second))
	// The node's runtime is up, so the evicted Pod may be gone by the time
	// the test looks: its eviction event, stamped on the clock, tells when.
	ev := waitEvent(t, o, "the Pod evicted after its 30 s", func(e *baton.Event) bool {
		return e.Reason == "TaintManagerEviction" && e.InvolvedObject.Name == "p"
	})
	if at := ev.FirstTimestamp.Time; at.Before(added.Add(30 * time.Second)) {
		t.Errorf("evicted at +%s; due at +30s", at.Sub(added))
	}
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
