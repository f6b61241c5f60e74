package proxy

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/clock"
)

// tcpConn is one proxied TCP connection.
type tcpConn struct {
	client, backend *net.TCPConn
	target          target
	endpoint        netip.AddrPort
	once            sync.Once
	// drain, when set, closes the connection at the end of the drain
	// timeout; guarded by Proxy.mu.
	drain clock.Timer
}

// acceptTCP accepts connections on l until it is closed.
func (p *Proxy) acceptTCP(ctx context.Context, l *net.TCPListener, t target) {
	var delay time.Duration
	for {
		client, err := l.AcceptTCP()
		if err != nil {
			if isClosed(err) || ctx.Err() != nil {
				return
			}
			// Out of file descriptors, say: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			p.cfg.Log.Warn("accepting a Service connection failed; retrying", zap.Stringer("address", l.Addr()),
				zap.Duration("after", delay), zap.Error(err))
			timer := time.NewTimer(delay)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return
			}
			continue
		}
		delay = 0
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serveTCP(ctx, client, t)
		}()
	}
}

// serveTCP connects client to an endpoint of t and copies between them
// until both sides are done.
func (p *Proxy) serveTCP(ctx context.Context, client *net.TCPConn, t target) {
	port := p.port(t)
	if port == nil {
		reset(client)
		return
	}
	b, err := p.cfg.Dialer.DialPort(ctx, "tcp", port, addrOf(client.RemoteAddr()))
	if err != nil {
		p.cfg.Log.Debug("no endpoint took a Service connection", zap.Stringer("port", port), zap.Error(err))
		reset(client)
		return
	}
	defer b.Release()
	backend, ok := b.Conn.(*net.TCPConn)
	if !ok {
		b.Conn.Close()
		reset(client)
		return
	}
	c := &tcpConn{client: client, backend: backend, target: t, endpoint: b.Endpoint}
	if !p.track(c) {
		c.abort()
		return
	}
	defer p.untrack(c)
	c.pipe()
}

// track registers c, unless the proxy is shutting down.
func (p *Proxy) track(c *tcpConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c *tcpConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	if c.drain != nil {
		c.drain.Stop()
		c.drain = nil
	}
}

// pipe copies both ways, each in its own goroutine's io.Copy between
// *net.TCPConn, which splices, and returns when both are done.
func (c *tcpConn) pipe() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.copy(c.client, c.backend)
	}()
	c.copy(c.backend, c.client)
	<-done
	c.close()
}

// copy copies src to dst until src ends. The end of src's data (a FIN) is
// passed on to dst as a half-close; an error on either side tears the
// connection down, which also ends the other direction's copy.
func (c *tcpConn) copy(dst, src *net.TCPConn) {
	if _, err := io.Copy(dst, src); err != nil {
		c.abort()
		return
	}
	if err := dst.CloseWrite(); err != nil {
		c.abort()
	}
}

// close closes both sides once both directions are done.
func (c *tcpConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.backend.Close()
	})
}

// abort resets both sides, so that the peers see the failure rather than
// a clean end of data.
func (c *tcpConn) abort() {
	c.once.Do(func() {
		reset(c.client)
		reset(c.backend)
	})
}

// reset closes conn with a RST.
func reset(conn *net.TCPConn) {
	_ = conn.SetLinger(0)
	conn.Close()
}

// drainCheck starts the drain timer of each connection whose endpoint is
// no longer ready, stops it for one whose endpoint is ready again, and
// closes UDP flows to endpoints that are no longer ready.
func (p *Proxy) drainCheck() {
	readySets := map[target]map[netip.AddrPort]bool{}
	ready := func(t target, ep netip.AddrPort) bool {
		set, ok := readySets[t]
		if !ok {
			set = map[netip.AddrPort]bool{}
			if port := p.port(t); port != nil {
				for _, ap := range port.Ready {
					set[ap] = true
				}
			}
			readySets[t] = set
		}
		return set[ep]
	}
	p.mu.Lock()
	var udps []*udpProxy
	for _, l := range p.listeners {
		if l.udp != nil {
			udps = append(udps, l.udp)
		}
	}
	for c := range p.conns {
		switch ok := ready(c.target, c.endpoint); {
		case ok && c.drain != nil:
			c.drain.Stop()
			c.drain = nil
		case !ok && c.drain == nil:
			c.drain = p.cfg.Clock.AfterFunc(p.cfg.DrainTimeout, c.close)
		}
	}
	p.mu.Unlock()
	for _, u := range udps {
		u.drain(func(ep netip.AddrPort) bool { return ready(u.target, ep) })
	}
}

// Connections returns how many TCP connections the proxy carries, for
// tests and diagnostics.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}
