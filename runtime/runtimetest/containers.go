package runtimetest

import (
	"maps"
	"slices"

	"github.com/batonhq/baton/runtime"
)

func testContainerLifecycle(s *suite) {
	sb := s.sandbox("web")
	cfg := s.h.LongRunning("app")
	cfg.Attempt = 2
	c := s.create(sb.ID, cfg)
	l := &lifecycle{s: s, id: c.ID}

	if c.ID == "" || c.SandboxID != sb.ID || c.State != runtime.ContainerCreated {
		s.Fatalf("CreateContainer = ID %q, SandboxID %q, State %s; want an ID, %s, Created", c.ID, c.SandboxID, c.State, sb.ID)
	}
	st := l.see(runtime.ContainerCreated)
	if st.CreatedAt.IsZero() || !st.StartedAt.IsZero() || !st.FinishedAt.IsZero() {
		s.Errorf("Created container has CreatedAt %v, StartedAt %v, FinishedAt %v; want only CreatedAt", st.CreatedAt, st.StartedAt, st.FinishedAt)
	}
	if st.ImageID == "" {
		s.Errorf("container ImageID is empty; want the image's content ID")
	}

	s.start(c.ID)
	st = l.see(runtime.ContainerRunning)
	if st.StartedAt.IsZero() || st.StartedAt.Before(st.CreatedAt) {
		s.Errorf("Running container has StartedAt %v (CreatedAt %v); want a start time after creation", st.StartedAt, st.CreatedAt)
	}
	s.wantErr("StartContainer of a Running container", s.rt.StartContainer(s.ctx, c.ID), runtime.ErrFailedPrecondition)
	l.see(runtime.ContainerRunning)

	s.noErr("StopContainer", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
	st = l.see(runtime.ContainerExited)
	if st.FinishedAt.IsZero() || st.FinishedAt.Before(st.StartedAt) {
		s.Errorf("Exited container has FinishedAt %v (StartedAt %v); want an exit time after the start", st.FinishedAt, st.StartedAt)
	}
	s.wantErr("StartContainer of an Exited container", s.rt.StartContainer(s.ctx, c.ID), runtime.ErrFailedPrecondition)
	s.noErr("StopContainer of an Exited container", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
	l.see(runtime.ContainerExited)

	s.noErr("RemoveContainer", s.rt.RemoveContainer(s.ctx, c.ID))
	s.wantGone(c.ID)
	s.noErr("RemoveContainer of a removed container", s.rt.RemoveContainer(s.ctx, c.ID))
	s.noErr("StopContainer of a removed container", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
}

func testContainerRemoveCreated(s *suite) {
	sb := s.sandbox("web")
	c := s.create(sb.ID, s.h.LongRunning("app"))
	s.noErr("StopContainer of a Created container", s.rt.StopContainer(s.ctx, c.ID, promptGrace))
	s.noErr("RemoveContainer of a Created container", s.rt.RemoveContainer(s.ctx, c.ID))
	s.wantGone(c.ID)
	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{SandboxID: sb.ID})
	s.noErr("ListContainers", err)
	if len(list) != 0 {
		s.Errorf("ListContainers of the sandbox after removing its only container = %v; want none", idsOf(list))
	}
}

func testContainerUnknown(s *suite) {
	id := "runtimetest-missing-" + s.run
	_, err := s.rt.ContainerStatus(s.ctx, id)
	s.wantErr("ContainerStatus of an unknown container", err, runtime.ErrNotFound)
	s.wantErr("StartContainer of an unknown container", s.rt.StartContainer(s.ctx, id), runtime.ErrNotFound)
	s.noErr("StopContainer of an unknown container", s.rt.StopContainer(s.ctx, id, promptGrace))
	s.noErr("RemoveContainer of an unknown container", s.rt.RemoveContainer(s.ctx, id))
	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{ID: id})
	s.noErr("ListContainers by an unknown ID", err)
	if len(list) != 0 {
		s.Errorf("ListContainers by an unknown ID = %v; want none", idsOf(list))
	}
}

func testContainerCreateErrors(s *suite) {
	sb := s.sandbox("web")
	cfg := s.labeled(s.h.LongRunning("app"), "")
	s.ensureImage(cfg.Image)

	_, err := s.rt.CreateContainer(s.ctx, "runtimetest-missing-"+s.run, cfg)
	s.wantErr("CreateContainer in an unknown sandbox", err, runtime.ErrNotFound)

	noImage := cfg
	noImage.Image = s.h.MissingImage
	_, err = s.rt.CreateContainer(s.ctx, sb.ID, noImage)
	s.wantErr("CreateContainer from an absent image", err, runtime.ErrNotFound)

	first := s.create(sb.ID, cfg)
	_, err = s.rt.CreateContainer(s.ctx, sb.ID, cfg)
	s.wantErr("CreateContainer with the name and attempt of an existing container", err, runtime.ErrAlreadyExists)
	next := cfg
	next.Attempt++
	second := s.create(sb.ID, next)
	if second.ID == first.ID {
		s.Errorf("the next attempt got the ID of the first, %s", first.ID)
	}

	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{SandboxID: sb.ID})
	s.noErr("ListContainers", err)
	if !equalSets(idsOf(list), []string{first.ID, second.ID}) {
		s.Errorf("after failed creates, the sandbox holds %v; want %v", idsOf(list), sorted(first.ID, second.ID))
	}
}

func testContainerListFilters(s *suite) {
	a := s.sandbox("a")
	b := s.sandbox("b")
	aRun := s.running(a.ID, s.h.LongRunning("run"))
	aNew := s.create(a.ID, s.h.LongRunning("new"))
	bCfg := s.h.LongRunning("other")
	bCfg.Labels = maps.Clone(bCfg.Labels)
	if bCfg.Labels == nil {
		bCfg.Labels = map[string]string{}
	}
	bCfg.Labels[labelRole] = "b"
	bRun := s.running(b.ID, bCfg)
	ours := map[string]string{labelRun: s.run}

	for _, tc := range []struct {
		name   string
		filter runtime.ContainerFilter
		want   []string
	}{
		{"labels", runtime.ContainerFilter{Labels: ours}, []string{aRun.ID, aNew.ID, bRun.ID}},
		{"sandbox", runtime.ContainerFilter{SandboxID: a.ID}, []string{aRun.ID, aNew.ID}},
		{"sandbox and state", runtime.ContainerFilter{SandboxID: a.ID, State: runtime.ContainerRunning}, []string{aRun.ID}},
		{"state and labels", runtime.ContainerFilter{State: runtime.ContainerCreated, Labels: ours}, []string{aNew.ID}},
		{"id", runtime.ContainerFilter{ID: bRun.ID}, []string{bRun.ID}},
		{"id in another sandbox", runtime.ContainerFilter{ID: bRun.ID, SandboxID: a.ID}, nil},
		{"id in another state", runtime.ContainerFilter{ID: bRun.ID, State: runtime.ContainerExited}, nil},
		{"every label", runtime.ContainerFilter{Labels: map[string]string{labelRun: s.run, labelRole: "b"}}, []string{bRun.ID}},
		{"a label that none has", runtime.ContainerFilter{Labels: map[string]string{labelRun: s.run, labelRole: "c"}}, nil},
	} {
		list, err := s.rt.ListContainers(s.ctx, tc.filter)
		s.noErr("ListContainers "+tc.name, err)
		if got := idsOf(list); !equalSets(got, tc.want) {
			s.Errorf("ListContainers by %s (%+v) = %v; want %v", tc.name, tc.filter, got, sorted(tc.want...))
		}
	}

	all, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{})
	s.noErr("ListContainers with no filter", err)
	got := idsOf(all)
	for _, id := range []string{aRun.ID, aNew.ID, bRun.ID} {
		if !slices.Contains(got, id) {
			s.Errorf("ListContainers with no filter lacks %s", id)
		}
	}
}

func testContainerCopies(s *suite) {
	sbCfg := s.sandboxConfig("web")
	sb := s.runSandbox(sbCfg)
	sbLabels := maps.Clone(sbCfg.Labels)
	sbCfg.Labels[labelRole] = "changed by the caller after RunPodSandbox"
	sb.Config.Labels[labelRole] = "changed in the returned sandbox"

	cfg := s.labeled(s.h.LongRunning("app"), "app")
	cfg.Env = append(slices.Clone(cfg.Env), "RUNTIMETEST=1")
	wantLabels, wantEnv := maps.Clone(cfg.Labels), slices.Clone(cfg.Env)
	s.ensureImage(cfg.Image)
	c, err := s.rt.CreateContainer(s.ctx, sb.ID, cfg)
	s.noErr("CreateContainer", err)
	s.Cleanup(func() {
		ctx, cancel := s.cleanupCtx()
		defer cancel()
		_ = s.rt.RemoveContainer(ctx, c.ID) // the sandbox's teardown checks
	})
	if c.Config.Name != cfg.Name || c.Config.Image != cfg.Image || c.Config.Attempt != cfg.Attempt ||
		!maps.Equal(c.Config.Labels, wantLabels) || !slices.Equal(c.Config.Env, wantEnv) {
		s.Errorf("CreateContainer returned Config %+v; want %+v", c.Config, cfg)
	}
	cfg.Labels[labelRole] = "changed by the caller after CreateContainer"
	cfg.Env[len(cfg.Env)-1] = "RUNTIMETEST=changed"
	c.Config.Labels[labelRole] = "changed in the returned container"
	c.Config.Env[len(c.Config.Env)-1] = "RUNTIMETEST=changed in the returned container"

	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{ID: c.ID})
	s.noErr("ListContainers", err)
	if len(list) != 1 {
		s.Fatalf("ListContainers by ID = %v; want %s", idsOf(list), c.ID)
	}
	list[0].Config.Labels[labelRole] = "changed in the listed container"
	for what, got := range map[string]runtime.Container{"ContainerStatus": s.status(c.ID), "ListContainers": s.listOne(c.ID)} {
		if !maps.Equal(got.Config.Labels, wantLabels) || !slices.Equal(got.Config.Env, wantEnv) {
			s.Errorf("%s after callers changed their copies: Labels %v, Env %v; want %v, %v", what, got.Config.Labels, got.Config.Env, wantLabels, wantEnv)
		}
	}
	sbs, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(sbs) != 1 || !maps.Equal(sbs[0].Config.Labels, sbLabels) {
		s.Errorf("ListPodSandboxes after callers changed their copies = %+v; want labels %v", sbs, sbLabels)
	}
}

// listOne returns container id as ListContainers reports it.
func (s *suite) listOne(id string) runtime.Container {
	s.Helper()
	list, err := s.rt.ListContainers(s.ctx, runtime.ContainerFilter{ID: id})
	s.noErr("ListContainers", err)
	if len(list) != 1 {
		s.Fatalf("ListContainers by ID %s = %v; want it alone", id, idsOf(list))
	}
	return list[0]
}
