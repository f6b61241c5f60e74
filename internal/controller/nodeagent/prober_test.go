package nodeagent

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// probeEpoch is when the prober tests' clocks start.
var probeEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// probeWait bounds every wait of the prober tests; they end as soon as the
// awaited thing happens, so it only matters when a test fails.
const probeWait = 10 * time.Second

// probeHarness drives one agent's prober directly, without running the
// agent: the smallest seam the prober offers is ensure (start the loops of
// a running container), result (read a verdict) and forget (a run is
// over). Containers run on a fake runtime whose exec probes are answered
// one at a time by the test: each exec blocks until the test replies, so
// the test knows which probe ran at what time on the fake clock, and that
// the verdict of the probe before it has been recorded (a loop records a
// verdict before it waits for its next tick).
type probeHarness struct {
	t     *testing.T
	fc    *clock.Fake
	rt    *fake.Runtime
	store *store.Store
	a     *Agent
	ctx   context.Context
	calls chan probeCall
	done  chan struct{}
}

// probeCall is one exec probe waiting for the test's answer.
type probeCall struct {
	cmd   string
	at    time.Time
	reply chan int
}

func newProbeHarness(t *testing.T) *probeHarness {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs last
	fc := clock.NewFake(probeEpoch)
	s, err := store.New(store.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	h := &probeHarness{t: t, fc: fc, store: s, calls: make(chan probeCall), done: make(chan struct{})}
	h.rt = fake.New(fake.WithClock(fc))
	h.rt.SetBehavior(nil, fake.Behavior{Exec: h.exec})
	m := NewManager(Config{Store: s, Clock: fc, Log: zaptest.NewLogger(t)}, []Node{{Name: "n1", Runtime: h.rt, HostIP: "127.0.0.1"}})
	h.a = m.agents["n1"]
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	t.Cleanup(func() {
		cancel()
		close(h.done)
		h.a.prober.wait()
	})
	return h
}

func (h *probeHarness) exec(cmd []string, _, _ io.Writer) int {
	c := probeCall{cmd: cmd[0], at: h.fc.Now(), reply: make(chan int, 1)}
	select {
	case h.calls <- c:
	case <-h.done:
		return 1
	}
	select {
	case code := <-c.reply:
		return code
	case <-h.done:
		return 1
	}
}

// start runs a container named name (attempt n) in the sandbox of the pod
// called pod, as the agent would, and returns its record.
func (h *probeHarness) start(pod string, attempt uint32) containerRecord {
	h.t.Helper()
	sb, err := h.rt.RunPodSandbox(h.ctx, runtime.SandboxConfig{Name: pod, Namespace: "default", UID: "uid-" + pod})
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := runtime.StartContainer(h.ctx, h.rt, sb.ID, runtime.ContainerConfig{Name: "app", Image: "app", Attempt: attempt}, runtime.PullIfNotPresent)
	if err != nil {
		h.t.Fatal(err)
	}
	return containerRecordOf(c)
}

// tick moves the clock to at, once a timer is armed for exactly then and
// none earlier: probe loops run at a fixed rate from the container's start.
// A probe's timeout is a timer too, stopped as soon as the probe returns,
// so an earlier timer gets a moment to go before it counts as a probe
// armed too early.
func (h *probeHarness) tick(at time.Time) {
	h.t.Helper()
	if !at.After(h.fc.Now()) {
		return // due already: it fires as soon as it is armed
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	if err := h.fc.WaitForTimer(ctx, func(d time.Time) bool { return d.Equal(at) }); err != nil {
		h.t.Fatalf("no probe armed for %s (+%s); next timer: %v", at, at.Sub(probeEpoch), h.nextDeadline())
	}
	testutil.Eventually(h.t, "no timer before the probe due at +"+at.Sub(probeEpoch).String(), probeWait, time.Millisecond, func() (bool, string) {
		next, _ := h.fc.NextDeadline()
		return !next.Before(at), "a timer is armed for " + h.nextDeadline()
	})
	h.fc.Set(at)
}

// armed waits until a timer is armed for exactly at: a loop whose tick
// probed nothing (held back) has taken its tick once it armed the next,
// and the clock must not move on before, as a loop arms its next tick
// from the time it wakes.
func (h *probeHarness) armed(at time.Time) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	if err := h.fc.WaitForTimer(ctx, func(d time.Time) bool { return d.Equal(at) }); err != nil {
		h.t.Fatalf("no probe armed for +%s; next timer: %v", at.Sub(probeEpoch), h.nextDeadline())
	}
}

func (h *probeHarness) nextDeadline() string {
	if d, ok := h.fc.NextDeadline(); ok {
		return "+" + d.Sub(probeEpoch).String()
	}
	return "none"
}

// next returns the next exec probe, which must be cmd at at.
func (h *probeHarness) next(cmd string, at time.Time) probeCall {
	h.t.Helper()
	select {
	case c := <-h.calls:
		if c.cmd != cmd || !c.at.Equal(at) {
			h.t.Fatalf("probe %q ran at +%s; want %q at +%s", c.cmd, c.at.Sub(probeEpoch), cmd, at.Sub(probeEpoch))
		}
		return c
	case <-time.After(probeWait):
		h.t.Fatalf("probe %q never ran (due at +%s)", cmd, at.Sub(probeEpoch))
		return probeCall{}
	}
}

func (h *probeHarness) result(id string, kind probeKind) probeResult {
	return h.a.prober.result(id, kind, true)
}

// waitResult waits until the verdict of a loop that has stopped is want.
func (h *probeHarness) waitResult(id string, kind probeKind, want probeResult) {
	h.t.Helper()
	testutil.Eventually(h.t, kind.String()+" verdict "+want.String(), probeWait, time.Millisecond, func() (bool, string) {
		got := h.result(id, kind)
		return got == want, "verdict " + got.String()
	})
}

func (r probeResult) String() string {
	return [...]string{"unknown", "success", "failure"}[r]
}

func execProbe(cmd string, p api.Probe) *api.Probe {
	p.ProbeHandler = api.ProbeHandler{Exec: &api.ExecAction{Command: []string{cmd}}}
	return &p
}

func probePod(name string, c api.Container) (*api.Pod, *api.Container) {
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: "uid-" + name},
		Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{c}}}
	return pod, &pod.Spec.Containers[0]
}

// TestProbeStateMachine drives one probe through a script of passes and
// failures on the fake clock and checks, for each, when it ran (its
// initialDelaySeconds and periodSeconds, counted from the container's
// start) and the verdict it left: failureThreshold failures in a row flip
// it to failure, successThreshold passes in a row to success, and one of
// the other kind starts the count over. Liveness starts out alive;
// readiness and startup start unknown (not ready, not started). A startup
// loop ends once it has passed, a liveness or startup loop once it has
// failed (the agent restarts the container); a readiness loop never ends.
func TestProbeStateMachine(t *testing.T) {
	const (
		U = unknown
		S = success
		F = failure
	)
	type step struct {
		at   time.Duration // after the container started
		pass bool
		want probeResult // the verdict once this probe counted
	}
	tests := []struct {
		name  string
		kind  probeKind
		probe api.Probe
		// seen is how long after the container started the prober first
		// sees it.
		seen   time.Duration
		before probeResult
		steps  []step
		// ends: the loop stops after the last step.
		ends bool
	}{{
		name:   "liveness fails after failureThreshold failures in a row",
		kind:   liveness,
		probe:  api.Probe{PeriodSeconds: 10, FailureThreshold: 3, SuccessThreshold: 1},
		before: S,
		steps: []step{
			{0, true, S}, {10 * time.Second, false, S}, {20 * time.Second, false, S},
			{30 * time.Second, true, S}, // the count starts over
			{40 * time.Second, false, S}, {50 * time.Second, false, S}, {60 * time.Second, false, F},
		},
		ends: true,
	}, {
		name:   "liveness waits initialDelaySeconds, then probes every periodSeconds",
		kind:   liveness,
		probe:  api.Probe{InitialDelaySeconds: 15, PeriodSeconds: 4, FailureThreshold: 2, SuccessThreshold: 1},
		before: S,
		steps:  []step{{15 * time.Second, true, S}, {19 * time.Second, false, S}, {23 * time.Second, false, F}},
		ends:   true,
	}, {
		name:   "liveness with failureThreshold 1 fails at the first failure",
		kind:   liveness,
		probe:  api.Probe{PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1},
		before: S,
		steps:  []step{{0, false, F}},
		ends:   true,
	}, {
		name:  "readiness needs successThreshold passes in a row, and failureThreshold failures",
		kind:  readiness,
		probe: api.Probe{PeriodSeconds: 5, SuccessThreshold: 3, FailureThreshold: 2},
		steps: []step{
			{0, true, U}, {5 * time.Second, true, U},
			{10 * time.Second, false, U}, // one failure of two: still undecided, and the passes start over
			{15 * time.Second, true, U}, {20 * time.Second, true, U}, {25 * time.Second, true, S},
			{30 * time.Second, false, S}, {35 * time.Second, true, S}, // one failure, then the count starts over
			{40 * time.Second, false, S}, {45 * time.Second, false, F},
			{50 * time.Second, true, F}, {55 * time.Second, true, F}, {60 * time.Second, true, S},
		},
	}, {
		name:  "readiness with the thresholds at 1 follows every probe",
		kind:  readiness,
		probe: api.Probe{InitialDelaySeconds: 3, PeriodSeconds: 7, SuccessThreshold: 1, FailureThreshold: 1},
		steps: []step{{3 * time.Second, false, F}, {10 * time.Second, true, S}, {17 * time.Second, false, F}, {24 * time.Second, true, S}},
	}, {
		name:  "a container seen late is probed at its start plus initialDelaySeconds",
		kind:  readiness,
		probe: api.Probe{InitialDelaySeconds: 30, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
		seen:  20 * time.Second,
		steps: []step{{30 * time.Second, true, S}, {40 * time.Second, true, S}},
	}, {
		name:  "a container seen after its initialDelaySeconds is probed at once",
		kind:  readiness,
		probe: api.Probe{InitialDelaySeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
		seen:  12 * time.Second,
		steps: []step{{12 * time.Second, true, S}, {22 * time.Second, true, S}},
	}, {
		name:  "startup is unknown until it passes, and then stops",
		kind:  startup,
		probe: api.Probe{PeriodSeconds: 10, FailureThreshold: 30, SuccessThreshold: 1},
		steps: []step{{0, false, U}, {10 * time.Second, false, U}, {20 * time.Second, true, S}},
		ends:  true,
	}, {
		name:  "startup fails after failureThreshold failures in a row",
		kind:  startup,
		probe: api.Probe{InitialDelaySeconds: 2, PeriodSeconds: 10, FailureThreshold: 3, SuccessThreshold: 1},
		steps: []step{{2 * time.Second, false, U}, {12 * time.Second, false, U}, {22 * time.Second, false, F}},
		ends:  true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newProbeHarness(t)
			ctr := h.start("p", 0)
			started := ctr.startedAt.time()
			h.fc.Set(started.Add(tt.seen))
			c := api.Container{Name: "app", Image: "app"}
			probe := execProbe("probe", tt.probe)
			switch tt.kind {
			case liveness:
				c.LivenessProbe = probe
			case readiness:
				c.ReadinessProbe = probe
			case startup:
				c.StartupProbe = probe
			}
			pod, spec := probePod("p", c)
			h.a.prober.ensure(h.ctx, pod, spec, ctr)
			want := tt.before
			for i, s := range tt.steps {
				at := started.Add(s.at)
				h.tick(at)
				call := h.next("probe", at)
				if got := h.result(ctr.id, tt.kind); got != want {
					t.Fatalf("before probe %d (+%s): verdict %s, want %s", i+1, s.at, got, want)
				}
				code := 1
				if s.pass {
					code = 0
				}
				call.reply <- code
				want = s.want
			}
			last := tt.steps[len(tt.steps)-1].at
			if tt.ends {
				h.waitResult(ctr.id, tt.kind, want)
				testutil.Eventually(t, "the loop to stop", probeWait, time.Millisecond, func() (bool, string) {
					return h.fc.Timers() == 0, "a timer is still armed for " + h.nextDeadline()
				})
				return
			}
			at := started.Add(last + time.Duration(tt.probe.PeriodSeconds)*time.Second)
			h.tick(at)
			call := h.next("probe", at)
			if got := h.result(ctr.id, tt.kind); got != want {
				t.Fatalf("after the last probe: verdict %s, want %s", got, want)
			}
			call.reply <- 0
		})
	}
}

// A startup probe holds liveness and readiness back: their loops tick but
// probe nothing until it has passed, and then take over on their own
// schedules. Meanwhile the container is alive (not restarted) but neither
// started nor ready.
func TestStartupProbeGatesLivenessAndReadiness(t *testing.T) {
	h := newProbeHarness(t)
	ctr := h.start("p", 0)
	t0 := ctr.startedAt.time()
	pod, c := probePod("p", api.Container{Name: "app", Image: "app",
		StartupProbe:   execProbe("started", api.Probe{PeriodSeconds: 10, FailureThreshold: 5, SuccessThreshold: 1}),
		LivenessProbe:  execProbe("alive", api.Probe{InitialDelaySeconds: 5, PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1}),
		ReadinessProbe: execProbe("ready", api.Probe{InitialDelaySeconds: 7, PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1}),
	})
	h.a.prober.ensure(h.ctx, pod, c, ctr)
	// Liveness would fail at once (threshold 1) and readiness would pass, if
	// either ran: any call but "started" before +20s fails the test.
	for _, s := range []struct {
		at   time.Duration
		pass bool
	}{{0, false}, {10 * time.Second, false}, {20 * time.Second, true}} {
		if s.at > 0 {
			// The gated loops tick in between, at +5s and +7s past each.
			for _, gated := range []time.Duration{s.at - 5*time.Second, s.at - 3*time.Second} {
				h.tick(t0.Add(gated))
				h.armed(t0.Add(gated + 10*time.Second))
			}
			h.tick(t0.Add(s.at))
		}
		call := h.next("started", t0.Add(s.at))
		if started, ready := h.a.probed(ctr.id, c); started || ready {
			t.Fatalf("+%s: started %t, ready %t before the startup probe passed", s.at, started, ready)
		}
		if got := h.result(ctr.id, liveness); got != success {
			t.Fatalf("+%s: liveness verdict %s while held back; want it alive", s.at, got)
		}
		code := 1
		if s.pass {
			code = 0
		}
		call.reply <- code
	}
	h.waitResult(ctr.id, startup, success)
	if started, ready := h.a.probed(ctr.id, c); !started || ready {
		t.Fatalf("after the startup probe passed: started %t, ready %t; want started, not yet ready", started, ready)
	}
	// Now the others probe, each on its own schedule.
	h.tick(t0.Add(25 * time.Second))
	h.next("alive", t0.Add(25*time.Second)).reply <- 0
	h.tick(t0.Add(27 * time.Second))
	h.next("ready", t0.Add(27*time.Second)).reply <- 0
	h.waitResult(ctr.id, readiness, success)
	if started, ready := h.a.probed(ctr.id, c); !started || !ready {
		t.Fatalf("after readiness passed: started %t, ready %t", started, ready)
	}
	// The startup loop ended: no more "started" calls come, only the
	// others'.
	h.tick(t0.Add(35 * time.Second))
	h.next("alive", t0.Add(35*time.Second)).reply <- 0
}

// Verdicts belong to one run of a container: when it is over, forget drops
// them and stops its loops, and the next run starts afresh — alive, but
// neither ready nor started — whatever the last run's probes said.
func TestProbeResultsResetWhenTheContainerRestarts(t *testing.T) {
	h := newProbeHarness(t)
	first := h.start("p", 0)
	t0 := first.startedAt.time()
	pod, c := probePod("p", api.Container{Name: "app", Image: "app",
		LivenessProbe:  execProbe("alive", api.Probe{InitialDelaySeconds: 5, PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1}),
		ReadinessProbe: execProbe("ready", api.Probe{PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1}),
	})
	h.a.prober.ensure(h.ctx, pod, c, first)
	h.next("ready", t0).reply <- 0
	h.tick(t0.Add(5 * time.Second))
	h.next("alive", t0.Add(5*time.Second)).reply <- 1
	h.waitResult(first.id, liveness, failure)
	if got := h.result(first.id, readiness); got != success {
		t.Fatalf("the first run's readiness verdict is %s, want success", got)
	}

	// The run is over, as the agent sees it when the container exits.
	if err := h.rt.StopContainer(h.ctx, first.id, 0); err != nil {
		t.Fatal(err)
	}
	h.a.prober.forget(first.id)
	for _, kind := range []probeKind{liveness, readiness} {
		if got := h.result(first.id, kind); got != unknown {
			t.Errorf("after forget, the first run's %s verdict is %s; want none", kind, got)
		}
	}
	testutil.Eventually(t, "the first run's loops to stop", probeWait, time.Millisecond, func() (bool, string) {
		return h.fc.Timers() == 0, "a timer is still armed for " + h.nextDeadline()
	})

	h.fc.Advance(time.Minute)
	second := h.start("p", 1)
	t1 := second.startedAt.time()
	h.a.prober.ensure(h.ctx, pod, c, second)
	call := h.next("ready", t1)
	if got := h.result(second.id, liveness); got != success {
		t.Errorf("the new run's liveness verdict is %s before any probe; want alive", got)
	}
	if started, ready := h.a.probed(second.id, c); !started || ready {
		t.Errorf("the new run before its readiness probe: started %t, ready %t; want started, not ready", started, ready)
	}
	call.reply <- 0
	h.waitResult(second.id, readiness, success)
	h.tick(t1.Add(5 * time.Second))
	h.next("alive", t1.Add(5*time.Second)).reply <- 0
}

// ensure starts one loop per probe and run; calling it again for a run
// whose loops run starts no second one.
func TestEnsureStartsOneLoopPerProbe(t *testing.T) {
	h := newProbeHarness(t)
	ctr := h.start("p", 0)
	t0 := ctr.startedAt.time()
	pod, c := probePod("p", api.Container{Name: "app", Image: "app",
		ReadinessProbe: execProbe("ready", api.Probe{InitialDelaySeconds: 3, PeriodSeconds: 10, FailureThreshold: 1, SuccessThreshold: 1})})
	for range 3 {
		h.a.prober.ensure(h.ctx, pod, c, ctr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	if err := h.fc.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := h.fc.Timers(); n != 1 {
		t.Fatalf("%d probe timers armed after three ensures; want 1", n)
	}
	h.tick(t0.Add(3 * time.Second))
	h.next("ready", t0.Add(3*time.Second)).reply <- 0
	h.waitResult(ctr.id, readiness, success)
	select {
	case c := <-h.calls:
		t.Fatalf("a second %q probe ran at +%s", c.cmd, c.at.Sub(probeEpoch))
	default:
	}
}

// An HTTP probe passes on a status from 200 to 399, follows redirects on
// the same host, sends its path, headers and User-Agent, and fails on any
// other status.
func TestHTTPGetProbeStatuses(t *testing.T) {
	h := newProbeHarness(t)
	type request struct{ path, ua, custom string }
	seen := make(chan request, 10)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the probe followed a redirect to another host: %s", r.URL)
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- request{r.URL.Path, r.UserAgent(), r.Header.Get("X-Probe")}
		switch code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/")); {
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/200", http.StatusFound)
		case r.URL.Path == "/away":
			http.Redirect(w, r, elsewhere.URL+"/", http.StatusFound)
		default:
			w.WriteHeader(code)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	pod, c := probePod("p", api.Container{Name: "app", Image: "app"})
	pod.Status.PodIP = "127.0.0.1"
	for _, tt := range []struct {
		path  string
		pass  bool
		paths []string
	}{
		{"/200", true, []string{"/200"}},
		{"/204", true, []string{"/204"}},
		{"/399", true, []string{"/399"}},
		{"/moved", true, []string{"/moved", "/200"}},
		{"/away", true, []string{"/away"}}, // kubelet, too, takes a redirect off the Pod as success
		{"/400", false, []string{"/400"}},
		{"/404", false, []string{"/404"}},
		{"/500", false, []string{"/500"}},
	} {
		g := &api.HTTPGetAction{Path: tt.path, Port: api.FromInt(int32(n)), HTTPHeaders: []api.HTTPHeader{{Name: "X-Probe", Value: "yes"}}}
		ok, detail := h.a.runHTTPGet(h.ctx, pod, c, g)
		if ok != tt.pass {
			t.Errorf("GET %s: passed %t (%s); want %t", tt.path, ok, detail, tt.pass)
		}
		if !ok && !strings.Contains(detail, tt.path[1:]) {
			t.Errorf("GET %s: the failure %q does not name the status", tt.path, detail)
		}
		for _, p := range tt.paths {
			select {
			case r := <-seen:
				if r.path != p || r.ua != "baton-probe" || r.custom != "yes" {
					t.Errorf("GET %s: the server saw %+v; want path %s, User-Agent baton-probe, X-Probe yes", tt.path, r, p)
				}
			default:
				t.Errorf("GET %s: no request for %s reached the server", tt.path, p)
			}
		}
	}
}

// probeAddress sends probes to the Pod's IP, to the node's for a Pod on
// the host network, or to an explicit host, and resolves named ports to
// the container's port of that name.
func TestProbeAddress(t *testing.T) {
	h := newProbeHarness(t)
	h.a.hostIP = "192.0.2.7"
	c := &api.Container{Name: "app", Ports: []api.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 9090}}}
	for _, tt := range []struct {
		name        string
		hostNetwork bool
		podIP, host string
		port        api.IntOrString
		want, err   string
	}{
		{name: "number on the Pod IP", podIP: "10.88.0.2", port: api.FromInt(80), want: "10.88.0.2:80"},
		{name: "named port", podIP: "10.88.0.2", port: api.FromString("admin"), want: "10.88.0.2:9090"},
		{name: "host network goes to the node", hostNetwork: true, podIP: "10.88.0.2", port: api.FromString("http"), want: "192.0.2.7:8080"},
		{name: "explicit host", podIP: "10.88.0.2", host: "198.51.100.1", port: api.FromInt(81), want: "198.51.100.1:81"},
		{name: "unknown name", podIP: "10.88.0.2", port: api.FromString("metrics"), err: `no port named "metrics"`},
		{name: "no IP yet", port: api.FromInt(80), err: "no IP"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p", UID: "uid-p"},
				Spec: api.PodSpec{HostNetwork: tt.hostNetwork}, Status: api.PodStatus{PodIP: tt.podIP}}
			got, err := h.a.probeAddress(pod, c, tt.host, tt.port)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("got %q, %v; want an error saying %q", got, err, tt.err)
			case tt.err == "" && (err != nil || got != tt.want):
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// timeoutSeconds is measured on the agent's clock, as every other timer
// is (docs/ARCHITECTURE.md, "Time"): a probe still waiting when the fake
// clock passes its timeout has failed.
func TestProbeTimeoutRunsOnTheAgentClock(t *testing.T) {
	h := newProbeHarness(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	pod, c := probePod("p", api.Container{Name: "app", Image: "app"})
	pod.Status.PodIP = "127.0.0.1"
	probe := &api.Probe{ProbeHandler: api.ProbeHandler{HTTPGet: &api.HTTPGetAction{Port: api.FromInt(int32(n))}}, TimeoutSeconds: 60}
	done := make(chan bool, 1)
	go func() {
		ok, _ := h.a.prober.probe(h.ctx, pod, c, probe, "")
		done <- ok
	}()
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	if err := h.fc.WaitForTimers(ctx, 1); err != nil {
		t.Fatal("the probe armed no timer on the agent's clock for its timeout")
	}
	h.fc.Advance(60 * time.Second)
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a probe that timed out passed")
		}
	case <-time.After(probeWait):
		t.Fatal("the probe did not time out when the agent's clock passed timeoutSeconds")
	}
}
