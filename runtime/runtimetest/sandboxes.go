package runtimetest

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

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

func testSandboxDNS(s *suite) {
	dns := func() *runtime.DNSConfig {
		return &runtime.DNSConfig{
			Servers:  []string{"10.97.0.10", "fd00::a"},
			Searches: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			Options:  []string{"ndots:5", "edns0"},
		}
	}
	cfg := s.sandboxConfigWithDNS("pod", dns())
	hostCfg := s.sandboxConfigWithDNS("host", dns())
	hostCfg.HostNetwork = true
	want := map[string]*runtime.DNSConfig{}
	var made []runtime.Sandbox
	for _, c := range []runtime.SandboxConfig{cfg, hostCfg, s.sandboxConfig("plain")} {
		sb := s.runSandbox(c)
		if !equalDNS(sb.Config.DNS, c.DNS) {
			s.Errorf("RunPodSandbox(%s) returned Config.DNS %s; want %s", c.Name, formatDNS(sb.Config.DNS), formatDNS(c.DNS))
		}
		want[sb.ID] = c.DNS
		made = append(made, sb)
	}
	// The runtime keeps a copy of its own: changing the config passed in,
	// or a config returned, changes nothing stored.
	want[made[0].ID], want[made[1].ID] = dns(), dns()
	cfg.DNS.Servers[0], hostCfg.DNS.Searches[0] = "192.0.2.1", "changed.example"
	if made[0].Config.DNS != nil {
		made[0].Config.DNS.Options[0] = "ndots:1"
	}

	list, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(list) != len(want) {
		s.Errorf("ListPodSandboxes = %d sandboxes; want %d", len(list), len(want))
	}
	for _, got := range list {
		w, ok := want[got.ID]
		if !ok {
			s.Errorf("ListPodSandboxes holds %s, which the subtest did not make", got.ID)
			continue
		}
		if !equalDNS(got.Config.DNS, w) {
			s.Errorf("ListPodSandboxes: sandbox %s (%s) has Config.DNS %s; want %s", got.ID, got.Config.Name, formatDNS(got.Config.DNS), formatDNS(w))
		}
	}
	again, err := s.rt.RunPodSandbox(s.ctx, s.sandboxConfigWithDNS("pod", dns()))
	s.noErr("RunPodSandbox again", err)
	if again.ID != made[0].ID || !equalDNS(again.Config.DNS, dns()) {
		s.Errorf("RunPodSandbox again = %s with DNS %s; want %s with %s", again.ID, formatDNS(again.Config.DNS), made[0].ID, formatDNS(dns()))
	}
}

// sandboxConfigWithDNS returns sandboxConfig(name) with dns.
func (s *suite) sandboxConfigWithDNS(name string, dns *runtime.DNSConfig) runtime.SandboxConfig {
	cfg := s.sandboxConfig(name)
	cfg.DNS = dns
	return cfg
}

func testSandboxInvalidDNS(s *suite) {
	for i, tc := range []struct {
		dns   runtime.DNSConfig
		names string // what the error must name
	}{
		{runtime.DNSConfig{Servers: []string{"10.97.0.10", "kube-dns"}}, "DNS.Servers[1]"},
		{runtime.DNSConfig{Servers: []string{"10.97.0.300"}}, "DNS.Servers[0]"},
		{runtime.DNSConfig{Servers: []string{" 10.97.0.10"}}, "DNS.Servers[0]"},
		{runtime.DNSConfig{Servers: []string{"10.97.0.10"}, Searches: []string{"a.local", "b.local\nnameserver 192.0.2.1"}}, "DNS.Searches[1]"},
		{runtime.DNSConfig{Options: []string{"ndots:5 edns0"}}, "DNS.Options[0]"},
		{runtime.DNSConfig{Searches: []string{""}}, "DNS.Searches[0]"},
	} {
		for _, hostNetwork := range []bool{false, true} {
			cfg := s.sandboxConfigWithDNS(fmt.Sprintf("bad-%d-%v", i, hostNetwork), &tc.dns)
			cfg.HostNetwork = hostNetwork
			sb, err := s.rt.RunPodSandbox(s.ctx, cfg)
			if err == nil {
				s.Errorf("RunPodSandbox with DNS %s (host network %v) made %s; want it refused", formatDNS(&tc.dns), hostNetwork, sb.ID)
				s.Cleanup(func() {
					ctx, cancel := s.cleanupCtx()
					defer cancel()
					_ = runtime.TearDownSandbox(ctx, s.rt, sb.ID, 0)
				})
				continue
			}
			s.wantErr(fmt.Sprintf("RunPodSandbox with DNS %s", formatDNS(&tc.dns)), err, runtime.ErrInvalidArgument)
			if !strings.Contains(err.Error(), tc.names) {
				s.Errorf("RunPodSandbox with DNS %s: err = %v; want it to name %s", formatDNS(&tc.dns), err, tc.names)
			}
		}
	}
	list, err := s.rt.ListPodSandboxes(s.ctx, map[string]string{labelRun: s.run})
	s.noErr("ListPodSandboxes", err)
	if len(list) != 0 {
		s.Errorf("after refused RunPodSandbox calls, ListPodSandboxes = %d sandboxes; want none", len(list))
	}
	// A refused config leaves the Pod's UID and Attempt free.
	cfg := s.sandboxConfigWithDNS("bad-0-false", &runtime.DNSConfig{Servers: []string{"10.97.0.10"}})
	if sb := s.runSandbox(cfg); sb.State != runtime.SandboxReady {
		s.Errorf("RunPodSandbox with a valid DNS after a refusal = %s; want Ready", sb.State)
	}
}

// equalDNS reports whether a and b are both nil, or both hold the same
// entries (a nil slice equals an empty one).
func equalDNS(a, b *runtime.DNSConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Servers, b.Servers) && slices.Equal(a.Searches, b.Searches) && slices.Equal(a.Options, b.Options)
}

// formatDNS describes dns for messages.
func formatDNS(dns *runtime.DNSConfig) string {
	if dns == nil {
		return "nil"
	}
	return fmt.Sprintf("{Servers: %q, Searches: %q, Options: %q}", dns.Servers, dns.Searches, dns.Options)
}

// equalSets reports whether a and b hold the same strings, in any order.
func equalSets(a, b []string) bool { return slices.Equal(sorted(a...), sorted(b...)) }
