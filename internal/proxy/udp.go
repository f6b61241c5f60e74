package proxy

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/discovery"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// udpProxy serves one UDP listening socket: a flow per client address,
// each with a connected socket to one endpoint.
type udpProxy struct {
	p      *Proxy
	conn   *net.UDPConn
	target target

	mu     sync.Mutex // guards flows and closed
	flows  map[netip.AddrPort]*flow
	closed bool
}

// flow carries one client's datagrams to one endpoint and back.
type flow struct {
	client   netip.AddrPort
	backend  *net.UDPConn
	b        *discovery.Backend
	endpoint netip.AddrPort
	last     atomic.Int64 // unix nanoseconds of the last datagram either way
	once     sync.Once
}

func newUDPProxy(p *Proxy, conn *net.UDPConn, t target) *udpProxy {
	return &udpProxy{p: p, conn: conn, target: t, flows: map[netip.AddrPort]*flow{}}
}

// serve reads client datagrams until the socket is closed.
func (u *udpProxy) serve(ctx context.Context) {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if isClosed(err) || ctx.Err() != nil {
				return
			}
			continue // an ICMP error for an earlier reply, say
		}
		f := u.flow(ctx, from)
		if f == nil {
			continue // no endpoint: the datagram is dropped, as UDP allows
		}
		f.touch()
		if _, err := f.backend.Write(buf[:n]); err != nil {
			u.remove(f)
		}
	}
}

// flow returns the flow of client, opening one to an endpoint if there is
// none.
func (u *udpProxy) flow(ctx context.Context, client netip.AddrPort) *flow {
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	u.mu.Lock()
	f := u.flows[client]
	u.mu.Unlock()
	if f != nil {
		return f
	}
	port := u.p.port(u.target)
	if port == nil {
		return nil
	}
	b, err := u.p.cfg.Dialer.DialPort(ctx, "udp", port, client.Addr())
	if err != nil {
		u.p.cfg.Log.Debug("no endpoint for a UDP flow", zap.Stringer("port", port), zap.Error(err))
		return nil
	}
	backend, ok := b.Conn.(*net.UDPConn)
	if !ok {
		b.Conn.Close()
		b.Release()
		return nil
	}
	f = &flow{client: client, backend: backend, b: b, endpoint: b.Endpoint}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		f.close()
		return nil
	}
	u.flows[client] = f
	u.mu.Unlock()
	u.p.wg.Add(1)
	go func() {
		defer u.p.wg.Done()
		u.replies(f)
	}()
	return f
}

// replies sends the endpoint's datagrams back to the client until the
// flow is closed or idle.
func (u *udpProxy) replies(f *flow) {
	defer u.remove(f)
	idle := u.p.cfg.UDPIdleTimeout
	buf := make([]byte, maxDatagram)
	for {
		_ = f.backend.SetReadDeadline(time.Now().Add(idle))
		n, err := f.backend.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if time.Since(time.Unix(0, f.last.Load())) >= idle {
				return
			}
			continue
		}
		if err != nil {
			return // closed, or the endpoint refused (ICMP port unreachable)
		}
		f.touch()
		if _, err := u.conn.WriteToUDPAddrPort(buf[:n], f.client); err != nil && isClosed(err) {
			return
		}
	}
}

func (f *flow) touch() { f.last.Store(time.Now().UnixNano()) }

func (f *flow) close() {
	f.once.Do(func() {
		f.backend.Close()
		f.b.Release()
	})
}

// remove forgets f and closes it.
func (u *udpProxy) remove(f *flow) {
	u.mu.Lock()
	if u.flows[f.client] == f {
		delete(u.flows, f.client)
	}
	u.mu.Unlock()
	f.close()
}

// drain closes the flows whose endpoints ready no longer accepts.
func (u *udpProxy) drain(ready func(netip.AddrPort) bool) {
	u.mu.Lock()
	var stale []*flow
	for _, f := range u.flows {
		if !ready(f.endpoint) {
			stale = append(stale, f)
		}
	}
	u.mu.Unlock()
	for _, f := range stale {
		u.remove(f)
	}
}

// close closes the socket and every flow.
func (u *udpProxy) close() {
	u.mu.Lock()
	u.closed = true
	flows := make([]*flow, 0, len(u.flows))
	for _, f := range u.flows {
		flows = append(flows, f)
	}
	clear(u.flows)
	u.mu.Unlock()
	u.conn.Close()
	for _, f := range flows {
		f.close()
	}
}

// Flows returns how many UDP flows the proxy carries, for tests and
// diagnostics.
func (p *Proxy) Flows() int {
	p.mu.Lock()
	var udps []*udpProxy
	for _, l := range p.listeners {
		if l.udp != nil {
			udps = append(udps, l.udp)
		}
	}
	p.mu.Unlock()
	n := 0
	for _, u := range udps {
		u.mu.Lock()
		n += len(u.flows)
		u.mu.Unlock()
	}
	return n
}
