package runtimetest

import "github.com/batonhq/baton/runtime"

func testStopPrompt(s *suite) {
	events := s.subscribe()
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.LongRunning("app"))
	took := timed(func() { s.noErr("StopContainer", s.rt.StopContainer(s.ctx, c.ID, promptGrace)) })
	if took >= promptly {
		s.Errorf("StopContainer of a container that exits on SIGTERM took %v with grace %v; want it to return once the container exits", took, promptGrace)
	}
	events.next(c.ID, runtime.ContainerCreatedEvent, runtime.ContainerStartedEvent, runtime.ContainerExitedEvent)
	if st := s.status(c.ID); st.State != runtime.ContainerExited {
		s.Errorf("%s is %s after StopContainer returned; want Exited", describe(c), st.State)
	}
}

func testStopIgnoresSIGTERM(s *suite) {
	events := s.subscribe()
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.IgnoresSIGTERM("stubborn"))
	took := timed(func() { s.noErr("StopContainer", s.rt.StopContainer(s.ctx, c.ID, ignoreGrace)) })
	if took < ignoreGrace {
		s.Errorf("StopContainer of a container that ignores SIGTERM returned after %v; want it to wait the grace of %v", took, ignoreGrace)
	}
	if took >= ignoreGrace+promptly {
		s.Errorf("StopContainer with grace %v took %v; want SIGKILL once the grace has passed", ignoreGrace, took)
	}
	exit := events.next(c.ID, runtime.ContainerCreatedEvent, runtime.ContainerStartedEvent, runtime.ContainerExitedEvent)[2]
	st := s.status(c.ID)
	if st.State != runtime.ContainerExited || st.ExitCode != 137 || st.Reason != runtime.ReasonError {
		s.Errorf("%s after StopContainer: %s, code %d, reason %q; want Exited, 137 (SIGKILL), %q", describe(c), st.State, st.ExitCode, st.Reason, runtime.ReasonError)
	}
	if exit.ExitCode != 137 {
		s.Errorf("exit event of %s has code %d; want 137", describe(c), exit.ExitCode)
	}
}

func testLifecycleStartContainer(s *suite) {
	sb := s.sandbox("web")
	cfg := s.labeled(s.h.LongRunning("app"), "")
	c, err := runtime.StartContainer(s.ctx, s.rt, sb.ID, cfg, s.h.PullPolicy)
	s.noErr("runtime.StartContainer", err)
	s.Cleanup(func() {
		ctx, cancel := s.cleanupCtx()
		defer cancel()
		_ = runtime.KillContainer(ctx, s.rt, c.ID, 0) // the sandbox's teardown checks
	})
	if c.State != runtime.ContainerRunning {
		s.Errorf("runtime.StartContainer returned a %s container; want Running", c.State)
	}

	for _, tc := range []struct {
		policy runtime.PullPolicy
		reason string
	}{
		{runtime.PullIfNotPresent, runtime.ReasonErrImagePull},
		{runtime.PullNever, runtime.ReasonErrImageNeverPull},
	} {
		bad := s.labeled(s.h.LongRunning("bad"), "")
		bad.Image = s.h.MissingImage
		_, err := runtime.StartContainer(s.ctx, s.rt, sb.ID, bad, tc.policy)
		s.wantStartError("runtime.StartContainer of the missing image with "+string(tc.policy), err, tc.reason)
	}
	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{SandboxID: sb.ID})
	s.noErr("ListContainers", err)
	if !equalSets(idsOf(list), []string{c.ID}) {
		s.Errorf("after failed starts, the sandbox holds %v; want only %s", idsOf(list), c.ID)
	}
}

func testLifecycleKillContainer(s *suite) {
	sb := s.sandbox("web")
	c := s.running(sb.ID, s.h.LongRunning("app"))
	took := timed(func() { s.noErr("runtime.KillContainer", runtime.KillContainer(s.ctx, s.rt, c.ID, promptGrace)) })
	if took >= promptly {
		s.Errorf("runtime.KillContainer of a container that exits on SIGTERM took %v; want it prompt", took)
	}
	s.wantGone(c.ID)
	s.noErr("runtime.KillContainer of a removed container", runtime.KillContainer(s.ctx, s.rt, c.ID, promptGrace))
}

func testLifecycleTearDown(s *suite) {
	sb := s.sandbox("web")
	cs := []runtime.Container{
		s.running(sb.ID, s.h.LongRunning("polite")),
		s.running(sb.ID, s.h.IgnoresSIGTERM("stubborn")),
		s.create(sb.ID, s.h.LongRunning("created")),
	}
	took := timed(func() {
		s.noErr("runtime.TearDownSandbox", runtime.TearDownSandbox(s.ctx, s.rt, sb.ID, ignoreGrace))
	})
	if took < ignoreGrace {
		s.Errorf("runtime.TearDownSandbox took %v; want the grace of %v for the container that ignores SIGTERM", took, ignoreGrace)
	}
	for _, c := range cs {
		s.wantGone(c.ID)
	}
	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{Labels: map[string]string{labelRun: s.run}})
	s.noErr("ListContainers", err)
	if len(list) != 0 {
		s.Errorf("after TearDownSandbox, containers %v remain", idsOf(list))
	}
	sbs, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(sbs) != 0 {
		s.Errorf("after TearDownSandbox, %d sandboxes remain", len(sbs))
	}
}
