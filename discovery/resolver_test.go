package discovery_test

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

func TestParseServiceName(t *testing.T) {
	r := discovery.NewResolver(discovery.WithClusterDomain("Cluster.Local."))
	for _, tc := range []struct {
		host, ns, name string
		ok             bool
	}{
		{"web.default", "default", "web", true},
		{"web.default.", "default", "web", true},
		{"WEB.Default", "default", "web", true},
		{"web.default.svc", "default", "web", true},
		{"web.default.svc.cluster.local", "default", "web", true},
		{"web.default.svc.cluster.local.", "default", "web", true},
		{"web", "", "", false},
		{"web.", "", "", false},
		{".default", "", "", false},
		{"web..svc", "", "", false},
		{"web.default.svc.example.com", "", "", false},
		{"web.default.cluster.local", "", "", false},
		{"www.example.com", "", "", false},
		{"", "", "", false},
	} {
		ns, name, ok := r.ParseServiceName(tc.host)
		if ns != tc.ns || name != tc.name || ok != tc.ok {
			t.Errorf("ParseServiceName(%q) = %q, %q, %v; want %q, %q, %v", tc.host, ns, name, ok, tc.ns, tc.name, tc.ok)
		}
	}
}

func addrPorts(s ...string) []netip.AddrPort {
	out := make([]netip.AddrPort, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddrPort(a)
	}
	return out
}

func TestResolveReadyEndpoints(t *testing.T) {
	r := discovery.NewResolver()
	// Slices may come before their Service.
	r.SetEndpointSlice(slice("default", "web", "web-a", []api.EndpointPort{eport("http", api.ProtocolTCP, 8080)},
		ep("127.91.0.3", ready), ep("127.91.0.2", ready), ep("127.91.0.4", notReady), ep("127.91.0.5", terminating)))
	if _, err := r.Resolve("web.default", "80", ""); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("Resolve before the Service exists = %v, want ErrNotFound", err)
	}
	r.SetService(svc("default", "web", "127.64.0.7", sport("http", 80)))
	for _, host := range []string{"web.default", "web.default.svc.cluster.local.", "127.64.0.7"} {
		for _, port := range []string{"80", "http"} {
			p, err := r.Resolve(host, port, api.ProtocolTCP)
			if err != nil {
				t.Fatalf("Resolve(%s, %s): %v", host, port, err)
			}
			if want := addrPorts("127.91.0.2:8080", "127.91.0.3:8080"); !slices.Equal(p.Ready, want) {
				t.Errorf("Resolve(%s, %s).Ready = %v, want %v", host, port, p.Ready, want)
			}
			if want := addrPorts("127.91.0.5:8080"); !slices.Equal(p.Terminating, want) {
				t.Errorf("Terminating = %v, want %v", p.Terminating, want)
			}
			if p.Port != 80 || p.Name != "http" || p.Service.Name != "web" {
				t.Errorf("port %+v", p)
			}
		}
	}
	for _, tc := range []struct {
		host, port string
		protocol   api.Protocol
		want       error
	}{
		{"web.default", "81", "", api.ErrNotFound},
		{"web.default", "https", "", api.ErrNotFound},
		{"web.default", "80", api.ProtocolUDP, api.ErrNotFound},
		{"web.default", "0", "", api.ErrInvalid},
		{"web.default", "70000", "", api.ErrInvalid},
		{"db.default", "80", "", api.ErrNotFound},
		{"web.other", "80", "", api.ErrNotFound},
		{"example.com.", "80", "", api.ErrNotFound},
		{"www.example.com", "80", "", api.ErrInvalid},
		{"localhost", "80", "", api.ErrInvalid},
		{"10.0.0.1", "80", "", api.ErrNotFound},
		{"127.0.0.1", "80", "", api.ErrNotFound},
	} {
		if _, err := r.Resolve(tc.host, tc.port, tc.protocol); !errors.Is(err, tc.want) {
			t.Errorf("Resolve(%s, %s, %q) = %v, want %v", tc.host, tc.port, tc.protocol, err, tc.want)
		}
	}
}

func TestResolveTerminatingFallback(t *testing.T) {
	r := discovery.NewResolver()
	r.SetService(svc("default", "web", "127.64.0.8", sport("", 80)))
	r.SetEndpointSlice(slice("default", "web", "web-a", []api.EndpointPort{eport("", api.ProtocolTCP, 80)},
		ep("127.91.0.2", terminating), ep("127.91.0.3", terminatingNotServe)))
	p, err := r.Resolve("web.default", "80", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Ready) != 0 || !slices.Equal(p.Candidates(), addrPorts("127.91.0.2:80")) {
		t.Errorf("candidates %v (ready %v), want the serving terminating endpoint only", p.Candidates(), p.Ready)
	}
}

// TestResolveAcrossSlices: a named targetPort can resolve to different
// numbers on different Pods (say, during a rollout that renumbers it); the
// controller then writes one slice per port number, and the resolver
// merges them. An endpoint listed twice (moving between slices) counts
// once, ready if either says so.
func TestResolveAcrossSlices(t *testing.T) {
	r := discovery.NewResolver()
	r.SetService(svc("default", "web", "127.64.0.9", sport("http", 80), sport("metrics", 9090)))
	r.SetEndpointSlice(slice("default", "web", "web-old", []api.EndpointPort{eport("http", api.ProtocolTCP, 8080), eport("metrics", api.ProtocolTCP, 9100)},
		ep("127.91.0.2", ready), ep("127.91.0.3", notReady)))
	r.SetEndpointSlice(slice("default", "web", "web-new", []api.EndpointPort{eport("http", api.ProtocolTCP, 8081)},
		ep("127.91.0.4", ready), ep("127.91.0.3", ready)))
	p, _ := r.Resolve("web.default", "http", "")
	if want := addrPorts("127.91.0.2:8080", "127.91.0.3:8081", "127.91.0.4:8081"); !slices.Equal(p.Ready, want) {
		t.Errorf("http ready %v, want %v", p.Ready, want)
	}
	m, _ := r.Resolve("web.default", "9090", "")
	if want := addrPorts("127.91.0.2:9100"); !slices.Equal(m.Ready, want) {
		t.Errorf("metrics ready %v, want %v (the new Pods declare no metrics port)", m.Ready, want)
	}
	s, _ := r.Lookup("web.default")
	if len(s.Endpoints) != 3 || !s.Endpoints[1].Ready {
		t.Errorf("endpoints %+v: want three, 127.91.0.3 ready", s.Endpoints)
	}
	r.DeleteEndpointSlice("default", "web-new")
	p, _ = r.Resolve("web.default", "http", "")
	if want := addrPorts("127.91.0.2:8080"); !slices.Equal(p.Ready, want) {
		t.Errorf("after deleting a slice: %v, want %v", p.Ready, want)
	}
}

func TestResolveHeadless(t *testing.T) {
	r := discovery.NewResolver()
	r.SetService(svc("default", "db", api.ClusterIPNone))
	r.SetEndpointSlice(slice("default", "db", "db-a", nil, ep("127.91.0.2", ready), ep("127.91.0.3", ready)))
	p, err := r.Resolve("db.default", "5432", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := addrPorts("127.91.0.2:5432", "127.91.0.3:5432"); !slices.Equal(p.Ready, want) {
		t.Errorf("headless ready %v, want %v", p.Ready, want)
	}
	if s, _ := r.Lookup("db.default"); s.ClusterIP.IsValid() || !s.Headless {
		t.Errorf("headless Service snapshot %+v", s)
	}
	if _, err := r.Resolve("db.default", "pg", ""); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("a name that is no port of a headless Service: %v", err)
	}
}

func TestResolverFollowsChanges(t *testing.T) {
	r := discovery.NewResolver()
	changed := r.Changed()
	r.SetService(svc("default", "web", "127.64.0.10", sport("", 80)))
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed by SetService")
	}
	// A slice whose service-name label changes moves to the other Service.
	r.SetService(svc("default", "api", "127.64.0.11", sport("", 80)))
	s := slice("default", "web", "shared", []api.EndpointPort{eport("", api.ProtocolTCP, 80)}, ep("127.91.0.2", ready))
	r.SetEndpointSlice(s)
	moved := slice("default", "api", "shared", s.Ports, s.Endpoints...)
	r.SetEndpointSlice(moved)
	if p, _ := r.Resolve("web.default", "80", ""); len(p.Ready) != 0 {
		t.Errorf("web still has %v after its slice moved", p.Ready)
	}
	if p, _ := r.Resolve("api.default", "80", ""); len(p.Ready) != 1 {
		t.Errorf("api has %v, want the moved endpoint", p.Ready)
	}
	// A new cluster IP replaces the old one in the IP index.
	r.SetService(svc("default", "web", "127.64.0.12", sport("", 80)))
	if _, err := r.Lookup("127.64.0.10"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("old cluster IP still resolves: %v", err)
	}
	if s, err := r.Lookup("127.64.0.12"); err != nil || s.Name != "web" {
		t.Errorf("new cluster IP: %v, %v", s, err)
	}
	r.DeleteService("default", "web")
	if _, err := r.Lookup("web.default"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted Service resolves: %v", err)
	}
	if _, err := r.Lookup("127.64.0.12"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted Service's cluster IP resolves: %v", err)
	}
	if got := r.Services(); len(got) != 1 || got[0].Name != "api" {
		t.Errorf("Services() = %v", got)
	}
}

// TestClusterIPConflict: when two Services claim one address, the older
// keeps it, and the other takes it over only once the older lets go.
func TestClusterIPConflict(t *testing.T) {
	r := discovery.NewResolver()
	older := svc("default", "a", "127.64.0.20", sport("", 80))
	older.CreationTimestamp = api.NewTime(older.CreationTimestamp.Add(-1))
	newer := svc("default", "b", "127.64.0.20", sport("", 80))
	newer.CreationTimestamp = api.NewTime(older.CreationTimestamp.Add(1e9))
	r.SetService(older)
	r.SetService(newer)
	if s, _ := r.Lookup("127.64.0.20"); s.Name != "a" {
		t.Errorf("conflicting address resolves to %s, want the older a", s.Name)
	}
	r.DeleteService("default", "a")
	if s, err := r.Lookup("127.64.0.20"); err != nil || s.Name != "b" {
		t.Errorf("after a let go: %v, %v; want b", s, err)
	}
}

// TestPodOverrides: a Pod whose deletion began leaves the ready endpoints
// before its slices say so; a deleted one stops serving; the override goes
// once no slice lists the Pod.
func TestPodOverrides(t *testing.T) {
	r := discovery.NewResolver()
	r.SetService(svc("default", "web", "127.64.0.30", sport("", 80)))
	withPod := func(addr, uid string) api.Endpoint {
		e := ep(addr, ready)
		e.TargetRef = &api.ObjectReference{Kind: api.KindPod, Name: uid, UID: uid}
		return e
	}
	ports := []api.EndpointPort{eport("", api.ProtocolTCP, 80)}
	r.SetEndpointSlice(slice("default", "web", "web-a", ports, withPod("127.91.0.2", "a"), withPod("127.91.0.3", "b")))
	r.PodTerminating("nobody") // no slice lists it: ignored
	r.PodTerminating("a")
	p, _ := r.Resolve("web.default", "80", "")
	if !slices.Equal(p.Ready, addrPorts("127.91.0.3:80")) || !slices.Equal(p.Terminating, addrPorts("127.91.0.2:80")) {
		t.Fatalf("after PodTerminating(a): ready %v terminating %v", p.Ready, p.Terminating)
	}
	r.PodDeleted("b")
	p, _ = r.Resolve("web.default", "80", "")
	if len(p.Ready) != 0 || !slices.Equal(p.Candidates(), addrPorts("127.91.0.2:80")) {
		t.Fatalf("after PodDeleted(b): ready %v terminating %v", p.Ready, p.Terminating)
	}
	// The slices catch up and drop both; a new Pod reusing an address is
	// not affected by the old overrides.
	r.SetEndpointSlice(slice("default", "web", "web-a", ports, withPod("127.91.0.2", "c")))
	r.PodTerminating("a") // late news of a Pod no slice lists
	p, _ = r.Resolve("web.default", "80", "")
	if !slices.Equal(p.Ready, addrPorts("127.91.0.2:80")) {
		t.Fatalf("a new Pod on an old address: ready %v", p.Ready)
	}
}

func BenchmarkResolve(b *testing.B) {
	r := discovery.NewResolver()
	for i := range 1000 {
		name := fmt.Sprintf("svc-%d", i)
		r.SetService(svc("default", name, fmt.Sprintf("127.64.%d.%d", i/250, i%250+1), sport("http", 80)))
		r.SetEndpointSlice(slice("default", name, name+"-a", []api.EndpointPort{eport("http", api.ProtocolTCP, 8080)},
			ep("127.91.0.2", ready), ep("127.91.0.3", ready), ep("127.91.0.4", ready)))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve("svc-500.default.svc.cluster.local", "80", api.ProtocolTCP); err != nil {
			b.Fatal(err)
		}
	}
}
