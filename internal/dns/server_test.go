package dns_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	batondns "github.com/batonhq/baton/internal/dns"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The server listens on a random address of 127.150.0.0-127.159.255.255,
// apart from other packages' tests.
func listenAddr() string {
	return fmt.Sprintf("127.%d.%d.%d:0", 150+mrand.IntN(10), mrand.IntN(256), 1+mrand.IntN(254))
}

func resolver() *discovery.Resolver {
	r := discovery.NewResolver()
	yes, no := true, false
	web := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: api.ServiceSpec{ClusterIP: "127.64.0.7", Ports: []api.ServicePort{
			{Name: "http", Port: 80, Protocol: api.ProtocolTCP},
			{Name: "dns", Port: 53, Protocol: api.ProtocolUDP},
		}}}
	db := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "shop", Name: "db"},
		Spec: api.ServiceSpec{ClusterIP: api.ClusterIPNone, Ports: []api.ServicePort{{Name: "pg", Port: 5432, Protocol: api.ProtocolTCP}}}}
	pending := &api.Service{ObjectMeta: api.ObjectMeta{Namespace: "shop", Name: "pending"},
		Spec: api.ServiceSpec{Ports: []api.ServicePort{{Port: 80}}}}
	r.SetService(web)
	r.SetService(db)
	r.SetService(pending)
	name, proto, port := "pg", api.ProtocolTCP, int32(5433)
	host := "db-0"
	r.SetEndpointSlice(&api.EndpointSlice{
		ObjectMeta:  api.ObjectMeta{Namespace: "shop", Name: "db-a", Labels: map[string]string{api.LabelServiceName: "db"}},
		AddressType: api.AddressTypeIPv4,
		Ports:       []api.EndpointPort{{Name: &name, Protocol: &proto, Port: &port}},
		Endpoints: []api.Endpoint{
			{Addresses: []string{"127.88.0.2"}, Hostname: &host, Conditions: api.EndpointConditions{Ready: &yes}},
			{Addresses: []string{"127.88.0.3"}, Conditions: api.EndpointConditions{Ready: &yes}},
			{Addresses: []string{"127.88.0.4"}, Conditions: api.EndpointConditions{Ready: &no}},
		},
	})
	return r
}

func serve(t *testing.T, r *discovery.Resolver) string {
	t.Helper()
	s, err := batondns.Listen(batondns.Config{Resolver: r, Addr: listenAddr()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s.Addr()
}

func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return resp
}

// records renders the answer section as "name type value" lines, sorted.
func records(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.A:
			out = append(out, fmt.Sprintf("%s A %s ttl=%d", r.Hdr.Name, r.A, r.Hdr.Ttl))
		case *dns.SRV:
			out = append(out, fmt.Sprintf("%s SRV %d %s", r.Hdr.Name, r.Port, r.Target))
		default:
			out = append(out, rr.String())
		}
	}
	slices.Sort(out)
	return out
}

func TestAnswers(t *testing.T) {
	addr := serve(t, resolver())
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			name   string
			qtype  uint16
			rcode  int
			answer []string
			extra  []string
		}{
			{"web.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
				[]string{"web.shop.svc.cluster.local. A 127.64.0.7 ttl=5"}, nil},
			{"WEB.Shop.SVC.Cluster.Local.", dns.TypeA, dns.RcodeSuccess,
				[]string{"web.shop.svc.cluster.local. A 127.64.0.7 ttl=5"}, nil},
			{"web.shop.svc.cluster.local.", dns.TypeAAAA, dns.RcodeSuccess, nil, nil},
			{"_http._tcp.web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
				[]string{"_http._tcp.web.shop.svc.cluster.local. SRV 80 web.shop.svc.cluster.local."},
				[]string{"web.shop.svc.cluster.local. A 127.64.0.7 ttl=5"}},
			{"_dns._udp.web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess,
				[]string{"_dns._udp.web.shop.svc.cluster.local. SRV 53 web.shop.svc.cluster.local."}, nil},
			{"web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, []string{
				"web.shop.svc.cluster.local. SRV 53 web.shop.svc.cluster.local.",
				"web.shop.svc.cluster.local. SRV 80 web.shop.svc.cluster.local.",
			}, nil},
			// Headless: the ready Pods' addresses and names.
			{"db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, []string{
				"db.shop.svc.cluster.local. A 127.88.0.2 ttl=5",
				"db.shop.svc.cluster.local. A 127.88.0.3 ttl=5",
			}, nil},
			{"_pg._tcp.db.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeSuccess, []string{
				"_pg._tcp.db.shop.svc.cluster.local. SRV 5433 127-88-0-3.db.shop.svc.cluster.local.",
				"_pg._tcp.db.shop.svc.cluster.local. SRV 5433 db-0.db.shop.svc.cluster.local.",
			}, []string{
				"127-88-0-3.db.shop.svc.cluster.local. A 127.88.0.3 ttl=5",
				"db-0.db.shop.svc.cluster.local. A 127.88.0.2 ttl=5",
			}},
			{"db-0.db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
				[]string{"db-0.db.shop.svc.cluster.local. A 127.88.0.2 ttl=5"}, nil},
			{"127-88-0-3.db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess,
				[]string{"127-88-0-3.db.shop.svc.cluster.local. A 127.88.0.3 ttl=5"}, nil},
			// A Service still waiting for its address exists, with no A.
			{"pending.shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil, nil},
			// Names that exist as parents.
			{"shop.svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil, nil},
			{"svc.cluster.local.", dns.TypeA, dns.RcodeSuccess, nil, nil},
			// Unknown names in the cluster domain.
			{"nothing.shop.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
			{"web.other.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
			{"other.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
			{"_https._tcp.web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, nil, nil},
			{"_http._udp.web.shop.svc.cluster.local.", dns.TypeSRV, dns.RcodeNameError, nil, nil},
			{"x.web.shop.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
			{"127-88-0-4.db.shop.svc.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil}, // not ready
			{"web.shop.pod.cluster.local.", dns.TypeA, dns.RcodeNameError, nil, nil},
			// Everything else is refused, never forwarded.
			{"www.example.com.", dns.TypeA, dns.RcodeRefused, nil, nil},
			{"cluster.local.example.com.", dns.TypeA, dns.RcodeRefused, nil, nil},
			{"7.0.64.127.in-addr.arpa.", dns.TypePTR, dns.RcodeRefused, nil, nil},
		} {
			resp := query(t, addr, network, tc.name, tc.qtype)
			what := fmt.Sprintf("%s %s %s", network, tc.name, dns.TypeToString[tc.qtype])
			if resp.Rcode != tc.rcode {
				t.Errorf("%s: rcode %s, want %s", what, dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode])
				continue
			}
			if got := records(resp.Answer); !slices.Equal(got, tc.answer) {
				t.Errorf("%s: answer\n%q\nwant\n%q", what, got, tc.answer)
			}
			if tc.extra != nil {
				if got := records(resp.Extra); !slices.Equal(got, tc.extra) {
					t.Errorf("%s: extra\n%q\nwant\n%q", what, got, tc.extra)
				}
			}
			if resp.RecursionAvailable {
				t.Errorf("%s: claims recursion", what)
			}
			switch tc.rcode {
			case dns.RcodeRefused:
				if resp.Authoritative || len(resp.Answer) > 0 {
					t.Errorf("%s: refused answer %v", what, resp)
				}
			default:
				if !resp.Authoritative {
					t.Errorf("%s: not authoritative", what)
				}
				if len(resp.Answer) == 0 && (len(resp.Ns) != 1 || !strings.Contains(resp.Ns[0].String(), "SOA")) {
					t.Errorf("%s: negative answer without the zone's SOA: %v", what, resp.Ns)
				}
			}
		}
	}
}

// TestFollowsResolver: answers change as the Resolver does.
func TestFollowsResolver(t *testing.T) {
	r := resolver()
	addr := serve(t, r)
	r.DeleteService("shop", "web")
	if resp := query(t, addr, "udp", "web.shop.svc.cluster.local.", dns.TypeA); resp.Rcode != dns.RcodeNameError {
		t.Errorf("deleted Service: rcode %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestCustomDomainAndBadQueries(t *testing.T) {
	r := discovery.NewResolver(discovery.WithClusterDomain("edge.internal"))
	r.SetService(&api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.ServiceSpec{ClusterIP: "127.64.0.9", Ports: []api.ServicePort{{Port: 80}}}})
	addr := serve(t, r)
	if resp := query(t, addr, "udp", "web.default.svc.edge.internal.", dns.TypeA); len(resp.Answer) != 1 {
		t.Errorf("custom domain: %v", resp)
	}
	if resp := query(t, addr, "udp", "web.default.svc.cluster.local.", dns.TypeA); resp.Rcode != dns.RcodeRefused {
		t.Errorf("the default domain under a custom one: rcode %s", dns.RcodeToString[resp.Rcode])
	}
	// Two questions: format error.
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion("web.default.svc.edge.internal.", dns.TypeA)
	m.Question = append(m.Question, m.Question[0])
	resp, _, err := c.Exchange(m, addr)
	if err != nil || resp.Rcode != dns.RcodeFormatError {
		t.Errorf("two questions: %v, %v", resp, err)
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := batondns.Listen(batondns.Config{Resolver: discovery.NewResolver(), Addr: "no-port"}); err == nil {
		t.Error("Listen without a port succeeded")
	}
	s, err := batondns.Listen(batondns.Config{Resolver: discovery.NewResolver(), Addr: listenAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Serve(ctx)
	}()
	if _, err := batondns.Listen(batondns.Config{Resolver: discovery.NewResolver(), Addr: s.Addr()}); err == nil {
		t.Error("a second Listen on the same address succeeded")
	}
}
