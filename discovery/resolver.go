package discovery

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/batonhq/baton/api"
)

// DefaultClusterDomain is the cluster domain Service names end in unless
// WithClusterDomain says otherwise, as in Kubernetes.
const DefaultClusterDomain = "cluster.local"

// Resolver indexes Services and their EndpointSlices so that a Service
// name resolves to its ready endpoints in constant time. It is fed by
// SetService, DeleteService, SetEndpointSlice and DeleteEndpointSlice
// (Baton feeds it from its store as each write commits, so a change is in
// the Resolver before the write that made it returns; a reader of the store
// may see it a moment earlier), and read by Lookup, Resolve, Services and
// the Dialer.
//
// It is safe for concurrent use: one writer at a time, readers never wait
// for writers. Reads return immutable snapshots that share memory with the
// index; callers must not modify them.
type Resolver struct {
	domain string

	// mu serialises writers and guards entries, sliceOwner, changed, pods
	// and podRefs.
	mu         sync.Mutex
	entries    map[string]*entry // by "namespace/name" of the Service
	sliceOwner map[string]string // "namespace/slice" to the key of its Service
	changed    chan struct{}     // closed at the next change
	// pods overrides the endpoints of Pods being deleted, by UID, until no
	// slice lists them; podRefs has the keys of the Services whose slices
	// list each Pod.
	pods    map[string]podState
	podRefs map[string]map[string]struct{}

	// Read without mu: service key to *Service, and cluster IP to *Service.
	byKey sync.Map
	byIP  sync.Map
}

// entry is the writer's state of one Service key. It exists while the
// Service or any of its slices does.
type entry struct {
	svc    *api.Service
	slices map[string]*api.EndpointSlice // by name
	// bals keeps the balancing state of each port ("name/protocol") across
	// rebuilds; adhoc that of the ports of a headless Service that are no
	// Service port (see Resolve).
	bals  map[string]*balance
	adhoc *sync.Map
	snap  *Service
	// uids are the Pods the slices list, by UID.
	uids map[string]struct{}
}

// podState is what the Resolver has been told of a Pod ahead of its
// slices.
type podState uint8

const (
	podTerminating podState = iota + 1
	podDeleted
)

// ResolverOption configures NewResolver.
type ResolverOption func(*Resolver)

// WithClusterDomain sets the cluster domain, "cluster.local" by default.
func WithClusterDomain(domain string) ResolverOption {
	return func(r *Resolver) { r.domain = domain }
}

// NewResolver returns an empty Resolver.
func NewResolver(opts ...ResolverOption) *Resolver {
	r := &Resolver{
		domain:     DefaultClusterDomain,
		entries:    map[string]*entry{},
		sliceOwner: map[string]string{},
		changed:    make(chan struct{}),
		pods:       map[string]podState{},
		podRefs:    map[string]map[string]struct{}{},
	}
	for _, opt := range opts {
		opt(r)
	}
	r.domain = trimDot(lower(r.domain))
	return r
}

// ClusterDomain returns the cluster domain, such as "cluster.local".
func (r *Resolver) ClusterDomain() string { return r.domain }

// Service is a snapshot of one Service and its endpoints. It is immutable:
// a change to the Service or its endpoints makes a new snapshot.
type Service struct {
	Namespace string
	Name      string
	// ClusterIP is the Service's virtual address, or the zero Addr when the
	// Service is headless or has none yet.
	ClusterIP netip.Addr
	// Headless is true for clusterIP "None".
	Headless        bool
	Type            api.ServiceType
	SessionAffinity api.ServiceAffinity
	// Ports are the Service's ports, in spec order.
	Ports []*Port
	// Endpoints are the Service's endpoints, one per address, sorted by
	// address; DNS answers for headless Services come from them.
	Endpoints []Endpoint
	// Object is the Service as stored. It is shared: do not modify it.
	Object *api.Service

	adhoc *sync.Map
}

// Port is one port of a Service, with the endpoints that serve it.
type Port struct {
	// Service is the snapshot the port belongs to.
	Service  *Service
	Name     string
	Protocol api.Protocol
	// Port is the Service's port number; NodePort its node port, or 0.
	Port     int32
	NodePort int32
	// Ready are the endpoints taking new connections, sorted.
	Ready []netip.AddrPort
	// Terminating are the endpoints of terminating Pods that still serve,
	// sorted. They take new connections only when Ready is empty.
	Terminating []netip.AddrPort

	bal *balance
}

// Endpoint is one address behind a Service.
type Endpoint struct {
	Addr netip.Addr
	// Hostname is the endpoint's hostname, or "".
	Hostname                    string
	Ready, Serving, Terminating bool
	// Pod and Node name the Pod behind the endpoint and its Node, when
	// known.
	Pod, Node string
}

// Key returns "namespace/name".
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// OlderThan reports whether s was created before o (by creation time, then
// by namespace and name). When two Services claim one cluster IP port (a
// conflict the allocator reports), the older one keeps it: in Lookup, in
// the userspace proxy and in the kernel's translation alike.
func (s *Service) OlderThan(o *Service) bool { return olderThan(s.Object, o.Object) }

// String returns "namespace/name port/protocol", such as "default/web 80/TCP".
func (p *Port) String() string {
	return p.Service.Key() + " " + strconv.Itoa(int(p.Port)) + "/" + string(p.Protocol)
}

// Candidates returns the endpoints a new connection may go to: Ready, or,
// when none is ready, Terminating.
func (p *Port) Candidates() []netip.AddrPort {
	if len(p.Ready) > 0 {
		return p.Ready
	}
	return p.Terminating
}

// SetService adds or replaces a Service. r keeps svc: the caller must not
// modify it afterwards.
func (r *Resolver) SetService(svc *api.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := svc.Namespace + "/" + svc.Name
	e := r.entryLocked(key)
	e.svc = svc
	r.rebuildLocked(key, e)
}

// DeleteService removes a Service; its slices are kept until they are
// deleted too.
func (r *Resolver) DeleteService(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := namespace + "/" + name
	if e := r.entries[key]; e != nil {
		e.svc = nil
		r.rebuildLocked(key, e)
	}
}

// SetEndpointSlice adds or replaces an EndpointSlice; it belongs to the
// Service its LabelServiceName label names, and is ignored without one. r
// keeps s: the caller must not modify it afterwards.
func (r *Resolver) SetEndpointSlice(s *api.EndpointSlice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sliceKey := s.Namespace + "/" + s.Name
	owner := ""
	if name := s.Labels[api.LabelServiceName]; name != "" {
		owner = s.Namespace + "/" + name
	}
	if old, ok := r.sliceOwner[sliceKey]; ok && old != owner {
		r.removeSliceLocked(old, s.Name)
	}
	if owner == "" {
		delete(r.sliceOwner, sliceKey)
		return
	}
	r.sliceOwner[sliceKey] = owner
	e := r.entryLocked(owner)
	e.slices[s.Name] = s
	r.rebuildLocked(owner, e)
}

// DeleteEndpointSlice removes an EndpointSlice.
func (r *Resolver) DeleteEndpointSlice(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sliceKey := namespace + "/" + name
	if owner, ok := r.sliceOwner[sliceKey]; ok {
		delete(r.sliceOwner, sliceKey)
		r.removeSliceLocked(owner, name)
	}
}

func (r *Resolver) removeSliceLocked(owner, name string) {
	if e := r.entries[owner]; e != nil {
		delete(e.slices, name)
		r.rebuildLocked(owner, e)
	}
}

func (r *Resolver) entryLocked(key string) *entry {
	e := r.entries[key]
	if e == nil {
		e = &entry{slices: map[string]*api.EndpointSlice{}, bals: map[string]*balance{}, adhoc: &sync.Map{}}
		r.entries[key] = e
	}
	return e
}

// PodTerminating tells r that the Pod with uid is being deleted: its
// endpoints stop being ready at once, whatever its slices say, until they
// no longer list it. Baton calls it while committing the Pod's
// deletionTimestamp, before any node agent can start stopping the Pod's
// containers, so that no new connection goes to a Pod that may be about
// to close its listeners.
func (r *Resolver) PodTerminating(uid string) { r.setPod(uid, podTerminating) }

// PodDeleted tells r that the Pod with uid is gone: its endpoints are
// neither ready nor serving, whatever its slices say, until they no longer
// list it.
func (r *Resolver) PodDeleted(uid string) { r.setPod(uid, podDeleted) }

func (r *Resolver) setPod(uid string, st podState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	refs := r.podRefs[uid]
	if len(refs) == 0 || r.pods[uid] >= st {
		return // no slice lists it: nothing to override
	}
	r.pods[uid] = st
	for key := range refs {
		if e := r.entries[key]; e != nil {
			r.rebuildLocked(key, e)
		}
	}
}

// notePodsLocked records which Pods e's slices list, and forgets the
// overrides of Pods no slice lists any more.
func (r *Resolver) notePodsLocked(key string, e *entry) {
	uids := map[string]struct{}{}
	for _, s := range e.slices {
		for i := range s.Endpoints {
			if ref := s.Endpoints[i].TargetRef; ref != nil && ref.UID != "" {
				uids[ref.UID] = struct{}{}
			}
		}
	}
	for uid := range uids {
		if _, ok := e.uids[uid]; !ok {
			if r.podRefs[uid] == nil {
				r.podRefs[uid] = map[string]struct{}{}
			}
			r.podRefs[uid][key] = struct{}{}
		}
	}
	for uid := range e.uids {
		if _, ok := uids[uid]; !ok {
			delete(r.podRefs[uid], key)
			if len(r.podRefs[uid]) == 0 {
				delete(r.podRefs, uid)
				delete(r.pods, uid)
			}
		}
	}
	e.uids = uids
}

// rebuildLocked makes a new snapshot of key's Service, publishes it and
// wakes Changed waiters.
func (r *Resolver) rebuildLocked(key string, e *entry) {
	r.notePodsLocked(key, e)
	old := e.snap
	var snap *Service
	if e.svc != nil {
		snap = build(e, r.pods)
	}
	e.snap = snap
	if snap == nil {
		r.byKey.Delete(key)
		e.bals = map[string]*balance{}
		e.adhoc = &sync.Map{}
		if len(e.slices) == 0 {
			delete(r.entries, key)
		}
	} else {
		r.byKey.Store(key, snap)
	}
	if old != nil && old.ClusterIP.IsValid() && (snap == nil || snap.ClusterIP != old.ClusterIP) {
		if v, ok := r.byIP.Load(old.ClusterIP); ok && v.(*Service).Key() == key {
			r.byIP.Delete(old.ClusterIP)
			// Hand the address to another Service that claims it too.
			for k, other := range r.entries {
				if k != key && other.snap != nil && other.snap.ClusterIP == old.ClusterIP {
					r.claimIPLocked(other.snap)
				}
			}
		}
	}
	if snap != nil && snap.ClusterIP.IsValid() {
		r.claimIPLocked(snap)
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// claimIPLocked maps snap's cluster IP to it, unless an older Service
// holds the same address (a conflict the allocator reports).
func (r *Resolver) claimIPLocked(snap *Service) {
	if v, ok := r.byIP.Load(snap.ClusterIP); ok {
		cur := v.(*Service)
		if cur.Key() != snap.Key() && r.stillClaims(cur) && olderThan(cur.Object, snap.Object) {
			return
		}
	}
	r.byIP.Store(snap.ClusterIP, snap)
}

// stillClaims reports whether cur is the current snapshot of its Service.
func (r *Resolver) stillClaims(cur *Service) bool {
	v, ok := r.byKey.Load(cur.Key())
	return ok && v.(*Service).ClusterIP == cur.ClusterIP
}

func olderThan(a, b *api.Service) bool {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c < 0
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// build makes the snapshot of e's Service from its spec and slices.
func build(e *entry, pods map[string]podState) *Service {
	svc := e.svc
	snap := &Service{
		Namespace:       svc.Namespace,
		Name:            svc.Name,
		Headless:        svc.Spec.ClusterIP == api.ClusterIPNone,
		Type:            svc.Spec.Type,
		SessionAffinity: svc.Spec.SessionAffinity,
		Object:          svc,
		adhoc:           e.adhoc,
	}
	if snap.Type == "" {
		snap.Type = api.ServiceTypeClusterIP
	}
	if !snap.Headless {
		if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
			snap.ClusterIP = ip
		}
	}
	sliceNames := make([]string, 0, len(e.slices))
	for name := range e.slices {
		sliceNames = append(sliceNames, name)
	}
	slices.Sort(sliceNames)

	// Endpoints by address, merged across slices.
	byAddr := map[netip.Addr]*Endpoint{}
	for _, name := range sliceNames {
		for i := range e.slices[name].Endpoints {
			ep := &e.slices[name].Endpoints[i]
			addr, ok := firstAddr(ep)
			if !ok {
				continue
			}
			cur := byAddr[addr]
			if cur == nil {
				cur = &Endpoint{Addr: addr}
				byAddr[addr] = cur
			}
			ready, serving, terminating := conditions(ep, pods)
			cur.Ready = cur.Ready || ready
			cur.Serving = cur.Serving || serving
			cur.Terminating = cur.Terminating || terminating
			if ep.Hostname != nil && cur.Hostname == "" {
				cur.Hostname = *ep.Hostname
			}
			if ep.NodeName != nil && cur.Node == "" {
				cur.Node = *ep.NodeName
			}
			if ep.TargetRef != nil && ep.TargetRef.Kind == api.KindPod && cur.Pod == "" {
				cur.Pod = ep.TargetRef.Name
			}
		}
	}
	snap.Endpoints = make([]Endpoint, 0, len(byAddr))
	for _, ep := range byAddr {
		snap.Endpoints = append(snap.Endpoints, *ep)
	}
	slices.SortFunc(snap.Endpoints, func(a, b Endpoint) int { return a.Addr.Compare(b.Addr) })

	bals := make(map[string]*balance, len(svc.Spec.Ports))
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		protocol := sp.Protocol
		if protocol == "" {
			protocol = api.ProtocolTCP
		}
		balKey := sp.Name + "/" + string(protocol)
		bal := e.bals[balKey]
		if bal == nil {
			bal = newBalance()
		}
		bals[balKey] = bal
		port := &Port{Service: snap, Name: sp.Name, Protocol: protocol, Port: sp.Port, NodePort: sp.NodePort, bal: bal}
		port.Ready, port.Terminating = portEndpoints(e, pods, sliceNames, sp.Name, protocol)
		snap.Ports = append(snap.Ports, port)
	}
	e.bals = bals
	return snap
}

// portEndpoints collects the endpoints of the slice ports that resolve
// Service port name/protocol.
func portEndpoints(e *entry, pods map[string]podState, sliceNames []string, name string, protocol api.Protocol) (ready, terminating []netip.AddrPort) {
	seen := map[netip.AddrPort]bool{}
	for _, sliceName := range sliceNames {
		s := e.slices[sliceName]
		for _, sp := range s.Ports {
			if sp.PortName() != name || sp.PortProtocol() != protocol {
				continue
			}
			number := sp.PortNumber()
			if number < 1 || number > 65535 {
				continue
			}
			for i := range s.Endpoints {
				ep := &s.Endpoints[i]
				addr, ok := firstAddr(ep)
				if !ok {
					continue
				}
				ap := netip.AddrPortFrom(addr, uint16(number))
				isReady, isServing, isTerminating := conditions(ep, pods)
				switch {
				case isReady:
					seen[ap] = true
				case isServing && isTerminating:
					if _, ok := seen[ap]; !ok {
						seen[ap] = false
					}
				}
			}
		}
	}
	for ap, isReady := range seen {
		if isReady {
			ready = append(ready, ap)
		} else {
			terminating = append(terminating, ap)
		}
	}
	slices.SortFunc(ready, netip.AddrPort.Compare)
	slices.SortFunc(terminating, netip.AddrPort.Compare)
	return ready, terminating
}

// conditions reads ep's conditions, overridden by what the Resolver was
// told of its Pod.
func conditions(ep *api.Endpoint, pods map[string]podState) (ready, serving, terminating bool) {
	c := ep.Conditions
	ready, serving, terminating = c.IsReady(), c.IsServing(), c.IsTerminating()
	if ep.TargetRef == nil {
		return
	}
	switch pods[ep.TargetRef.UID] {
	case podTerminating:
		return false, serving, true
	case podDeleted:
		return false, false, true
	}
	return
}

func firstAddr(ep *api.Endpoint) (netip.Addr, bool) {
	if len(ep.Addresses) == 0 {
		return netip.Addr{}, false
	}
	addr, err := netip.ParseAddr(ep.Addresses[0])
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// Changed returns a channel that is closed at the next change to any
// Service or EndpointSlice. Callers re-read what they need, then wait on a
// fresh channel.
func (r *Resolver) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Service returns the snapshot of Service namespace/name, or nil.
func (r *Resolver) Service(namespace, name string) *Service {
	if v, ok := r.byKey.Load(namespace + "/" + name); ok {
		return v.(*Service)
	}
	return nil
}

// Services returns a snapshot of every Service, sorted by namespace and
// name.
func (r *Resolver) Services() []*Service {
	var out []*Service
	r.byKey.Range(func(_, v any) bool {
		out = append(out, v.(*Service))
		return true
	})
	slices.SortFunc(out, func(a, b *Service) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Lookup returns the Service host names: "<service>.<namespace>",
// optionally with ".svc" or ".svc.<cluster domain>" and a final dot, in any
// case, or the Service's cluster IP. It fails with an error matching
// api.ErrInvalid when host is neither, and api.ErrNotFound when no such
// Service exists.
func (r *Resolver) Lookup(host string) (*Service, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if v, ok := r.byIP.Load(ip.Unmap()); ok {
			return v.(*Service), nil
		}
		return nil, fmt.Errorf("%s is the cluster IP of no Service: %w", host, api.ErrNotFound)
	}
	namespace, name, ok := r.ParseServiceName(host)
	if !ok {
		return nil, fmt.Errorf("%q is not a Service address: want <service>.<namespace>, optionally followed by .svc.%s, or a Service's cluster IP: %w",
			host, r.domain, api.ErrInvalid)
	}
	if svc := r.Service(namespace, name); svc != nil {
		return svc, nil
	}
	return nil, fmt.Errorf("no Service %q in namespace %q (from %q): %w", name, namespace, host, api.ErrNotFound)
}

// Resolve returns the port of the Service host names (see Lookup) that
// port names, by number or by name, for protocol ("" means TCP). For a
// headless Service, a port number that is no Service port means that port
// on the Pods themselves, as a client of the Service's DNS records would
// use it. It fails with api.ErrInvalid or api.ErrNotFound, as Lookup does,
// and with api.ErrNotFound when the Service has no such port. The returned
// Port may have no endpoints.
func (r *Resolver) Resolve(host, port string, protocol api.Protocol) (*Port, error) {
	svc, err := r.Lookup(host)
	if err != nil {
		return nil, err
	}
	return svc.Port(port, protocol)
}

// Port returns the port of s that port names, as Resolve does.
func (s *Service) Port(port string, protocol api.Protocol) (*Port, error) {
	if protocol == "" {
		protocol = api.ProtocolTCP
	}
	number, err := strconv.Atoi(port)
	byNumber := err == nil
	if byNumber && (number < 1 || number > 65535) {
		return nil, fmt.Errorf("port %q is not a port number between 1 and 65535: %w", port, api.ErrInvalid)
	}
	for _, p := range s.Ports {
		if p.Protocol == protocol && ((byNumber && int(p.Port) == number) || (!byNumber && p.Name == port)) {
			return p, nil
		}
	}
	if byNumber && s.Headless {
		return s.adhocPort(int32(number), protocol), nil
	}
	return nil, fmt.Errorf("service %s has no %s port %q: %w", s.Key(), protocol, port, api.ErrNotFound)
}

// adhocPort returns the port number of a headless Service's Pods.
func (s *Service) adhocPort(number int32, protocol api.Protocol) *Port {
	p := &Port{Service: s, Protocol: protocol, Port: number}
	for _, ep := range s.Endpoints {
		ap := netip.AddrPortFrom(ep.Addr, uint16(number))
		switch {
		case ep.Ready:
			p.Ready = append(p.Ready, ap)
		case ep.Serving && ep.Terminating:
			p.Terminating = append(p.Terminating, ap)
		}
	}
	bal, _ := s.adhoc.LoadOrStore(strconv.Itoa(int(number))+"/"+string(protocol), newBalance())
	p.bal = bal.(*balance)
	return p
}
