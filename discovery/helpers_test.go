package discovery_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
)

// Tests of this package listen only on 127.91.0.0/16; other packages use
// other parts of 127.0.0.0/8, so test binaries running at once never
// collide.

func svc(ns, name, clusterIP string, ports ...api.ServicePort) *api.Service {
	s := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, UID: ns + "-" + name},
		Spec:       api.ServiceSpec{ClusterIP: clusterIP, Ports: ports, Selector: map[string]string{"app": name}},
	}
	api.SetDefaults(s)
	return s
}

func sport(name string, port int32) api.ServicePort {
	return api.ServicePort{Name: name, Port: port, Protocol: api.ProtocolTCP}
}

type cond int

const (
	ready cond = iota
	notReady
	terminating         // terminating and still serving
	terminatingNotServe // terminating, no longer serving
)

func ep(addr string, c cond) api.Endpoint {
	yes, no := true, false
	e := api.Endpoint{Addresses: []string{addr}}
	switch c {
	case ready:
		e.Conditions = api.EndpointConditions{Ready: &yes, Serving: &yes, Terminating: &no}
	case notReady:
		e.Conditions = api.EndpointConditions{Ready: &no, Serving: &no, Terminating: &no}
	case terminating:
		e.Conditions = api.EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}
	case terminatingNotServe:
		e.Conditions = api.EndpointConditions{Ready: &no, Serving: &no, Terminating: &yes}
	}
	return e
}

func eport(name string, protocol api.Protocol, port int32) api.EndpointPort {
	return api.EndpointPort{Name: &name, Protocol: &protocol, Port: &port}
}

func slice(ns, service, name string, ports []api.EndpointPort, eps ...api.Endpoint) *api.EndpointSlice {
	return &api.EndpointSlice{
		ObjectMeta:  api.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{api.LabelServiceName: service}},
		AddressType: api.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       ports,
	}
}

// backends are TCP servers on one port of several loopback addresses, as
// the Pods behind a Service are. Each answers a connection by writing its
// own address and a newline, then echoes until the client closes.
type backends struct {
	port      int32
	addrs     []string
	listeners []net.Listener
	accepted  []atomic.Int64
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]bool
}

var nextBlock atomic.Int32

// newBackends starts n servers on 127.91.<block>.1..n, on one free port.
func newBackends(t testing.TB, n int) *backends {
	t.Helper()
	block := nextBlock.Add(1)
	b := &backends{accepted: make([]atomic.Int64, n), conns: map[net.Conn]bool{}}
	for i := range n {
		host := fmt.Sprintf("127.91.%d.%d", block, i+1)
		addr := net.JoinHostPort(host, "0")
		if b.port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(int(b.port)))
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			b.close()
			t.Fatal(err)
		}
		b.port = int32(l.Addr().(*net.TCPAddr).Port)
		b.addrs = append(b.addrs, host)
		b.listeners = append(b.listeners, l)
		b.wg.Add(1)
		go b.serve(i, host, l)
	}
	t.Cleanup(b.close)
	return b
}

func (b *backends) serve(i int, host string, l net.Listener) {
	defer b.wg.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		b.accepted[i].Add(1)
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
			if _, err := io.WriteString(conn, host+"\n"); err != nil {
				return
			}
			_, _ = io.Copy(conn, conn)
		}()
	}
}

// stop closes server i's listener, so that it refuses connections.
func (b *backends) stop(i int) { b.listeners[i].Close() }

func (b *backends) close() {
	for _, l := range b.listeners {
		l.Close()
	}
	b.mu.Lock()
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// endpoints returns the servers as endpoints of the given conditions.
func (b *backends) endpoints(conds ...cond) []api.Endpoint {
	out := make([]api.Endpoint, len(b.addrs))
	for i, a := range b.addrs {
		c := ready
		if i < len(conds) {
			c = conds[i]
		}
		out[i] = ep(a, c)
	}
	return out
}

func (b *backends) addrPort(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr(b.addrs[i]), uint16(b.port))
}

// readGreeting reads the address a backend greets with.
func readGreeting(t testing.TB, conn net.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf [64]byte
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if err != nil || (n > 0 && buf[n-1] == '\n') {
			break
		}
	}
	if n == 0 || buf[n-1] != '\n' {
		t.Fatalf("no greeting from %s: %q", conn.RemoteAddr(), buf[:n])
	}
	_ = conn.SetReadDeadline(time.Time{})
	return string(buf[:n-1])
}
