package baton_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

func threeNodes(t *testing.T, opts ...baton.Option) (*baton.Orchestrator, map[string]*fake.Runtime) {
	t.Helper()
	runtimes := map[string]*fake.Runtime{}
	for i, zone := range []string{"a", "a", "b"} {
		name := fmt.Sprintf("n%d", i)
		runtimes[name] = fake.New()
		opts = append(opts, baton.WithNode(baton.NodeConfig{
			Name:    name,
			Runtime: runtimes[name],
			Labels:  map[string]string{"zone": zone},
			Capacity: baton.ResourceList{
				baton.ResourceCPU:    baton.MustParseQuantity("2"),
				baton.ResourceMemory: baton.MustParseQuantity("4Gi"),
				baton.ResourcePods:   baton.MustParseQuantity("20"),
			},
		}))
	}
	o, err := baton.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	// Until its agent reports, a node takes no Pods.
	ctx := ctxFor(t)
	nodes, err := o.Nodes().Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ready := map[string]bool{}; len(ready) < 3; {
		select {
		case ev := <-nodes:
			if ev.Object.IsReady() {
				ready[ev.Object.Name] = true
			}
		case <-ctx.Done():
			t.Fatal("nodes not ready")
		}
	}
	return o, runtimes
}

func TestPodsSpreadAcrossNodes(t *testing.T) {
	o, runtimes := threeNodes(t)
	if _, err := o.Deployments("default").Create(ctxFor(t), deploymentOf("web", 9, "nginx")); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "9 ready pods", readyPods(9))
	perNode := map[string]int{}
	for _, p := range pods {
		perNode[p.Spec.NodeName]++
	}
	for name, rt := range runtimes {
		if perNode[name] != 3 || rt.Running() != 3 {
			t.Errorf("node %s has %d pods and runs %d containers; want 3 each (spread: %v)", name, perNode[name], rt.Running(), perNode)
		}
	}
}

func TestNodeSelectorAndResourceFit(t *testing.T) {
	o, runtimes := threeNodes(t)
	ctx := ctxFor(t)
	d := deploymentOf("zoned", 4, "nginx")
	d.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "b"}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "4 ready pods", readyPods(4))
	for _, p := range pods {
		if p.Spec.NodeName != "n2" {
			t.Errorf("pod %s landed on %s, outside zone b", p.Name, p.Spec.NodeName)
		}
	}
	if runtimes["n2"].Running() != 4 {
		t.Errorf("n2 runs %d containers, want 4", runtimes["n2"].Running())
	}

	// A Pod asking for more CPU than any node has stays Pending, marked
	// Unschedulable with Kubernetes' wording.
	big := podOf("big", "", baton.Container{Name: "c", Image: "nginx", Resources: baton.ResourceRequirements{
		Requests: baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("3")},
	}})
	if _, err := o.Pods("default").Create(ctx, big); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "big unschedulable", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if c := p.Status.Condition("PodScheduled"); p.Name == "big" && c != nil {
				return c.Status == baton.ConditionFalse && c.Reason == "Unschedulable" &&
					strings.Contains(c.Message, "0/3 nodes are available: 3 Insufficient cpu")
			}
		}
		return false
	})
}

func TestUnschedulablePodIsPlacedWhenRoomFrees(t *testing.T) {
	o, _ := threeNodes(t)
	ctx := ctxFor(t)
	hog := deploymentOf("hog", 3, "nginx")
	hog.Spec.Template.Spec.Containers[0].Resources.Requests = baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("1500m")}
	if _, err := o.Deployments("default").Create(ctx, hog); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "3 hogs", readyPods(3))
	late := podOf("late", "", baton.Container{Name: "c", Image: "nginx", Resources: baton.ResourceRequirements{
		Requests: baton.ResourceList{baton.ResourceCPU: baton.MustParseQuantity("1")},
	}})
	if _, err := o.Pods("default").Create(ctx, late); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "late unschedulable", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if c := p.Status.Condition("PodScheduled"); p.Name == "late" && c != nil {
				return c.Status == baton.ConditionFalse
			}
		}
		return false
	})
	if _, err := o.Deployments("default").Scale(ctx, "hog", 2); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "late running", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == "late" {
				return p.IsReady()
			}
		}
		return false
	})
}

// A container that ignores SIGTERM keeps running for the whole grace
// period, and its Pod stays Terminating until the period is over.
func TestGracefulTermination(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("stubborn"), fake.Behavior{IgnoreSIGTERM: true})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	grace := int64(45)
	pod := podOf("slow", "", baton.Container{Name: "c", Image: "stubborn"})
	pod.Spec.TerminationGracePeriodSeconds = &grace
	if _, err := o.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a ready pod", readyPods(1))
	if err := o.Pods("default").Delete(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	got, err := o.Pods("default").Get(ctx, "slow")
	if err != nil || got.DeletionTimestamp == nil || *got.DeletionGracePeriodSeconds != 45 {
		t.Fatalf("after Delete: %+v, %v; want Terminating with a 45s grace period", got, err)
	}
	// The fake arms the SIGKILL for the end of the grace period; wait for
	// it, then check the container outlives 44s and goes at 45s.
	killAt := got.DeletionTimestamp.Add(45 * time.Second)
	if err := fc.WaitForTimer(ctx, func(d time.Time) bool { return !d.Before(killAt) }); err != nil {
		t.Fatal(err)
	}
	fc.Set(killAt.Add(-time.Second))
	if rt.Running() != 1 {
		t.Fatal("the container was killed before its grace period ended")
	}
	if _, err := o.Pods("default").Get(ctx, "slow"); err != nil {
		t.Fatalf("the pod went before its container stopped: %v", err)
	}
	fc.Advance(time.Second)
	waitPods(t, o, "default", "the pod gone", func(pods []*baton.Pod) bool { return len(pods) == 0 })
	if rt.Running() != 0 || len(rt.Containers()) != 0 {
		t.Errorf("after the grace period %d containers run and %d remain", rt.Running(), len(rt.Containers()))
	}
}

func TestGracePeriodZeroDeletesAtOnce(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "c", Image: "nginx"})); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a ready pod", readyPods(1))
	if err := o.Pods("default").Delete(ctx, "p", baton.GracePeriod(0)); err != nil {
		t.Fatal(err)
	}
	if pods, _ := o.Pods("default").List(ctx); len(pods) != 0 {
		t.Fatalf("pod still stored after a zero-grace delete")
	}
	// Its container is an orphan now; the agent stops it.
	waitRuntime(t, rt, 0)
}
