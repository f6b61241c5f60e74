package baton_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// stateOf returns the state of the newest container named name on rt.
func stateOf(rt *fake.Runtime, name string) runtime.ContainerState {
	var st runtime.ContainerState
	for _, c := range rt.Containers() { // oldest first
		if c.Config.Name == name {
			st = c.State
		}
	}
	return st
}

// hookCall is one run of a hook: the state of its container then, and a
// channel that lets the hook return.
type hookCall struct {
	state   runtime.ContainerState
	release chan struct{}
}

// hookServer answers hook requests on path, each blocking until the test
// releases it, and reports each with the state of container name.
type hookServer struct {
	rt    *fake.Runtime
	name  string
	path  string
	calls chan hookCall
}

func (s *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.path {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	c := hookCall{state: stateOf(s.rt, s.name), release: make(chan struct{})}
	s.calls <- c
	select {
	case <-c.release:
	case <-r.Context().Done():
	}
}

func nextHook(t *testing.T, calls <-chan hookCall, what string) hookCall {
	t.Helper()
	select {
	case c := <-calls:
		return c
	case <-time.After(waitTimeout):
		t.Fatalf("the %s hook never ran", what)
		return hookCall{}
	}
}

// A postStart exec hook runs once the container runs, and the container
// is not reported running until the hook has returned.
func TestPostStartExecRunsAfterTheStart(t *testing.T) {
	o, rt, _, _ := loopbackNode(t)
	calls := make(chan hookCall)
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: func(cmd []string, _, _ io.Writer) int {
		if cmd[0] != "warm-up" {
			return 1
		}
		c := hookCall{state: stateOf(rt, "app"), release: make(chan struct{})}
		calls <- c
		<-c.release
		return 0
	}})
	c := baton.Container{Name: "app", Image: "app", Lifecycle: &baton.Lifecycle{
		PostStart: &baton.LifecycleHandler{Exec: &baton.ExecAction{Command: []string{"warm-up"}}}}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	call := nextHook(t, calls, "postStart")
	if call.state != runtime.ContainerRunning {
		t.Errorf("postStart ran while the container was %s; want it running", call.state)
	}
	p, err := o.Pods("default").Get(ctxFor(t), "p")
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.Status.ContainerStatuses; len(cs) == 1 && cs[0].State.Running != nil {
		t.Errorf("the container is reported running before its postStart hook returned")
	}
	close(call.release)
	p = waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("restartCount %d after a postStart hook that passed", n)
	}
}

// A postStart httpGet hook reaches the container's server once it runs,
// on the container's first start.
func TestPostStartHTTPGetRunsAfterTheStart(t *testing.T) {
	o, rt, _, _ := loopbackNode(t)
	srv := &hookServer{rt: rt, name: "web", path: "/started", calls: make(chan hookCall)}
	rt.SetBehavior(fake.ByImage("web"), fake.Behavior{Serve: []fake.Server{fake.HTTP(7011, srv)}})
	c := baton.Container{Name: "web", Image: "web", Lifecycle: &baton.Lifecycle{
		PostStart: &baton.LifecycleHandler{HTTPGet: &baton.HTTPGetAction{Path: "/started", Port: baton.FromInt(7011)}}}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	call := nextHook(t, srv.calls, "postStart")
	if call.state != runtime.ContainerRunning {
		t.Errorf("postStart ran while the container was %s; want it running", call.state)
	}
	close(call.release)
	p := waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("restartCount %d after a postStart hook that passed", n)
	}
	events, err := o.Events("default").List(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Reason == "FailedPostStartHook" {
			t.Errorf("FailedPostStartHook: %s", e.Message)
		}
	}
}

// A postStart hook that fails gets a FailedPostStartHook event, and its
// container is killed and restarted.
func TestFailedPostStartRestartsTheContainer(t *testing.T) {
	o, rt, _, _ := loopbackNode(t)
	var runs atomic.Int32
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: func([]string, io.Writer, io.Writer) int {
		if runs.Add(1) == 1 {
			return 1
		}
		return 0
	}})
	c := baton.Container{Name: "app", Image: "app", Lifecycle: &baton.Lifecycle{
		PostStart: &baton.LifecycleHandler{Exec: &baton.ExecAction{Command: []string{"warm-up"}}}}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "ready after one restart", func(p *baton.Pod) bool {
		return p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1
	})
	if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 137 {
		t.Errorf("lastState.terminated = %+v; want the container killed (137)", last)
	}
	e := waitEvent(t, o, "FailedPostStartHook", about("Pod", p.ObjectMeta, "FailedPostStartHook", "node-agent"))
	if e.Type != baton.EventTypeWarning || !strings.Contains(e.Message, "exited with code 1") {
		t.Errorf("FailedPostStartHook event: %s %q", e.Type, e.Message)
	}
}

// A preStop httpGet hook runs while the container still runs, and SIGTERM
// waits for it: the container exits with 143 only once the hook returned.
func TestPreStopHTTPGetRunsBeforeSIGTERM(t *testing.T) {
	o, rt, _, _ := loopbackNode(t)
	srv := &hookServer{rt: rt, name: "web", path: "/drain", calls: make(chan hookCall)}
	rt.SetBehavior(fake.ByImage("web"), fake.Behavior{Serve: []fake.Server{fake.HTTP(7012, srv)}})
	c := baton.Container{Name: "web", Image: "web", Lifecycle: &baton.Lifecycle{
		PreStop: &baton.LifecycleHandler{HTTPGet: &baton.HTTPGetAction{Path: "/drain", Port: baton.FromInt(7012)}}}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	ctx := ctxFor(t)
	events, err := rt.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Pods("default").Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	call := nextHook(t, srv.calls, "preStop")
	if call.state != runtime.ContainerRunning {
		t.Fatalf("preStop ran while the container was %s; want it running", call.state)
	}
	if st := stateOf(rt, "web"); st != runtime.ContainerRunning {
		t.Fatalf("the container is %s while its preStop hook runs; want it running", st)
	}
	close(call.release)
	for ev := range events {
		if ev.Type == runtime.ContainerExitedEvent {
			if ev.ExitCode != 143 {
				t.Errorf("exit code %d, want 143 (SIGTERM)", ev.ExitCode)
			}
			return
		}
	}
	t.Fatal("the container never exited")
}

// A preStop sleep hook holds SIGTERM back for its seconds, on the clock.
func TestPreStopSleepDelaysSIGTERM(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	c := baton.Container{Name: "app", Image: "app", Lifecycle: &baton.Lifecycle{
		PreStop: &baton.LifecycleHandler{Sleep: &baton.SleepAction{Seconds: 7}}}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	ctx := ctxFor(t)
	events, err := rt.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deleted := fc.Now()
	if err := o.Pods("default").Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	// The sleep has begun once its timer is armed (7 s: nothing else in
	// the Orchestrator waits that long from now); until it fires, the
	// container runs.
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := fc.WaitForTimer(wctx, func(d time.Time) bool { return d.Equal(deleted.Add(7 * time.Second)) }); err != nil {
		t.Fatal("the preStop sleep armed no 7s timer")
	}
	fc.Advance(6 * time.Second)
	if st := stateOf(rt, "app"); st != runtime.ContainerRunning {
		t.Fatalf("the container is %s 6s into a 7s preStop sleep", st)
	}
	fc.Advance(time.Second)
	for ev := range events {
		if ev.Type == runtime.ContainerExitedEvent {
			if ev.ExitCode != 143 {
				t.Errorf("exit code %d, want 143 (SIGTERM after the sleep)", ev.ExitCode)
			}
			if !ev.At.Equal(deleted.Add(7 * time.Second)) {
				t.Errorf("exited %s after the deletion; want 7s", ev.At.Sub(deleted))
			}
			return
		}
	}
	t.Fatal("the container never exited")
}

// A preStop hook gets the grace period and no more: one that outlasts it
// is cut short on the clock, and the container is stopped with the
// two-second minimum Kubernetes gives after a preStop hook.
func TestPreStopLongerThanTheGracePeriodIsCutShort(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	grace := int64(10)
	pod := podOf("p", "", baton.Container{Name: "app", Image: "app", Lifecycle: &baton.Lifecycle{
		PreStop: &baton.LifecycleHandler{Sleep: &baton.SleepAction{Seconds: 60}}}})
	pod.Spec.TerminationGracePeriodSeconds = &grace
	if _, err := o.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	ctx := ctxFor(t)
	deleted := fc.Now()
	if err := o.Pods("default").Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := fc.WaitForTimer(wctx, func(d time.Time) bool { return d.Equal(deleted.Add(60 * time.Second)) }); err != nil {
		t.Fatal("the preStop sleep armed no 60s timer")
	}
	fc.Advance(10 * time.Second)
	waitRuntime(t, rt, 0)
}
