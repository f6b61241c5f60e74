package baton

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/endpoints"
	"github.com/batonhq/baton/internal/controller/gc"
	"github.com/batonhq/baton/internal/controller/serviceip"
	"github.com/batonhq/baton/internal/dns"
	"github.com/batonhq/baton/internal/proxy"
	"github.com/batonhq/baton/internal/servicefeed"
)

// serviceConfig holds the Service options; config.services.
type serviceConfig struct {
	proxy         bool
	nodeAddress   string
	cidr          string
	dnsAddr       string
	clusterDomain string
	drainTimeout  time.Duration
	policy        discovery.Policy
}

// WithServiceProxy runs Baton's userspace service proxy while Run runs: each
// Service with a cluster IP is served on that address (from the service
// CIDR, loopback by default, see WithServiceCIDR) at its ports, and each
// NodePort Service also on nodeAddress at its node ports. nodeAddress ""
// means 127.0.0.1; "0.0.0.0" exposes node ports beyond the host. Without
// this option nothing listens, and Services are reached in process through
// Dialer and DialContext.
func WithServiceProxy(nodeAddress string) Option {
	return func(c *config) {
		c.services.proxy = true
		c.services.nodeAddress = nodeAddress
	}
}

// WithServiceCIDR sets the range cluster IPs are allocated from, an IPv4
// range within 127.0.0.0/8 (loopback, so that the proxy can listen on every
// address of it); the default is 127.64.0.0/16. New fails with ErrInvalid
// for anything else.
func WithServiceCIDR(cidr string) Option {
	return func(c *config) { c.services.cidr = cidr }
}

// WithDNS runs the cluster DNS server on addr ("host:port", UDP and TCP)
// while Run runs, answering for <service>.<namespace>.svc.<cluster domain>
// and refusing every other name; port 0 picks a free port, which DNSAddr
// reports.
func WithDNS(addr string) Option {
	return func(c *config) { c.services.dnsAddr = addr }
}

// WithClusterDomain sets the cluster domain of Service names; the default
// is "cluster.local".
func WithClusterDomain(domain string) Option {
	return func(c *config) { c.services.clusterDomain = domain }
}

// WithServiceDrainTimeout sets how long a proxied connection to an endpoint
// that stopped being ready may stay open; the default is 30s.
func WithServiceDrainTimeout(d time.Duration) Option {
	return func(c *config) { c.services.drainTimeout = d }
}

// WithServiceBalancing sets how the proxy and DialContext pick endpoints:
// discovery.RoundRobin (the default) or discovery.LeastConnections.
func WithServiceBalancing(p discovery.Policy) Option {
	return func(c *config) { c.services.policy = p }
}

// serviceState is an Orchestrator's service machinery; o.svc.
type serviceState struct {
	cidr     serviceip.Config
	resolver *discovery.Resolver
	dialer   *discovery.Dialer

	mu      sync.Mutex // guards dnsAddr
	dnsAddr string
}

// newServiceState checks the service options and starts feeding the
// Resolver from the store; New calls it once the store is ready.
func newServiceState(o *Orchestrator) (*serviceState, error) {
	cfg := o.cfg.services
	st := &serviceState{}
	if cfg.cidr != "" {
		p, err := netip.ParsePrefix(cfg.cidr)
		if err != nil {
			return nil, fmt.Errorf("baton: WithServiceCIDR(%q): %w: %w", cfg.cidr, err, ErrInvalid)
		}
		st.cidr.CIDR = p
	}
	if err := st.cidr.Check(); err != nil {
		return nil, fmt.Errorf("baton: WithServiceCIDR: %w", err)
	}
	if cfg.nodeAddress != "" {
		if _, err := netip.ParseAddr(cfg.nodeAddress); err != nil {
			return nil, fmt.Errorf("baton: WithServiceProxy(%q): the node address must be an IP address: %w", cfg.nodeAddress, ErrInvalid)
		}
	}
	if cfg.dnsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.dnsAddr); err != nil {
			return nil, fmt.Errorf("baton: WithDNS(%q): want host:port: %w", cfg.dnsAddr, ErrInvalid)
		}
	}
	var ropts []discovery.ResolverOption
	if cfg.clusterDomain != "" {
		ropts = append(ropts, discovery.WithClusterDomain(cfg.clusterDomain))
	}
	st.resolver = discovery.NewResolver(ropts...)
	servicefeed.Feed(o.store, st.resolver) // lives as long as the store; starts no goroutine
	st.dialer = discovery.NewDialer(st.resolver, discovery.WithPolicy(cfg.policy), discovery.WithClock(o.clock))
	return st, nil
}

// Resolver returns the index of Services and their ready endpoints. It is
// kept up to date with the store whether or not Run runs (endpoints change
// only while it runs), and is safe for concurrent use.
func (o *Orchestrator) Resolver() *discovery.Resolver { return o.svc.resolver }

// Dialer returns a new Dialer of Services, sharing the Orchestrator's
// balancing state (round-robin cursors, connection counts, affinities).
func (o *Orchestrator) Dialer(opts ...discovery.DialerOption) *discovery.Dialer {
	base := []discovery.DialerOption{discovery.WithPolicy(o.cfg.services.policy), discovery.WithClock(o.clock)}
	return discovery.NewDialer(o.svc.resolver, append(base, opts...)...)
}

// DialContext connects to a Service, such as "web.shop:80" or
// "web.shop.svc.cluster.local:http", balancing over its ready endpoints; it
// fits http.Transport.DialContext. Addresses that name no Service are
// refused with ErrInvalid or ErrNotFound: it never dials anything else.
// See discovery.Dialer.DialContext.
func (o *Orchestrator) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return o.svc.dialer.DialContext(ctx, network, address)
}

// DNSAddr returns the address the DNS server listens on while Run runs
// with WithDNS, or "".
func (o *Orchestrator) DNSAddr() string {
	o.svc.mu.Lock()
	defer o.svc.mu.Unlock()
	return o.svc.dnsAddr
}

// runServices runs, until ctx ends, the endpoints controller, the cluster
// IP allocator, the collector of orphaned EndpointSlices and, when
// configured, the proxy and the DNS server. Run runs it with the other
// controllers.
func (o *Orchestrator) runServices(ctx context.Context) error {
	cfg := o.cfg.services
	st := o.svc
	opts := controller.Options{Workers: 1, Log: o.log, Clock: o.clock, BatchSize: 1000}

	epRec := &endpoints.Reconciler{Store: o.store, Log: o.log.Named("endpointslice"),
		Events: o.recorder.For("endpointslice-controller", "")}
	epCtrl := controller.New("endpointslice", epRec, opts)
	epRec.Register(epCtrl)

	ipRec := &serviceip.Reconciler{Store: o.store, Events: o.recorder.For("ipallocator", ""), Config: st.cidr}
	ipCtrl := controller.New("ipallocator", ipRec, opts)
	ipRec.Register(ipCtrl)

	sliceGC := &gc.Reconciler{Store: o.store, Kind: api.KindEndpointSlice, OwnerKinds: []string{api.KindService}}
	sliceGCCtrl := controller.New("endpointslice-gc", sliceGC, opts)
	sliceGC.Register(sliceGCCtrl)

	g, gctx := errgroup.WithContext(ctx)
	for _, run := range []func(context.Context) error{epCtrl.Run, ipCtrl.Run, sliceGCCtrl.Run} {
		g.Go(func() error { return run(gctx) })
	}
	if cfg.proxy {
		proxyEvents := o.recorder.For("kube-proxy", "")
		p := proxy.New(proxy.Config{
			Resolver:     st.resolver,
			Dialer:       o.Dialer(),
			NodeAddress:  cfg.nodeAddress,
			DrainTimeout: cfg.drainTimeout,
			Clock:        o.clock,
			Log:          o.log.Named("proxy"),
			Warn: func(svc *api.Service, reason, message string) {
				proxyEvents.Warning(svc, reason, "%s", message)
			},
		})
		g.Go(func() error { return p.Run(gctx) })
	}
	if cfg.dnsAddr != "" {
		srv, err := dns.Listen(dns.Config{Resolver: st.resolver, Addr: cfg.dnsAddr, Log: o.log.Named("dns")})
		if err != nil {
			g.Go(func() error { return fmt.Errorf("baton: WithDNS: %w", err) })
		} else {
			st.mu.Lock()
			st.dnsAddr = srv.Addr()
			st.mu.Unlock()
			g.Go(func() error {
				defer func() {
					st.mu.Lock()
					st.dnsAddr = ""
					st.mu.Unlock()
				}()
				return srv.Serve(gctx)
			})
		}
	}
	return g.Wait()
}
