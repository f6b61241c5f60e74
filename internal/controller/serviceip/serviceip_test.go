package serviceip_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/serviceip"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	create(t, s, &api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})
	return s
}

func create(t *testing.T, s *store.Store, obj api.Object) {
	t.Helper()
	api.SetDefaults(obj)
	if err := s.Update(func(tx store.Tx) error { return tx.Create(obj) }); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, s *store.Store, cfg serviceip.Config) *events.Recorder {
	t.Helper()
	rec := events.New(s, clock.Real(), zap.NewNop(), events.Options{})
	r := &serviceip.Reconciler{Store: s, Events: rec.For("ipallocator", ""), Config: cfg}
	c := controller.New("serviceip", r, controller.Options{BatchSize: 1000})
	r.Register(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return rec
}

func svc(name, clusterIP string, typ api.ServiceType, ports ...api.ServicePort) *api.Service {
	if len(ports) == 0 {
		ports = []api.ServicePort{{Port: 80}}
	}
	return &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.ServiceSpec{ClusterIP: clusterIP, Type: typ, Ports: ports, Selector: map[string]string{"app": name}}}
}

// waitServices waits until cond holds for the stored Services.
func waitServices(t *testing.T, s *store.Store, what string, cond func(map[string]*api.Service) bool) map[string]*api.Service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changes, err := store.Watch(ctx, s, store.WatchOptions{Kind: api.KindService}, func(ch store.Change) (store.Change, bool) { return ch, true })
	if err != nil {
		t.Fatal(err)
	}
	for {
		got := map[string]*api.Service{}
		s.View(func(tx store.ReadTx) {
			for _, svc := range store.List[*api.Service](tx, "default") {
				got[svc.Name] = svc
			}
		})
		if cond(got) {
			return got
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func allocated(names ...string) func(map[string]*api.Service) bool {
	return func(m map[string]*api.Service) bool {
		for _, n := range names {
			if m[n] == nil || m[n].Spec.ClusterIP == "" {
				return false
			}
		}
		return true
	}
}

func TestAllocatesUniqueClusterIPsAndNodePorts(t *testing.T) {
	s := newStore(t)
	cfg := serviceip.Config{CIDR: netip.MustParsePrefix("127.65.7.0/24")}
	run(t, s, cfg)
	var names []string
	for i := range 40 {
		name := fmt.Sprintf("svc-%d", i)
		names = append(names, name)
		typ := api.ServiceTypeClusterIP
		if i%2 == 0 {
			typ = api.ServiceTypeNodePort
		}
		create(t, s, svc(name, "", typ, api.ServicePort{Name: "tcp", Port: 53}, api.ServicePort{Name: "udp", Port: 53, Protocol: api.ProtocolUDP}))
	}
	create(t, s, svc("headless", api.ClusterIPNone, ""))
	got := waitServices(t, s, "every Service allocated", func(m map[string]*api.Service) bool {
		if !allocated(names...)(m) {
			return false
		}
		for i := 0; i < 40; i += 2 {
			for _, p := range m[names[i]].Spec.Ports {
				if p.NodePort == 0 {
					return false
				}
			}
		}
		return true
	})
	ips, nodePorts := map[string]string{}, map[string]string{}
	for _, name := range names {
		sv := got[name]
		ip := netip.MustParseAddr(sv.Spec.ClusterIP)
		if !cfg.CIDR.Contains(ip) || ip == cfg.CIDR.Addr() || ip.String() == "127.65.7.255" {
			t.Errorf("%s got %s, outside the usable range %s", name, ip, cfg.CIDR)
		}
		if other, dup := ips[ip.String()]; dup {
			t.Errorf("%s and %s share %s", name, other, ip)
		}
		ips[ip.String()] = name
		for _, p := range sv.Spec.Ports {
			if sv.Spec.Type != api.ServiceTypeNodePort {
				if p.NodePort != 0 {
					t.Errorf("ClusterIP Service %s got node port %d", name, p.NodePort)
				}
				continue
			}
			if p.NodePort < api.MinNodePort || p.NodePort > api.MaxNodePort {
				t.Errorf("%s node port %d out of range", name, p.NodePort)
			}
			key := fmt.Sprintf("%d/%s", p.NodePort, p.Protocol)
			if other, dup := nodePorts[key]; dup {
				t.Errorf("%s and %s share node port %s", name, other, key)
			}
			nodePorts[key] = name
		}
		if err := api.Validate(sv); err != nil {
			t.Errorf("allocated Service is invalid: %v", err)
		}
	}
	if got["headless"].Spec.ClusterIP != api.ClusterIPNone {
		t.Errorf("headless Service got %q", got["headless"].Spec.ClusterIP)
	}
}

// TestClearedAllocationComesBack: an update that clears clusterIP and
// nodePort (a manifest applied without them) gets the same values back.
func TestClearedAllocationComesBack(t *testing.T) {
	s := newStore(t)
	run(t, s, serviceip.Config{CIDR: netip.MustParsePrefix("127.65.8.0/24")})
	create(t, s, svc("web", "", api.ServiceTypeNodePort))
	first := waitServices(t, s, "allocated", func(m map[string]*api.Service) bool {
		return allocated("web")(m) && m["web"].Spec.Ports[0].NodePort != 0
	})["web"]
	if err := s.Update(func(tx store.Tx) error {
		next := first.DeepCopy()
		next.Spec.ClusterIP, next.Spec.Ports[0].NodePort = "", 0
		return tx.Update(next)
	}); err != nil {
		t.Fatal(err)
	}
	again := waitServices(t, s, "allocated again", func(m map[string]*api.Service) bool {
		return m["web"].ResourceVersion != first.ResourceVersion && allocated("web")(m) && m["web"].Spec.Ports[0].NodePort != 0
	})["web"]
	if again.Spec.ClusterIP != first.Spec.ClusterIP || again.Spec.Ports[0].NodePort != first.Spec.Ports[0].NodePort {
		t.Errorf("re-allocated %s:%d, want the previous %s:%d", again.Spec.ClusterIP, again.Spec.Ports[0].NodePort,
			first.Spec.ClusterIP, first.Spec.Ports[0].NodePort)
	}
}

// TestConflictIsReported: the newer of two Services asking for one
// address keeps its spec and gets a Warning event.
func TestConflictIsReported(t *testing.T) {
	s := newStore(t)
	rec := run(t, s, serviceip.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	recDone := make(chan error, 1)
	go func() { recDone <- rec.Run(ctx) }()
	defer func() { cancel(); <-recDone }()
	evs, err := store.Watch(ctx, s, store.WatchOptions{Kind: api.KindEvent}, func(ch store.Change) (*api.Event, bool) {
		ev := ch.Object.(*api.Event)
		return ev, ev.Reason == "AllocationFailed" && ev.InvolvedObject.Name == "b"
	})
	if err != nil {
		t.Fatal(err)
	}
	create(t, s, svc("a", "127.64.9.9", ""))
	create(t, s, svc("b", "127.64.9.9", ""))
	select {
	case ev := <-evs:
		if !strings.Contains(ev.Message, "spec.clusterIP: 127.64.9.9 is already allocated to Service default/a") {
			t.Errorf("event message %q", ev.Message)
		}
	case <-ctx.Done():
		t.Fatal("no AllocationFailed event for b")
	}
}

func TestAllocatorExhaustion(t *testing.T) {
	s := newStore(t)
	cfg := serviceip.Config{CIDR: netip.MustParsePrefix("127.65.9.0/30")} // two usable addresses
	var errs []api.FieldErrors
	err := s.Update(func(tx store.Tx) error {
		a := serviceip.NewAllocator(tx, cfg)
		for i := range 3 {
			sv := svc(fmt.Sprintf("s%d", i), "", "")
			api.SetDefaults(sv)
			errs = append(errs, a.Allocate(sv))
			if sv.Spec.ClusterIP != "" {
				if err := tx.Create(sv); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs[0]) != 0 || len(errs[1]) != 0 || len(errs[2]) != 1 || errs[2][0].Path != "spec.clusterIP" {
		t.Errorf("errors %v, want only the third to find no address", errs)
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cidr          string
		hostInterface bool
		ok            bool
	}{
		{"", false, true},
		{"127.64.0.0/16", false, true},
		{"127.0.0.0/8", false, true},
		{"10.0.0.0/16", false, false},
		{"127.64.0.0/31", false, false},
		{"::1/128", false, false},
		{"10.97.0.0/16", true, true},
		{"", true, false}, // the default range is loopback
		{"127.64.0.0/16", true, false},
		{"96.0.0.0/3", true, false}, // covers 127.0.0.0/8
		{"10.97.0.0/31", true, false},
		{"fd00::/64", true, false},
	} {
		cfg := serviceip.Config{HostInterface: tc.hostInterface}
		if tc.cidr != "" {
			cfg.CIDR = netip.MustParsePrefix(tc.cidr)
		}
		if err := cfg.Check(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, api.ErrInvalid)) {
			t.Errorf("Check(%s, host interface %v) = %v, want ok=%v", tc.cidr, tc.hostInterface, err, tc.ok)
		}
	}
}

// With a host interface, a requested cluster IP must lie in the CIDR and
// not be reserved; reserved addresses are never allocated.
func TestRequestedAndReservedAddresses(t *testing.T) {
	cfg := serviceip.Config{
		CIDR:          netip.MustParsePrefix("10.97.0.0/30"), // 10.97.0.1 and .2 usable
		HostInterface: true,
		Reserved:      []netip.Addr{netip.MustParseAddr("10.97.0.2")},
	}
	s := newStore(t)
	for _, tc := range []struct {
		ip, detail string
	}{
		{"10.98.0.1", "outside the service CIDR 10.97.0.0/30"},
		{"10.97.0.0", "network or broadcast"},
		{"10.97.0.3", "network or broadcast"},
		{"127.64.0.1", "outside the service CIDR"},
		{"10.97.0.2", "reserved"},
	} {
		s.View(func(tx store.ReadTx) {
			sv := svc("web", tc.ip, "")
			api.SetDefaults(sv)
			errs := serviceip.NewAllocator(tx, cfg).Allocate(sv)
			if len(errs) != 1 || errs[0].Path != "spec.clusterIP" || !strings.Contains(errs[0].Detail, tc.detail) {
				t.Errorf("Allocate(clusterIP %s) = %v; want spec.clusterIP: ...%s...", tc.ip, errs, tc.detail)
			}
		})
	}
	var got []string
	err := s.Update(func(tx store.Tx) error {
		a := serviceip.NewAllocator(tx, cfg)
		for i := range 2 {
			sv := svc(fmt.Sprintf("s%d", i), "", "")
			api.SetDefaults(sv)
			a.Allocate(sv)
			got = append(got, sv.Spec.ClusterIP)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "10.97.0.1" || got[1] != "" {
		t.Errorf("allocated %q; want 10.97.0.1 and then nothing (10.97.0.2 is reserved)", got)
	}
	// Without a host interface, any loopback address may be asked for, as
	// before; a private one may not.
	loop := serviceip.Config{}
	s.View(func(tx store.ReadTx) {
		for ip, ok := range map[string]bool{"127.1.2.3": true, "10.0.0.1": false, "127.255.255.255": false} {
			sv := svc("web", ip, "")
			api.SetDefaults(sv)
			if errs := serviceip.NewAllocator(tx, loop).Allocate(sv); (len(errs) == 0) != ok {
				t.Errorf("loopback mode: Allocate(clusterIP %s) = %v; want ok=%v", ip, errs, ok)
			}
		}
	})
}
