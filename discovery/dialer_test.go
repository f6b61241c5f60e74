package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/discovery"
)

// serviceOver makes a Resolver with Service default/web, port 80 named
// "http", in front of b.
func serviceOver(b *backends, mutate func(*api.Service), conds ...cond) *discovery.Resolver {
	r := discovery.NewResolver()
	s := svc("default", "web", "127.64.1.1", sport("http", 80))
	if mutate != nil {
		mutate(s)
	}
	r.SetService(s)
	r.SetEndpointSlice(slice("default", "web", "web-a", []api.EndpointPort{eport("http", api.ProtocolTCP, b.port)}, b.endpoints(conds...)...))
	return r
}

// guardedNetDialer fails the test if asked to dial anything but b's
// endpoints.
func guardedNetDialer(t *testing.T, b *backends) *net.Dialer {
	allowed := map[string]bool{}
	for i := range b.addrs {
		allowed[b.addrPort(i).String()] = true
	}
	return &net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		if !allowed[address] {
			t.Errorf("dialed %s %s, which is no endpoint", network, address)
			return errors.New("not an endpoint")
		}
		return nil
	}}
}

func dialAll(t *testing.T, d *discovery.Dialer, n int, addr string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		conn, err := d.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		counts[readGreeting(t, conn)]++
		conn.Close()
	}
	return counts
}

// TestRoundRobinSpreadsEvenly: 300 dials over 3 ready endpoints land
// exactly 100 on each; the not-ready one gets none.
func TestRoundRobinSpreadsEvenly(t *testing.T) {
	b := newBackends(t, 4)
	r := serviceOver(b, nil, ready, ready, ready, notReady)
	d := discovery.NewDialer(r, discovery.WithNetDialer(guardedNetDialer(t, b)))
	counts := dialAll(t, d, 300, "web.default:80")
	for i := range 3 {
		if got := counts[b.addrs[i]]; got != 100 {
			t.Errorf("endpoint %s got %d of 300 connections, want exactly 100: %v", b.addrs[i], got, counts)
		}
	}
	if got := counts[b.addrs[3]]; got != 0 {
		t.Errorf("the not-ready endpoint got %d connections", got)
	}
}

func TestDialByNameAndForms(t *testing.T) {
	b := newBackends(t, 1)
	r := serviceOver(b, nil)
	d := discovery.NewDialer(r, discovery.WithNamespace("default"), discovery.WithNetDialer(guardedNetDialer(t, b)))
	for _, addr := range []string{"web.default:80", "web.default:http", "web:80", "web.default.svc.cluster.local.:80", "WEB.DEFAULT.SVC:http", "127.64.1.1:80"} {
		conn, err := d.DialContext(t.Context(), "tcp", addr)
		if err != nil {
			t.Errorf("dial %s: %v", addr, err)
			continue
		}
		if got := readGreeting(t, conn); got != b.addrs[0] {
			t.Errorf("dial %s reached %s", addr, got)
		}
		conn.Close()
	}
}

// TestDialRefusesNonServices: the Dialer dials only endpoints; anything
// else fails without a connection attempt (guardedNetDialer would see it).
func TestDialRefusesNonServices(t *testing.T) {
	b := newBackends(t, 1)
	r := serviceOver(b, nil)
	d := discovery.NewDialer(r, discovery.WithNetDialer(guardedNetDialer(t, b)))
	for _, tc := range []struct {
		network, addr string
		want          error
	}{
		{"tcp", "www.example.com:80", api.ErrInvalid},
		{"tcp", "localhost:80", api.ErrInvalid},
		{"tcp", "web:80", api.ErrInvalid}, // no namespace configured
		{"tcp", "127.0.0.1:80", api.ErrNotFound},
		{"tcp", "10.1.2.3:80", api.ErrNotFound},
		{"tcp", "[::1]:80", api.ErrNotFound},
		{"tcp", "example.com:80", api.ErrNotFound}, // Service "example" in namespace "com"
		{"tcp", "web.default:81", api.ErrNotFound},
		{"tcp", "web.default", api.ErrInvalid},
		{"udp", "web.default:80", api.ErrNotFound},
		{"unix", "web.default:80", api.ErrInvalid},
	} {
		conn, err := d.DialContext(t.Context(), tc.network, tc.addr)
		if err == nil {
			conn.Close()
			t.Errorf("dial %s %s succeeded", tc.network, tc.addr)
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("dial %s %s = %v, want %v", tc.network, tc.addr, err, tc.want)
		}
	}
}

// TestDialTriesNextOnRefused: with one endpoint's server gone, every dial
// still succeeds; with all gone, a dial fails with ErrUnavailable after
// the attempt limit.
func TestDialTriesNextOnRefused(t *testing.T) {
	b := newBackends(t, 4)
	r := serviceOver(b, nil)
	d := discovery.NewDialer(r, discovery.WithNetDialer(guardedNetDialer(t, b)))
	b.stop(1)
	counts := dialAll(t, d, 40, "web.default:80")
	if counts[b.addrs[1]] != 0 || counts[b.addrs[0]]+counts[b.addrs[2]]+counts[b.addrs[3]] != 40 {
		t.Errorf("counts %v", counts)
	}
	for i := range 4 {
		b.stop(i)
	}
	_, err := d.DialContext(t.Context(), "tcp", "web.default:80")
	if !errors.Is(err, api.ErrUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "3 endpoint(s) tried") {
		t.Errorf("dial with every endpoint down = %v, want ErrUnavailable after 3 refused attempts", err)
	}
}

func TestDialNoEndpoints(t *testing.T) {
	b := newBackends(t, 2)
	r := serviceOver(b, nil, notReady, terminatingNotServe)
	d := discovery.NewDialer(r, discovery.WithNetDialer(guardedNetDialer(t, b)))
	if _, err := d.DialContext(t.Context(), "tcp", "web.default:80"); !errors.Is(err, api.ErrUnavailable) {
		t.Errorf("dial without ready endpoints = %v, want ErrUnavailable", err)
	}
}

// TestDialTerminatingFallback: with no ready endpoint, the serving
// terminating ones still take connections.
func TestDialTerminatingFallback(t *testing.T) {
	b := newBackends(t, 2)
	r := serviceOver(b, nil, terminating, notReady)
	d := discovery.NewDialer(r, discovery.WithNetDialer(guardedNetDialer(t, b)))
	if counts := dialAll(t, d, 4, "web.default:80"); counts[b.addrs[0]] != 4 {
		t.Errorf("counts %v, want all on the terminating endpoint", counts)
	}
}

// TestLeastConnections: with connections held open, new ones go to the
// endpoint with the fewest.
func TestLeastConnections(t *testing.T) {
	b := newBackends(t, 3)
	r := serviceOver(b, nil)
	d := discovery.NewDialer(r, discovery.WithPolicy(discovery.LeastConnections), discovery.WithNetDialer(guardedNetDialer(t, b)))
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	counts := map[string]int{}
	for range 9 {
		conn, err := d.DialContext(t.Context(), "tcp", "web.default:80")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
		counts[readGreeting(t, conn)]++
	}
	for _, a := range b.addrs {
		if counts[a] != 3 {
			t.Fatalf("held connections %v, want 3 each", counts)
		}
	}
	// Close the three to the first endpoint: the next three go there.
	var kept []net.Conn
	for _, c := range held {
		if strings.HasPrefix(c.RemoteAddr().String(), b.addrs[0]+":") {
			c.Close()
		} else {
			kept = append(kept, c)
		}
	}
	held = kept
	for range 3 {
		conn, err := d.DialContext(t.Context(), "tcp", "web.default:80")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
		if got := readGreeting(t, conn); got != b.addrs[0] {
			t.Errorf("new connection went to %s, want the idle %s", got, b.addrs[0])
		}
	}
}

// TestSessionAffinity: a ClientIP Service sends this process to one
// endpoint while it stays ready and the affinity has not timed out.
func TestSessionAffinity(t *testing.T) {
	b := newBackends(t, 3)
	clientIP := func(s *api.Service) { s.Spec.SessionAffinity = api.ServiceAffinityClientIP }
	r := serviceOver(b, clientIP)
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	d := discovery.NewDialer(r, discovery.WithClock(clk), discovery.WithAffinityTimeout(time.Minute), discovery.WithNetDialer(guardedNetDialer(t, b)))
	counts := dialAll(t, d, 10, "web.default:80")
	if len(counts) != 1 {
		t.Fatalf("affinity spread connections: %v", counts)
	}
	var first string
	for a := range counts {
		first = a
	}
	// The endpoint goes unready: the client moves, and sticks again.
	conds := []cond{ready, ready, ready}
	for i, a := range b.addrs {
		if a == first {
			conds[i] = notReady
		}
	}
	r.SetEndpointSlice(slice("default", "web", "web-a", []api.EndpointPort{eport("http", api.ProtocolTCP, b.port)}, b.endpoints(conds...)...))
	counts = dialAll(t, d, 10, "web.default:80")
	if len(counts) != 1 || counts[first] != 0 {
		t.Fatalf("after the sticky endpoint went unready: %v", counts)
	}
	// After the timeout, round robin again.
	clk.Advance(2 * time.Minute)
	conn, err := d.DialContext(t.Context(), "tcp", "web.default:80")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// TestDialerAsHTTPTransport: the Dialer plugs into http.Transport, and
// requests spread over the Pods.
func TestDialerAsHTTPTransport(t *testing.T) {
	servers := make([]*httptest.Server, 2)
	var mu sync.Mutex
	hits := map[string]int{}
	var port int32
	var eps []api.Endpoint
	for i := range servers {
		host := fmt.Sprintf("127.91.200.%d", i+1)
		addr := host + ":0"
		if port != 0 {
			addr = fmt.Sprintf("%s:%d", host, port)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		port = int32(l.Addr().(*net.TCPAddr).Port)
		s := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			mu.Lock()
			hits[host]++
			mu.Unlock()
			fmt.Fprint(w, host)
		})}}
		s.Start()
		defer s.Close()
		servers[i] = s
		eps = append(eps, ep(host, ready))
	}
	r := discovery.NewResolver()
	r.SetService(svc("shop", "web", "", sport("http", 80)))
	r.SetEndpointSlice(slice("shop", "web", "web-a", []api.EndpointPort{eport("http", api.ProtocolTCP, port)}, eps...))
	tr := &http.Transport{DialContext: discovery.NewDialer(r).DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for range 10 {
		resp, err := client.Get("http://web.shop/")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["127.91.200.1"] != 5 || hits["127.91.200.2"] != 5 {
		t.Errorf("hits %v, want 5 each", hits)
	}
	if _, err := client.Get("http://www.example.com/"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("GET of a non-Service = %v, want ErrInvalid", err)
	}
}

func TestDialContextCancelled(t *testing.T) {
	b := newBackends(t, 1)
	r := serviceOver(b, nil)
	d := discovery.NewDialer(r)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.DialContext(ctx, "tcp", "web.default:80"); !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a cancelled context = %v", err)
	}
}

// BenchmarkDial compares a Dialer's dial with a plain net.Dialer's dial of
// the same endpoint: the difference is the dialer's overhead.
func BenchmarkDial(b *testing.B) {
	be := newBackends(b, 1)
	r := serviceOver(be, nil)
	d := discovery.NewDialer(r)
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		nd := &net.Dialer{Timeout: discovery.DefaultDialTimeout} // as the Dialer's
		addr := be.addrPort(0).String()
		b.ReportAllocs()
		for b.Loop() {
			conn, err := nd.DialContext(ctx, "tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			conn.Close()
		}
	})
	b.Run("dialer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			conn, err := d.DialContext(ctx, "tcp", "web.default:80")
			if err != nil {
				b.Fatal(err)
			}
			conn.Close()
		}
	})
	b.Run("resolve-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Resolve("web.default", "80", api.ProtocolTCP); err != nil {
				b.Fatal(err)
			}
		}
	})
}
