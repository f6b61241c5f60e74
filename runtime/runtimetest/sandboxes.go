package runtimetest

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/batonhq/baton/runtime"
)

func testVersion(s *suite) {
	v, err := s.rt.Version(s.ctx)
	s.noErr("Version", err)
	if v.RuntimeName == "" {
		s.Errorf("Version().RuntimeName is empty; want the runtime's name")
	}
}

func testImagePresent(s *suite) {
	ref := s.h.LongRunning("c").Image
	s.ensureImage(ref)
	img, err := s.rt.ImageStatus(s.ctx, ref)
	s.noErr("ImageStatus of an ensured image", err)
	if img.ID == "" {
		s.Errorf("ImageStatus(%q).ID is empty; want its content ID", ref)
	}
	policies := []runtime.PullPolicy{runtime.PullIfNotPresent, runtime.PullNever}
	if s.h.PullPolicy != runtime.PullNever {
		policies = append(policies, runtime.PullAlways)
	}
	for _, p := range policies {
		got, err := runtime.EnsureImage(s.ctx, s.rt, ref, p)
		if err != nil {
			s.Errorf("EnsureImage(%q, %s) of a present image: %v", ref, p, err)
			continue
		}
		if got.ID != img.ID {
			s.Errorf("EnsureImage(%q, %s).ID = %q; want %q as ImageStatus said", ref, p, got.ID, img.ID)
		}
	}
}

func testImageMissing(s *suite) {
	ref := s.h.MissingImage
	_, err := s.rt.ImageStatus(s.ctx, ref)
	s.wantErr("ImageStatus of the missing image", err, runtime.ErrNotFound)
	_, err = s.rt.PullImage(s.ctx, ref)
	s.wantErr("PullImage of the missing image", err, runtime.ErrImageNotFound)
	for _, tc := range []struct {
		policy runtime.PullPolicy
		reason string
	}{
		{runtime.PullIfNotPresent, runtime.ReasonErrImagePull},
		{runtime.PullAlways, runtime.ReasonErrImagePull},
		{runtime.PullNever, runtime.ReasonErrImageNeverPull},
	} {
		_, err := runtime.EnsureImage(s.ctx, s.rt, ref, tc.policy)
		s.wantStartError("EnsureImage(missing, "+string(tc.policy)+")", err, tc.reason)
		if tc.policy != runtime.PullNever {
			s.wantErr("EnsureImage(missing, "+string(tc.policy)+")", err, runtime.ErrImageNotFound)
		}
	}
	_, err = s.rt.ImageStatus(s.ctx, ref)
	s.wantErr("ImageStatus of the missing image after failed pulls", err, runtime.ErrNotFound)
}

func testSandboxRunIsIdempotent(s *suite) {
	cfg := s.sandboxConfig("web")
	cfg.Attempt = 1
	sb := s.runSandbox(cfg)
	if sb.ID == "" || sb.State != runtime.SandboxReady || sb.CreatedAt.IsZero() {
		s.Fatalf("RunPodSandbox = ID %q, State %s, CreatedAt %v; want an ID, Ready and a creation time", sb.ID, sb.State, sb.CreatedAt)
	}
	got := sb.Config
	if got.Name != cfg.Name || got.Namespace != cfg.Namespace || got.UID != cfg.UID || got.Attempt != cfg.Attempt || !maps.Equal(got.Labels, cfg.Labels) {
		s.Errorf("RunPodSandbox returned Config %+v; want the identity and labels of %+v", got, cfg)
	}
	again, err := s.rt.RunPodSandbox(s.ctx, cfg)
	s.noErr("RunPodSandbox again", err)
	if again.ID != sb.ID {
		s.Errorf("RunPodSandbox of a ready sandbox's UID and Attempt made %s; want the existing %s", again.ID, sb.ID)
	}
	list, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(list) != 1 || list[0].ID != sb.ID {
		s.Errorf("ListPodSandboxes by label after two runs = %d sandboxes; want just %s", len(list), sb.ID)
	}
}

func testSandboxIPs(s *suite) {
	a := s.sandbox("a")
	b := s.sandbox("b")
	for _, sb := range []runtime.Sandbox{a, b} {
		if _, err := netip.ParseAddr(sb.IP); err != nil {
			s.Errorf("sandbox %s has IP %q: %v; want an address", sb.ID, sb.IP, err)
		}
	}
	if a.IP == b.IP {
		s.Errorf("sandboxes %s and %s share IP %s; want one each", a.ID, b.ID, a.IP)
	}
	cfg := s.sandboxConfig("host")
	cfg.HostNetwork = true
	if host := s.runSandbox(cfg); host.IP != "" {
		s.Errorf("host-network sandbox has IP %q; want none", host.IP)
	}
}

func testSandboxListByLabel(s *suite) {
	a := s.sandbox("a")
	b := s.sandbox("b")
	for _, tc := range []struct {
		filter map[string]string
		want   []string
	}{
		{map[string]string{labelRun: s.run}, []string{a.ID, b.ID}},
		{map[string]string{labelRun: s.run, labelRole: "b"}, []string{b.ID}},
		{map[string]string{labelRun: s.run, labelRole: "c"}, nil},
		{map[string]string{labelRun: s.run + "-other"}, nil},
	} {
		list, err := s.rt.ListPodSandboxes(s.ctx, tc.filter)
		s.noErr("ListPodSandboxes", err)
		var got []string
		for _, sb := range list {
			got = append(got, sb.ID)
		}
		if !equalSets(got, tc.want) {
			s.Errorf("ListPodSandboxes(%v) = %v; want %v", tc.filter, got, tc.want)
		}
	}
	all, err := s.rt.ListPodSandboxes(s.ctx, nil)
	s.noErr("ListPodSandboxes(nil)", err)
	var got []string
	for _, sb := range all {
		if sb.Config.Labels[labelRun] == s.run {
			got = append(got, sb.ID)
		}
	}
	if !equalSets(got, []string{a.ID, b.ID}) {
		s.Errorf("ListPodSandboxes(nil) holds %v of ours; want %v", got, []string{a.ID, b.ID})
	}
}

func testSandboxStopRemove(s *suite) {
	cfg := s.sandboxConfig("web")
	sb := s.runSandbox(cfg)
	s.noErr("StopPodSandbox", s.rt.StopPodSandbox(s.ctx, sb.ID))
	list, err := s.rt.ListPodSandboxes(s.ctx, cfg.Labels)
	s.noErr("ListPodSandboxes", err)
	if len(list) != 1 || list[0].State != runtime.SandboxNotReady {
		s.Fatalf("after StopPodSandbox, ListPodSandboxes = %+v; want one NotReady sandbox", list)
	}
	s.noErr("StopPodSandbox of a stopped sandbox", s.rt.StopPodSandbox(s.ctx, sb.ID))
	_, err = s.rt.RunPodSandbox(s.ctx, cfg)
	s.wantErr("RunPodSandbox with the UID and Attempt of a stopped sandbox", err, runtime.ErrAlreadyExists)

	s.noErr("RemovePodSandbox", s.rt.RemovePodSandbox(s.ctx, sb.ID))
	list, err = s.rt.ListPodSandboxes(s.ctx, cfg.Labels)
	s.noErr("ListPodSandboxes", err)
	if len(list) != 0 {
		s.Errorf("after RemovePodSandbox, ListPodSandboxes = %d sandboxes; want none", len(list))
	}
	s.noErr("RemovePodSandbox of a removed sandbox", s.rt.RemovePodSandbox(s.ctx, sb.ID))
	s.noErr("StopPodSandbox of a removed sandbox", s.rt.StopPodSandbox(s.ctx, sb.ID))

	again := s.runSandbox(cfg)
	if again.State != runtime.SandboxReady || again.ID == sb.ID {
		s.Errorf("RunPodSandbox after removal = %s %s; want a new Ready sandbox", again.ID, again.State)
	}
}

func testSandboxStopKillsContainers(s *suite) {
	events := s.subscribe()
	sb := s.sandbox("web")
	stubborn := s.running(sb.ID, s.h.IgnoresSIGTERM("stubborn"))
	polite := s.running(sb.ID, s.h.LongRunning("polite"))
	created := s.create(sb.ID, s.h.LongRunning("created"))

	took := timed(func() { s.noErr("StopPodSandbox", s.rt.StopPodSandbox(s.ctx, sb.ID)) })
	if took >= promptly {
		s.Errorf("StopPodSandbox took %v; want it to kill at once", took)
	}
	for _, c := range []runtime.Container{stubborn, polite} {
		events.next(c.ID, runtime.ContainerCreatedEvent, runtime.ContainerStartedEvent, runtime.ContainerExitedEvent)
		if st := s.status(c.ID); st.State != runtime.ContainerExited {
			s.Errorf("%s is %s after StopPodSandbox; want Exited", describe(c), st.State)
		}
	}
	if st := s.status(created.ID); st.State == runtime.ContainerRunning {
		s.Errorf("never-started %s is Running after StopPodSandbox", describe(created))
	}
	list, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(list) != 1 || list[0].State != runtime.SandboxNotReady {
		s.Errorf("after StopPodSandbox, ListPodSandboxes = %+v; want one NotReady sandbox", list)
	}
	_, err = s.rt.CreateContainer(s.ctx, sb.ID, s.labeled(s.h.LongRunning("late"), ""))
	if err == nil {
		s.Errorf("CreateContainer in a stopped sandbox succeeded; want an error")
	}

	s.noErr("RemovePodSandbox", s.rt.RemovePodSandbox(s.ctx, sb.ID))
	for _, c := range []runtime.Container{stubborn, polite, created} {
		s.wantGone(c.ID)
	}
	events.next(stubborn.ID, runtime.ContainerRemovedEvent)
}

// equalSets reports whether a and b hold the same strings, in any order.
func equalSets(a, b []string) bool { return slices.Equal(sorted(a...), sorted(b...)) }
