package fake

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"

	"github.com/batonhq/baton/runtime"
)

// LoopbackPodCIDR is a pod CIDR whose every address is a loopback address
// on Linux (all of 127.0.0.0/8 is routed to the loopback interface), so
// that containers whose Behavior serves can listen on their sandbox IPs.
// A harness that wants Services end to end creates its runtimes with
// WithPodCIDR(LoopbackPodCIDR), or with a distinct part of 127.0.0.0/8 per
// fake node (such as "127.88.1.0/24", "127.88.2.0/24"), since every fake
// Runtime hands out the same addresses from the same range.
const LoopbackPodCIDR = "127.88.0.0/16"

// Server is a real network server that a fake container runs on its
// sandbox IP while it runs, through an in-process handler; see
// Behavior.Serve. Set exactly one of Handler, Conn and Packet; HTTP, TCP and
// UDP build the common cases.
//
// Its life follows the container's:
//
//   - StartContainer listens before the container runs. If it cannot (the
//     port is taken in the sandbox, the sandbox IP is not loopback, or the
//     sandbox has none), the start fails as with Behavior.FailStart: the
//     container is Exited with code 128, reason Error and the listen error
//     as its message.
//   - SIGTERM (StopContainer with a grace period, without IgnoreSIGTERM)
//     drains, as a well-behaved server does: listeners close at once, so
//     new connections are refused (connections a client opened before are
//     accepted first, not reset); HTTP servers close idle keep-alive
//     connections and answer every request still arriving on the others,
//     with "Connection: close"; Conn handlers run on; UDP sockets close.
//     The container exits with code 143 once nothing is left, or is killed
//     with 137 when the grace period ends.
//   - Any other end (an exit, Kill, a zero grace period, the sandbox
//     stopping, removal) closes everything at once and resets open TCP
//     connections, so clients see what a dead process leaves: connection
//     refused.
type Server struct {
	// Port is the port the server listens on, on the sandbox IP.
	Port int32
	// Protocol is "TCP" (the default) or "UDP".
	Protocol string
	// Handler serves HTTP/1.1 over TCP.
	Handler http.Handler
	// Conn serves one accepted TCP connection, in a goroutine of its own.
	// The fake closes conn when Conn returns, and at once when the
	// container dies; Conn must return once conn's reads and writes fail.
	Conn func(conn net.Conn)
	// Packet serves UDP, in a goroutine of its own, on the bound socket.
	// The fake closes pc when the container stops; Packet must return once
	// pc's reads fail.
	Packet func(pc net.PacketConn)
}

// HTTP returns a Server answering HTTP on TCP port with h.
func HTTP(port int32, h http.Handler) Server { return Server{Port: port, Handler: h} }

// TCP returns a Server calling fn for each TCP connection on port.
func TCP(port int32, fn func(net.Conn)) Server { return Server{Port: port, Conn: fn} }

// UDP returns a Server calling fn with the UDP socket bound to port.
func UDP(port int32, fn func(net.PacketConn)) Server {
	return Server{Port: port, Protocol: "UDP", Packet: fn}
}

// serving is what a serving container runs. Its fields are set when it
// starts and only read afterwards; mu guards the rest.
type serving struct {
	listeners []*drainingListener
	packets   []net.PacketConn
	https     []*httpServer

	mu       sync.Mutex
	conns    map[net.Conn]struct{} // open connections of Conn servers
	active   sync.WaitGroup        // accept loops, Conn handlers and HTTP servers still running
	draining bool
	closed   bool
}

// httpServer is an http.Server and what its graceful stop waits for.
type httpServer struct {
	hs *http.Server
	// served is closed when Serve has returned: every connection it
	// accepted has been counted in conns by then.
	served chan struct{}
	// conns counts connections from StateNew to StateClosed or
	// StateHijacked.
	conns sync.WaitGroup
}

// errLog keeps net/http's complaints about closed listeners out of test
// output.
var errLog = log.New(io.Discard, "", 0)

// serveLocked starts c's servers on its sandbox IP. On error nothing is
// left listening. Runtime.mu must be held.
func (r *Runtime) serveLocked(c *container, servers []Server) error {
	if len(servers) == 0 {
		return nil
	}
	if c.sb.ipSlot == 0 {
		return fmt.Errorf("Behavior.Serve needs a sandbox IP, and host-network sandboxes have none: %w", errServeUnsupported)
	}
	ip := r.ipam.addr(c.sb.ipSlot - 1)
	if !ip.IsLoopback() {
		return fmt.Errorf("Behavior.Serve listens only on loopback sandbox IPs, and %s is not one; create the runtime with fake.WithPodCIDR(fake.LoopbackPodCIDR): %w",
			ip, errServeUnsupported)
	}
	s := &serving{conns: map[net.Conn]struct{}{}}
	for _, srv := range servers {
		if err := s.listen(ip, srv); err != nil {
			s.kill()
			return err
		}
	}
	c.more().serve = s
	return nil
}

// errServeUnsupported marks a Behavior.Serve the fake cannot honour.
var errServeUnsupported = errors.New("unsupported")

func (s *serving) listen(ip netip.Addr, srv Server) error {
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(int(srv.Port)))
	switch {
	case srv.Protocol == "UDP" && srv.Packet != nil:
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		s.packets = append(s.packets, pc)
		go srv.Packet(pc)
		return nil
	case srv.Protocol != "" && srv.Protocol != "TCP", srv.Protocol == "UDP":
		return fmt.Errorf("serve %s port %d: protocol %q needs Packet set, TCP needs Handler or Conn: %w",
			addr, srv.Port, srv.Protocol, errServeUnsupported)
	case (srv.Handler == nil) == (srv.Conn == nil):
		return fmt.Errorf("serve %s: set exactly one of Handler and Conn: %w", addr, errServeUnsupported)
	}
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	l := newDrainingListener(tl.(*net.TCPListener))
	s.listeners = append(s.listeners, l)
	if srv.Handler != nil {
		h := &httpServer{served: make(chan struct{})}
		h.hs = &http.Server{Handler: srv.Handler, ErrorLog: errLog, ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				h.conns.Add(1) // in Serve's goroutine, before it accepts again
			case http.StateClosed, http.StateHijacked:
				h.conns.Done()
			}
		}}
		s.https = append(s.https, h)
		s.active.Add(1)
		go func() {
			defer s.active.Done()
			defer close(h.served)
			_ = h.hs.Serve(l) // returns once the listener closes
		}()
		return nil
	}
	s.active.Add(1)
	go s.accept(l, srv.Conn)
	return nil
}

// accept runs a Conn server until its listener closes and every
// connection it took before is handed to fn.
func (s *serving) accept(l net.Listener, fn func(net.Conn)) {
	defer s.active.Done()
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			resetConn(conn)
			continue
		}
		s.conns[conn] = struct{}{}
		s.active.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.active.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
				conn.Close()
			}()
			fn(conn)
		}()
	}
}

// drain begins a graceful stop, as a well-behaved server does on SIGTERM:
// listeners close at once, so new connections are refused, after taking
// the connections clients had already opened; HTTP servers close idle
// keep-alive connections and answer every request still coming on the
// others, each with "Connection: close"; Conn handlers run on. done is
// called, in a goroutine, once nothing is left running.
//
// The HTTP servers do not use http.Server.Shutdown, which drops a request
// read after it began without an answer: a client that had just connected,
// and so will not retry on a fresh connection, would see it fail.
func (s *serving) drain(done func()) {
	s.mu.Lock()
	if s.draining || s.closed {
		s.mu.Unlock()
		return
	}
	s.draining = true
	s.mu.Unlock()
	// Before the listeners close, so that a request which arrives once a
	// client sees connections refused is sure to be answered with
	// "Connection: close". Connections that have not sent a request yet
	// are not idle, so this leaves them open.
	for _, h := range s.https {
		h.hs.SetKeepAlivesEnabled(false)
	}
	for _, l := range s.listeners {
		l.drain()
	}
	for _, pc := range s.packets {
		pc.Close()
	}
	for _, h := range s.https {
		s.active.Add(1)
		go func() {
			defer s.active.Done()
			<-h.served     // every accepted connection is counted
			h.conns.Wait() // until each has answered, or kill closed it
		}()
	}
	go func() {
		s.active.Wait()
		done()
	}()
}

// kill closes everything at once, as the death of the process does: the
// listeners, so connections are refused, and every open connection.
func (s *serving) kill() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, l := range s.listeners {
		l.kill()
	}
	for _, pc := range s.packets {
		pc.Close()
	}
	for _, h := range s.https {
		h.hs.Close()
	}
	for _, c := range conns {
		resetConn(c) // a dead process's sockets are reset
	}
}

// stopServingLocked kills c's servers, if any. Runtime.mu must be held.
func (r *Runtime) stopServingLocked(c *container) {
	if c.extra != nil && c.extra.serve != nil {
		c.extra.serve.kill()
		c.extra.serve = nil
	}
}

// drainLocked begins the graceful stop of c's servers on SIGTERM and
// reports whether c serves anything; if it does, c exits with code 143
// once its servers have drained. Runtime.mu must be held.
func (r *Runtime) drainLocked(c *container) bool {
	if c.extra == nil || c.extra.serve == nil {
		return false
	}
	s := c.extra.serve
	s.drain(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.state == stateRunning && c.extra != nil && c.extra.serve == s {
			r.exitLocked(c, exitSIGTERM, runtime.ReasonError, "", r.clock.Now())
		}
	})
	return true
}

// CloseServers closes the listeners and connections of every container
// that serves (see Behavior.Serve), as if their processes had died, without
// changing the containers' states. The node agent leaves containers
// running when it stops, so a test whose containers serve calls
// CloseServers when it ends, to leave no goroutine or socket behind.
func (r *Runtime) CloseServers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.containers {
		r.stopServingLocked(c)
	}
}
