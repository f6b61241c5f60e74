// Package serviceip allocates Services' cluster IPs and node ports, as
// Kubernetes' API server does at creation, and repairs what was missed.
//
// A Service that leaves spec.clusterIP empty gets a free address from the
// service CIDR (default 127.64.0.0/16: loopback addresses, so that the
// proxy can listen on them without colliding with another Service's
// ports; or any IPv4 range whose addresses the proxy assigns to a host
// interface, see Config.HostInterface); a NodePort Service gets a free node port in 30000-32767 for each
// port that leaves nodePort 0. Addresses are picked at random, like
// Kubernetes', so that Orchestrators sharing a host seldom pick the same
// one. A Service whose allocation was cleared by an update (a manifest
// applied without clusterIP) gets the same values back while they are
// free. A requested address or node port that another, older Service holds
// is not taken from it: the newer Service gets a Warning event and keeps
// its spec, and the proxy does not serve it until the conflict is
// resolved.
package serviceip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// DefaultCIDR is the range cluster IPs are allocated from by default.
const DefaultCIDR = "127.64.0.0/16"

// Config says where cluster IPs and node ports come from.
type Config struct {
	// CIDR is the IPv4 range cluster IPs are allocated from; it must lie in
	// 127.0.0.0/8 unless HostInterface is set. The zero value means
	// DefaultCIDR.
	CIDR netip.Prefix
	// HostInterface says the proxy assigns each cluster IP to a host
	// interface (see internal/svcnet), so that containers in their own
	// network namespaces reach it: CIDR must then be a non-loopback range,
	// and a Service's own clusterIP must lie in it.
	HostInterface bool
	// Reserved addresses of CIDR are never given to a Service, such as the
	// cluster DNS server's.
	Reserved []netip.Addr
}

func (c Config) cidr() netip.Prefix {
	if c.CIDR.IsValid() {
		return c.CIDR.Masked()
	}
	return netip.MustParsePrefix(DefaultCIDR)
}

// loopback is the range every Linux host routes to its loopback interface.
var loopback = netip.MustParsePrefix("127.0.0.0/8")

// Check reports whether c can be used.
func (c Config) Check() error {
	p := c.cidr()
	switch {
	case c.HostInterface && (!p.Addr().Is4() || loopback.Overlaps(p) || p.Bits() < 8 || p.Bits() > 30):
		return fmt.Errorf("service CIDR %s must be an IPv4 range of 4 or more addresses outside 127.0.0.0/8, such as 10.97.0.0/16, "+
			"when cluster IPs are assigned to a host interface: %w", p, api.ErrInvalid)
	case !c.HostInterface && (!p.Addr().Is4() || !loopback.Contains(p.Addr()) || p.Bits() < 8 || p.Bits() > 30):
		return fmt.Errorf("service CIDR %s must be an IPv4 range of 4 or more addresses within 127.0.0.0/8, such as %s "+
			"(or any IPv4 range, with a host interface for cluster IPs): %w", p, DefaultCIDR, api.ErrInvalid)
	}
	return nil
}

// checkRequested returns "" if ip may be asked for as a cluster IP: in the
// range the proxy can listen on, neither its network nor its broadcast
// address, and not reserved.
func (c Config) checkRequested(ip netip.Addr) string {
	p := loopback
	if c.HostInterface {
		p = c.cidr()
	}
	if !p.Contains(ip) || ip == p.Addr() || ip == lastAddr(p) {
		return fmt.Sprintf("%s is outside the service CIDR %s, or its network or broadcast address: leave clusterIP empty for Baton to pick a free address",
			ip, p)
	}
	if slices.Contains(c.Reserved, ip) {
		return fmt.Sprintf("%s is reserved (for the cluster DNS server): leave clusterIP empty for Baton to pick a free address", ip)
	}
	return ""
}

// lastAddr returns the broadcast address of IPv4 range p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= 1<<(32-p.Bits()) - 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// Allocator allocates within one store transaction: it knows every
// address and node port the transaction's Services hold.
type Allocator struct {
	cfg       Config
	ips       map[netip.Addr]*api.Service
	nodePorts map[string]*api.Service // "port/protocol"
	// remembered offers each Service UID its previous values first.
	remembered func(uid string) (allocation, bool)
}

// allocation is what a Service was given.
type allocation struct {
	ip        netip.Addr
	nodePorts map[string]int32 // by "name/protocol" of the Service port
}

// NewAllocator returns an Allocator for the Services tx shows. It scans
// them all, once.
func NewAllocator(tx store.ReadTx, cfg Config) *Allocator {
	a := &Allocator{cfg: cfg, ips: map[netip.Addr]*api.Service{}, nodePorts: map[string]*api.Service{}}
	tx.Each(api.KindService, "", func(o api.Object) bool {
		a.note(o.(*api.Service))
		return true
	})
	return a
}

// note records what svc holds, where an older Service does not hold it.
func (a *Allocator) note(svc *api.Service) {
	if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
		if cur, ok := a.ips[ip]; !ok || older(svc, cur) {
			a.ips[ip] = svc
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			key := nodePortKey(p.NodePort, p.Protocol)
			if cur, ok := a.nodePorts[key]; !ok || older(svc, cur) {
				a.nodePorts[key] = svc
			}
		}
	}
}

func older(a, b *api.Service) bool {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c < 0
	}
	return a.UID < b.UID
}

func nodePortKey(port int32, protocol api.Protocol) string {
	if protocol == "" {
		protocol = api.ProtocolTCP
	}
	return strconv.Itoa(int(port)) + "/" + string(protocol)
}

func portKey(p api.ServicePort) string {
	protocol := p.Protocol
	if protocol == "" {
		protocol = api.ProtocolTCP
	}
	return p.Name + "/" + string(protocol)
}

// Allocate fills, in svc (the caller's own copy), a cluster IP when it has
// none and is not headless, and a node port for each port of a NodePort
// Service that has none. It reports an address or node port svc asks for
// that another Service holds, and a range with nothing free, as field
// errors; what could be allocated is allocated all the same.
func (a *Allocator) Allocate(svc *api.Service) api.FieldErrors {
	var errs api.FieldErrors
	var prev allocation
	if a.remembered != nil && svc.UID != "" {
		prev, _ = a.remembered(svc.UID)
	}
	switch ip, err := netip.ParseAddr(svc.Spec.ClusterIP); {
	case svc.Spec.ClusterIP == api.ClusterIPNone:
	case svc.Spec.ClusterIP == "":
		ip, ok := a.freeIP(prev.ip)
		if !ok {
			errs.Add("spec.clusterIP", "no free address is left in the service CIDR %s: delete Services or configure a larger range", a.cfg.cidr())
			break
		}
		svc.Spec.ClusterIP = ip.String()
		a.ips[ip] = svc
	case err != nil:
	default:
		if problem := a.cfg.checkRequested(ip); problem != "" {
			errs.Add("spec.clusterIP", "%s", problem)
		} else if cur, ok := a.ips[ip]; ok && cur.UID != svc.UID && !older(svc, cur) {
			errs.Add("spec.clusterIP", "%s is already allocated to Service %s/%s: leave clusterIP empty for Baton to pick a free address",
				ip, cur.Namespace, cur.Name)
		} else {
			a.ips[ip] = svc
		}
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := fmt.Sprintf("spec.ports[%d].nodePort", i)
		switch {
		case svc.Spec.Type != api.ServiceTypeNodePort:
		case p.NodePort == 0:
			port, ok := a.freeNodePort(prev.nodePorts[portKey(*p)], p.Protocol)
			if !ok {
				errs.Add(path, "no free node port is left in %d-%d", api.MinNodePort, api.MaxNodePort)
				continue
			}
			p.NodePort = port
			a.nodePorts[nodePortKey(port, p.Protocol)] = svc
		default:
			key := nodePortKey(p.NodePort, p.Protocol)
			if cur, ok := a.nodePorts[key]; ok && cur.UID != svc.UID && !older(svc, cur) {
				errs.Add(path, "%s is already allocated to Service %s/%s: leave nodePort 0 for Baton to pick a free one",
					key, cur.Namespace, cur.Name)
			} else {
				a.nodePorts[key] = svc
			}
		}
	}
	return errs
}

// freeIP returns want if it is free and in range, else a random free
// address of the range.
func (a *Allocator) freeIP(want netip.Addr) (netip.Addr, bool) {
	p := a.cfg.cidr()
	if want.IsValid() && p.Contains(want) && !slices.Contains(a.cfg.Reserved, want) {
		if _, taken := a.ips[want]; !taken {
			return want, true
		}
	}
	base := p.Addr().As4()
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - p.Bits())
	usable := size - 2 // not the network nor the broadcast address
	start := rand.Uint32N(usable)
	for i := range usable {
		n := first + 1 + (start+i)%usable
		ip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		if _, taken := a.ips[ip]; !taken && !slices.Contains(a.cfg.Reserved, ip) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func (a *Allocator) freeNodePort(want int32, protocol api.Protocol) (int32, bool) {
	if want >= api.MinNodePort && want <= api.MaxNodePort {
		if _, taken := a.nodePorts[nodePortKey(want, protocol)]; !taken {
			return want, true
		}
	}
	size := int32(api.MaxNodePort - api.MinNodePort + 1)
	start := rand.Int32N(size)
	for i := range size {
		port := api.MinNodePort + (start+i)%size
		if _, taken := a.nodePorts[nodePortKey(port, protocol)]; !taken {
			return port, true
		}
	}
	return 0, false
}

// Reconciler allocates for Services that lack cluster IPs or node ports
// and reports conflicts as Warning events.
type Reconciler struct {
	Store  *store.Store
	Events events.Source
	Config Config

	mu         sync.Mutex // guards remembered
	remembered map[string]allocation
}

var _ controller.BatchReconciler = (*Reconciler)(nil)

// Register makes c reconcile each Service when it changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindService, func(ch store.Change) []controller.Request {
		r.remember(ch)
		return controller.Same(ch)
	})
}

// remember keeps what a Service held before an update cleared it, and
// forgets deleted Services. It runs under the store's write lock.
func (r *Reconciler) remember(ch store.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.remembered == nil {
		r.remembered = map[string]allocation{}
	}
	svc := ch.Object.(*api.Service)
	if ch.Type == store.Deleted {
		delete(r.remembered, svc.UID)
		return
	}
	if ch.Type != store.Modified {
		return
	}
	old := ch.Old.(*api.Service)
	prev := r.remembered[svc.UID]
	if ip, err := netip.ParseAddr(old.Spec.ClusterIP); err == nil {
		prev.ip = ip
	}
	for _, p := range old.Spec.Ports {
		if p.NodePort != 0 {
			if prev.nodePorts == nil {
				prev.nodePorts = map[string]int32{}
			}
			prev.nodePorts[portKey(p)] = p.NodePort
		}
	}
	if prev.ip.IsValid() || prev.nodePorts != nil {
		r.remembered[svc.UID] = prev
	}
}

func (r *Reconciler) recall(uid string) (allocation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.remembered[uid]
	return a, ok
}

// Reconcile allocates for one Service.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	out := r.ReconcileBatch(ctx, []controller.Request{req})
	return out[0].Result, out[0].Err
}

// ReconcileBatch allocates for many Services in one store transaction.
func (r *Reconciler) ReconcileBatch(ctx context.Context, reqs []controller.Request) []controller.Outcome {
	outcomes := make([]controller.Outcome, len(reqs))
	type report struct {
		svc  *api.Service
		errs api.FieldErrors
	}
	var reports []report
	err := r.Store.Update(func(tx store.Tx) error {
		reports = reports[:0]
		a := NewAllocator(tx, r.Config)
		a.remembered = r.recall
		for _, req := range reqs {
			svc, err := store.Get[*api.Service](tx, req.Namespace, req.Name)
			if store.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			next := svc.DeepCopy()
			errs := a.Allocate(next)
			if len(errs) > 0 {
				reports = append(reports, report{svc: svc, errs: errs})
			}
			if next.Spec.ClusterIP == svc.Spec.ClusterIP && portsSame(next, svc) {
				continue
			}
			if err := tx.Update(next); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range outcomes {
			outcomes[i].Err = err
		}
		return outcomes
	}
	for _, rep := range reports {
		for _, fe := range rep.errs {
			r.Events.Warning(rep.svc, "AllocationFailed", "%s", fe.Error())
		}
	}
	return outcomes
}

func portsSame(a, b *api.Service) bool {
	for i := range a.Spec.Ports {
		if a.Spec.Ports[i].NodePort != b.Spec.Ports[i].NodePort {
			return false
		}
	}
	return true
}
