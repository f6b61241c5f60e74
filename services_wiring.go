package baton

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/endpoints"
	"github.com/batonhq/baton/internal/controller/gc"
	"github.com/batonhq/baton/internal/controller/serviceip"
	"github.com/batonhq/baton/internal/dns"
	"github.com/batonhq/baton/internal/kernelproxy"
	"github.com/batonhq/baton/internal/proxy"
	"github.com/batonhq/baton/internal/servicefeed"
	"github.com/batonhq/baton/internal/svcnet"
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
	iface         string
	nat           bool
	natTable      string
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

// WithServiceCIDR sets the range cluster IPs are allocated from: an IPv4
// range within 127.0.0.0/8 (loopback, so that the proxy can listen on every
// address of it), the default being 127.64.0.0/16; or, with
// WithServiceInterface, an IPv4 range outside it, such as 10.97.0.0/16. New
// fails with ErrInvalid for anything else.
func WithServiceCIDR(cidr string) Option {
	return func(c *config) { c.services.cidr = cidr }
}

// WithServiceInterface makes cluster IPs reachable from containers in
// their own network namespaces (the containerd runtime's Pods), as
// kube-proxy's IPVS mode does: while Run runs, the proxy assigns each
// Service's cluster IP to the dummy interface name in the host's network
// namespace (creating it, and deleting it when Run returns), and routes
// the rest of the service CIDR nowhere ("unreachable"), so that traffic to
// an unallocated cluster IP fails at once instead of leaving the host.
// It needs WithServiceProxy, a non-loopback WithServiceCIDR and
// CAP_NET_ADMIN (root); Run fails if the interface cannot be made.
func WithServiceInterface(name string) Option {
	return func(c *config) { c.services.iface = name }
}

// WithServiceNAT carries Service traffic to cluster IPs in the kernel, as
// kube-proxy's nftables mode does, instead of through the userspace
// proxy: while Run runs, Baton keeps an nftables table (family ip, named
// table, "baton" if empty) that translates each new TCP or UDP connection
// to a cluster IP port into one to a ready endpoint picked at random, so
// the bytes never pass through Baton and flow as fast as a direct
// connection (see BENCHMARKS.md). The table is deleted when Run returns.
//
// The userspace proxy still listens on every cluster IP port and serves
// what the kernel does not translate: ports with no ready endpoint (it
// uses an endpoint that is terminating but still serving, or refuses the
// connection), Services with sessionAffinity ClientIP, node ports, and
// ports whose cluster IP and endpoints are not alike loopback addresses
// or alike not (with the default loopback service CIDR, containerd Pods'
// Services stay on the proxy: use WithServiceInterface).
//
// Translated connections differ from proxied ones as in Kubernetes: an
// endpoint that stops being ready keeps its open connections
// (WithServiceDrainTimeout does not apply), and a refused connection is
// not retried on another endpoint. Baton's node agents wait for the rules
// to drop a deleted Pod before stopping its containers. Connections that
// leave the host's loopback interface are masqueraded, so an endpoint
// sees a Pod client as the host's address on the Pod network, as it does
// through the userspace proxy (kube-proxy keeps the Pod's address, and
// needs br_netfilter for it).
//
// It needs WithServiceProxy, CAP_NET_ADMIN (root) and a kernel with
// nf_tables and its NAT support; Run fails at once if the table cannot be
// written. The table is Baton's by its name: a table of that name, left
// by a host program that died, is replaced; so two Orchestrators on one
// host need different names.
func WithServiceNAT(table string) Option {
	return func(c *config) {
		c.services.nat = true
		c.services.natTable = table
	}
}

// WithDNS runs the cluster DNS server on addr ("host:port", UDP and TCP)
// while Run runs, answering for <service>.<namespace>.svc.<cluster domain>
// and refusing every other name; port 0 picks a free port, which DNSAddr
// reports.
//
// When the port is 53 and the host is an IP address that is neither
// loopback nor unspecified, Pods whose dnsPolicy is ClusterFirst (the
// default) get it as their nameserver, with their namespace first in the
// search path, in the /etc/resolv.conf the runtime gives them (the
// containerd runtime does; the fake has none). With WithServiceInterface
// and an address in the service CIDR, such as 10.97.0.10:53, that address
// is reserved from Services and assigned to the interface too, so that
// the Pods reach it.
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

	// podDNS is the nameserver Pods get (see WithDNS), or invalid.
	podDNS netip.Addr

	mu      sync.Mutex // guards dnsAddr and nat
	dnsAddr string
	// nat is the kernel data plane while Run runs with WithServiceNAT.
	nat *kernelproxy.KernelProxy
}

// serviceTrafficStopped returns once the kernel data plane, if any, has
// seen every endpoint change made so far; the node agents call it before
// stopping a deleted Pod's containers.
func (st *serviceState) serviceTrafficStopped(ctx context.Context) error {
	st.mu.Lock()
	nat := st.nat
	st.mu.Unlock()
	if nat == nil {
		return nil
	}
	return nat.WaitSynced(ctx)
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
	if cfg.iface != "" {
		if !cfg.proxy {
			return nil, fmt.Errorf("baton: WithServiceInterface(%q) needs WithServiceProxy, which listens on the cluster IPs: %w", cfg.iface, ErrInvalid)
		}
		st.cidr.HostInterface = true
	}
	if cfg.nat && !cfg.proxy {
		return nil, fmt.Errorf("baton: WithServiceNAT(%q) needs WithServiceProxy, which serves what the kernel does not translate: %w", cfg.natTable, ErrInvalid)
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
		host, port, err := net.SplitHostPort(cfg.dnsAddr)
		if err != nil {
			return nil, fmt.Errorf("baton: WithDNS(%q): want host:port: %w", cfg.dnsAddr, ErrInvalid)
		}
		if ip, err := netip.ParseAddr(host); err == nil && port == "53" && !ip.IsLoopback() && !ip.IsUnspecified() {
			st.podDNS = ip
		}
		if st.cidr.HostInterface && st.podDNS.IsValid() && st.cidr.CIDR.Contains(st.podDNS) {
			st.cidr.Reserved = append(st.cidr.Reserved, st.podDNS)
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

	var addrs *svcnet.Net
	if cfg.iface != "" {
		var err error
		addrs, err = svcnet.Open(svcnet.Config{Interface: cfg.iface, CIDR: st.cidr.CIDR, Log: o.log.Named("svcnet")})
		if err != nil {
			return fmt.Errorf("baton: WithServiceInterface(%q): %w", cfg.iface, err)
		}
		defer func() {
			if err := addrs.Close(); err != nil {
				o.log.Warn("could not remove the service interface", zap.String("interface", cfg.iface), zap.Error(err))
			}
		}()
		if slices.Contains(st.cidr.Reserved, st.podDNS) {
			if err := addrs.Add(st.podDNS); err != nil {
				return fmt.Errorf("baton: WithDNS(%q): assign the address to interface %s: %w", cfg.dnsAddr, cfg.iface, err)
			}
		}
	}

	var nat *kernelproxy.KernelProxy
	if cfg.nat {
		var err error
		nat, err = kernelproxy.Open(kernelproxy.Config{Resolver: st.resolver, Table: cfg.natTable, Log: o.log.Named("kernelproxy")})
		if err != nil {
			return fmt.Errorf("baton: WithServiceNAT(%q): %w", cfg.natTable, err)
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	for _, run := range []func(context.Context) error{epCtrl.Run, ipCtrl.Run, sliceGCCtrl.Run} {
		g.Go(func() error { return run(gctx) })
	}
	if nat != nil {
		st.mu.Lock()
		st.nat = nat
		st.mu.Unlock()
		g.Go(func() error {
			defer func() {
				st.mu.Lock()
				st.nat = nil
				st.mu.Unlock()
			}()
			return nat.Run(gctx)
		})
	}
	if cfg.proxy {
		proxyEvents := o.recorder.For("kube-proxy", "")
		pcfg := proxy.Config{
			Resolver:     st.resolver,
			Dialer:       o.Dialer(),
			NodeAddress:  cfg.nodeAddress,
			DrainTimeout: cfg.drainTimeout,
			Clock:        o.clock,
			Log:          o.log.Named("proxy"),
			Warn: func(svc *api.Service, reason, message string) {
				proxyEvents.Warning(svc, reason, "%s", message)
			},
		}
		if addrs != nil {
			pcfg.Addresses = addrs
		}
		p := proxy.New(pcfg)
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
