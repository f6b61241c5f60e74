package proxy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/proxy"
)

// webService makes a Resolver with Service default/web at vip, TCP port
// 18080 named "http", over b.
func webService(vip string, b *backends, ready ...bool) (*discovery.Resolver, *api.Service) {
	r := discovery.NewResolver()
	svc := service("web", vip, api.ServicePort{Name: "http", Port: 18080})
	r.SetService(svc)
	r.SetEndpointSlice(slice("web", []api.EndpointPort{eport("http", api.ProtocolTCP, b.port)}, b.endpoints(ready...)))
	return r, svc
}

func TestTCPForwardsAndBalances(t *testing.T) {
	b := newBackends(t, 3, greetEcho)
	r, _ := webService(vip(1), b)
	runProxy(t, proxy.Config{Resolver: r})
	counts := map[string]int{}
	for range 30 {
		conn := dialWhenListening(t, vip(1)+":18080")
		counts[readLine(t, conn)]++
		if _, err := io.WriteString(conn, "ping\n"); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, conn); got != "ping" {
			t.Fatalf("echo %q", got)
		}
		conn.Close()
	}
	for _, a := range b.addrs {
		if counts[a] != 10 {
			t.Errorf("counts %v, want 10 each", counts)
			break
		}
	}
}

// TestHalfClose: a client's half-close reaches the backend, which answers
// after it and closes; the client reads everything and then EOF.
func TestHalfClose(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	r, _ := webService(vip(2), b)
	p := runProxy(t, proxy.Config{Resolver: r})
	conn := dialWhenListening(t, vip(2)+":18080")
	defer conn.Close()
	if _, err := io.WriteString(conn, "one\ntwo\n"); err != nil {
		t.Fatal(err)
	}
	if err := conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading to EOF: %v (got %q)", err, all)
	}
	if want := b.addrs[0] + "\none\ntwo\nbye\n"; string(all) != want {
		t.Errorf("got %q, want %q", all, want)
	}
	waitFor(t, "the proxied connection to close", func() bool { return p.Connections() == 0 })
}

// TestServerHalfClose: a backend that closes its side first while the
// client keeps sending: the client sees EOF, can still send, and the
// backend gets what it sends.
func TestServerHalfClose(t *testing.T) {
	got := make(chan string, 1)
	b := newBackends(t, 1, func(host string, conn *net.TCPConn) {
		_, _ = io.WriteString(conn, "hello\n")
		_ = conn.CloseWrite()
		data, _ := io.ReadAll(conn)
		got <- string(data)
	})
	r, _ := webService(vip(3), b)
	runProxy(t, proxy.Config{Resolver: r})
	conn := dialWhenListening(t, vip(3)+":18080")
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	data, err := io.ReadAll(conn)
	if err != nil || string(data) != "hello\n" {
		t.Fatalf("read %q, %v; want hello then EOF", data, err)
	}
	if _, err := io.WriteString(conn, "late words"); err != nil {
		t.Fatal(err)
	}
	conn.CloseWrite()
	select {
	case s := <-got:
		if s != "late words" {
			t.Errorf("backend got %q", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("backend never got the client's data")
	}
}

// TestAbruptDisconnectsLeakNothing: clients and backends that reset or
// vanish mid-stream leave no goroutine and no file descriptor behind.
func TestAbruptDisconnectsLeakNothing(t *testing.T) {
	// The backends greet, then echo lines; a line "reset" makes them
	// reset the connection.
	b := newBackends(t, 2, func(host string, conn *net.TCPConn) {
		if _, err := io.WriteString(conn, host+"\n"); err != nil {
			return
		}
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			if sc.Text() == "reset" {
				_ = conn.SetLinger(0)
				return
			}
			if _, err := io.WriteString(conn, sc.Text()+"\n"); err != nil {
				return
			}
		}
	})
	r, _ := webService(vip(4), b)
	p := runProxy(t, proxy.Config{Resolver: r})
	// Warm up: one connection, so lazily made runtime goroutines exist.
	warm := dialWhenListening(t, vip(4)+":18080")
	readLine(t, warm)
	warm.Close()
	waitFor(t, "the warm-up connection to close", func() bool { return p.Connections() == 0 })
	fds, gs := openFDs(t), goroutines()

	for i := range 80 {
		conn := dialWhenListening(t, vip(4)+":18080")
		switch i % 4 {
		case 0: // the client resets mid-stream
			readLine(t, conn)
			_, _ = conn.Write(make([]byte, 64<<10))
			_ = conn.SetLinger(0)
			conn.Close()
		case 1: // the client leaves at once
			conn.Close()
		case 2: // the backend resets mid-stream: the client sees the stream end
			readLine(t, conn)
			if _, err := io.WriteString(conn, "reset\n"); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
			if _, err := io.Copy(io.Discard, conn); err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("after the backend reset: %v, want a reset", err)
			}
			conn.Close()
		case 3: // the client half-closes and leaves before the answer
			readLine(t, conn)
			_ = conn.CloseWrite()
			_ = conn.SetLinger(0)
			conn.Close()
		}
	}
	waitFor(t, "every proxied connection to close", func() bool { return p.Connections() == 0 })
	waitFor(t, fmt.Sprintf("goroutines back to %d", gs), func() bool { return goroutines() <= gs })
	// splice(2) borrows pipes from a pool that only the garbage collector
	// empties (a finalizer closes each), so collect while waiting.
	waitFor(t, fmt.Sprintf("file descriptors back to %d", fds), func() bool {
		runtime.GC()
		return openFDs(t) <= fds
	})
}

// TestRetryOnRefused: an endpoint still listed as ready whose server is
// gone refuses; the proxy tries the next one, and the client never knows.
func TestRetryOnRefused(t *testing.T) {
	b := newBackends(t, 3, greetEcho)
	r, _ := webService(vip(5), b)
	runProxy(t, proxy.Config{Resolver: r})
	b.listeners[1].Close()
	for range 12 {
		conn := dialWhenListening(t, vip(5)+":18080")
		if got := readLine(t, conn); got == b.addrs[1] {
			t.Errorf("reached the closed backend")
		}
		conn.Close()
	}
}

func TestNoEndpointsResets(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	r, _ := webService(vip(6), b, false)
	runProxy(t, proxy.Config{Resolver: r})
	conn := dialWhenListening(t, vip(6)+":18080")
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("read from a Service without endpoints: %v, want reset", err)
	}
}

// TestDrain: when an endpoint stops being ready, new connections go
// elsewhere, open ones keep working until the drain timeout, then close;
// an endpoint ready again before the timeout keeps its connections.
func TestDrain(t *testing.T) {
	b := newBackends(t, 2, greetEcho)
	r, _ := webService(vip(7), b)
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	p := runProxy(t, proxy.Config{Resolver: r, Clock: clk, DrainTimeout: time.Minute})
	var toFirst []*net.TCPConn
	for len(toFirst) < 2 {
		conn := dialWhenListening(t, vip(7)+":18080")
		if readLine(t, conn) == b.addrs[0] {
			toFirst = append(toFirst, conn)
		} else {
			conn.Close()
		}
	}
	defer func() {
		for _, c := range toFirst {
			c.Close()
		}
	}()
	setReady := func(ready ...bool) {
		r.SetEndpointSlice(slice("web", []api.EndpointPort{eport("http", api.ProtocolTCP, b.port)}, b.endpoints(ready...)))
	}
	setReady(false, true)
	waitFor(t, "the drain timers", func() bool { return clk.Timers() >= 3 }) // the retry timer and two drains
	for range 4 {
		conn := dialWhenListening(t, vip(7)+":18080")
		if got := readLine(t, conn); got != b.addrs[1] {
			t.Errorf("a new connection went to the draining %s", got)
		}
		conn.Close()
	}
	for _, c := range toFirst {
		if _, err := io.WriteString(c, "still here\n"); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, c); got != "still here" {
			t.Fatalf("draining connection echoed %q", got)
		}
	}
	clk.Advance(time.Minute)
	for _, c := range toFirst {
		_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
		if n, err := c.Read(make([]byte, 16)); err == nil {
			t.Errorf("connection still open after the drain timeout (read %d bytes)", n)
		}
	}
	waitFor(t, "drained connections gone", func() bool { return p.Connections() == 0 })

	// Ready again before the timeout: nothing is closed.
	setReady(true, true)
	var conn *net.TCPConn
	for conn == nil {
		c := dialWhenListening(t, vip(7)+":18080")
		if readLine(t, c) == b.addrs[0] {
			conn = c
		} else {
			c.Close()
		}
	}
	defer conn.Close()
	timers := clk.Timers()
	setReady(false, true)
	waitFor(t, "a drain timer", func() bool { return clk.Timers() > timers })
	setReady(true, true)
	waitFor(t, "the drain timer stopped", func() bool { return clk.Timers() == timers })
	clk.Advance(2 * time.Minute)
	if _, err := io.WriteString(conn, "ok\n"); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, conn); got != "ok" {
		t.Errorf("echo %q after the endpoint came back", got)
	}
}

func TestUDP(t *testing.T) {
	b := newBackends(t, 2, greetEcho)
	b.udpEcho(t)
	r := discovery.NewResolver()
	r.SetService(service("dns", vip(8), api.ServicePort{Name: "dns", Port: 18053, Protocol: api.ProtocolUDP}))
	setReady := func(ready ...bool) {
		r.SetEndpointSlice(slice("dns", []api.EndpointPort{eport("dns", api.ProtocolUDP, b.port)}, b.endpoints(ready...)))
	}
	setReady()
	p := runProxy(t, proxy.Config{Resolver: r, UDPIdleTimeout: 300 * time.Millisecond})
	waitFor(t, "the UDP listener", func() bool { return slices.Contains(p.Listening(), vip(8)+":18053/UDP") })
	ask := func(conn net.Conn, q string) string {
		t.Helper()
		_ = conn.SetDeadline(time.Now().Add(waitTimeout))
		if _, err := conn.Write([]byte(q)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no answer to %q: %v", q, err)
		}
		return string(buf[:n])
	}
	hosts := map[string]int{}
	var clients []net.Conn
	for i := range 4 {
		conn, err := net.Dial("udp", vip(8)+":18053")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, conn)
		first := ask(conn, fmt.Sprintf("q%d", i))
		host, payload, _ := strings.Cut(first, ":")
		if payload != fmt.Sprintf("q%d", i) {
			t.Errorf("answer %q", first)
		}
		// The flow sticks: later datagrams of the client reach the same endpoint.
		if again := ask(conn, "again"); again != host+":again" {
			t.Errorf("second answer %q from another endpoint than %s", again, host)
		}
		hosts[host]++
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	if hosts[b.addrs[0]] != 2 || hosts[b.addrs[1]] != 2 {
		t.Errorf("flows per endpoint %v, want 2 each", hosts)
	}
	if n := p.Flows(); n != 4 {
		t.Errorf("%d flows, want 4", n)
	}
	// An endpoint going unready closes its flows at once; clients move.
	setReady(false, true)
	waitFor(t, "flows to the unready endpoint closed", func() bool { return p.Flows() == 2 })
	for _, c := range clients {
		if got := ask(c, "x"); got != b.addrs[1]+":x" {
			t.Errorf("after the drain: %q", got)
		}
	}
	// Idle flows close.
	waitFor(t, "idle flows closed", func() bool { return p.Flows() == 0 })
}

func TestNodePort(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	r := discovery.NewResolver()
	svc := service("web", vip(9), api.ServicePort{Name: "http", Port: 18080, NodePort: 30080})
	svc.Spec.Type = api.ServiceTypeNodePort
	r.SetService(svc)
	r.SetEndpointSlice(slice("web", []api.EndpointPort{eport("http", api.ProtocolTCP, b.port)}, b.endpoints()))
	runProxy(t, proxy.Config{Resolver: r, NodeAddress: node(1)})
	for _, addr := range []string{node(1) + ":30080", vip(9) + ":18080"} {
		conn := dialWhenListening(t, addr)
		if got := readLine(t, conn); got != b.addrs[0] {
			t.Errorf("%s reached %q", addr, got)
		}
		conn.Close()
	}
}

// TestSamePortTwoServices: two Services on the same port number listen
// on their own cluster IPs, without colliding.
func TestSamePortTwoServices(t *testing.T) {
	web := newBackends(t, 1, greetEcho)
	api2 := newBackends(t, 1, greetEcho)
	r := discovery.NewResolver()
	r.SetService(service("web", vip(10), api.ServicePort{Name: "http", Port: 18080}))
	r.SetService(service("api", vip(11), api.ServicePort{Name: "http", Port: 18080}))
	r.SetEndpointSlice(slice("web", []api.EndpointPort{eport("http", api.ProtocolTCP, web.port)}, web.endpoints()))
	r.SetEndpointSlice(slice("api", []api.EndpointPort{eport("http", api.ProtocolTCP, api2.port)}, api2.endpoints()))
	runProxy(t, proxy.Config{Resolver: r})
	for addr, want := range map[string]string{vip(10) + ":18080": web.addrs[0], vip(11) + ":18080": api2.addrs[0]} {
		conn := dialWhenListening(t, addr)
		if got := readLine(t, conn); got != want {
			t.Errorf("%s reached %s, want %s", addr, got, want)
		}
		conn.Close()
	}
}

// TestListenFailureIsReportedAndRetried: an address in use is reported
// once, and served once it is free again.
func TestListenFailureIsReportedAndRetried(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	squatter, err := net.Listen("tcp", vip(12)+":18080")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	r, _ := webService(vip(12), b)
	var mu sync.Mutex
	var warnings []string
	p := runProxy(t, proxy.Config{Resolver: r, Warn: func(svc *api.Service, reason, message string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, svc.Name+" "+reason+": "+message)
	}})
	waitFor(t, "a FailedToListen warning", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(warnings) > 0
	})
	mu.Lock()
	if !strings.Contains(warnings[0], "web FailedToListen: cannot listen on "+vip(12)+":18080/TCP") ||
		!strings.Contains(warnings[0], "address already in use") {
		t.Errorf("warning %q", warnings[0])
	}
	mu.Unlock()
	squatter.Close()
	r.SetService(service("other", vip(13), api.ServicePort{Port: 1})) // any change makes the proxy look again
	waitFor(t, "the listener", func() bool { return slices.Contains(p.Listening(), vip(12)+":18080/TCP") })
	conn := dialWhenListening(t, vip(12)+":18080")
	readLine(t, conn)
	conn.Close()
	mu.Lock()
	if len(warnings) != 1 {
		t.Errorf("warnings %q, want one", warnings)
	}
	mu.Unlock()
}

// TestServiceRemovalClosesListener: a deleted Service's address refuses
// connections.
func TestServiceRemovalClosesListener(t *testing.T) {
	b := newBackends(t, 1, greetEcho)
	r, _ := webService(vip(14), b)
	p := runProxy(t, proxy.Config{Resolver: r})
	conn := dialWhenListening(t, vip(14)+":18080")
	readLine(t, conn)
	conn.Close()
	r.DeleteService("default", "web")
	waitFor(t, "the listener closed", func() bool { return len(p.Listening()) == 0 })
	if _, err := net.Dial("tcp", vip(14)+":18080"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after the Service went: %v", err)
	}
}

func TestLargeTransfer(t *testing.T) {
	b := newBackends(t, 1, func(host string, conn *net.TCPConn) {
		_, _ = io.Copy(conn, conn)
		_ = conn.CloseWrite()
	})
	r, _ := webService(vip(15), b)
	runProxy(t, proxy.Config{Resolver: r})
	conn := dialWhenListening(t, vip(15)+":18080")
	defer conn.Close()
	const size = 32 << 20
	done := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(conn, 1<<16)
		chunk := make([]byte, 1<<16)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		if err := w.Flush(); err != nil {
			done <- err
			return
		}
		done <- conn.CloseWrite()
	}()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if err != nil || n != size {
		t.Fatalf("echoed %d bytes, %v; want %d", n, err, size)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
