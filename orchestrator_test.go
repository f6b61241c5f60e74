package baton_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

func TestDeploymentConverges(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	d, err := o.Deployments("default").Create(ctx, deploymentOf("web", 3, "nginx:1.27"))
	if err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "3 ready pods", readyPods(3))
	for _, p := range pods {
		if p.Spec.NodeName != baton.DefaultNodeName || p.Status.PodIP == "" || p.Labels[baton.PodTemplateHashLabel] == "" {
			t.Errorf("pod %s: node %q, ip %q, labels %v", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Labels)
		}
		ref := p.ControllerRef()
		if ref == nil || ref.Kind != "ReplicaSet" {
			t.Fatalf("pod %s is not controlled by a ReplicaSet: %+v", p.Name, p.OwnerReferences)
		}
		rs, err := o.ReplicaSets("default").Get(ctx, ref.Name)
		if err != nil || !rs.IsControlledBy(d.UID) || rs.Annotations[baton.AnnotationRevision] != "1" {
			t.Errorf("replica set %s (err %v) is not revision 1 of the deployment: %+v", ref.Name, err, rs)
		}
	}
	got := waitDeployment(t, o, "default", "web", "status counts 3", func(d *baton.Deployment) bool {
		return d.Status.AvailableReplicas == 3
	})
	if s := got.Status; s.Replicas != 3 || s.ReadyReplicas != 3 || s.UpdatedReplicas != 3 || s.UnavailableReplicas != 0 || s.ObservedGeneration != got.Generation {
		t.Errorf("status = %+v", s)
	}
	if c := got.Status.Condition("Available"); c == nil || c.Status != baton.ConditionTrue {
		t.Errorf("Available condition = %+v", c)
	}
	if n := rt.Running(); n != 3 {
		t.Errorf("runtime runs %d containers, want 3", n)
	}
}

func TestCrashedContainerIsRestarted(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	pod := waitPods(t, o, "default", "a ready pod", readyPods(1))[0]
	if err := rt.Kill(containerID(pod.Status.ContainerStatuses[0]), 1, runtime.ReasonError); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "a restart", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && pods[0].IsReady() && pods[0].Status.ContainerStatuses[0].RestartCount == 1
	})
	cs := pods[0].Status.ContainerStatuses[0]
	if pods[0].Name != pod.Name {
		t.Errorf("the pod was replaced (%s → %s); its container should have restarted in place", pod.Name, pods[0].Name)
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 1 || last.Reason != runtime.ReasonError {
		t.Errorf("lastState.terminated = %+v, want exit 1 Error", last)
	}
	if rt.Starts("app") != 2 || rt.Running() != 1 {
		t.Errorf("runtime: %d starts, %d running; want 2 and 1", rt.Starts("app"), rt.Running())
	}
}

func TestCrashLoopBackoffDoublesOnTheClock(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("crasher"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 2}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc), baton.WithCrashLoopBackoff(10*time.Second, 40*time.Second), baton.WithCrashLoopJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("crash", baton.RestartPolicyAlways, baton.Container{Name: "app", Image: "crasher"})); err != nil {
		t.Fatal(err)
	}
	backingOff := func(restarts int32) func([]*baton.Pod) bool {
		return func(pods []*baton.Pod) bool {
			if len(pods) != 1 || len(pods[0].Status.ContainerStatuses) != 1 {
				return false
			}
			cs := pods[0].Status.ContainerStatuses[0]
			return cs.RestartCount == restarts && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
		}
	}
	// The first restart is immediate; the second waits 10s.
	pods := waitPods(t, o, "default", "CrashLoopBackOff after 1 restart", backingOff(1))
	cs := pods[0].Status.ContainerStatuses[0]
	if !strings.Contains(cs.State.Waiting.Message, "back-off 10s") || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 2 {
		t.Errorf("waiting %+v, lastState %+v", cs.State.Waiting, cs.LastTerminationState.Terminated)
	}
	if pods[0].Status.Phase != baton.PodRunning {
		t.Errorf("phase %s, want Running (restarting)", pods[0].Status.Phase)
	}
	for i, delay := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 40 * time.Second} {
		starts := rt.Starts("app")
		fc.Advance(delay - time.Second)
		if rt.Starts("app") != starts {
			t.Fatalf("restart %d came before its %s back-off", i+2, delay)
		}
		fc.Advance(time.Second)
		waitPods(t, o, "default", fmt.Sprintf("CrashLoopBackOff after %d restarts", i+2), backingOff(int32(i+2)))
	}
}

func TestRestartPolicyMatrix(t *testing.T) {
	rt := fake.New()
	rt.SetBehavior(fake.ByImage("exit0"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 0}})
	rt.SetBehavior(fake.ByImage("exit1"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
	// A long back-off keeps restarted containers waiting, so the counts
	// below are stable.
	o, err := baton.New(baton.WithRuntime(rt), baton.WithCrashLoopBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	cases := []struct {
		policy   baton.RestartPolicy
		image    string
		phase    baton.PodPhase
		restarts int32
	}{
		{baton.RestartPolicyAlways, "exit0", baton.PodRunning, 1},
		{baton.RestartPolicyAlways, "exit1", baton.PodRunning, 1},
		{baton.RestartPolicyOnFailure, "exit0", baton.PodSucceeded, 0},
		{baton.RestartPolicyOnFailure, "exit1", baton.PodRunning, 1},
		{baton.RestartPolicyNever, "exit0", baton.PodSucceeded, 0},
		{baton.RestartPolicyNever, "exit1", baton.PodFailed, 0},
	}
	for _, c := range cases {
		name := strings.ToLower(string(c.policy)) + "-" + c.image
		if _, err := o.Pods("default").Create(ctx, podOf(name, c.policy, baton.Container{Name: "c", Image: c.image})); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		name := strings.ToLower(string(c.policy)) + "-" + c.image
		t.Run(name, func(t *testing.T) {
			pods := waitPods(t, o, "default", name+" settled", func(pods []*baton.Pod) bool {
				for _, p := range pods {
					if p.Name == name && p.Status.Phase == c.phase && len(p.Status.ContainerStatuses) == 1 {
						cs := p.Status.ContainerStatuses[0]
						done := cs.State.Terminated != nil || (cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff")
						return done && cs.RestartCount == c.restarts
					}
				}
				return false
			})
			_ = pods
		})
	}
}

func TestDeletedPodIsReplaced(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 2, "nginx")); err != nil {
		t.Fatal(err)
	}
	before := waitPods(t, o, "default", "2 ready pods", readyPods(2))
	victim := before[0].Name
	if err := o.Pods("default").Delete(ctx, victim); err != nil {
		t.Fatal(err)
	}
	after := waitPods(t, o, "default", "a replacement", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == victim {
				return false
			}
		}
		return readyPods(2)(pods)
	})
	if after[0].Name == victim || after[1].Name == victim {
		t.Error("the deleted pod is still there")
	}
}

func TestScaleUpAndDown(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 2, "nginx")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "2 ready pods", readyPods(2))
	for _, n := range []int32{5, 1, 0, 3} {
		d, err := o.Deployments("default").Scale(ctx, "web", n)
		if err != nil {
			t.Fatal(err)
		}
		if *d.Spec.Replicas != n {
			t.Fatalf("Scale returned replicas %d, want %d", *d.Spec.Replicas, n)
		}
		waitPods(t, o, "default", fmt.Sprintf("%d ready pods", n), readyPods(int(n)))
		waitDeployment(t, o, "default", "web", "status", func(d *baton.Deployment) bool {
			return d.Status.Replicas == n && d.Status.AvailableReplicas == n
		})
		if got := rt.Running(); got != int(n) {
			t.Errorf("after scaling to %d the runtime runs %d containers", n, got)
		}
	}
	if _, err := o.Deployments("default").Scale(ctx, "web", -1); !errors.Is(err, baton.ErrInvalid) || !strings.Contains(err.Error(), "spec.replicas") {
		t.Errorf("scale to -1: got %v, want ErrInvalid naming spec.replicas", err)
	}
	if _, err := o.Deployments("default").Scale(ctx, "nope", 1); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("scale of a missing deployment: got %v, want ErrNotFound", err)
	}
}

func TestDeletingADeploymentDeletesItsPods(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 3, "nginx")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("other", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "4 ready pods", readyPods(4))
	if err := o.Deployments("default").Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "only other's pod", func(pods []*baton.Pod) bool { return len(pods) == 1 })
	if pods[0].Labels["app"] != "other" {
		t.Errorf("the surviving pod is %s", pods[0].Name)
	}
	waitRuntime(t, rt, 1)
}

// waitRuntime waits until the fake runtime holds exactly n containers, all
// running.
func waitRuntime(t *testing.T, rt *fake.Runtime, n int) {
	t.Helper()
	waitRuntimeFor(t, rt, fmt.Sprintf("%d running containers", n), func() bool {
		return len(rt.Containers()) == n && rt.Running() == n
	})
}

// waitRuntimeFor waits until cond holds, re-checking on every container
// event of rt.
func waitRuntimeFor(t *testing.T, rt *fake.Runtime, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	events, err := rt.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for !cond() {
		select {
		case <-events:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; containers: %+v", what, rt.Containers())
		}
	}
}

func TestDeletingANamespaceDeletesEverythingInIt(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: "team"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Deployments("team").Create(ctx, deploymentOf("web", 2, "nginx")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("keep", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "team", "2 ready pods", readyPods(2))
	watch, err := o.Namespaces().Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Namespaces().Delete(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	sawTerminating := false
	for ev := range watch {
		if ev.Object.Name != "team" {
			continue
		}
		if ev.Type == baton.Modified && ev.Object.Status.Phase == "Terminating" {
			sawTerminating = true
		}
		if ev.Type == baton.Deleted {
			break
		}
	}
	if !sawTerminating {
		t.Error("the namespace was never Terminating")
	}
	if deps, _ := o.Deployments("team").List(ctx); len(deps) != 0 {
		t.Errorf("%d deployments left in the deleted namespace", len(deps))
	}
	waitRuntime(t, rt, 1)
	if err := o.Namespaces().Delete(ctx, "default"); !errors.Is(err, baton.ErrFailedPrecondition) {
		t.Errorf("deleting default: got %v, want ErrFailedPrecondition", err)
	}
}

func TestCreateInATerminatingNamespaceFails(t *testing.T) {
	// Without Run, a deleted namespace stays Terminating.
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: "going"}}); err != nil {
		t.Fatal(err)
	}
	if err := o.Namespaces().Delete(ctx, "going"); err != nil {
		t.Fatal(err)
	}
	_, err = o.Deployments("going").Create(ctx, deploymentOf("web", 1, "nginx"))
	if !errors.Is(err, baton.ErrFailedPrecondition) {
		t.Errorf("create in a terminating namespace: got %v, want ErrFailedPrecondition", err)
	}
}

func TestConflictingUpdates(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	a, _ := o.Deployments("default").Get(ctx, "web")
	b, _ := o.Deployments("default").Get(ctx, "web")
	a.Labels = map[string]string{"writer": "a"}
	b.Labels = map[string]string{"writer": "b"}
	if _, err := o.Deployments("default").Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Deployments("default").Update(ctx, b); !errors.Is(err, baton.ErrConflict) {
		t.Fatalf("second update from the same version: got %v, want ErrConflict", err)
	}
	got, _ := o.Deployments("default").Get(ctx, "web")
	if got.Labels["writer"] != "a" {
		t.Errorf("the conflicting update overwrote the first: %v", got.Labels)
	}

	// Many writers incrementing a counter with read-modify-write and
	// retry on conflict lose nothing.
	const writers, each = 6, 20
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				for {
					d, err := o.Deployments("default").Get(ctx, "web")
					if err != nil {
						t.Error(err)
						return
					}
					n, _ := strconv.Atoi(d.Annotations["count"])
					if d.Annotations == nil {
						d.Annotations = map[string]string{}
					}
					d.Annotations["count"] = strconv.Itoa(n + 1)
					if _, err = o.Deployments("default").Update(ctx, d); err == nil {
						break
					}
					if !errors.Is(err, baton.ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	got, _ = o.Deployments("default").Get(ctx, "web")
	if got.Annotations["count"] != strconv.Itoa(writers*each) {
		t.Errorf("count = %s, want %d", got.Annotations["count"], writers*each)
	}
}

func TestReturnedObjectsAreCopies(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	in := deploymentOf("web", 1, "nginx")
	created, err := o.Deployments("default").Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Spec.Template.Spec.Containers[0].Image = "changed-input"
	created.Spec.Template.Spec.Containers[0].Image = "changed-output"
	created.Labels = map[string]string{"x": "y"}
	got, _ := o.Deployments("default").Get(ctx, "web")
	got.Spec.Template.Labels["app"] = "changed-get"
	again, _ := o.Deployments("default").Get(ctx, "web")
	if img := again.Spec.Template.Spec.Containers[0].Image; img != "nginx" || again.Labels != nil || again.Spec.Template.Labels["app"] != "web" {
		t.Errorf("the stored object changed through a caller's copy: image %q labels %v template labels %v", img, again.Labels, again.Spec.Template.Labels)
	}
}

// After a restart over the same runtime, a new Orchestrator restored from a
// snapshot adopts the running containers: none duplicated, none restarted.
func TestNewOrchestratorAdoptsRunningContainers(t *testing.T) {
	rt := fake.New()
	o1, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o1.Run(ctx) }()
	if _, err := o1.Deployments("default").Create(ctxFor(t), deploymentOf("web", 3, "nginx")); err != nil {
		t.Fatal(err)
	}
	before := waitPods(t, o1, "default", "3 ready pods", readyPods(3))
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := o1.SaveSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	containersBefore := rt.Containers()

	o2, err := baton.New(baton.WithRuntime(rt), baton.WithSnapshot(&snap))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o2)
	after := waitPods(t, o2, "default", "3 ready pods", readyPods(3))
	// The agent has adopted once it has written status for every Pod.
	for i := range after {
		if after[i].Name != before[i].Name || after[i].Status.ContainerStatuses[0].ContainerID != before[i].Status.ContainerStatuses[0].ContainerID {
			t.Errorf("pod %d: %s/%s after, %s/%s before", i, after[i].Name, after[i].Status.ContainerStatuses[0].ContainerID,
				before[i].Name, before[i].Status.ContainerStatuses[0].ContainerID)
		}
	}
	// Make the new agent prove it has looked: scale up by one and wait.
	if _, err := o2.Deployments("default").Scale(ctxFor(t), "web", 4); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o2, "default", "4 ready pods", readyPods(4))
	if got := rt.Starts("app"); got != 4 {
		t.Errorf("%d container starts in all, want 3 before the restart and 1 for the scale-up", got)
	}
	if got := rt.Running(); got != 4 {
		t.Errorf("%d running containers, want 4", got)
	}
	stillThere := 0
	for _, c := range rt.Containers() {
		for _, b := range containersBefore {
			if c.ID == b.ID && c.State == runtime.ContainerRunning {
				stillThere++
			}
		}
	}
	if stillThere != 3 {
		t.Errorf("%d of the 3 original containers still run", stillThere)
	}
}

// A new Orchestrator with no memory of the old Pods stops their containers,
// which carry Baton's labels, and leaves unlabelled containers alone.
func TestOrphanedContainersAreStopped(t *testing.T) {
	rt := fake.New()
	ctx := ctxFor(t)
	sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Name: "mine", Namespace: "x", UID: "not-batons"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := runtime.StartContainer(ctx, rt, sb.ID, runtime.ContainerConfig{Name: "foreign", Image: "busybox"}, runtime.PullIfNotPresent)
	if err != nil {
		t.Fatal(err)
	}
	o1, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o1.Run(runCtx) }()
	if _, err := o1.Deployments("default").Create(ctx, deploymentOf("web", 2, "nginx")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o1, "default", "2 ready pods", readyPods(2))
	stop()
	<-done

	o2, err := baton.New(baton.WithRuntime(rt)) // no snapshot: the old Pods are unknown
	if err != nil {
		t.Fatal(err)
	}
	start(t, o2)
	waitRuntimeFor(t, rt, "the orphans gone", func() bool { return len(rt.Containers()) == 1 })
	c, err := rt.ContainerStatus(ctx, foreign.ID)
	if err != nil || c.State != runtime.ContainerRunning {
		t.Errorf("the unlabelled container was touched: %+v, %v", c, err)
	}
}

func TestWatchDeliversEveryChangeInOrder(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("before", "", baton.Container{Name: "c", Image: "nginx"})); err != nil {
		t.Fatal(err)
	}
	events, err := o.Pods("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "c", Image: "nginx"}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p.Labels = map[string]string{"i": strconv.Itoa(i)}
		if p, err = o.Pods("default").Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Pods("default").Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED before", "ADDED p", "MODIFIED p 0", "MODIFIED p 1", "MODIFIED p 2", "MODIFIED p 3", "MODIFIED p 4", "DELETED p 4"}
	lastRV := 0
	for i, w := range want {
		ev := <-events
		got := strings.TrimSpace(fmt.Sprintf("%s %s %s", ev.Type, ev.Object.Name, ev.Object.Labels["i"]))
		if got != w {
			t.Fatalf("event %d = %q, want %q", i, got, w)
		}
		rv, _ := strconv.Atoi(ev.Object.ResourceVersion)
		if i > 1 && ev.Type != baton.Deleted && rv <= lastRV {
			t.Errorf("resourceVersion went from %d to %d", lastRV, rv)
		}
		lastRV = rv
	}
}

func TestRunTwiceFails(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	// Once the node agent has reported, the first Run is surely running.
	nodes, err := o.Nodes().Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ev := range nodes {
		if ev.Object.IsReady() {
			break
		}
	}
	if err := o.Run(ctx); !errors.Is(err, baton.ErrFailedPrecondition) {
		t.Errorf("second Run: got %v, want ErrFailedPrecondition", err)
	}
}

func TestEventsAreRecorded(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	pod := waitPods(t, o, "default", "a ready pod", readyPods(1))[0]
	want := map[string]bool{"Scheduled": false, "Started": false}
	waitFor := func() bool {
		events, _ := o.Events("default").List(ctx)
		for _, e := range events {
			if e.InvolvedObject.Name == pod.Name {
				if _, ok := want[e.Reason]; ok {
					want[e.Reason] = true
				}
			}
		}
		return want["Scheduled"] && want["Started"]
	}
	changes, err := o.Events("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for !waitFor() {
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("events seen: %v", want)
		}
	}
}
