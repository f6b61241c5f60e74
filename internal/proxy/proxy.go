// Package proxy is Baton's userspace service proxy, kube-proxy's old
// userspace mode brought in process: for every Service port it listens on
// the Service's cluster IP (and, for a NodePort Service, on the node
// address at the node port) and forwards each TCP connection, or each UDP
// client's datagrams, to an endpoint the discovery.Dialer picks.
//
// TCP is copied between the raw *net.TCPConn of both sides, so that
// io.Copy moves the bytes with splice(2) inside the kernel; a half-close on
// either side is passed on with CloseWrite, and a reset or error on either
// side closes both. UDP keeps a flow per client address, with its own
// socket to one endpoint, closed after an idle timeout.
//
// When an endpoint stops being ready (or its Service goes), new
// connections go elsewhere and the open ones to it may finish: they are
// closed only if they are still open after the drain timeout. UDP
// flows to such an endpoint are closed at once, so that the client's next
// datagram opens a flow to a ready one.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/discovery"
)

// Defaults of Config.
const (
	DefaultNodeAddress    = "127.0.0.1"
	DefaultDrainTimeout   = 30 * time.Second
	DefaultUDPIdleTimeout = 30 * time.Second
	// retryListen is how often listening that failed is tried again.
	retryListen = 5 * time.Second
)

// Config configures a Proxy.
type Config struct {
	// Resolver says which Services exist and which endpoints are ready.
	Resolver *discovery.Resolver
	// Dialer picks and dials endpoints; its policy applies. Default: a
	// round-robin Dialer of Resolver.
	Dialer *discovery.Dialer
	// NodeAddress is the host address NodePort Services listen on; default
	// DefaultNodeAddress. "0.0.0.0" exposes them beyond the host.
	NodeAddress string
	// DrainTimeout bounds how long a connection to an endpoint that is no
	// longer ready may stay open; default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// UDPIdleTimeout closes a UDP flow that has carried nothing for that
	// long (measured in real time); default DefaultUDPIdleTimeout.
	UDPIdleTimeout time.Duration
	// Clock times drains; default clock.Real().
	Clock clock.Clock
	// Log receives what goes wrong; default no-op.
	Log *zap.Logger
	// Warn, when set, is told of a Service port the proxy cannot serve,
	// such as an address already in use. It must not block.
	Warn func(svc *api.Service, reason, message string)
	// Addresses, when set, is told which cluster IPs the proxy serves, for
	// a host interface to carry them: Add before the first listener on an
	// address opens, Remove after the last one on it has closed, and
	// Remove for each address still held when Run ends. Without it,
	// cluster IPs must be addresses the host has (loopback ones).
	Addresses AddressAssigner
}

// AddressAssigner assigns cluster IPs to the host, as internal/svcnet
// does. Both methods are idempotent.
type AddressAssigner interface {
	Add(ip netip.Addr) error
	Remove(ip netip.Addr) error
}

// Proxy forwards Service traffic. Make one with New and call Run.
type Proxy struct {
	cfg Config

	// mu guards listeners, conns, failed and closing.
	mu        sync.Mutex
	listeners map[string]*listener // by "ip:port/protocol"
	conns     map[*tcpConn]struct{}
	failed    map[string]string // listen key to the last error reported
	closing   bool

	// assigned are the cluster IPs given to cfg.Addresses; only Run's
	// goroutine uses it.
	assigned map[netip.Addr]bool

	wg sync.WaitGroup // every goroutine Run started
}

// target is what a listener forwards to: a Service port.
type target struct {
	namespace, name string
	portName        string
	protocol        api.Protocol
}

// listener is one listening socket and the Service port behind it.
type listener struct {
	key    string
	target target
	tcp    *net.TCPListener
	udp    *udpProxy
}

// New returns a Proxy; it listens on nothing until Run.
func New(cfg Config) *Proxy {
	if cfg.Dialer == nil {
		cfg.Dialer = discovery.NewDialer(cfg.Resolver)
	}
	if cfg.NodeAddress == "" {
		cfg.NodeAddress = DefaultNodeAddress
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.UDPIdleTimeout <= 0 {
		cfg.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Proxy{
		cfg:       cfg,
		listeners: map[string]*listener{},
		conns:     map[*tcpConn]struct{}{},
		failed:    map[string]string{},
		assigned:  map[netip.Addr]bool{},
	}
}

// Run serves until ctx ends, following the Resolver's changes, then closes
// every listener and connection and returns once every goroutine it
// started has exited.
func (p *Proxy) Run(ctx context.Context) error {
	defer p.unassign(nil)
	defer p.shutdown()
	retry := p.cfg.Clock.NewTimer(retryListen)
	defer retry.Stop()
	for {
		changed := p.cfg.Resolver.Changed()
		p.sync(ctx)
		select {
		case <-changed:
		case <-retry.C():
			retry.Reset(retryListen)
		case <-ctx.Done():
			return nil
		}
	}
}

// Listening returns the addresses the proxy listens on, as
// "ip:port/protocol", for tests and diagnostics.
func (p *Proxy) Listening() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.listeners))
	for k := range p.listeners {
		out = append(out, k)
	}
	return out
}

// desired returns the listeners the Resolver's Services call for. When two
// Services want one address and port, the older keeps it.
func (p *Proxy) desired() (map[string]target, map[string]*discovery.Service) {
	want := map[string]target{}
	owner := map[string]*discovery.Service{}
	claim := func(key string, svc *discovery.Service, port *discovery.Port) {
		if cur, ok := owner[key]; ok && cur.OlderThan(svc) {
			return
		}
		owner[key] = svc
		want[key] = target{namespace: svc.Namespace, name: svc.Name, portName: port.Name, protocol: port.Protocol}
	}
	for _, svc := range p.cfg.Resolver.Services() {
		for _, port := range svc.Ports {
			if svc.ClusterIP.IsValid() {
				claim(listenKey(svc.ClusterIP.String(), port.Port, port.Protocol), svc, port)
			}
			if svc.Type == api.ServiceTypeNodePort && port.NodePort != 0 {
				claim(listenKey(p.cfg.NodeAddress, port.NodePort, port.Protocol), svc, port)
			}
		}
	}
	return want, owner
}

// assign gives cfg.Addresses the cluster IPs of the Services owning the
// listeners, and returns them all. An address that cannot be assigned is
// reported once per error; its listeners fail and are retried.
func (p *Proxy) assign(owners map[string]*discovery.Service) map[netip.Addr]bool {
	ips := map[netip.Addr]bool{}
	for _, svc := range owners {
		if svc.ClusterIP.IsValid() {
			ips[svc.ClusterIP] = true
		}
	}
	if p.cfg.Addresses == nil {
		return ips
	}
	for ip := range ips {
		if p.assigned[ip] {
			continue
		}
		key := "assign " + ip.String()
		if err := p.cfg.Addresses.Add(ip); err != nil {
			p.mu.Lock()
			report := p.failed[key] != err.Error()
			p.failed[key] = err.Error()
			p.mu.Unlock()
			if report {
				p.cfg.Log.Warn("cannot assign a cluster IP to the host; retrying", zap.Stringer("address", ip), zap.Error(err))
				for _, svc := range owners {
					if svc.ClusterIP == ip && p.cfg.Warn != nil {
						p.cfg.Warn(svc.Object, "FailedToAssignAddress", fmt.Sprintf("cannot assign cluster IP %s to the host: %v", ip, err))
					}
				}
			}
			continue
		}
		p.mu.Lock()
		delete(p.failed, key)
		p.mu.Unlock()
		p.assigned[ip] = true
	}
	return ips
}

// mayListen reports whether the listener for key may open: not when its
// address is a cluster IP that cfg.Addresses failed to assign (that is
// reported already, and retried).
func (p *Proxy) mayListen(key string, clusterIPs map[netip.Addr]bool) bool {
	if p.cfg.Addresses == nil {
		return true
	}
	hostPort, _, _ := cutLast(key, "/")
	host, _, _ := net.SplitHostPort(hostPort)
	ip, err := netip.ParseAddr(host)
	return err != nil || !clusterIPs[ip] || p.assigned[ip]
}

// unassign takes from cfg.Addresses every assigned address not in keep.
// Its listeners must be closed.
func (p *Proxy) unassign(keep map[netip.Addr]bool) {
	for ip := range p.assigned {
		if keep[ip] {
			continue
		}
		if err := p.cfg.Addresses.Remove(ip); err != nil {
			p.cfg.Log.Warn("cannot remove a cluster IP from the host", zap.Stringer("address", ip), zap.Error(err))
			continue
		}
		delete(p.assigned, ip)
	}
}

func listenKey(host string, port int32, protocol api.Protocol) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port))) + "/" + string(protocol)
}

// sync opens and closes listeners to match the Services, and starts the
// drain of connections whose endpoints are no longer ready.
func (p *Proxy) sync(ctx context.Context) {
	want, owners := p.desired()
	p.mu.Lock()
	var stale []*listener
	for key, l := range p.listeners {
		if t, ok := want[key]; !ok || t != l.target {
			stale = append(stale, l)
			delete(p.listeners, key)
		}
	}
	p.mu.Unlock()
	for _, l := range stale {
		l.close()
	}
	ips := p.assign(owners)
	p.unassign(ips)
	for key, t := range want {
		p.mu.Lock()
		_, open := p.listeners[key]
		p.mu.Unlock()
		if open || !p.mayListen(key, ips) {
			continue
		}
		l, err := p.listen(ctx, key, t)
		p.mu.Lock()
		if err != nil {
			msg := err.Error()
			report := p.failed[key] != msg
			p.failed[key] = msg
			p.mu.Unlock()
			if report {
				p.cfg.Log.Warn("cannot listen for a Service port; retrying", zap.String("address", key), zap.Error(err))
				if p.cfg.Warn != nil {
					p.cfg.Warn(owners[key].Object, "FailedToListen",
						fmt.Sprintf("cannot listen on %s for Service port %s: %v", key, t.portName, err))
				}
			}
			continue
		}
		delete(p.failed, key)
		p.listeners[key] = l
		p.mu.Unlock()
	}
	p.drainCheck()
}

// listen opens the listener for key and starts serving it.
func (p *Proxy) listen(ctx context.Context, key string, t target) (*listener, error) {
	addr, _, _ := cutLast(key, "/")
	l := &listener{key: key, target: t}
	switch t.protocol {
	case api.ProtocolUDP:
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, err
		}
		conn, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, err
		}
		l.udp = newUDPProxy(p, conn, t)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			l.udp.serve(ctx)
		}()
	default:
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			return nil, err
		}
		tl, err := net.ListenTCP("tcp", ta)
		if err != nil {
			return nil, err
		}
		l.tcp = tl
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.acceptTCP(ctx, tl, t)
		}()
	}
	return l, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// close stops accepting; open connections are not touched (they drain or
// are closed with their Service).
func (l *listener) close() {
	if l.tcp != nil {
		l.tcp.Close()
	}
	if l.udp != nil {
		l.udp.close()
	}
}

// port returns the current snapshot of t's Service port, or nil when the
// Service or port is gone.
func (p *Proxy) port(t target) *discovery.Port {
	svc := p.cfg.Resolver.Service(t.namespace, t.name)
	if svc == nil {
		return nil
	}
	for _, port := range svc.Ports {
		if port.Name == t.portName && port.Protocol == t.protocol {
			return port
		}
	}
	return nil
}

// shutdown closes every listener and connection and waits for every
// goroutine.
func (p *Proxy) shutdown() {
	p.mu.Lock()
	p.closing = true
	ls := make([]*listener, 0, len(p.listeners))
	for _, l := range p.listeners {
		ls = append(ls, l)
	}
	clear(p.listeners)
	conns := make([]*tcpConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
	for _, c := range conns {
		c.abort()
	}
	p.wg.Wait()
}

// isClosed reports whether err comes from a closed socket.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
