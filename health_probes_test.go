package baton_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

// healthEpoch is when the fake clocks of the probe and hook tests start:
// the Pods' containers start then, so their probes run at healthEpoch
// plus initialDelaySeconds plus a multiple of periodSeconds. The tests use
// periods that are not multiples of 10 s, so that no probe is due at the
// same time as the node agent's heartbeats and relists.
var healthEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// healthNet numbers the /24s of 127.73.0.0/16 that these tests' Pods take
// their loopback IPs from, one per test, starting at random so that two
// test binaries running at once seldom share one.
var healthNet atomic.Int32

func init() { healthNet.Store(rand.Int32N(200)) }

// loopbackNode returns a running Orchestrator on a fake clock with one
// node, "local", on a fake runtime whose Pods get loopback IPs of their
// own, so that in-process listeners and fake.Behavior.Serve can play
// their servers, and whose address is another loopback address.
func loopbackNode(t *testing.T) (o *baton.Orchestrator, rt *fake.Runtime, fc *clock.Fake, nodeAddr string) {
	t.Helper()
	n := healthNet.Add(1) % 250
	fc = clock.NewFake(healthEpoch)
	rt = fake.New(fake.WithClock(fc), fake.WithPodCIDR(fmt.Sprintf("127.73.%d.0/24", n)))
	t.Cleanup(rt.CloseServers) // after Run stops: the node agent leaves containers running
	nodeAddr = fmt.Sprintf("127.74.%d.1", n)
	o, err := baton.New(baton.WithClock(fc), baton.WithNode(baton.NodeConfig{Name: "local", Runtime: rt, Address: nodeAddr}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	return o, rt, fc, nodeAddr
}

// advanceTo moves fc to at once a timer is armed for exactly then: the
// probe (or hook) due at at is waiting, so moving the clock fires it.
func advanceTo(t *testing.T, fc *clock.Fake, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := fc.WaitForTimer(ctx, func(d time.Time) bool { return d.Equal(at) }); err != nil {
		next, _ := fc.NextDeadline()
		t.Fatalf("nothing armed for +%s; next timer at +%s", at.Sub(healthEpoch), next.Sub(healthEpoch))
	}
	fc.Set(at)
}

// waitPod waits until cond holds for the Pod called name in "default".
func waitPod(t *testing.T, o *baton.Orchestrator, name, what string, cond func(*baton.Pod) bool) *baton.Pod {
	t.Helper()
	var found *baton.Pod
	waitPods(t, o, "default", name+": "+what, func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == name && cond(p) {
				found = p
				return true
			}
		}
		return false
	})
	return found
}

func runningWithIP(p *baton.Pod) bool {
	return p.Status.PodIP != "" && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
}

// listen listens on addr until the test ends (or close is called) and
// reports each accepted connection on the returned channel.
func listen(t *testing.T, addr string) (accepted <-chan struct{}, close func()) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer func() { done <- struct{}{} }()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
			ch <- struct{}{}
		}
	}()
	closed := false
	stop := func() {
		if !closed {
			closed = true
			l.Close()
			<-done
		}
	}
	t.Cleanup(stop)
	return ch, stop
}

func nextAccept(t *testing.T, accepted <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-accepted:
	case <-time.After(waitTimeout):
		t.Fatalf("no connection from %s", what)
	}
}

func tcpProbe(port baton.IntOrString, delay, period, failures int32) *baton.Probe {
	return &baton.Probe{
		ProbeHandler:        baton.ProbeHandler{TCPSocket: &baton.TCPSocketAction{Port: port}},
		InitialDelaySeconds: delay, PeriodSeconds: period, FailureThreshold: failures, SuccessThreshold: 1,
		TimeoutSeconds: probeTimeout,
	}
}

// probeTimeout is longer than any jump of these tests' clocks: a probe
// times out on the agent's clock, so one still in flight when a test
// moves the clock past its timeout would fail for that alone.
const probeTimeout = 60

// A tcpSocket readiness probe, on a named port, makes the Pod ready while
// something listens on that port of the Pod's IP, and not ready when
// nothing does; it never restarts the container.
func TestTCPSocketReadinessFollowsTheListener(t *testing.T) {
	o, _, fc, _ := loopbackNode(t)
	c := baton.Container{Name: "app", Image: "app", Ports: []baton.ContainerPort{{Name: "svc", ContainerPort: 7001}},
		ReadinessProbe: tcpProbe(baton.FromString("svc"), 0, 7, 1)}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "running", runningWithIP)
	if p.IsReady() {
		t.Fatal("ready while nothing listens on the probed port")
	}
	accepted, stop := listen(t, net.JoinHostPort(p.Status.PodIP, "7001"))
	advanceTo(t, fc, healthEpoch.Add(7*time.Second))
	nextAccept(t, accepted, "the readiness probe")
	waitPod(t, o, "p", "ready once its port listens", (*baton.Pod).IsReady)
	stop()
	advanceTo(t, fc, healthEpoch.Add(14*time.Second))
	p = waitPod(t, o, "p", "not ready once its port is closed", func(p *baton.Pod) bool { return !p.IsReady() })
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("a failing readiness probe restarted the container (restartCount %d)", n)
	}
}

// A tcpSocket liveness probe keeps the container while its port answers
// and restarts it after failureThreshold refused connections.
func TestTCPSocketLivenessRestartsWhenThePortCloses(t *testing.T) {
	o, _, fc, _ := loopbackNode(t)
	c := baton.Container{Name: "app", Image: "app", LivenessProbe: tcpProbe(baton.FromInt(7002), 3, 7, 2)}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "running", runningWithIP)
	accepted, stop := listen(t, net.JoinHostPort(p.Status.PodIP, "7002"))
	for _, at := range []time.Duration{3 * time.Second, 10 * time.Second} {
		advanceTo(t, fc, healthEpoch.Add(at))
		nextAccept(t, accepted, "the liveness probe")
	}
	stop()
	for _, at := range []time.Duration{17 * time.Second, 24 * time.Second} {
		advanceTo(t, fc, healthEpoch.Add(at))
	}
	p = waitPod(t, o, "p", "restarted after two refused probes", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1
	})
	if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ExitCode != 143 {
		t.Errorf("lastState.terminated = %+v; want the container stopped with SIGTERM (143)", last)
	}
}

// probeRequests serves HTTP probes with the status code it holds and
// reports what each request asked for.
type probeRequests struct {
	code     atomic.Int32
	requests chan string // "host path header"
}

func newProbeRequests(code int32) *probeRequests {
	s := &probeRequests{requests: make(chan string, 100)}
	s.code.Store(code)
	return s
}

func (s *probeRequests) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case s.requests <- r.Host + " " + r.URL.Path + " " + r.Header.Get("X-Probe"):
	default:
	}
	w.WriteHeader(int(s.code.Load()))
}

func (s *probeRequests) next(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-s.requests:
		if got != want {
			t.Fatalf("the probe asked for %q; want %q", got, want)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("no probe request (want %q)", want)
	}
}

// An httpGet readiness probe on a named port goes to the Pod's IP at that
// port with its path and headers, and the Pod is ready while it answers
// 2xx, not while it answers 5xx.
func TestHTTPGetReadinessOnANamedPort(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	srv := newProbeRequests(http.StatusServiceUnavailable)
	rt.SetBehavior(fake.ByImage("web"), fake.Behavior{Serve: []fake.Server{fake.HTTP(7003, srv)}})
	c := baton.Container{Name: "web", Image: "web", Ports: []baton.ContainerPort{{Name: "health", ContainerPort: 7003}},
		ReadinessProbe: &baton.Probe{
			ProbeHandler: baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/healthz", Port: baton.FromString("health"),
				HTTPHeaders: []baton.HTTPHeader{{Name: "X-Probe", Value: "ready"}}}},
			// The first probe comes once the Pod's IP is known: see
			// TestTheFirstProbeKnowsThePodIP.
			InitialDelaySeconds: 3, PeriodSeconds: 7, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: probeTimeout,
		}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "running", runningWithIP)
	want := net.JoinHostPort(p.Status.PodIP, "7003") + " /healthz ready"
	advanceTo(t, fc, healthEpoch.Add(3*time.Second))
	srv.next(t, want) // 503
	if p := waitPod(t, o, "p", "running", runningWithIP); p.IsReady() {
		t.Fatal("ready while the probe answers 503")
	}
	srv.code.Store(http.StatusOK)
	advanceTo(t, fc, healthEpoch.Add(10*time.Second))
	srv.next(t, want)
	waitPod(t, o, "p", "ready once the probe answers 200", (*baton.Pod).IsReady)
	srv.code.Store(http.StatusInternalServerError)
	advanceTo(t, fc, healthEpoch.Add(17*time.Second))
	srv.next(t, want)
	p = waitPod(t, o, "p", "not ready once the probe answers 500", func(p *baton.Pod) bool { return !p.IsReady() })
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("a failing readiness probe restarted the container (restartCount %d)", n)
	}
}

// An httpGet liveness probe that answers 500 restarts the container, with
// a Killing event that says why.
func TestHTTPGetLivenessFailureRestarts(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	srv := newProbeRequests(http.StatusOK)
	rt.SetBehavior(fake.ByImage("web"), fake.Behavior{Serve: []fake.Server{fake.HTTP(7004, srv)}})
	c := baton.Container{Name: "web", Image: "web", LivenessProbe: &baton.Probe{
		ProbeHandler:        baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/live", Port: baton.FromInt(7004)}},
		InitialDelaySeconds: 3, PeriodSeconds: 7, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: probeTimeout,
	}}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, o, "p", "running", runningWithIP)
	want := net.JoinHostPort(p.Status.PodIP, "7004") + " /live "
	advanceTo(t, fc, healthEpoch.Add(3*time.Second))
	srv.next(t, want)
	srv.code.Store(http.StatusInternalServerError)
	advanceTo(t, fc, healthEpoch.Add(10*time.Second))
	srv.next(t, want)
	waitPod(t, o, "p", "restarted", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1
	})
	ev := waitEvent(t, o, "Killing for the liveness failure", func(e *baton.Event) bool {
		return e.Reason == "Killing" && strings.Contains(e.Message, "failed liveness probe")
	})
	if ev.InvolvedObject.Kind != "Pod" || ev.InvolvedObject.Name != "p" || ev.InvolvedObject.UID != p.UID {
		t.Errorf("Killing event about %+v; want Pod p (%s)", ev.InvolvedObject, p.UID)
	}
	waitEvent(t, o, "Unhealthy for the liveness failure", func(e *baton.Event) bool {
		return e.Reason == "Unhealthy" && e.Type == baton.EventTypeWarning && e.InvolvedObject.UID == p.UID &&
			strings.Contains(e.Message, "Liveness probe failed") && strings.Contains(e.Message, "500")
	})
}

// The probes of a host-network Pod go to its node's address: here a
// loopback address other than 127.0.0.1, where the test listens.
func TestHostNetworkProbesGoToTheNodeAddress(t *testing.T) {
	o, _, _, nodeAddr := loopbackNode(t)
	accepted, _ := listen(t, net.JoinHostPort(nodeAddr, "7005"))
	pod := podOf("p", "", baton.Container{Name: "app", Image: "app",
		Ports:          []baton.ContainerPort{{Name: "admin", ContainerPort: 7005}},
		ReadinessProbe: tcpProbe(baton.FromString("admin"), 0, 7, 1)})
	pod.Spec.HostNetwork = true
	if _, err := o.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	nextAccept(t, accepted, "the readiness probe of a host-network Pod")
	p := waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	if p.Status.PodIP != nodeAddr || p.Status.HostIP != nodeAddr {
		t.Errorf("podIP %q, hostIP %q; want both the node's address %s", p.Status.PodIP, p.Status.HostIP, nodeAddr)
	}
}

// A Pod's readiness decides its endpoint in the EndpointSlices of the
// Services that select it: listed but not ready (nor serving) while its
// readiness probe fails, ready once it passes, not ready again when it
// fails.
func TestReadinessDecidesTheEndpoint(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	script := newProbeScript()
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: script.exec})
	ctx := ctxFor(t)
	if _, err := o.Services("default").Create(ctx, &baton.Service{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []baton.ServicePort{{Name: "http", Port: 80, TargetPort: baton.FromInt(8080)}}},
	}); err != nil {
		t.Fatal(err)
	}
	pod := podOf("p", "", baton.Container{Name: "app", Image: "app", ReadinessProbe: execProbe("ready", 7, 1)})
	pod.Labels = map[string]string{"app": "web"}
	if _, err := o.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	script.next(t, "ready") // fails
	p := waitPod(t, o, "p", "running", runningWithIP)
	ep := waitEndpoint(t, o, "web", p, "listed, not ready", func(ep *baton.Endpoint) bool {
		return !ep.Conditions.IsReady() && !ep.Conditions.IsServing()
	})
	if ep.Conditions.Terminating != nil && *ep.Conditions.Terminating {
		t.Errorf("the endpoint of a running Pod is terminating: %+v", ep.Conditions)
	}
	script.set("ready", true)
	advanceTo(t, fc, healthEpoch.Add(7*time.Second))
	script.next(t, "ready")
	waitEndpoint(t, o, "web", p, "ready", func(ep *baton.Endpoint) bool {
		return ep.Conditions.IsReady() && ep.Conditions.IsServing()
	})
	script.set("ready", false)
	advanceTo(t, fc, healthEpoch.Add(14*time.Second))
	script.next(t, "ready")
	waitEndpoint(t, o, "web", p, "not ready again", func(ep *baton.Endpoint) bool { return !ep.Conditions.IsReady() })
}

// waitEndpoint waits until the endpoint of pod in Service svc's slices
// satisfies cond, and returns it.
func waitEndpoint(t *testing.T, o *baton.Orchestrator, svc string, pod *baton.Pod, what string, cond func(*baton.Endpoint) bool) *baton.Endpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.EndpointSlices("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seen []baton.Endpoint
	for {
		slices, err := o.EndpointSlices("default").ForService(ctx, svc)
		if err != nil {
			t.Fatal(err)
		}
		seen = nil
		for _, s := range slices {
			for _, ep := range s.Endpoints {
				seen = append(seen, ep)
				if ep.TargetRef != nil && ep.TargetRef.UID == pod.UID && len(ep.Addresses) == 1 && ep.Addresses[0] == pod.Status.PodIP && cond(&ep) {
					return &ep
				}
			}
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for the endpoint of %s in %s to be %s; endpoints: %+v", pod.Name, svc, what, seen)
		}
	}
}

// A container restarted after a liveness failure is not ready until its
// own readiness probe passes: the verdict of the run before does not
// carry over.
func TestARestartedContainerIsNotReadyUntilProbedAgain(t *testing.T) {
	o, rt, fc, _ := loopbackNode(t)
	script := newProbeScript()
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{Exec: script.exec})
	script.set("ready", true)
	script.set("alive", true)
	ready := execProbe("ready", 7, 1)
	ready.InitialDelaySeconds = 3
	alive := execProbe("alive", 7, 1)
	alive.InitialDelaySeconds = 5
	c := baton.Container{Name: "app", Image: "app", ReadinessProbe: ready, LivenessProbe: alive}
	if _, err := o.Pods("default").Create(ctxFor(t), podOf("p", "", c)); err != nil {
		t.Fatal(err)
	}
	waitPod(t, o, "p", "running", runningWithIP)
	// Readiness at +3, +10; liveness at +5, +12.
	advanceTo(t, fc, healthEpoch.Add(3*time.Second))
	script.next(t, "ready")
	waitPod(t, o, "p", "ready", (*baton.Pod).IsReady)
	advanceTo(t, fc, healthEpoch.Add(5*time.Second))
	script.next(t, "alive")
	advanceTo(t, fc, healthEpoch.Add(10*time.Second))
	script.next(t, "ready")
	script.set("alive", false)
	advanceTo(t, fc, healthEpoch.Add(12*time.Second))
	script.next(t, "alive")
	// Restarted at +12: its readiness probe is due at +15, not before.
	p := waitPod(t, o, "p", "restarted, not ready", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Running != nil && !p.IsReady()
	})
	if cs := p.Status.ContainerStatuses[0]; cs.Ready {
		t.Fatalf("the new container is ready before its readiness probe ran: %+v", cs)
	}
	script.set("alive", true)
	advanceTo(t, fc, healthEpoch.Add(15*time.Second))
	script.next(t, "ready")
	waitPod(t, o, "p", "ready again", func(p *baton.Pod) bool {
		return p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1
	})
}

// The first probe of a container runs as soon as it starts (no
// initialDelaySeconds), and by then the Pod's IP is known: its sandbox
// has it. Here the Pod's second container takes a minute to start, so the
// Pod's status waits that long, and the first container's liveness probe
// must still reach its server rather than fail for want of an IP (and,
// with failureThreshold 1, kill a healthy container).
func TestTheFirstProbeKnowsThePodIP(t *testing.T) {
	o, rt, _, _ := loopbackNode(t)
	srv := newProbeRequests(http.StatusOK)
	rt.SetBehavior(fake.ByImage("web"), fake.Behavior{Serve: []fake.Server{fake.HTTP(7006, srv)}})
	rt.SetBehavior(fake.ByImage("slow"), fake.Behavior{StartDelay: time.Minute})
	pod := podOf("p", "",
		baton.Container{Name: "web", Image: "web", LivenessProbe: &baton.Probe{
			ProbeHandler:  baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/live", Port: baton.FromInt(7006)}},
			PeriodSeconds: 7, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: probeTimeout,
		}},
		baton.Container{Name: "slow", Image: "slow"})
	if _, err := o.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-srv.requests:
		if !strings.HasSuffix(got, ":7006 /live ") {
			t.Errorf("the probe asked for %q", got)
		}
	case <-time.After(waitTimeout):
		events, _ := o.Events("default").List(ctxFor(t))
		for _, e := range events {
			if e.Reason == "Unhealthy" || e.Reason == "Killing" {
				t.Logf("%s: %s", e.Reason, e.Message)
			}
		}
		t.Fatal("the first liveness probe never reached the container's server")
	}
}
