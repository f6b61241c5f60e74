package baton_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/testutil"
)

// loopbackIP returns address 200+i of the harness's pod range, which its
// fake runtime hands out from the bottom and never this high in these
// tests: a backend outside Baton, as a user's EndpointSlice would name.
func (h *servicesHarness) loopbackIP(t *testing.T, i int) string {
	t.Helper()
	node := netip.MustParseAddr(h.nodeAddr).As4() // 127.<net>.250.<n+1>
	return netip.AddrFrom4([4]byte{127, node[1], node[3] - 1, byte(200 + i)}).String()
}

// serveHTTP serves versionHandler(name) on a free port of ip (loopback)
// until the test ends and returns its address.
func serveHTTP(t *testing.T, ip, name string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: versionHandler(name), ReadHeaderTimeout: waitTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return netip.MustParseAddrPort(l.Addr().String())
}

func selectorlessService(name string) *baton.Service {
	return &baton.Service{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec:       baton.ServiceSpec{Ports: []baton.ServicePort{{Name: "http", Port: 80}}},
	}
}

// userSlice is an EndpointSlice of Service service listing addrs, ready,
// on port "http" (which every addr must share).
func userSlice(name, service string, addrs ...netip.AddrPort) *baton.EndpointSlice {
	s := &baton.EndpointSlice{
		ObjectMeta:  baton.ObjectMeta{Name: name, Labels: map[string]string{baton.LabelServiceName: service}},
		AddressType: baton.AddressTypeIPv4,
	}
	portName := "http"
	for _, ap := range addrs {
		s.Endpoints = append(s.Endpoints, baton.Endpoint{Addresses: []string{ap.Addr().String()}})
		port := int32(ap.Port())
		s.Ports = []baton.EndpointPort{{Name: &portName, Port: &port}}
	}
	return s
}

// readyEndpoints returns what the Resolver offers for host's port "http".
func readyEndpoints(t *testing.T, o *baton.Orchestrator, host string) (ready, terminating []netip.AddrPort) {
	t.Helper()
	port, err := o.Resolver().Resolve(host, "http", "")
	if err != nil {
		t.Fatalf("resolve %s: %v", host, err)
	}
	return port.Ready, port.Terminating
}

// waitReady waits until the Resolver offers exactly want as host's ready
// endpoints of port "http". Use it after waiting on the store: the
// Resolver takes a change while the store commits it, a moment after a
// reader of the store can see it.
func waitReady(t *testing.T, o *baton.Orchestrator, host string, want ...netip.AddrPort) {
	t.Helper()
	want = sortedAddrs(want...)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		changed := o.Resolver().Changed()
		ready, _ := readyEndpoints(t, o, host)
		if slices.Equal(ready, want) {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s to offer %v; it offers %v", host, want, ready)
		}
	}
}

func sortedAddrs(aps ...netip.AddrPort) []netip.AddrPort {
	out := slices.Clone(aps)
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out
}

// TestUserEndpointSlicesOfSelectorlessService: a Service without a
// selector takes its endpoints from the EndpointSlices the user writes,
// as in Kubernetes: DialContext and the proxy reach the backends they
// list, DNS names the Service, and every change to the slices is in the
// Resolver by the time the write returns.
func TestUserEndpointSlicesOfSelectorlessService(t *testing.T) {
	h := newServicesHarness(t)
	ctx := ctxFor(t)
	a := serveHTTP(t, h.loopbackIP(t, 1), "a")
	b := serveHTTP(t, h.loopbackIP(t, 2), "b")

	svc, err := h.o.Services("default").Create(ctx, selectorlessService("ext"))
	if err != nil {
		t.Fatal(err)
	}
	slicesClient := h.o.EndpointSlices("default")
	sa, err := slicesClient.Create(ctx, userSlice("ext-a", "ext", a))
	if err != nil {
		t.Fatal(err)
	}
	if sa.APIVersion != "discovery.k8s.io/v1" || sa.Kind != "EndpointSlice" || sa.UID == "" ||
		sa.Ports[0].Protocol == nil || *sa.Ports[0].Protocol != baton.ProtocolTCP {
		t.Errorf("created slice not defaulted: %+v ports %+v", sa.TypeMeta, sa.Ports)
	}
	if _, err := slicesClient.Create(ctx, userSlice("ext-b", "ext", b)); err != nil {
		t.Fatal(err)
	}
	// No wait: the Resolver took the slices in the commits that wrote them.
	if ready, _ := readyEndpoints(t, h.o, "ext.default"); !slices.Equal(ready, sortedAddrs(a, b)) {
		t.Fatalf("ready %v, want %v and %v", ready, a, b)
	}

	// In process, by name: both backends, in turn.
	direct := httpClient(h.o.DialContext)
	t.Cleanup(direct.CloseIdleConnections)
	counts := map[string]int{}
	for range 4 {
		direct.CloseIdleConnections()
		counts[get(t, direct, "http://ext.default/")]++
	}
	wantA, wantB := "a "+a.Addr().String(), "b "+b.Addr().String()
	if counts[wantA] != 2 || counts[wantB] != 2 {
		t.Errorf("responses %v, want 2 each of %q and %q", counts, wantA, wantB)
	}

	// Through the proxy, at the cluster IP; it listens a moment after the
	// Service is stored.
	plain := httpClient((&net.Dialer{}).DialContext)
	t.Cleanup(plain.CloseIdleConnections)
	url := fmt.Sprintf("http://%s:80/", svc.Spec.ClusterIP)
	testutil.Eventually(t, "the proxy answers at "+url, waitTimeout, 5*time.Millisecond, func() (bool, string) {
		resp, err := plain.Get(url)
		if err != nil {
			return false, err.Error()
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return false, err.Error()
		}
		return string(body) == wantA || string(body) == wantB, fmt.Sprintf("answered %q", body)
	})

	// DNS names the cluster IP.
	testutil.Eventually(t, "DNS answers ext.default", waitTimeout, 5*time.Millisecond, func() (bool, string) {
		addr := h.o.DNSAddr()
		if addr == "" {
			return false, "the DNS server is not listening yet"
		}
		m := new(dns.Msg)
		m.SetQuestion("ext.default.svc.cluster.local.", dns.TypeA)
		resp, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
		if err != nil {
			return false, err.Error()
		}
		if len(resp.Answer) != 1 {
			return false, resp.String()
		}
		a, ok := resp.Answer[0].(*dns.A)
		return ok && a.A.String() == svc.Spec.ClusterIP, resp.String()
	})

	// a stops being ready: only b is offered, at once.
	no := false
	sa.Endpoints[0].Conditions.Ready = &no
	if sa, err = slicesClient.Update(ctx, sa); err != nil {
		t.Fatal(err)
	}
	if ready, terminating := readyEndpoints(t, h.o, "ext.default"); !slices.Equal(ready, []netip.AddrPort{b}) || len(terminating) != 0 {
		t.Fatalf("with a not ready: ready %v terminating %v, want only %v", ready, terminating, b)
	}
	for range 3 {
		direct.CloseIdleConnections()
		if body := get(t, direct, "http://ext.default/"); body != wantB {
			t.Fatalf("with a not ready, got %q", body)
		}
	}

	// a serving while terminating is the fallback once b is removed, as
	// kube-proxy does.
	yes := true
	sa.Endpoints[0].Conditions = baton.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}
	if _, err = slicesClient.Apply(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sb, err := slicesClient.Get(ctx, "ext-b")
	if err != nil {
		t.Fatal(err)
	}
	sb.Endpoints = nil
	if _, err := slicesClient.Update(ctx, sb); err != nil {
		t.Fatal(err)
	}
	if ready, terminating := readyEndpoints(t, h.o, "ext.default"); len(ready) != 0 || !slices.Equal(terminating, []netip.AddrPort{a}) {
		t.Fatalf("with b removed: ready %v terminating %v, want only %v terminating", ready, terminating, a)
	}
	direct.CloseIdleConnections()
	if body := get(t, direct, "http://ext.default/"); body != wantA {
		t.Errorf("falling back to the terminating endpoint, got %q", body)
	}

	// Deleting the slice takes a away; the Service stays, with nothing
	// to dial.
	if err := slicesClient.Delete(ctx, "ext-a"); err != nil {
		t.Fatal(err)
	}
	if ready, terminating := readyEndpoints(t, h.o, "ext.default"); len(ready)+len(terminating) != 0 {
		t.Fatalf("with ext-a deleted: ready %v terminating %v", ready, terminating)
	}
	_, err = h.o.DialContext(ctx, "tcp", "ext.default:80")
	if !errors.Is(err, baton.ErrUnavailable) || !strings.Contains(err.Error(), "kubernetes.io/service-name=ext") {
		t.Errorf("dial with no endpoint: %v, want ErrUnavailable pointing at the slices", err)
	}
	if err := slicesClient.Delete(ctx, "ext-a"); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("deleting ext-a again: %v, want ErrNotFound", err)
	}
}

// TestUserEndpointSliceBadInput: malformed slices, and slices claiming to
// be the endpoints controller's, are refused with ErrInvalid naming the
// field; the store is unchanged (no watch event) and so is the Resolver.
func TestUserEndpointSliceBadInput(t *testing.T) {
	h := newServicesHarness(t)
	ctx := ctxFor(t)
	if _, err := h.o.Services("default").Create(ctx, selectorlessService("ext")); err != nil {
		t.Fatal(err)
	}
	backend := netip.MustParseAddrPort(h.loopbackIP(t, 1) + ":8080")
	slicesClient := h.o.EndpointSlices("default")
	stored, err := slicesClient.Create(ctx, userSlice("ext-1", "ext", backend))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := slicesClient.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Type != baton.Added || ev.Object.Name != "ext-1" {
		t.Fatalf("first event %v %s", ev.Type, ev.Object.Name)
	}

	udp := baton.ProtocolUDP
	for _, tc := range []struct {
		name   string
		mutate func(*baton.EndpointSlice)
		path   string
		detail string
	}{
		{"bad addressType", func(s *baton.EndpointSlice) { s.AddressType = "FQDN" }, "addressType", "Baton supports IPv4 and IPv6"},
		{"missing addressType", func(s *baton.EndpointSlice) { s.AddressType = "" }, "addressType", "required"},
		{"bad IP", func(s *baton.EndpointSlice) { s.Endpoints[0].Addresses = []string{"db.example.com"} }, "endpoints[0].addresses[0]", "must be an IP address"},
		{"IPv6 in an IPv4 slice", func(s *baton.EndpointSlice) { s.Endpoints[0].Addresses = []string{"::1"} }, "endpoints[0].addresses[0]", "IPv4"},
		{"unspecified IP", func(s *baton.EndpointSlice) { s.Endpoints[0].Addresses = []string{"0.0.0.0"} }, "endpoints[0].addresses[0]", "unspecified"},
		{"duplicate port names", func(s *baton.EndpointSlice) {
			s.Ports = append(s.Ports, baton.EndpointPort{Name: s.Ports[0].Name, Protocol: &udp})
		}, "ports[1].name", "duplicate name"},
		{"bad port", func(s *baton.EndpointSlice) { p := int32(0); s.Ports[0].Port = &p }, "ports[0].port", "between 1 and 65535"},
		{"bad name", func(s *baton.EndpointSlice) { s.Name = "Ext_1" }, "metadata.name", ""},
		{"claims the controller", func(s *baton.EndpointSlice) { s.Labels[baton.LabelManagedBy] = baton.EndpointSliceControllerName },
			"metadata.labels[endpointslice.kubernetes.io/managed-by]", "reserved for Baton's endpoints controller"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := userSlice("ext-2", "ext", backend)
			tc.mutate(s)
			_, err := slicesClient.Create(ctx, s)
			checkFieldError(t, "create", err, tc.path, tc.detail)
			// The same problem in an update of ext-1.
			s = stored.DeepCopy()
			tc.mutate(s)
			if s.Name != stored.Name {
				return // an update cannot rename
			}
			_, err = slicesClient.Update(ctx, s)
			checkFieldError(t, "update", err, tc.path, tc.detail)
			_, err = slicesClient.Apply(ctx, s)
			checkFieldError(t, "apply", err, tc.path, tc.detail)
		})
	}
	// A manifest is checked the same way.
	_, err = h.o.Apply(ctx, strings.NewReader(`
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-3
  labels:
    kubernetes.io/service-name: ext
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.baton.dev
addressType: IPv4
endpoints: [{addresses: ["127.0.0.1"]}]
ports: [{name: http, port: 8080}]
`))
	checkFieldError(t, "apply manifest", err, "metadata.labels[endpointslice.kubernetes.io/managed-by]", "reserved")

	// Nothing reached the store: the next event is this sentinel.
	if _, err := slicesClient.Create(ctx, userSlice("ext-sentinel", "other", backend)); err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Type != baton.Added || ev.Object.Name != "ext-sentinel" {
		t.Errorf("a refused write reached the store: %v %s", ev.Type, ev.Object.Name)
	}
	got, err := slicesClient.Get(ctx, "ext-1")
	if err != nil || got.ResourceVersion != stored.ResourceVersion {
		t.Errorf("ext-1 changed: %v, %v", got, err)
	}
	if ready, _ := readyEndpoints(t, h.o, "ext.default"); !slices.Equal(ready, []netip.AddrPort{backend}) {
		t.Errorf("the Resolver offers %v, want %v", ready, backend)
	}

	// A slice the controller keeps cannot be written through the client,
	// since it carries the reserved label.
	if _, err := h.o.Services("default").Create(ctx, webService("")); err != nil {
		t.Fatal(err)
	}
	managed := waitManagedSlices(t, h.o, "web", "the controller's placeholder slice", func(ss []*baton.EndpointSlice) bool { return len(ss) == 1 })
	managed[0].Endpoints = []baton.Endpoint{{Addresses: []string{backend.Addr().String()}}}
	_, err = slicesClient.Update(ctx, managed[0])
	checkFieldError(t, "update of a managed slice", err, "metadata.labels[endpointslice.kubernetes.io/managed-by]", "reserved")
}

func checkFieldError(t *testing.T, op string, err error, path, detail string) {
	t.Helper()
	var ve *baton.ValidationError
	if !errors.Is(err, baton.ErrInvalid) || !errors.As(err, &ve) {
		t.Errorf("%s: %v, want a ValidationError at %s", op, err, path)
		return
	}
	for _, fe := range ve.Fields {
		if fe.Path == path && strings.Contains(fe.Detail, detail) {
			return
		}
	}
	t.Errorf("%s: %v, want an error at %s saying %q", op, err, path, detail)
}

// isManaged reports whether s is a slice Baton's endpoints controller
// keeps.
func isManaged(s *baton.EndpointSlice) bool {
	return s.Labels[baton.LabelManagedBy] == baton.EndpointSliceControllerName && s.ControllerRef() != nil
}

// waitManagedSlices waits until cond holds for the controller's slices of
// Service name in "default", and returns them.
func waitManagedSlices(t *testing.T, o *baton.Orchestrator, name, what string, cond func([]*baton.EndpointSlice) bool) []*baton.EndpointSlice {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.EndpointSlices("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		all, err := o.EndpointSlices("default").ForService(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var managed []*baton.EndpointSlice
		for _, s := range all {
			if isManaged(s) {
				managed = append(managed, s)
			}
		}
		if cond(managed) {
			return managed
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; managed slices of %s: %d", what, name, len(managed))
		}
	}
}

// readyCount counts the ready endpoints of ss.
func readyCount(ss []*baton.EndpointSlice) int {
	n := 0
	for _, s := range ss {
		for _, ep := range s.Endpoints {
			if ep.Conditions.IsReady() {
				n++
			}
		}
	}
	return n
}

// TestEndpointsControllerLeavesUserSlices: a user's slice of a Service
// with a selector is used beside the controller's, which never changes
// it; when the selector goes, the controller deletes its own slices and
// the user's stays, the Service's only endpoints.
func TestEndpointsControllerLeavesUserSlices(t *testing.T) {
	h := newServicesHarness(t)
	ctx := ctxFor(t)
	extra := serveHTTP(t, h.loopbackIP(t, 1), "extra")
	if _, err := h.o.Deployments("default").Create(ctx, webDeployment(1, "v1")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.o.Services("default").Create(ctx, webService("")); err != nil {
		t.Fatal(err)
	}
	mine, err := h.o.EndpointSlices("default").Create(ctx, userSlice("web-mine", "web", extra))
	if err != nil {
		t.Fatal(err)
	}
	managed := waitManagedSlices(t, h.o, "web", "the Pod's endpoint", func(ss []*baton.EndpointSlice) bool { return readyCount(ss) == 1 })
	podEndpoint := netip.AddrPortFrom(netip.MustParseAddr(managed[0].Endpoints[0].Addresses[0]), 8080)

	// The Resolver, hence the Dialer, the proxy and DNS, offers both.
	waitReady(t, h.o, "web.default", podEndpoint, extra)
	unchanged := func(when string) {
		t.Helper()
		got, err := h.o.EndpointSlices("default").Get(ctx, "web-mine")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if !reflect.DeepEqual(got, mine) {
			t.Errorf("%s, the user slice changed:\n got %+v\nwant %+v", when, got, mine)
		}
	}
	unchanged("after the controller wrote its slice")

	// A Pod change makes the controller reconcile again.
	if err := h.o.Deployments("default").Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	waitManagedSlices(t, h.o, "web", "no ready endpoint", func(ss []*baton.EndpointSlice) bool { return readyCount(ss) == 0 })
	unchanged("after the Pod went")

	// The selector goes: the controller's slices with it, not the user's.
	svc, err := h.o.Services("default").Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	svc.Spec.Selector = nil
	if _, err := h.o.Services("default").Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	waitManagedSlices(t, h.o, "web", "no managed slice", func(ss []*baton.EndpointSlice) bool { return len(ss) == 0 })
	unchanged("after the selector was removed")
	waitReady(t, h.o, "web.default", extra)
	direct := httpClient(h.o.DialContext)
	t.Cleanup(direct.CloseIdleConnections)
	if body, want := get(t, direct, "http://web.default/"), "extra "+extra.Addr().String(); body != want {
		t.Errorf("got %q, want %q", body, want)
	}
}

// TestUserEndpointSlicesOfHeadlessService: DNS answers for a headless
// Service without a selector come from the user's slices: the ready
// endpoints, and each by its hostname.
func TestUserEndpointSlicesOfHeadlessService(t *testing.T) {
	h := newServicesHarness(t)
	ctx := ctxFor(t)
	svc := selectorlessService("db")
	svc.Spec.ClusterIP = baton.ClusterIPNone
	if _, err := h.o.Services("default").Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	primary := netip.MustParseAddrPort(h.loopbackIP(t, 1) + ":5432")
	replica := netip.MustParseAddrPort(h.loopbackIP(t, 2) + ":5432")
	s := userSlice("db-1", "db", primary, replica)
	hostname, no := "db-0", false
	s.Endpoints[0].Hostname = &hostname
	s.Endpoints[1].Conditions.Ready = &no
	if _, err := h.o.EndpointSlices("default").Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	ask := func(name string) (*dns.Msg, error) {
		addr := h.o.DNSAddr()
		if addr == "" {
			return nil, errors.New("the DNS server is not listening yet")
		}
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		resp, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, addr)
		return resp, err
	}
	for _, name := range []string{"db.default.svc.cluster.local.", "db-0.db.default.svc.cluster.local."} {
		testutil.Eventually(t, "DNS answers "+name, waitTimeout, 5*time.Millisecond, func() (bool, string) {
			resp, err := ask(name)
			if err != nil {
				return false, err.Error()
			}
			if len(resp.Answer) != 1 {
				return false, resp.String()
			}
			a, ok := resp.Answer[0].(*dns.A)
			return ok && a.A.String() == primary.Addr().String(), resp.String()
		})
	}
}
