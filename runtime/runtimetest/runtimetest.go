// Package runtimetest is the conformance suite for runtime.Runtime
// implementations. A runtime's tests call Run with a Harness that says how
// to make containers that behave in a few known ways; the suite then checks,
// in subtests, that the verbs follow the runtime.Runtime docs and that the
// lifecycle helpers of package runtime work on top of them. Passing it is
// what lets the node agent treat runtime/fake and runtime/containerd alike.
//
// The suite measures grace periods in real time, so the runtime under test
// must run on a real clock. It labels everything it makes with a value
// unique to each subtest and lists only by that label, so a runtime that
// already holds other sandboxes and containers may be tested as it is. Each
// subtest removes what it made.
package runtimetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
)

// Harness is a runtime under test and the container configs that make it
// behave as the suite needs. Each func returns a config with the given
// container name (ContainerConfig.Name) and its image; the suite adds labels
// of its own to a copy, keeping any the config has. The images must be
// obtainable with runtime.EnsureImage and PullPolicy.
type Harness struct {
	// Runtime is the runtime under test.
	Runtime runtime.Runtime

	// LongRunning runs until stopped, and exits promptly on SIGTERM.
	LongRunning func(name string) runtime.ContainerConfig
	// ExitsWith exits by itself with code soon after it starts: well
	// within Timeout.
	ExitsWith func(name string, code int32) runtime.ContainerConfig
	// IgnoresSIGTERM runs until killed: only SIGKILL stops it.
	IgnoresSIGTERM func(name string) runtime.ContainerConfig
	// Prints writes lines, one per line of output, when it starts, then
	// runs until stopped, exiting promptly on SIGTERM.
	Prints func(name string, lines []string) runtime.ContainerConfig

	// MissingImage is a ref that PullImage reports runtime.ErrImageNotFound
	// for, and that is not present.
	MissingImage string
	// PullPolicy is the policy the suite ensures images with. PullNever
	// says the harness's images cannot be pulled (they are imported
	// instead), so the suite does not pull them with PullAlways.
	PullPolicy runtime.PullPolicy

	// ExecProbe says how to exec in a LongRunning container; nil skips
	// the exec subtests.
	ExecProbe *ExecProbe

	// Timeout bounds each wait for an event, an exit or log output, and
	// each cleanup; zero means 10s.
	Timeout time.Duration
}

// ExecProbe holds commands to exec in a LongRunning container.
type ExecProbe struct {
	// Succeed writes Stdout to standard output and exits 0.
	Succeed []string
	// Stdout is what Succeed writes; empty skips that check.
	Stdout string
	// Fail exits with FailCode, which is not 0.
	Fail     []string
	FailCode int
}

// Grace periods the suite uses. ignoreGrace is what a container that
// ignores SIGTERM must be given in full; promptGrace is long enough that a
// runtime which waits it out instead of stopping a SIGTERM-abiding
// container at once fails the test.
const (
	ignoreGrace = 300 * time.Millisecond
	promptGrace = 20 * time.Second
)

// promptly is how long a verb that should not wait out a grace period may
// take.
const promptly = promptGrace / 2

// Run runs the conformance suite, one subtest per behavior. It calls
// newHarness at the start of every subtest, with that subtest's t, so a
// harness may either make a fresh runtime each time (and register its
// teardown with t.Cleanup) or return a shared one.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	type test struct {
		name string
		fn   func(*suite)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Version", []test{{"Reported", testVersion}}},
		{"Image", []test{
			{"Present", testImagePresent},
			{"Missing", testImageMissing},
		}},
		{"Sandbox", []test{
			{"RunIsIdempotent", testSandboxRunIsIdempotent},
			{"IPs", testSandboxIPs},
			{"ListByLabel", testSandboxListByLabel},
			{"StopAndRemoveAreIdempotent", testSandboxStopRemove},
			{"StopKillsContainers", testSandboxStopKillsContainers},
			{"DNSRoundTripsAndCopies", testSandboxDNS},
			{"InvalidDNSIsRefused", testSandboxInvalidDNS},
		}},
		{"Container", []test{
			{"Lifecycle", testContainerLifecycle},
			{"RemoveCreated", testContainerRemoveCreated},
			{"Unknown", testContainerUnknown},
			{"CreateErrors", testContainerCreateErrors},
			{"ListFilters", testContainerListFilters},
			{"ConfigRoundTripsAndCopies", testContainerCopies},
		}},
		{"Events", []test{
			{"ExitCodes", testEventsExitCodes},
			{"EverySubscriber", testEventsEverySubscriber},
			{"ClosesOnCancel", testEventsClose},
		}},
		{"Stop", []test{
			{"SIGTERMIsPrompt", testStopPrompt},
			{"IgnoredSIGTERMWaitsGrace", testStopIgnoresSIGTERM},
		}},
		{"Exec", []test{{"ExitCodes", testExec}}},
		{"Logs", []test{{"TailAndFollow", testLogs}}},
		{"Stats", []test{{"Running", testStats}}},
		{"Lifecycle", []test{
			{"StartContainer", testLifecycleStartContainer},
			{"KillContainer", testLifecycleKillContainer},
			{"TearDownSandbox", testLifecycleTearDown},
		}},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(newSuite(t, newHarness(t)))
				})
			}
		})
	}
}

// Labels the suite puts on what it makes.
const (
	labelRun  = "runtimetest.baton.io/run"
	labelRole = "runtimetest.baton.io/role"
)

// runSeq makes run labels unique within the process.
var runSeq atomic.Uint64

// suite is one subtest's view of the harness, with helpers that fail the
// test on unexpected errors.
type suite struct {
	*testing.T
	h       *Harness
	rt      runtime.Runtime
	ctx     context.Context
	run     string // value of labelRun for this subtest
	timeout time.Duration
}

func newSuite(t *testing.T, h *Harness) *suite {
	t.Helper()
	if h == nil {
		t.Fatal("runtimetest: newHarness returned nil")
	}
	var missing []string
	for name, ok := range map[string]bool{
		"Runtime":        h.Runtime != nil,
		"LongRunning":    h.LongRunning != nil,
		"ExitsWith":      h.ExitsWith != nil,
		"IgnoresSIGTERM": h.IgnoresSIGTERM != nil,
		"Prints":         h.Prints != nil,
		"MissingImage":   h.MissingImage != "",
		"PullPolicy":     h.PullPolicy != "",
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("runtimetest: the Harness lacks %s; set every field but ExecProbe and Timeout", strings.Join(missing, ", "))
	}
	s := &suite{
		T:       t,
		h:       h,
		rt:      h.Runtime,
		ctx:     t.Context(),
		run:     strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatUint(runSeq.Add(1), 10),
		timeout: h.Timeout,
	}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	return s
}

// cleanupCtx returns a context for a cleanup, which runs after s.ctx has
// been cancelled.
func (s *suite) cleanupCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.timeout)
}

// waitCtx returns a context that ends after the suite's timeout.
func (s *suite) waitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.timeout)
}

// sandboxConfig returns a config for a sandbox unique to this subtest.
func (s *suite) sandboxConfig(name string) runtime.SandboxConfig {
	return runtime.SandboxConfig{
		Name:      name,
		Namespace: "runtimetest",
		UID:       s.run + "-" + name,
		Hostname:  name,
		Labels:    map[string]string{labelRun: s.run, labelRole: name},
	}
}

// runSandbox runs a sandbox and tears it down when the subtest ends.
func (s *suite) runSandbox(cfg runtime.SandboxConfig) runtime.Sandbox {
	s.Helper()
	sb, err := s.rt.RunPodSandbox(s.ctx, cfg)
	if err != nil {
		s.Fatalf("RunPodSandbox(%s): %v", cfg.Name, err)
	}
	s.Cleanup(func() {
		ctx, cancel := s.cleanupCtx()
		defer cancel()
		if err := runtime.TearDownSandbox(ctx, s.rt, sb.ID, 0); err != nil {
			s.Errorf("cleanup: TearDownSandbox(%s): %v", sb.ID, err)
		}
	})
	return sb
}

// sandbox runs a sandbox named name.
func (s *suite) sandbox(name string) runtime.Sandbox {
	s.Helper()
	return s.runSandbox(s.sandboxConfig(name))
}

// labeled returns a copy of cfg with the suite's labels added, and role's.
func (s *suite) labeled(cfg runtime.ContainerConfig, role string) runtime.ContainerConfig {
	labels := maps.Clone(cfg.Labels)
	if labels == nil {
		labels = make(map[string]string)
	}
	labels[labelRun] = s.run
	if role != "" {
		labels[labelRole] = role
	}
	cfg.Labels = labels
	return cfg
}

// ensureImage makes the image of cfg present with the harness's policy.
func (s *suite) ensureImage(ref string) {
	s.Helper()
	if _, err := runtime.EnsureImage(s.ctx, s.rt, ref, s.h.PullPolicy); err != nil {
		s.Fatalf("EnsureImage(%q, %s): %v", ref, s.h.PullPolicy, err)
	}
}

// create makes the image present and creates a container from cfg (with
// the suite's labels), removing it when the subtest ends.
func (s *suite) create(sandboxID string, cfg runtime.ContainerConfig) runtime.Container {
	s.Helper()
	cfg = s.labeled(cfg, "")
	s.ensureImage(cfg.Image)
	c, err := s.rt.CreateContainer(s.ctx, sandboxID, cfg)
	if err != nil {
		s.Fatalf("CreateContainer(%s): %v", cfg.Name, err)
	}
	s.Cleanup(func() {
		ctx, cancel := s.cleanupCtx()
		defer cancel()
		if err := runtime.KillContainer(ctx, s.rt, c.ID, 0); err != nil {
			s.Errorf("cleanup: KillContainer(%s): %v", c.ID, err)
		}
	})
	return c
}

// start starts container id.
func (s *suite) start(id string) {
	s.Helper()
	if err := s.rt.StartContainer(s.ctx, id); err != nil {
		s.Fatalf("StartContainer(%s): %v", id, err)
	}
}

// running creates and starts a container from cfg.
func (s *suite) running(sandboxID string, cfg runtime.ContainerConfig) runtime.Container {
	s.Helper()
	c := s.create(sandboxID, cfg)
	s.start(c.ID)
	return c
}

// status returns container id's status.
func (s *suite) status(id string) runtime.Container {
	s.Helper()
	c, err := s.rt.ContainerStatus(s.ctx, id)
	if err != nil {
		s.Fatalf("ContainerStatus(%s): %v", id, err)
	}
	return c
}

// wantGone checks that container id no longer exists.
func (s *suite) wantGone(id string) {
	s.Helper()
	if c, err := s.rt.ContainerStatus(s.ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		s.Errorf("ContainerStatus(%s) of a removed container = %s, %v; want an error matching ErrNotFound", id, c.State, err)
	}
}

// wantErr checks that err matches target.
func (s *suite) wantErr(what string, err, target error) {
	s.Helper()
	if !errors.Is(err, target) {
		s.Errorf("%s: err = %v; want an error matching %v", what, err, target)
	}
}

// noErr fails the test now if err is not nil.
func (s *suite) noErr(what string, err error) {
	s.Helper()
	if err != nil {
		s.Fatalf("%s: %v", what, err)
	}
}

// subscribe returns a watch on the runtime's events that lasts for the
// subtest.
func (s *suite) subscribe() *watch {
	s.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	s.Cleanup(cancel)
	ch, err := s.rt.Events(ctx)
	s.noErr("Events", err)
	return &watch{s: s, ch: ch, unclaimed: make(map[string][]runtime.Event)}
}

// watch reads an events channel and sorts the events by container, so
// that a test can wait for one container's events without losing
// another's.
type watch struct {
	s  *suite
	ch <-chan runtime.Event
	// unclaimed holds events read from ch but not yet returned, by
	// container ID.
	unclaimed map[string][]runtime.Event
}

// next waits for the next len(want) events of container id and checks
// that they are of the types in want, in order.
func (w *watch) next(id string, want ...runtime.EventType) []runtime.Event {
	s := w.s
	s.Helper()
	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	for len(w.unclaimed[id]) < len(want) {
		select {
		case ev, ok := <-w.ch:
			if !ok {
				s.Fatalf("events channel closed while waiting for %v of container %s", want, id)
			}
			w.unclaimed[ev.ContainerID] = append(w.unclaimed[ev.ContainerID], ev)
		case <-deadline.C:
			s.Fatalf("container %s: after %v saw events %v; want %v", id, s.timeout, eventTypes(w.unclaimed[id]), want)
		}
	}
	got := w.unclaimed[id][:len(want):len(want)]
	w.unclaimed[id] = w.unclaimed[id][len(want):]
	if !slices.Equal(eventTypes(got), want) {
		s.Fatalf("container %s: events %v; want %v in that order", id, eventTypes(got), want)
	}
	for _, ev := range got {
		if ev.At.IsZero() {
			s.Errorf("container %s: %s event has a zero At", id, ev.Type)
		}
	}
	return got
}

func eventTypes(evs []runtime.Event) []runtime.EventType {
	types := make([]runtime.EventType, len(evs))
	for i, ev := range evs {
		types[i] = ev.Type
	}
	return types
}

// lifecycle records the states a container is seen in and checks that
// each move is one runtime.CanTransition allows.
type lifecycle struct {
	s    *suite
	id   string
	last runtime.ContainerState
}

// see records container id's current state, which must be want.
func (l *lifecycle) see(want runtime.ContainerState) runtime.Container {
	l.s.Helper()
	c := l.s.status(l.id)
	if c.State != want {
		l.s.Fatalf("container %s is %s; want %s", l.id, c.State, want)
	}
	if l.last != "" && l.last != c.State && !runtime.CanTransition(l.last, c.State) {
		l.s.Errorf("container %s moved %s → %s, which runtime.CanTransition forbids", l.id, l.last, c.State)
	}
	l.last = c.State
	return c
}

// idsOf returns the IDs of cs, sorted.
func idsOf(cs []runtime.Container) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	return ids
}

// sorted returns ids sorted.
func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// wantStartError checks that err is a *runtime.StartError with reason.
func (s *suite) wantStartError(what string, err error, reason string) {
	s.Helper()
	var se *runtime.StartError
	if !errors.As(err, &se) {
		s.Errorf("%s: err = %v; want a *runtime.StartError with reason %s", what, err, reason)
		return
	}
	if se.Reason != reason {
		s.Errorf("%s: StartError reason = %s; want %s (err: %v)", what, se.Reason, reason, err)
	}
}

// describe names a container for messages.
func describe(c runtime.Container) string {
	return fmt.Sprintf("container %s (%s)", c.ID, c.Config.Name)
}
