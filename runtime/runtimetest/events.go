package runtimetest

import (
	"context"
	"time"

	"github.com/batonhq/baton/runtime"
)

func testEventsExitCodes(s *suite) {
	events := s.subscribe()
	sb := s.sandbox("job")
	for _, tc := range []struct {
		code   int32
		reason string
	}{
		{3, runtime.ReasonError},
		{0, runtime.ReasonCompleted},
	} {
		c := s.running(sb.ID, s.h.ExitsWith("exits", tc.code))
		got := events.next(c.ID, runtime.ContainerCreatedEvent, runtime.ContainerStartedEvent, runtime.ContainerExitedEvent)
		for _, ev := range got {
			if ev.SandboxID != sb.ID || ev.Labels[labelRun] != s.run {
				s.Errorf("%s event of %s has SandboxID %q and labels %v; want %s and the container's labels", ev.Type, describe(c), ev.SandboxID, ev.Labels, sb.ID)
			}
		}
		if exit := got[2]; exit.ExitCode != tc.code || exit.Reason != tc.reason {
			s.Errorf("exit event of %s: code %d, reason %q; want %d, %q", describe(c), exit.ExitCode, exit.Reason, tc.code, tc.reason)
		}
		l := &lifecycle{s: s, id: c.ID, last: runtime.ContainerRunning}
		st := l.see(runtime.ContainerExited)
		if st.ExitCode != tc.code || st.Reason != tc.reason || st.FinishedAt.IsZero() {
			s.Errorf("%s exited with code %d, reason %q at %v; want %d, %q and an exit time", describe(c), st.ExitCode, st.Reason, st.FinishedAt, tc.code, tc.reason)
		}
		s.noErr("RemoveContainer", s.rt.RemoveContainer(s.ctx, c.ID))
		events.next(c.ID, runtime.ContainerRemovedEvent)
	}
}

func testEventsEverySubscriber(s *suite) {
	first := s.subscribe()
	second := s.subscribe()
	sb := s.sandbox("web")
	c := s.create(sb.ID, s.h.LongRunning("app"))
	a := first.next(c.ID, runtime.ContainerCreatedEvent)[0]
	a.Labels[labelRun] = "changed by the first subscriber"
	b := second.next(c.ID, runtime.ContainerCreatedEvent)[0]
	if b.Labels[labelRun] != s.run {
		s.Errorf("the second subscriber's event has labels %v; want a copy of its own with %s=%s", b.Labels, labelRun, s.run)
	}
}

func testEventsClose(s *suite) {
	ctx, cancel := context.WithCancel(s.ctx)
	ch, err := s.rt.Events(ctx)
	if err != nil {
		cancel()
		s.Fatalf("Events: %v", err)
	}
	cancel()
	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline.C:
			s.Fatalf("the events channel is still open %v after its context was cancelled", s.timeout)
		}
	}
}
