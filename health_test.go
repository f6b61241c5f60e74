package baton_test

import (
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// probeScript answers the exec probes of fake containers: each command
// passes while its flag is up, and every call is reported on calls.
type probeScript struct {
	mu      sync.Mutex // guards healthy
	healthy map[string]bool
	calls   chan string
}

func newProbeScript() *probeScript {
	return &probeScript{healthy: map[string]bool{}, calls: make(chan string, 100)}
}

func (s *probeScript) set(cmd string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.healthy[cmd] = ok
}

func (s *probeScript) exec(cmd []string, _, _ io.Writer) int {
	s.mu.Lock()
	ok := s.healthy[cmd[0]]
	s.mu.Unlock()
	s.calls <- cmd[0]
	if ok {
		return 0
	}
	return 1
}

// next waits for the next call of cmd, failing on any other.
func (s *probeScript) next(t *testing.T, cmd string) {
	t.Helper()
	select {
	case got := <-s.calls:
		if got != cmd {
			t.Fatalf("probe %q ran, want %q", got, cmd)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("probe %q never ran", cmd)
	}
}

func probed(t *testing.T, opts ...baton.Option) (*baton.Orchestrator, *fake.Runtime, *clock.Fake, *probeScript) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	script := newProbeScript()
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: script.exec})
	o, err := baton.New(append([]baton.Option{baton.WithRuntime(rt), baton.WithClock(fc)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	return o, rt, fc, script
}

func execProbe(cmd string, period, failures int32) *baton.Probe {
	return &baton.Probe{
		ProbeHandler:     baton.ProbeHandler{Exec: &baton.ExecAction{Command: []string{cmd}}},
		PeriodSeconds:    period,
		FailureThreshold: failures,
	}
}

func restartsOf(t *testing.T, o *baton.Orchestrator, name string) int32 {
	t.Helper()
	p, err := o.Pods("default").Get(ctxFor(t), name)
	if err != nil || len(p.Status.ContainerStatuses) == 0 {
		t.Fatalf("pod %s: %v", name, err)
	}
	return p.Status.ContainerStatuses[0].RestartCount
}

func TestLivenessFailureRestartsAfterThreshold(t *testing.T) {
	o, _, fc, script := probed(t)
	script.set("alive", true)
	c := baton.Container{Name: "app", Image: "app", LivenessProbe: execProbe("alive", 10, 3)}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a ready pod", readyPods(1))
	script.next(t, "alive") // the first probe runs at start
	script.set("alive", false)
	for i := 1; i <= 2; i++ {
		fc.Advance(10 * time.Second)
		script.next(t, "alive")
	}
	if n := restartsOf(t, o, "p"); n != 0 {
		t.Fatalf("restarted after 2 failures of 3: restartCount %d", n)
	}
	fc.Advance(10 * time.Second)
	script.next(t, "alive") // the third failure in a row, 3 × 10s in
	waitPods(t, o, "default", "a restart", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && pods[0].Status.ContainerStatuses[0].RestartCount == 1
	})
	script.set("alive", true)
	// The three failures fold into one Warning about the Pod, with a count
	// (a fourth comes if the new container is probed before the flag is up).
	pod, err := o.Pods("default").Get(ctxFor(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, o, "Unhealthy folding three failures", func(e *baton.Event) bool {
		return e.Reason == "Unhealthy" && e.Type == baton.EventTypeWarning && e.InvolvedObject.UID == pod.UID && e.Count >= 3
	})
}

func TestReadinessTogglesTheReadyCondition(t *testing.T) {
	o, _, fc, script := probed(t)
	probe := execProbe("ready", 5, 2)
	c := baton.Container{Name: "app", Image: "app", ReadinessProbe: probe}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	script.next(t, "ready") // fails: not ready yet
	p := waitPods(t, o, "default", "a running pod", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && pods[0].Status.Phase == baton.PodRunning
	})[0]
	if p.IsReady() {
		t.Fatal("ready before its readiness probe passed")
	}
	script.set("ready", true)
	fc.Advance(5 * time.Second)
	script.next(t, "ready")
	waitPods(t, o, "default", "ready", readyPods(1))
	script.set("ready", false)
	fc.Advance(5 * time.Second)
	script.next(t, "ready")
	if !readyPods(1)(mustList(t, o)) {
		t.Fatal("not ready after one failure of a threshold of 2")
	}
	fc.Advance(5 * time.Second)
	script.next(t, "ready")
	waitPods(t, o, "default", "not ready", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && !pods[0].IsReady() && pods[0].Status.ContainerStatuses[0].RestartCount == 0
	})
}

func mustList(t *testing.T, o *baton.Orchestrator) []*baton.Pod {
	t.Helper()
	pods, err := o.Pods("default").List(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

func TestStartupProbeHoldsTheOthersBack(t *testing.T) {
	o, _, fc, script := probed(t)
	c := baton.Container{Name: "app", Image: "app",
		StartupProbe:  execProbe("started", 10, 30),
		LivenessProbe: execProbe("alive", 10, 1),
	}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	// The liveness probe would kill at once, but it does not run until the
	// startup probe passes.
	script.next(t, "started")
	for range 3 {
		fc.Advance(10 * time.Second)
		script.next(t, "started")
	}
	p := waitPods(t, o, "default", "a running pod", func(pods []*baton.Pod) bool {
		return len(pods) == 1 && len(pods[0].Status.ContainerStatuses) == 1 && pods[0].Status.ContainerStatuses[0].State.Running != nil
	})[0]
	if p.IsReady() || *p.Status.ContainerStatuses[0].Started {
		t.Fatal("ready or started before the startup probe passed")
	}
	script.set("started", true)
	script.set("alive", true)
	fc.Advance(10 * time.Second)
	script.next(t, "started")
	waitPods(t, o, "default", "started and ready", readyPods(1))
	fc.Advance(10 * time.Second)
	script.next(t, "alive") // only now
}

// A container's preStop hook runs before it is sent SIGTERM.
func TestPreStopRunsBeforeSIGTERM(t *testing.T) {
	o, rt, _, script := probed(t)
	script.set("drain", true)
	c := baton.Container{Name: "app", Image: "app", Lifecycle: &baton.Lifecycle{
		PreStop: &baton.LifecycleHandler{Exec: &baton.ExecAction{Command: []string{"drain"}}},
	}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a ready pod", readyPods(1))
	ctx := ctxFor(t)
	events, err := rt.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Pods("default").Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	script.next(t, "drain")
	for ev := range events {
		if ev.Type == runtime.ContainerExitedEvent {
			if ev.ExitCode != 143 {
				t.Errorf("exit code %d, want 143 (SIGTERM)", ev.ExitCode)
			}
			break
		}
	}
	select {
	case cmd := <-script.calls:
		t.Errorf("%q ran after the container was stopped", cmd)
	default:
	}
}

// The restart back-off follows kubelet's sequence — 10, 20, 40, 80, 160,
// 300, 300 s — each delay lengthened by the default jitter of up to 10%
// but never past 300 s, and starts over after a container ran 10 minutes.
func TestCrashLoopBackoffSequenceAndReset(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", baton.Container{Name: "app", Image: "crash"})); err != nil {
		t.Fatal(err)
	}
	waiting := func(restarts int32) {
		t.Helper()
		waitPods(t, o, "default", fmt.Sprintf("back-off after %d restarts", restarts), func(pods []*baton.Pod) bool {
			cs := pods[0].Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount == restarts && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
		})
	}
	waiting(1) // the first restart is immediate
	for _, want := range []time.Duration{10, 20, 40, 80, 160, 300, 300} {
		want *= time.Second
		starts := rt.Starts("app")
		fc.Advance(want - time.Second)
		if rt.Starts("app") != starts {
			t.Fatalf("restarted before its %s back-off", want)
		}
		latest := min(want+want/10, 300*time.Second)
		fc.Advance(latest - want + time.Second)
		waiting(int32(starts))
	}
	// Now it runs 11 minutes before crashing: the back-off starts over, so
	// the restart after that crash is immediate.
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{After: 11 * time.Minute, Code: 1}})
	starts := rt.Starts("app")
	fc.Advance(300 * time.Second) // the pending back-off
	waitPods(t, o, "default", "running again", func(pods []*baton.Pod) bool {
		return pods[0].Status.ContainerStatuses[0].State.Running != nil
	})
	fc.Advance(11 * time.Minute)
	waitPods(t, o, "default", "restarted at once after a long run", func([]*baton.Pod) bool {
		return rt.Starts("app") == starts+2
	})
}

// A change to a crash-looping container's spec restarts it at once, as
// kubelet's back-off is kept per spec hash: fixing the image does not wait
// out the delay the broken one earned.
func TestSpecChangeResetsCrashLoopBackoff(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc), baton.WithCrashLoopJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "app", Image: "crash"})); err != nil {
		t.Fatal(err)
	}
	for restarts, delay := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
		fc.Advance(delay)
		waitPods(t, o, "default", fmt.Sprintf("back-off after %d restarts", restarts+1), func(pods []*baton.Pod) bool {
			cs := pods[0].Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount == int32(restarts+1) && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
		})
	}
	// Now 40 s of back-off are due. Fix the image without moving the clock.
	pod, err := o.Pods("default").Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	pod.Spec.Containers[0].Image = "fixed"
	if _, err := o.Pods("default").Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "the fixed container running with no back-off", func(pods []*baton.Pod) bool {
		cs := pods[0].Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Running != nil && cs[0].Image == "fixed"
	})
}

// WithCrashLoopReset sets how long a clean run must last for the back-off
// to start over.
func TestCrashLoopResetIsConfigurable(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc), baton.WithCrashLoopJitter(0), baton.WithCrashLoopReset(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", baton.Container{Name: "app", Image: "crash"})); err != nil {
		t.Fatal(err)
	}
	// The status shows the back-off only once its timer is armed.
	waitPods(t, o, "default", "back-off after the first restart", func(pods []*baton.Pod) bool {
		cs := pods[0].Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
	})
	// It now runs 3 minutes, longer than the 2-minute reset but far short
	// of the default 10, before crashing again.
	rt.SetBehavior(fake.ByImage("crash"), fake.Behavior{Exit: &fake.Exit{After: 3 * time.Minute, Code: 1}})
	fc.Advance(10 * time.Second)
	waitPods(t, o, "default", "running again", func(pods []*baton.Pod) bool {
		return rt.Starts("app") == 3 && pods[0].Status.ContainerStatuses[0].State.Running != nil
	})
	fc.Advance(3 * time.Minute)
	waitPods(t, o, "default", "restarted at once after a run longer than the reset", func([]*baton.Pod) bool {
		return rt.Starts("app") == 4
	})
}

// A node that is NotReady longer than the toleration has its Pods replaced
// on another node, not before; when it comes back its stale containers
// are stopped, so no Pod runs twice.
func TestNodeLossReplacesPodsAfterTheToleration(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rtA, rtB := fake.New(fake.WithClock(fc)), fake.New(fake.WithClock(fc))
	o, err := baton.New(baton.WithClock(fc),
		baton.WithNode(baton.NodeConfig{Name: "a", Runtime: rtA}),
		baton.WithNode(baton.NodeConfig{Name: "b", Runtime: rtB}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	nodes, _ := o.Nodes().Watch(ctx)
	for ready := map[string]bool{}; len(ready) < 2; {
		ev := <-nodes
		if ev.Object.IsReady() {
			ready[ev.Object.Name] = true
		}
	}
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 4, "app")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "4 ready pods", readyPods(4))
	onA := rtA.Running()
	if onA == 0 || rtB.Running() == 0 {
		t.Fatalf("pods not spread: %d on a, %d on b", onA, rtB.Running())
	}

	rtA.SetUnavailable(true)
	for !nodeNotReady(t, o, "a") {
		fc.Advance(10 * time.Second) // heartbeats notice
		waitForNodeChange(t, nodes)
	}
	// Within the toleration nothing moves, though a's Pods are not ready.
	a, _ := o.Nodes().Get(ctx, "a")
	notReadySince := a.Status.Condition("Ready").LastTransitionTime.Time
	fc.Set(notReadySince.Add(290 * time.Second))
	pods := waitPods(t, o, "default", "a's pods not ready", func(pods []*baton.Pod) bool {
		notReady := 0
		for _, p := range pods {
			if p.Spec.NodeName == "a" && !p.IsReady() {
				notReady++
			}
		}
		return notReady == onA
	})
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			t.Fatalf("pod %s evicted before the toleration", p.Name)
		}
	}
	fc.Advance(20 * time.Second)
	waitPods(t, o, "default", "4 ready pods on b", func(pods []*baton.Pod) bool {
		ready := 0
		for _, p := range pods {
			if p.Spec.NodeName == "b" && p.IsReady() && p.DeletionTimestamp == nil {
				ready++
			}
		}
		return ready == 4
	})
	// a comes back: its stale containers stop, and its Pods go.
	rtA.SetUnavailable(false)
	for nodeNotReady(t, o, "a") {
		fc.Advance(10 * time.Second)
		waitForNodeChange(t, nodes)
	}
	waitRuntime(t, rtA, 0)
	waitPods(t, o, "default", "only b's pods", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Spec.NodeName == "a" {
				return false
			}
		}
		return len(pods) == 4
	})
	if rtB.Running() != 4 {
		t.Errorf("%d containers on b, want 4", rtB.Running())
	}
}

func nodeNotReady(t *testing.T, o *baton.Orchestrator, name string) bool {
	t.Helper()
	n, err := o.Nodes().Get(ctxFor(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return !n.IsReady()
}

func waitForNodeChange(t *testing.T, nodes <-chan baton.WatchEvent[*baton.Node]) {
	t.Helper()
	select {
	case <-nodes:
	case <-time.After(waitTimeout):
		t.Fatal("no node change")
	}
}
