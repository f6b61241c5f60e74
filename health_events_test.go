package baton_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

// waitEvent waits for an Event in "default" that match accepts, and
// returns it.
func waitEvent(t *testing.T, o *baton.Orchestrator, what string, match func(*baton.Event) bool) *baton.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	events, err := o.Events("default").Watch(ctx) // what exists first, then changes
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for ev := range events {
		if ev.Type == baton.Deleted {
			continue
		}
		if match(ev.Object) {
			return ev.Object
		}
		seen = append(seen, ev.Object.InvolvedObject.Kind+"/"+ev.Object.InvolvedObject.Name+" "+ev.Object.Reason+": "+ev.Object.Message)
	}
	t.Fatalf("no event %s; seen:\n  %s", what, strings.Join(seen, "\n  "))
	return nil
}

// about matches events of reason about obj (by kind, namespace, name and
// UID), from component.
func about(kind string, obj baton.ObjectMeta, reason, component string) func(*baton.Event) bool {
	return func(e *baton.Event) bool {
		r := e.InvolvedObject
		return e.Reason == reason && r.Kind == kind && r.Namespace == obj.Namespace && r.Name == obj.Name && r.UID == obj.UID &&
			e.Source.Component == component
	}
}

// A Pod's life on the fake runtime is told by its events, each about the
// Pod: Scheduled by the scheduler; Pulling and Pulled for an image the
// node lacks, or only Pulled ("already present") for one it has; Created
// and Started; and Killing when it is deleted, by the node agent.
func TestPodLifecycleEvents(t *testing.T) {
	rt := fake.New(fake.WithImages("cached:1"))
	o, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	for name, image := range map[string]string{"fresh": "fresh:1", "cached": "cached:1"} {
		if _, err := o.Pods("default").Create(ctx, podOf(name, "", baton.Container{Name: "app", Image: image})); err != nil {
			t.Fatal(err)
		}
	}
	pods := waitPods(t, o, "default", "two ready pods", readyPods(2))
	byName := map[string]*baton.Pod{}
	for _, p := range pods {
		byName[p.Name] = p
	}
	fresh, cached := byName["fresh"].ObjectMeta, byName["cached"].ObjectMeta
	for _, want := range []struct {
		meta              baton.ObjectMeta
		reason, component string
		message           string
		warning           bool
	}{
		{fresh, "Scheduled", "scheduler", "Successfully assigned default/fresh to local", false},
		{fresh, "Pulling", "node-agent", `Pulling image "fresh:1"`, false},
		{fresh, "Pulled", "node-agent", `Successfully pulled image "fresh:1"`, false},
		{fresh, "Created", "node-agent", "Created container app", false},
		{fresh, "Started", "node-agent", "Started container app", false},
		{cached, "Scheduled", "scheduler", "Successfully assigned default/cached to local", false},
		{cached, "Pulled", "node-agent", `Container image "cached:1" already present on machine`, false},
		{cached, "Created", "node-agent", "Created container app", false},
		{cached, "Started", "node-agent", "Started container app", false},
	} {
		e := waitEvent(t, o, want.reason+" about "+want.meta.Name, about("Pod", want.meta, want.reason, want.component))
		if !strings.HasPrefix(e.Message, want.message) || e.Type != baton.EventTypeNormal || e.Count != 1 {
			t.Errorf("%s event about %s: %s %q (count %d); want Normal %q", want.reason, want.meta.Name, e.Type, e.Message, e.Count, want.message)
		}
		if want.component == "node-agent" && e.Source.Host != "local" {
			t.Errorf("%s event about %s from host %q; want the node, local", want.reason, want.meta.Name, e.Source.Host)
		}
	}
	// The node agent records Pulling before it pulls and Pulled after, in
	// order; cached's Pulled is stored, so a Pulling would be too.
	all, err := o.Events("default").List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Reason == "Pulling" && e.InvolvedObject.Name == "cached" {
			t.Errorf("a Pulling event for an image already present: %q", e.Message)
		}
	}
	if rt.Pulls("fresh:1") != 1 || rt.Pulls("cached:1") != 0 {
		t.Errorf("pulls: fresh:1 %d, cached:1 %d; want 1 and 0", rt.Pulls("fresh:1"), rt.Pulls("cached:1"))
	}

	if err := o.Pods("default").Delete(ctx, "fresh"); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, o, "Killing about fresh", about("Pod", fresh, "Killing", "node-agent"))
	if e.Message != "Stopping pod within 30s" {
		t.Errorf("Killing event %q; want %q", e.Message, "Stopping pod within 30s")
	}
}

// A container that keeps crashing earns its Pod a Warning BackOff event.
func TestCrashLoopRecordsBackOff(t *testing.T) {
	fc := clock.NewFake(healthEpoch)
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{Code: 1}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", baton.Container{Name: "app", Image: "crash"})); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "in back-off", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
	})
	e := waitEvent(t, o, "BackOff about p", about("Pod", p.ObjectMeta, "BackOff", "node-agent"))
	if e.Type != baton.EventTypeWarning || e.Message != "Back-off restarting failed container app" {
		t.Errorf("BackOff event: %s %q; want Warning %q", e.Type, e.Message, "Back-off restarting failed container app")
	}
}

// A Pod that fits on no node stays unscheduled, with a Warning
// FailedScheduling event that says why.
func TestAPodThatFitsNowhereRecordsFailedScheduling(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	c := baton.Container{Name: "app", Image: "app", Resources: baton.ResourceRequirements{
		Requests: baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("100000")}}}
	p, err := o.Pods("default").Create(ctx, podOf("huge", "", c))
	if err != nil {
		t.Fatal(err)
	}
	// Until the node's agent first reports, the event says the node is not
	// ready; then it says why the Pod does not fit.
	e := waitEvent(t, o, "FailedScheduling about huge for its cpu", func(e *baton.Event) bool {
		return about("Pod", p.ObjectMeta, "FailedScheduling", "scheduler")(e) && strings.Contains(e.Message, "Insufficient cpu")
	})
	if e.Type != baton.EventTypeWarning || e.Message != "0/1 nodes are available: 1 Insufficient cpu." {
		t.Errorf("FailedScheduling event: %s %q; want a Warning %q", e.Type, e.Message, "0/1 nodes are available: 1 Insufficient cpu.")
	}
	if got, err := o.Pods("default").Get(ctx, "huge"); err != nil || got.Spec.NodeName != "" {
		t.Errorf("the pod that fits nowhere: %v, bound to %q", err, got.Spec.NodeName)
	}
}

// Scaling a Deployment is told twice: ScalingReplicaSet about the
// Deployment by the deployment controller, SuccessfulCreate or
// SuccessfulDelete about its ReplicaSet by the replicaset controller.
func TestDeploymentScalingEvents(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	d, err := o.Deployments("default").Create(ctx, deploymentOf("web", 2, "app"))
	if err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "2 ready pods", readyPods(2))
	rss, err := o.ReplicaSets("default").List(ctx)
	if err != nil || len(rss) != 1 {
		t.Fatalf("replica sets: %v, %v", rss, err)
	}
	rs := rss[0]
	e := waitEvent(t, o, "ScalingReplicaSet up", about("Deployment", d.ObjectMeta, "ScalingReplicaSet", "deployment-controller"))
	if e.Message != fmt.Sprintf("Scaled up replica set %s to 2", rs.Name) {
		t.Errorf("ScalingReplicaSet event %q", e.Message)
	}
	e = waitEvent(t, o, "SuccessfulCreate", about("ReplicaSet", rs.ObjectMeta, "SuccessfulCreate", "replicaset-controller"))
	if e.Message != "Created 2 pod(s)" {
		t.Errorf("SuccessfulCreate event %q; want %q", e.Message, "Created 2 pod(s)")
	}

	if _, err := o.Deployments("default").Scale(ctx, "web", 1); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, o, "ScalingReplicaSet down", func(e *baton.Event) bool {
		return about("Deployment", d.ObjectMeta, "ScalingReplicaSet", "deployment-controller")(e) && strings.Contains(e.Message, "down")
	})
	if e.Message != fmt.Sprintf("Scaled down replica set %s from 2 to 1", rs.Name) {
		t.Errorf("ScalingReplicaSet event %q", e.Message)
	}
	e = waitEvent(t, o, "SuccessfulDelete", about("ReplicaSet", rs.ObjectMeta, "SuccessfulDelete", "replicaset-controller"))
	if e.Message != "Deleted 1 pod(s)" {
		t.Errorf("SuccessfulDelete event %q; want %q", e.Message, "Deleted 1 pod(s)")
	}
}

// The log mirrors the events: each stored event was logged at Debug by
// the "events" logger, with its message and reason.
func TestEventsAreMirroredToTheLog(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	o, err := baton.New(baton.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "app", Image: "app"})); err != nil {
		t.Fatal(err)
	}
	p := waitPods(t, o, "default", "a ready pod", readyPods(1))[0]
	waitEvent(t, o, "Started", about("Pod", p.ObjectMeta, "Started", "node-agent"))
	stored, err := o.Events("default").List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) < 4 {
		t.Fatalf("only %d events stored", len(stored))
	}
	mirrored := map[string]bool{}
	for _, e := range logs.FilterLoggerName("events").All() {
		if e.Level == zap.DebugLevel {
			mirrored[fmt.Sprint(e.ContextMap()["reason"], " ", e.ContextMap()["object"], " ", e.Message)] = true
		}
	}
	for _, e := range stored {
		key := fmt.Sprintf("%s %s %s/%s %s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Namespace, e.InvolvedObject.Name, e.Message)
		if !mirrored[key] {
			t.Errorf("event %q was not mirrored to the log; mirrored: %v", key, mirrored)
		}
	}
}
