package proxy_test

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/proxy"
	"github.com/batonhq/baton/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tests of this package listen only on one /16 of 127.100.0.0-127.149.0.0,
// picked at random per process, so that test binaries running at once
// (this package's in two work trees, or other packages', which use other
// ranges) seldom collide: Service addresses on <net>.0.x, node addresses
// on <net>.200.x, backends on <net>.<n>.x.
var testNet = fmt.Sprintf("127.%d", 100+mrand.IntN(50))

// vip returns the n-th Service address; node the n-th node address.
func vip(n int) string  { return fmt.Sprintf("%s.0.%d", testNet, n) }
func node(n int) string { return fmt.Sprintf("%s.200.%d", testNet, n) }

const waitTimeout = 10 * time.Second

var nextBlock atomic.Int32

// backends are servers on one port of several loopback addresses.
type backends struct {
	port      int32
	addrs     []string
	listeners []net.Listener
	udps      []net.PacketConn
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]bool
}

// handler serves one backend connection; host is the backend's address.
type handler func(host string, conn *net.TCPConn)

// greetEcho writes the backend's address and a newline, then echoes
// until the client half-closes, then writes "bye\n" and closes.
func greetEcho(host string, conn *net.TCPConn) {
	if _, err := io.WriteString(conn, host+"\n"); err != nil {
		return
	}
	if _, err := io.Copy(conn, conn); err != nil {
		return
	}
	_, _ = io.WriteString(conn, "bye\n")
}

func newBackends(t testing.TB, n int, h handler) *backends {
	t.Helper()
	block := 10 + nextBlock.Add(1)
	b := &backends{conns: map[net.Conn]bool{}}
	for i := range n {
		host := fmt.Sprintf("%s.%d.%d", testNet, block, i+1)
		port := "0"
		if b.port != 0 {
			port = strconv.Itoa(int(b.port))
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			b.close()
			t.Fatal(err)
		}
		b.port = int32(l.Addr().(*net.TCPAddr).Port)
		b.addrs = append(b.addrs, host)
		b.listeners = append(b.listeners, l)
		b.wg.Add(1)
		go b.serve(host, l, h)
	}
	t.Cleanup(b.close)
	return b
}

func (b *backends) serve(host string, l net.Listener, h handler) {
	defer b.wg.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns[conn] = true
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() {
				b.mu.Lock()
				delete(b.conns, conn)
				b.mu.Unlock()
				conn.Close()
			}()
			h(host, conn.(*net.TCPConn))
		}()
	}
}

// udpEcho adds UDP echo servers on the same addresses and port, answering
// "<host>:<payload>".
func (b *backends) udpEcho(t testing.TB) {
	t.Helper()
	for _, host := range b.addrs {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(int(b.port))))
		if err != nil {
			t.Fatal(err)
		}
		b.udps = append(b.udps, pc)
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(append([]byte(host+":"), buf[:n]...), from)
			}
		}()
	}
}

func (b *backends) close() {
	for _, l := range b.listeners {
		l.Close()
	}
	for _, pc := range b.udps {
		pc.Close()
	}
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *backends) endpoints(ready ...bool) []api.Endpoint {
	yes, no := true, false
	out := make([]api.Endpoint, len(b.addrs))
	for i, a := range b.addrs {
		r := i >= len(ready) || ready[i]
		out[i] = api.Endpoint{Addresses: []string{a}, Conditions: api.EndpointConditions{Ready: pick(r, &yes, &no), Serving: pick(r, &yes, &no)}}
	}
	return out
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func service(name, clusterIP string, ports ...api.ServicePort) *api.Service {
	s := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: "uid-" + name},
		Spec:       api.ServiceSpec{ClusterIP: clusterIP, Ports: ports, Selector: map[string]string{"app": name}},
	}
	api.SetDefaults(s)
	return s
}

func slice(svc string, ports []api.EndpointPort, eps []api.Endpoint) *api.EndpointSlice {
	return &api.EndpointSlice{
		ObjectMeta:  api.ObjectMeta{Namespace: "default", Name: svc + "-a", Labels: map[string]string{api.LabelServiceName: svc}},
		AddressType: api.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
}

func eport(name string, protocol api.Protocol, port int32) api.EndpointPort {
	return api.EndpointPort{Name: &name, Protocol: &protocol, Port: &port}
}

// runProxy runs a proxy until the test ends and checks that Run returns.
func runProxy(t testing.TB, cfg proxy.Config) *proxy.Proxy {
	t.Helper()
	p := proxy.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

// dialWhenListening dials addr, retrying while the proxy has not opened
// it yet.
func dialWhenListening(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err == nil {
			return conn.(*net.TCPConn)
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", addr, err)
		}
		time.Sleep(time.Millisecond) // polling for the listener, with a deadline
	}
}

// waitFor polls cond every millisecond until it holds, failing t after
// waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, "waiting for "+what, waitTimeout, time.Millisecond, func() (bool, string) { return cond(), "" })
}

// readLine reads up to a newline.
func readLine(t testing.TB, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	defer conn.SetReadDeadline(time.Time{})
	var line []byte
	var b [1]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			t.Fatalf("reading a line from %s: %v (got %q)", conn.RemoteAddr(), err, line)
		}
		if b[0] == '\n' {
			return string(line)
		}
		line = append(line, b[0])
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}

func goroutines() int { return runtime.NumGoroutine() }
