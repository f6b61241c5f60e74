// Package kernelproxy carries Service traffic to cluster IPs in the
// kernel, as kube-proxy's nftables mode does: it keeps an nftables table
// whose rules translate each new connection to a cluster IP port into a
// connection to one of its ready endpoints, picked at random, so that the
// bytes never pass through Baton. It complements internal/proxy, which
// still listens on every cluster IP port and serves what is not translated
// (see desired).
//
// The table holds:
//
//   - base chains "prerouting" and "output" (nat, dstnat priority), which
//     send traffic from containers and from the host to "services";
//   - "services", one rule per Service port matching its cluster IP,
//     protocol and port, going to the port's chain;
//   - a chain per Service port that marks the packet for masquerade and
//     DNATs it to endpoint i of n with probability 1/(n-i), so each is
//     equally likely;
//   - "postrouting" (nat, srcnat priority), clearing the mark and
//     masquerading marked packets that leave by an interface other than
//     loopback: the endpoint answers the host, whose conntrack undoes both
//     translations, even when client and endpoint share a bridge and the
//     host does not pass bridged traffic through netfilter (kube-proxy
//     needs br_netfilter for that). The cost: an endpoint sees a Pod
//     client as the host's address on the Pod network, as it does through
//     the userspace proxy; clients on the host keep their own address when
//     the endpoint is on loopback.
//
// Each change rewrites the whole table in one nftables transaction, so the
// kernel never sees a partial rule set; established connections keep
// their translation in conntrack. A periodic resync rewrites it anyway.
// Run deletes the table when it ends.
//
// The table is Baton's by its name: Open takes over a table of that name,
// which lets a restarted host program replace the one its predecessor
// left, and so two KernelProxies on one host need different names.
package kernelproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

// DefaultTable is the nftables table a KernelProxy keeps unless told
// otherwise.
const DefaultTable = "baton"

// masqueradeMark is the packet mark bit that says "masquerade this": set
// by the Service port chains, read and cleared by postrouting. kube-proxy
// uses 0x4000 and 0x8000; Baton uses another bit so that both can run on
// one host. Calico's default mark mask (0xffff0000) covers it: do not run
// Calico on the same host.
const masqueradeMark = 0x00200000

// retryDelay is how long Run waits before trying again to write a rule
// set the kernel refused, or to delete conntrack entries.
const retryDelay = time.Second

// DefaultResyncPeriod is how often Run rewrites the table even though
// nothing changed, unless Config.ResyncPeriod says otherwise.
const DefaultResyncPeriod = time.Minute

// Config configures a KernelProxy.
type Config struct {
	// Resolver says which Services exist and which endpoints are ready.
	Resolver *discovery.Resolver
	// Table is the name of the nftables table (family ip) to keep; default
	// DefaultTable. Two KernelProxies on one host need different tables.
	Table string
	// Log receives what goes wrong; default no-op.
	Log *zap.Logger
	// ResyncPeriod is how often the table is rewritten even though nothing
	// changed, as kube-proxy resyncs, to put back a table that something
	// else changed or deleted; default DefaultResyncPeriod.
	ResyncPeriod time.Duration
}

// KernelProxy keeps the nftables table. Make one with Open and call Run.
type KernelProxy struct {
	cfg   Config
	conn  *nftables.Conn
	table *nftables.Table
	// applied is what the table translates now, and gone the UDP
	// endpoints that left whose flows' conntrack entries are still to be
	// deleted; only Run's goroutine uses them.
	applied []servicePort
	gone    map[portKey][]netip.AddrPort
	// mixed are the ports reportMixed has logged.
	mixed map[portKey]bool

	// mu guards the fields below.
	mu sync.Mutex
	// started counts the syncs begun; watching is the Resolver's Changed
	// channel the last one began with: it reads every change made before
	// that channel was handed out.
	started  uint64
	watching <-chan struct{}
	// completed is the number of the last sync that succeeded.
	completed uint64
	// progress is closed, and replaced, after each successful sync.
	progress chan struct{}
}

// Open connects to the kernel's nftables and writes the table, translating
// nothing yet, so that a host where Baton cannot program nftables (no
// CAP_NET_ADMIN, no nf_tables) fails here, before anything runs. A table
// of the same name is replaced. Call Run, which deletes the table when it
// ends; without Run the table stays.
func Open(cfg Config) (*KernelProxy, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("kernelproxy: Config.Resolver is required")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("kernelproxy: connect to nftables: %w", err)
	}
	k := &KernelProxy{cfg: cfg, conn: conn, progress: make(chan struct{}),
		table: &nftables.Table{Family: nftables.TableFamilyIPv4, Name: cfg.Table}}
	if err := k.write(nil); err != nil {
		return nil, fmt.Errorf("kernelproxy: create nftables table %q (needs CAP_NET_ADMIN and the kernel's nf_tables and nft_nat): %w", cfg.Table, err)
	}
	return k, nil
}

// Run keeps the table in step with the Resolver until ctx ends, then
// deletes it. It returns nil once the table is gone, or the error that
// kept it from deleting it.
func (k *KernelProxy) Run(ctx context.Context) error {
	resync := time.NewTicker(k.cfg.ResyncPeriod)
	defer resync.Stop()
	force := false // rewrite even if nothing changed, until a write succeeds
	for {
		k.mu.Lock()
		k.started++
		n := k.started
		changed := k.cfg.Resolver.Changed()
		k.watching = changed
		k.mu.Unlock()
		var retry <-chan time.Time
		if err := k.sync(force); err != nil {
			k.cfg.Log.Warn("cannot write the Service NAT rules; retrying", zap.String("table", k.cfg.Table), zap.Error(err))
			retry = time.After(retryDelay)
		} else {
			force = false
			k.mu.Lock()
			k.completed = n
			close(k.progress)
			k.progress = make(chan struct{})
			k.mu.Unlock()
			if err := k.forgetUDPFlows(); err != nil {
				k.cfg.Log.Warn("cannot delete the conntrack entries of UDP flows to endpoints that left; retrying",
					zap.String("table", k.cfg.Table), zap.Error(err))
				retry = time.After(retryDelay)
			}
		}
		select {
		case <-ctx.Done():
			return k.deleteTable()
		case <-changed:
		case <-retry:
		case <-resync.C:
			force = true
		}
	}
}

// WaitSynced returns once the table reflects every change the Resolver
// had when WaitSynced was called, or with ctx's error. A Pod that has just
// left a Service's endpoints gets no new connection after it returns, so
// Baton calls it before stopping a deleted Pod's containers. It waits for
// Run's next write, so without Run it waits until ctx ends.
func (k *KernelProxy) WaitSynced(ctx context.Context) error {
	k.mu.Lock()
	// If the Resolver has not changed since the last sync began, that
	// sync covers it; else Run is about to begin another, which will.
	need := k.started
	if k.cfg.Resolver.Changed() != k.watching {
		need++
	}
	k.mu.Unlock()
	for {
		k.mu.Lock()
		done, progress := k.completed >= need, k.progress
		k.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sync writes the table if what it should translate has changed, or
// always when force is set (the periodic resync, which also repairs a
// table changed behind Baton's back), and notes the UDP endpoints that
// left, for forgetUDPFlows.
func (k *KernelProxy) sync(force bool) error {
	want, mixed := desired(k.cfg.Resolver.Services())
	k.reportMixed(mixed)
	if equalPorts(want, k.applied) && !force {
		return nil
	}
	if err := k.write(want); err != nil {
		return err
	}
	k.gone = goneUDPEndpoints(k.gone, k.applied, want)
	k.applied = want
	return nil
}

// reportMixed logs, once each, the ports left to the userspace proxy
// because their cluster IP and endpoints are not alike loopback or not,
// which is what the default loopback service CIDR gives containerd Pods.
func (k *KernelProxy) reportMixed(mixed []portKey) {
	now := make(map[portKey]bool, len(mixed))
	for _, key := range mixed {
		now[key] = true
		if !k.mixed[key] {
			k.cfg.Log.Info("not translating a Service port in the kernel: "+errMixed.Error()+
				"; the userspace proxy serves it (give cluster IPs a range that is not loopback, with a host interface, for containers' endpoints)",
				zap.Stringer("clusterIP", key.ip), zap.Uint16("port", key.port), zap.String("protocol", string(key.protocol)))
		}
	}
	k.mixed = now
}

// forgetUDPFlows deletes the conntrack entries of UDP flows to the
// endpoints in k.gone, and forgets those it deleted.
func (k *KernelProxy) forgetUDPFlows() error {
	if len(k.gone) == 0 {
		return nil
	}
	if err := deleteUDPFlows(k.gone); err != nil {
		return err
	}
	k.gone = nil
	return nil
}

// write replaces the table with one translating ports, in one transaction.
func (k *KernelProxy) write(ports []servicePort) error {
	c := k.conn
	// Adding a table that exists is no error, deleting one that does not
	// is; so add, delete and add again, all in the same transaction.
	c.AddTable(k.table)
	c.DelTable(k.table)
	t := c.AddTable(k.table)
	services := c.AddChain(&nftables.Chain{Name: "services", Table: t})
	for _, hook := range []struct {
		name string
		hook *nftables.ChainHook
	}{{"prerouting", nftables.ChainHookPrerouting}, {"output", nftables.ChainHookOutput}} {
		base := c.AddChain(&nftables.Chain{Name: hook.name, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: hook.hook, Priority: nftables.ChainPriorityNATDest})
		c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: []expr.Any{
			&expr.Verdict{Kind: expr.VerdictJump, Chain: services.Name},
		}})
	}
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	// Only packets a port chain marked; clear the mark, as kube-proxy
	// does, so that a packet that comes round again is not masqueraded
	// twice; then masquerade, unless the packet stays on loopback, which
	// has no address masquerade could pick (the kernel would drop it) and
	// needs none: both ends are the host.
	c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(masqueradeMark), Xor: native32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(0)},
		&expr.Verdict{Kind: expr.VerdictReturn},
	}})
	c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: setMark(false)})
	c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname("lo")},
		&expr.Masq{},
	}})
	for i, p := range ports {
		chain := c.AddChain(&nftables.Chain{Name: fmt.Sprintf("port-%d", i), Table: t})
		c.AddRule(&nftables.Rule{Table: t, Chain: services, Exprs: matchPort(p, chain.Name)})
		c.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: setMark(true)})
		for j, ep := range p.Endpoints {
			var exprs []expr.Any
			if left := len(p.Endpoints) - j; left > 1 {
				// Endpoint j of those left, with probability 1/left.
				exprs = append(exprs,
					&expr.Numgen{Register: 1, Modulus: uint32(left), Type: unix.NFT_NG_RANDOM},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(0)})
			}
			exprs = append(exprs, dnat(ep)...)
			c.AddRule(&nftables.Rule{Table: t, Chain: chain, Exprs: exprs})
		}
	}
	return c.Flush()
}

// deleteTable removes the table and closes the connection.
func (k *KernelProxy) deleteTable() error {
	k.conn.DelTable(k.table)
	err := k.conn.Flush()
	k.applied = nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("kernelproxy: delete nftables table %q: %w", k.cfg.Table, err)
	}
	return nil
}

// matchPort matches packets to p's cluster IP, protocol and port, and
// goes to chain.
func matchPort(p servicePort, chain string) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if p.Protocol == api.ProtocolUDP {
		proto = unix.IPPROTO_UDP
	}
	ip := p.ClusterIP.As4()
	return []expr.Any{
		// ip daddr
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip[:]},
		// meta l4proto
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		// th dport (the same offset in TCP and UDP)
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, p.Port)},
		&expr.Verdict{Kind: expr.VerdictGoto, Chain: chain},
	}
}

// setMark sets masqueradeMark in the packet's mark when on, clears it
// when not, keeping the mark's other bits.
func setMark(on bool) []expr.Any {
	xor := uint32(0)
	if on {
		xor = masqueradeMark
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: native32(^uint32(masqueradeMark)), Xor: native32(xor)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// dnat translates the destination to ep.
func dnat(ep netip.AddrPort) []expr.Any {
	ip := ep.Addr().As4()
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ip[:]},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, ep.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

// ifname is name as the kernel compares interface names: NUL-padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// native32 is v as the kernel's registers hold a 32-bit value.
func native32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// deleteUDPFlows deletes the conntrack entries of the UDP flows to each
// port of gone that were translated to the address of one of its
// endpoints, in one pass over the conntrack table. A dump the kernel
// interrupts (the table changed meanwhile) is tried again a few times.
func deleteUDPFlows(gone map[portKey][]netip.AddrPort) error {
	var filters []netlink.CustomConntrackFilter
	for key, eps := range gone {
		ip := key.ip.As4()
		for _, ep := range eps {
			f := &netlink.ConntrackFilter{}
			epIP := ep.Addr().As4()
			if err := errors.Join(
				f.AddProtocol(unix.IPPROTO_UDP),
				f.AddIP(netlink.ConntrackOrigDstIP, net.IP(ip[:])),
				f.AddPort(netlink.ConntrackOrigDstPort, key.port),
				f.AddIP(netlink.ConntrackReplySrcIP, net.IP(epIP[:])),
			); err != nil {
				return err
			}
			filters = append(filters, f)
		}
	}
	var err error
	for range 5 {
		if _, err = netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}
