package fake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// t0 is when fake clocks start.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// waitTimeout bounds every wait on another goroutine; waits end as soon as
// the awaited thing happens, so it only matters when a test fails.
const waitTimeout = 10 * time.Second

// newFake returns a fake on a fake clock, with testImage present.
func newFake(t *testing.T, opts ...fake.Option) (*fake.Runtime, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	opts = append([]fake.Option{fake.WithClock(fc), fake.WithImages(testImage)}, opts...)
	return fake.New(opts...), fc
}

// pod runs a sandbox for a pod named name.
func pod(t *testing.T, rt runtime.Runtime, name string) runtime.Sandbox {
	t.Helper()
	sb, err := rt.RunPodSandbox(t.Context(), runtime.SandboxConfig{Name: name, Namespace: "default", UID: "uid-" + name})
	if err != nil {
		t.Fatalf("RunPodSandbox(%s): %v", name, err)
	}
	return sb
}

// create creates a container named name from testImage in sandbox sb.
func create(t *testing.T, rt runtime.Runtime, sb runtime.Sandbox, name string) runtime.Container {
	t.Helper()
	c, err := rt.CreateContainer(t.Context(), sb.ID, runtime.ContainerConfig{
		Name:   name,
		Image:  testImage,
		Labels: map[string]string{runtime.LabelPodName: sb.Config.Name, runtime.LabelContainerName: name},
	})
	if err != nil {
		t.Fatalf("CreateContainer(%s): %v", name, err)
	}
	return c
}

// started creates and starts a container named name in a new pod of the
// same name.
func started(t *testing.T, rt runtime.Runtime, name string) runtime.Container {
	t.Helper()
	c := create(t, rt, pod(t, rt, name), name)
	if err := rt.StartContainer(t.Context(), c.ID); err != nil {
		t.Fatalf("StartContainer(%s): %v", name, err)
	}
	return c
}

func status(t *testing.T, rt runtime.Runtime, id string) runtime.Container {
	t.Helper()
	c, err := rt.ContainerStatus(t.Context(), id)
	if err != nil {
		t.Fatalf("ContainerStatus(%s): %v", id, err)
	}
	return c
}

func subscribe(t *testing.T, rt runtime.Runtime) <-chan runtime.Event {
	t.Helper()
	ch, err := rt.Events(t.Context())
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return ch
}

// waitEvent returns the next event of type typ for container id, skipping
// others.
func waitEvent(t *testing.T, ch <-chan runtime.Event, id string, typ runtime.EventType) runtime.Event {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("events closed while waiting for %s of %s", typ, id)
			}
			if ev.ContainerID == id && ev.Type == typ {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %s event for %s within %v", typ, id, waitTimeout)
		}
	}
}

// result waits for a value from ch.
func result[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("%s did not return within %v", what, waitTimeout)
	}
	panic("unreachable")
}

// async runs f in a goroutine and returns a channel for its result.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// waitTimers waits until fc has n timers armed.
func waitTimers(t *testing.T, fc *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := fc.WaitForTimers(ctx, n); err != nil {
		t.Fatalf("waiting for %d timers (have %d): %v", n, fc.Timers(), err)
	}
}

func wantState(t *testing.T, rt runtime.Runtime, id string, state runtime.ContainerState, code int32, reason string) runtime.Container {
	t.Helper()
	c := status(t, rt, id)
	if c.State != state || c.ExitCode != code || c.Reason != reason {
		t.Fatalf("container %s: %s, code %d, reason %q; want %s, %d, %q", id, c.State, c.ExitCode, c.Reason, state, code, reason)
	}
	return c
}

func TestFailNthStart(t *testing.T) {
	rt, _ := newFake(t)
	errBoom := errors.New("boom")
	var seen []int
	rt.SetBehavior(fake.ByName("app"), fake.Behavior{FailStart: func(n int) error {
		seen = append(seen, n)
		if n == 2 {
			return errBoom
		}
		return nil
	}})
	for i := range 3 {
		c := create(t, rt, pod(t, rt, fmt.Sprint("p", i)), "app")
		err := rt.StartContainer(t.Context(), c.ID)
		if i == 1 {
			if !errors.Is(err, errBoom) {
				t.Fatalf("second start: err = %v; want errBoom", err)
			}
			got := wantState(t, rt, c.ID, runtime.ContainerExited, 128, runtime.ReasonError)
			if !strings.Contains(got.Message, "boom") {
				t.Errorf("failed start's message = %q; want the error", got.Message)
			}
		} else if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	// A container the rule does not match is not counted.
	started(t, rt, "other")
	if fmt.Sprint(seen) != "[1 2 3]" {
		t.Errorf("FailStart saw attempts %v; want [1 2 3]", seen)
	}
	if got := rt.Starts("app"); got != 2 {
		t.Errorf("Starts(app) = %d; want 2", got)
	}
	if got := rt.Running(); got != 3 {
		t.Errorf("Running() = %d; want 3", got)
	}
}

func TestExitAfterDelay(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("job"), fake.Behavior{Exit: &fake.Exit{After: time.Minute, Code: 2}})
	events := subscribe(t, rt)
	c := started(t, rt, "job")
	waitTimers(t, fc, 1)

	fc.Advance(time.Minute - time.Nanosecond)
	wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")

	fc.Advance(time.Nanosecond)
	ev := waitEvent(t, events, c.ID, runtime.ContainerExitedEvent)
	if ev.ExitCode != 2 || ev.Reason != runtime.ReasonError || !ev.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("exit event = code %d, reason %q at %v; want 2, Error at t0+1m", ev.ExitCode, ev.Reason, ev.At)
	}
	got := wantState(t, rt, c.ID, runtime.ContainerExited, 2, runtime.ReasonError)
	if !got.StartedAt.Equal(t0) || !got.FinishedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("StartedAt %v, FinishedAt %v; want t0 and t0+1m", got.StartedAt, got.FinishedAt)
	}
	if rt.Running() != 0 {
		t.Errorf("Running() = %d after the exit; want 0", rt.Running())
	}
}

func TestExitReasons(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("oom"), fake.Behavior{Exit: &fake.Exit{Code: 137, Reason: runtime.ReasonOOMKilled}})
	rt.SetBehavior(fake.ByName("done"), fake.Behavior{Exit: &fake.Exit{}})
	// Exits with After <= 0 happen before StartContainer returns.
	wantState(t, rt, started(t, rt, "oom").ID, runtime.ContainerExited, 137, runtime.ReasonOOMKilled)
	wantState(t, rt, started(t, rt, "done").ID, runtime.ContainerExited, 0, runtime.ReasonCompleted)
	if fc.Timers() != 0 {
		t.Errorf("%d timers armed; want none for immediate exits", fc.Timers())
	}
}

func TestStopCancelsScheduledExit(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("job"), fake.Behavior{Exit: &fake.Exit{After: time.Minute, Code: 2}})
	c := started(t, rt, "job")
	if err := rt.StopContainer(t.Context(), c.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	if fc.Timers() != 0 {
		t.Errorf("%d timers armed after the stop; want the exit timer stopped", fc.Timers())
	}
	fc.Advance(time.Hour)
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
}

func TestIgnoreSIGTERM(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("stubborn"), fake.Behavior{IgnoreSIGTERM: true})
	c := started(t, rt, "stubborn")

	stopped := async(func() error { return rt.StopContainer(t.Context(), c.ID, 30*time.Second) })
	waitTimers(t, fc, 1)
	fc.Advance(30*time.Second - time.Nanosecond)
	wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")
	fc.Advance(time.Nanosecond)
	if err := result(t, stopped, "StopContainer"); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	got := wantState(t, rt, c.ID, runtime.ContainerExited, 137, runtime.ReasonError)
	if !got.FinishedAt.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("FinishedAt = %v; want t0+30s, when the grace ran out", got.FinishedAt)
	}
}

func TestIgnoreSIGTERMStopEndsEarly(t *testing.T) {
	t.Run("context cancelled", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("stubborn"), fake.Behavior{IgnoreSIGTERM: true})
		c := started(t, rt, "stubborn")
		ctx, cancel := context.WithCancel(t.Context())
		stopped := async(func() error { return rt.StopContainer(ctx, c.ID, time.Minute) })
		waitTimers(t, fc, 1)
		cancel()
		if err := result(t, stopped, "StopContainer"); !errors.Is(err, context.Canceled) {
			t.Fatalf("StopContainer with a cancelled ctx: err = %v; want context.Canceled", err)
		}
		wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")
	})
	t.Run("killed meanwhile", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("stubborn"), fake.Behavior{IgnoreSIGTERM: true})
		c := started(t, rt, "stubborn")
		stopped := async(func() error { return rt.StopContainer(t.Context(), c.ID, time.Minute) })
		waitTimers(t, fc, 1)
		if err := rt.Kill(c.ID, 1, ""); err != nil {
			t.Fatal(err)
		}
		if err := result(t, stopped, "StopContainer"); err != nil {
			t.Fatalf("StopContainer: %v", err)
		}
		wantState(t, rt, c.ID, runtime.ContainerExited, 1, runtime.ReasonError)
	})
	t.Run("zero grace", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("stubborn"), fake.Behavior{IgnoreSIGTERM: true})
		c := started(t, rt, "stubborn")
		if err := rt.StopContainer(t.Context(), c.ID, 0); err != nil {
			t.Fatal(err)
		}
		wantState(t, rt, c.ID, runtime.ContainerExited, 137, runtime.ReasonError)
		if fc.Timers() != 0 {
			t.Errorf("%d timers armed; want none", fc.Timers())
		}
	})
}

func TestStartDelay(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("slow"), fake.Behavior{StartDelay: 5 * time.Second, Output: []string{"ready"}})
	c := create(t, rt, pod(t, rt, "slow"), "slow")
	done := async(func() error { return rt.StartContainer(t.Context(), c.ID) })
	waitTimers(t, fc, 1)
	wantState(t, rt, c.ID, runtime.ContainerCreated, 0, "")
	if err := rt.StartContainer(t.Context(), c.ID); !errors.Is(err, runtime.ErrFailedPrecondition) {
		t.Errorf("StartContainer while another starts it: err = %v; want ErrFailedPrecondition", err)
	}
	fc.Advance(5 * time.Second)
	if err := result(t, done, "StartContainer"); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	got := wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")
	if !got.StartedAt.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("StartedAt = %v; want t0+5s", got.StartedAt)
	}
	var logs bytes.Buffer
	if err := rt.ContainerLogs(t.Context(), c.ID, runtime.LogOptions{}, &logs); err != nil || logs.String() != "ready\n" {
		t.Errorf("logs after a slow start = %q, %v; want the Output", logs.String(), err)
	}
}

func TestStartDelayInterrupted(t *testing.T) {
	t.Run("context cancelled", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("slow"), fake.Behavior{StartDelay: time.Minute})
		c := create(t, rt, pod(t, rt, "slow"), "slow")
		ctx, cancel := context.WithCancel(t.Context())
		done := async(func() error { return rt.StartContainer(ctx, c.ID) })
		waitTimers(t, fc, 1)
		cancel()
		if err := result(t, done, "StartContainer"); !errors.Is(err, context.Canceled) {
			t.Fatalf("StartContainer with a cancelled ctx: err = %v; want context.Canceled", err)
		}
		wantState(t, rt, c.ID, runtime.ContainerCreated, 0, "")
		// It may be started again.
		done = async(func() error { return rt.StartContainer(t.Context(), c.ID) })
		waitTimers(t, fc, 1)
		fc.Advance(time.Minute)
		if err := result(t, done, "StartContainer"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("sandbox stopped", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("slow"), fake.Behavior{StartDelay: time.Minute})
		sb := pod(t, rt, "slow")
		c := create(t, rt, sb, "slow")
		done := async(func() error { return rt.StartContainer(t.Context(), c.ID) })
		waitTimers(t, fc, 1)
		if err := rt.StopPodSandbox(t.Context(), sb.ID); err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Minute)
		if err := result(t, done, "StartContainer"); !errors.Is(err, runtime.ErrFailedPrecondition) {
			t.Fatalf("StartContainer in a sandbox stopped during the delay: err = %v; want ErrFailedPrecondition", err)
		}
	})
	t.Run("container removed", func(t *testing.T) {
		rt, fc := newFake(t)
		rt.SetBehavior(fake.ByName("slow"), fake.Behavior{StartDelay: time.Minute})
		c := create(t, rt, pod(t, rt, "slow"), "slow")
		done := async(func() error { return rt.StartContainer(t.Context(), c.ID) })
		waitTimers(t, fc, 1)
		if err := rt.RemoveContainer(t.Context(), c.ID); err != nil {
			t.Fatal(err)
		}
		fc.Advance(time.Minute)
		if err := result(t, done, "StartContainer"); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("StartContainer of a container removed during the delay: err = %v; want ErrNotFound", err)
		}
	})
}

func TestSetUnavailable(t *testing.T) {
	rt, _ := newFake(t)
	c := started(t, rt, "app")
	sbID := c.SandboxID
	rt.SetUnavailable(true)
	ctx := t.Context()
	verbs := map[string]func() error{
		"Version":          func() error { _, err := rt.Version(ctx); return err },
		"ImageStatus":      func() error { _, err := rt.ImageStatus(ctx, testImage); return err },
		"PullImage":        func() error { _, err := rt.PullImage(ctx, testImage); return err },
		"RunPodSandbox":    func() error { _, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{UID: "u"}); return err },
		"StopPodSandbox":   func() error { return rt.StopPodSandbox(ctx, sbID) },
		"RemovePodSandbox": func() error { return rt.RemovePodSandbox(ctx, sbID) },
		"ListPodSandboxes": func() error { _, err := rt.ListPodSandboxes(ctx, nil); return err },
		"CreateContainer": func() error {
			_, err := rt.CreateContainer(ctx, sbID, runtime.ContainerConfig{Name: "x", Image: testImage})
			return err
		},
		"StartContainer":  func() error { return rt.StartContainer(ctx, c.ID) },
		"StopContainer":   func() error { return rt.StopContainer(ctx, c.ID, time.Second) },
		"RemoveContainer": func() error { return rt.RemoveContainer(ctx, c.ID) },
		"ContainerStatus": func() error { _, err := rt.ContainerStatus(ctx, c.ID); return err },
		"ListContainers":  func() error { _, err := rt.ListContainers(ctx, runtime.ContainerFilter{}); return err },
		"Events":          func() error { _, err := rt.Events(ctx); return err },
		"Exec":            func() error { _, err := rt.Exec(ctx, c.ID, []string{"true"}, runtime.ExecOptions{}); return err },
		"ContainerStats":  func() error { _, err := rt.ContainerStats(ctx, c.ID); return err },
		"ContainerLogs": func() error {
			return rt.ContainerLogs(ctx, c.ID, runtime.LogOptions{}, io.Discard)
		},
	}
	for name, verb := range verbs {
		if err := verb(); !errors.Is(err, runtime.ErrUnavailable) {
			t.Errorf("%s while unavailable: err = %v; want ErrUnavailable", name, err)
		}
	}
	// Nothing changed meanwhile, and the fake's own controls still work.
	if got := rt.Containers(); len(got) != 1 || got[0].State != runtime.ContainerRunning {
		t.Errorf("Containers() while unavailable = %+v; want the one running container", got)
	}
	rt.SetUnavailable(false)
	wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")
}

func TestSetImageMissing(t *testing.T) {
	rt, _ := newFake(t)
	ctx := t.Context()
	rt.SetImageMissing(testImage, true)
	if _, err := rt.ImageStatus(ctx, testImage); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ImageStatus of an image marked missing: err = %v; want ErrNotFound (it was present)", err)
	}
	_, err := rt.PullImage(ctx, testImage)
	if !errors.Is(err, runtime.ErrImageNotFound) || !strings.Contains(err.Error(), testImage) {
		t.Errorf("PullImage of a missing image: err = %v; want ErrImageNotFound naming the ref", err)
	}
	_, err = runtime.EnsureImage(ctx, rt, testImage, runtime.PullIfNotPresent)
	var se *runtime.StartError
	if !errors.As(err, &se) || se.Reason != runtime.ReasonErrImagePull {
		t.Errorf("EnsureImage of a missing image: err = %v; want a StartError ErrImagePull", err)
	}
	if got := rt.Pulls(testImage); got != 2 {
		t.Errorf("Pulls = %d; want 2 failed pulls counted", got)
	}
	rt.SetImageMissing(testImage, false)
	if _, err := runtime.EnsureImage(ctx, rt, testImage, runtime.PullIfNotPresent); err != nil {
		t.Errorf("EnsureImage after clearing the mark: %v", err)
	}
	if got := rt.Pulls(testImage); got != 3 {
		t.Errorf("Pulls = %d; want 3", got)
	}
}

func TestImages(t *testing.T) {
	rt, _ := newFake(t)
	ctx := t.Context()
	for _, p := range []runtime.PullPolicy{runtime.PullIfNotPresent, runtime.PullNever} {
		if _, err := runtime.EnsureImage(ctx, rt, testImage, p); err != nil {
			t.Errorf("EnsureImage(preloaded, %s): %v", p, err)
		}
	}
	if got := rt.Pulls(testImage); got != 0 {
		t.Errorf("Pulls of a preloaded image after IfNotPresent and Never = %d; want 0", got)
	}
	img, err := runtime.EnsureImage(ctx, rt, testImage, runtime.PullAlways)
	if err != nil || rt.Pulls(testImage) != 1 || !strings.HasPrefix(img.ID, "sha256:") || img.Ref != testImage {
		t.Errorf("EnsureImage(Always) = %+v, %v with %d pulls; want a pull", img, err, rt.Pulls(testImage))
	}
	rt.RemoveImage(testImage)
	if _, err := rt.ImageStatus(ctx, testImage); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("ImageStatus after RemoveImage: err = %v; want ErrNotFound", err)
	}
	sb := pod(t, rt, "web")
	if _, err := rt.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: "app", Image: testImage}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("CreateContainer from a removed image: err = %v; want ErrNotFound", err)
	}
	rt.AddImage(testImage)
	create(t, rt, sb, "app")
}

func TestKill(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("app"), fake.Behavior{Exit: &fake.Exit{After: time.Hour}})
	events := subscribe(t, rt)
	c := started(t, rt, "app")
	if err := rt.Kill(c.ID, 137, runtime.ReasonOOMKilled); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, events, c.ID, runtime.ContainerExitedEvent)
	if ev.ExitCode != 137 || ev.Reason != runtime.ReasonOOMKilled || ev.Labels[runtime.LabelContainerName] != "app" {
		t.Errorf("exit event = %+v; want code 137, OOMKilled and the container's labels", ev)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 137, runtime.ReasonOOMKilled)
	if fc.Timers() != 0 {
		t.Errorf("%d timers armed; want the scheduled exit cancelled", fc.Timers())
	}
	if err := rt.Kill(c.ID, 1, ""); !errors.Is(err, runtime.ErrFailedPrecondition) {
		t.Errorf("Kill of an exited container: err = %v; want ErrFailedPrecondition", err)
	}
	if err := rt.Kill("nope", 1, ""); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Kill of an unknown container: err = %v; want ErrNotFound", err)
	}
	other := started(t, rt, "other")
	if err := rt.Kill(other.ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, other.ID, runtime.ContainerExited, 0, runtime.ReasonCompleted)
}

func TestEventsQueueIsUnbounded(t *testing.T) {
	rt, _ := newFake(t)
	ctx := t.Context()
	events := subscribe(t, rt) // not read until the end
	const n = 2500
	var ids []string
	for i := range n {
		c := started(t, rt, fmt.Sprint("p", i))
		if err := runtime.KillContainer(ctx, rt, c.ID, time.Second); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	want := []runtime.EventType{runtime.ContainerCreatedEvent, runtime.ContainerStartedEvent, runtime.ContainerExitedEvent, runtime.ContainerRemovedEvent}
	for i := range n * len(want) {
		select {
		case ev := <-events:
			if ev.ContainerID != ids[i/len(want)] || ev.Type != want[i%len(want)] {
				t.Fatalf("event %d = %s of %s; want %s of %s", i, ev.Type, ev.ContainerID, want[i%len(want)], ids[i/len(want)])
			}
		case <-time.After(waitTimeout):
			t.Fatalf("got %d of %d events", i, n*len(want))
		}
	}
}

func TestEventsStopOnCancel(t *testing.T) {
	rt, _ := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	events, err := rt.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	started(t, rt, "app") // queued, never read
	cancel()
	for range events { // drain until closed
	}
	// The fake goes on without the subscriber.
	started(t, rt, "other")
}

func TestUsage(t *testing.T) {
	rt, fc := newFake(t)
	rt.SetBehavior(fake.ByName("busy"), fake.Behavior{Usage: func(elapsed time.Duration) runtime.Stats {
		return runtime.Stats{CPUUsageNanos: uint64(elapsed / 2), MemoryWorkingSetBytes: 64 << 20}
	}})
	ctx := t.Context()
	c := started(t, rt, "busy")
	fc.Advance(10 * time.Second)
	s, err := rt.ContainerStats(ctx, c.ID)
	if err != nil || s.CPUUsageNanos != uint64(5*time.Second) || s.MemoryWorkingSetBytes != 64<<20 || !s.Timestamp.Equal(t0.Add(10*time.Second)) {
		t.Errorf("ContainerStats = %+v, %v; want 5s of CPU, 64 MiB at t0+10s", s, err)
	}

	pinned := runtime.Stats{CPUUsageNanos: 7}
	if err := rt.SetStats(c.ID, pinned); err != nil {
		t.Fatal(err)
	}
	if s, _ := rt.ContainerStats(ctx, c.ID); s.CPUUsageNanos != 7 || s.Timestamp.IsZero() {
		t.Errorf("ContainerStats after SetStats = %+v; want the pinned usage with a timestamp", s)
	}
	if err := rt.SetStats("nope", pinned); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("SetStats of an unknown container: err = %v; want ErrNotFound", err)
	}

	idle := started(t, rt, "idle")
	if s, err := rt.ContainerStats(ctx, idle.ID); err != nil || s != (runtime.Stats{Timestamp: t0.Add(10 * time.Second)}) {
		t.Errorf("ContainerStats without a script = %+v, %v; want zero usage at now", s, err)
	}
	created := create(t, rt, pod(t, rt, "new"), "new")
	if _, err := rt.ContainerStats(ctx, created.ID); !errors.Is(err, runtime.ErrFailedPrecondition) {
		t.Errorf("ContainerStats of a Created container: err = %v; want ErrFailedPrecondition", err)
	}
}

func TestLogs(t *testing.T) {
	rt, _ := newFake(t)
	rt.SetBehavior(fake.ByName("app"), fake.Behavior{Output: []string{"one", "two"}})
	ctx := t.Context()
	c := started(t, rt, "app")
	if err := rt.WriteLog(c.ID, "three\n"); err != nil {
		t.Fatal(err)
	}
	var tail bytes.Buffer
	if err := rt.ContainerLogs(ctx, c.ID, runtime.LogOptions{TailLines: 2}, &tail); err != nil || tail.String() != "two\nthree\n" {
		t.Errorf("TailLines 2 = %q, %v; want two, three", tail.String(), err)
	}

	r, w := io.Pipe()
	followed := async(func() error {
		defer w.Close()
		return rt.ContainerLogs(ctx, c.ID, runtime.LogOptions{TailLines: 1, Follow: true}, w)
	})
	lines := make(chan string)
	var reader sync.WaitGroup
	reader.Go(func() {
		defer close(lines)
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			lines <- string(buf[:n])
		}
	})
	if got := result(t, lines, "reading the tail"); got != "three\n" {
		t.Errorf("followed tail = %q; want three", got)
	}
	if err := rt.WriteLog(c.ID, "four"); err != nil {
		t.Fatal(err)
	}
	if got := result(t, lines, "reading a new line"); got != "four\n" {
		t.Errorf("followed line = %q; want four", got)
	}
	if err := rt.Kill(c.ID, 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := result(t, followed, "following logs of an exited container"); err != nil {
		t.Errorf("ContainerLogs with Follow: %v", err)
	}
	reader.Wait()

	if err := rt.WriteLog("nope", "x"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("WriteLog of an unknown container: err = %v; want ErrNotFound", err)
	}
}

func TestExecBehavior(t *testing.T) {
	rt, _ := newFake(t)
	ctx := t.Context()
	plain := started(t, rt, "plain")
	if code, err := rt.Exec(ctx, plain.ID, []string{"anything"}, runtime.ExecOptions{}); code != 0 || err != nil {
		t.Errorf("default Exec = %d, %v; want 0, nil", code, err)
	}
	var gotCmd []string
	rt.SetBehavior(fake.ByName("probed"), fake.Behavior{Exec: func(cmd []string, stdout, stderr io.Writer) int {
		gotCmd = cmd
		fmt.Fprint(stdout, "out")
		fmt.Fprint(stderr, "err")
		return 7
	}})
	probed := started(t, rt, "probed")
	var stdout, stderr bytes.Buffer
	code, err := rt.Exec(ctx, probed.ID, []string{"check", "--deep"}, runtime.ExecOptions{Stdout: &stdout, Stderr: &stderr})
	if code != 7 || err != nil || stdout.String() != "out" || stderr.String() != "err" || fmt.Sprint(gotCmd) != "[check --deep]" {
		t.Errorf("scripted Exec = %d, %v, %q, %q, cmd %q; want 7, nil, out, err, [check --deep]", code, err, stdout.String(), stderr.String(), gotCmd)
	}
	// Nil writers discard.
	if code, _ := rt.Exec(ctx, probed.ID, nil, runtime.ExecOptions{}); code != 7 {
		t.Errorf("Exec with nil writers = %d; want 7", code)
	}
}

func TestBehaviorRules(t *testing.T) {
	rt, _ := newFake(t)
	labels := map[string]string{"tier": "db"}
	rt.SetBehavior(fake.ByLabels(labels), fake.Behavior{IgnoreSIGTERM: true})
	labels["tier"] = "changed" // ByLabels copied the map
	rt.SetBehavior(fake.ByImage(testImage), fake.Behavior{Output: []string{"by image"}})
	rt.SetBehavior(fake.ByName("special"), fake.Behavior{Output: []string{"by name"}})

	for name, want := range map[string]string{"special": "by name\n", "plain": "by image\n"} {
		c := started(t, rt, name)
		var out bytes.Buffer
		if err := rt.ContainerLogs(t.Context(), c.ID, runtime.LogOptions{}, &out); err != nil || out.String() != want {
			t.Errorf("%s logged %q, %v; want %q from the newest matching rule", name, out.String(), err, want)
		}
	}

	sb := pod(t, rt, "db")
	rt.AddImage("other")
	c, err := rt.CreateContainer(t.Context(), sb.ID, runtime.ContainerConfig{Name: "db", Image: "other", Labels: map[string]string{"tier": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	// A rule added later changes an existing container: it no longer
	// ignores SIGTERM, so the stop is immediate even on a fake clock.
	rt.SetBehavior(fake.ByName("db"), fake.Behavior{})
	if err := rt.StopContainer(t.Context(), c.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
}

func TestSandboxIPs(t *testing.T) {
	ctx := context.Background()
	t.Run("default range in order", func(t *testing.T) {
		rt, _ := newFake(t)
		if a, b := pod(t, rt, "a"), pod(t, rt, "b"); a.IP != "10.88.0.2" || b.IP != "10.88.0.3" {
			t.Errorf("first IPs = %s, %s; want 10.88.0.2, 10.88.0.3", a.IP, b.IP)
		}
	})
	t.Run("exhaustion and release", func(t *testing.T) {
		rt, _ := newFake(t, fake.WithPodCIDR("10.1.2.0/30"))
		a := pod(t, rt, "a")
		if a.IP != "10.1.2.2" {
			t.Errorf("IP = %s; want 10.1.2.2, the only one a /30 has", a.IP)
		}
		if _, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{UID: "b"}); err == nil || !strings.Contains(err.Error(), "no free IP") {
			t.Errorf("RunPodSandbox with the range exhausted: err = %v; want no free IP", err)
		}
		host, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{UID: "host", HostNetwork: true})
		if err != nil || host.IP != "" {
			t.Errorf("host-network sandbox = IP %q, %v; want no IP and no error", host.IP, err)
		}
		if err := rt.StopPodSandbox(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := rt.Sandboxes()[0]; got.IP != "" || got.State != runtime.SandboxNotReady {
			t.Errorf("stopped sandbox = IP %q, %s; want no IP, NotReady", got.IP, got.State)
		}
		b, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{UID: "b"})
		if err != nil || b.IP != "10.1.2.2" {
			t.Errorf("RunPodSandbox after a stop = %q, %v; want the released 10.1.2.2", b.IP, err)
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		rt, _ := newFake(t, fake.WithPodCIDR("fd00:88::/64"))
		if a := pod(t, rt, "a"); a.IP != "fd00:88::2" {
			t.Errorf("IP = %s; want fd00:88::2", a.IP)
		}
	})
	t.Run("bad range panics", func(t *testing.T) {
		for _, cidr := range []string{"10.0.0.0", "10.0.0.0/31", "nonsense"} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("New(WithPodCIDR(%q)) did not panic", cidr)
					}
				}()
				fake.New(fake.WithPodCIDR(cidr))
			}()
		}
	})
}

func TestSandboxIdentity(t *testing.T) {
	rt, _ := newFake(t)
	ctx := t.Context()
	cfg := runtime.SandboxConfig{Name: "web", UID: "u1", Labels: map[string]string{"a": "1"}}
	a := pod(t, rt, "a")
	first, _ := rt.RunPodSandbox(ctx, cfg)
	second, _ := rt.RunPodSandbox(ctx, cfg)
	if first.ID != second.ID || first.ID == a.ID {
		t.Errorf("RunPodSandbox twice = %s, %s; want one sandbox", first.ID, second.ID)
	}
	cfg.Attempt = 1
	if next, _ := rt.RunPodSandbox(ctx, cfg); next.ID == first.ID {
		t.Errorf("the next attempt reused sandbox %s", first.ID)
	}
	if err := rt.StopPodSandbox(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	cfg.Attempt = 0
	if _, err := rt.RunPodSandbox(ctx, cfg); !errors.Is(err, runtime.ErrAlreadyExists) {
		t.Errorf("RunPodSandbox of a stopped attempt: err = %v; want ErrAlreadyExists", err)
	}
	c := create(t, rt, a, "app")
	if err := rt.StopPodSandbox(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, c.ID); !errors.Is(err, runtime.ErrFailedPrecondition) {
		t.Errorf("StartContainer in a stopped sandbox: err = %v; want ErrFailedPrecondition", err)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []string {
		rt, _ := newFake(t)
		var out []string
		for i := range 3 {
			c := started(t, rt, fmt.Sprint("p", i))
			sb := rt.Sandboxes()[i]
			out = append(out, sb.ID, sb.IP, c.ID)
		}
		return out
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("two runs differ: %v and %v", a, b)
	}
	if want := "[0000000000000001 10.88.0.2 0000000000000002 0000000000000003 10.88.0.3 0000000000000004 0000000000000005 10.88.0.4 0000000000000006]"; fmt.Sprint(a) != want {
		t.Errorf("IDs and IPs = %v; want %v", a, want)
	}
}

func TestSnapshotsAreCopies(t *testing.T) {
	rt, _ := newFake(t, fake.WithName("node-7"))
	c := started(t, rt, "app")
	rt.Containers()[0].Config.Labels[runtime.LabelPodName] = "changed"
	rt.Sandboxes()[0].Config.Name = "changed"
	if got := rt.Containers()[0].Config.Labels[runtime.LabelPodName]; got != "app" {
		t.Errorf("container label after changing a snapshot = %q; want app", got)
	}
	if got := rt.Sandboxes()[0]; got.Config.Name != "app" || got.ID != c.SandboxID {
		t.Errorf("sandbox after changing a snapshot = %+v", got)
	}
	if v, _ := rt.Version(t.Context()); v.RuntimeName != "node-7" {
		t.Errorf("Version().RuntimeName = %q; want node-7", v.RuntimeName)
	}
}

// TestConcurrentUse runs every verb from many goroutines at once; the race
// detector and the final counts judge it.
func TestConcurrentUse(t *testing.T) {
	rt := fake.New(fake.WithImages(testImage))
	rt.SetBehavior(fake.ByName("job"), fake.Behavior{Exit: &fake.Exit{After: time.Microsecond}})
	ctx := t.Context()
	events := subscribe(t, rt)
	var readers sync.WaitGroup
	readCtx, stopReading := context.WithCancel(ctx)
	readers.Go(func() {
		for {
			select {
			case <-events:
			case <-readCtx.Done():
				return
			}
		}
	})
	const workers, pods = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range pods {
				name := fmt.Sprintf("w%d-p%d", w, i)
				sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Name: name, UID: name})
				if err != nil {
					t.Error(err)
					return
				}
				for _, cname := range []string{"app", "job"} {
					c, err := rt.CreateContainer(ctx, sb.ID, runtime.ContainerConfig{Name: cname, Image: testImage})
					if err == nil {
						err = rt.StartContainer(ctx, c.ID)
					}
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = rt.Exec(ctx, c.ID, []string{"true"}, runtime.ExecOptions{})
					_, _ = rt.ContainerStats(ctx, c.ID)
				}
				_, _ = rt.ListContainers(ctx, runtime.ContainerFilter{State: runtime.ContainerRunning})
				if err := runtime.TearDownSandbox(ctx, rt, sb.ID, time.Second); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	stopReading()
	readers.Wait()
	if n := len(rt.Containers()) + len(rt.Sandboxes()) + rt.Running(); n != 0 {
		t.Errorf("%d containers, sandboxes and running left after teardown; want 0", n)
	}
	if got := rt.Starts("app"); got != workers*pods {
		t.Errorf("Starts(app) = %d; want %d", got, workers*pods)
	}
}
