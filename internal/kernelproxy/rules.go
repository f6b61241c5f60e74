package kernelproxy

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

// servicePort is one cluster IP port the kernel translates: new
// connections to ClusterIP:Port over Protocol go to one of Endpoints,
// picked at random.
type servicePort struct {
	ClusterIP netip.Addr
	Port      uint16
	Protocol  api.Protocol
	Endpoints []netip.AddrPort // sorted, not empty
}

func (p servicePort) key() portKey {
	return portKey{ip: p.ClusterIP, port: p.Port, protocol: p.Protocol}
}

// portKey names a servicePort without its endpoints.
type portKey struct {
	ip       netip.Addr
	port     uint16
	protocol api.Protocol
}

// desired returns the Service ports the kernel should translate, sorted:
// every TCP and UDP port of a Service with an IPv4 cluster IP that has a
// ready IPv4 endpoint, where the cluster IP and every endpoint are alike
// loopback addresses or alike not. The rest is left to the userspace
// proxy, which listens on every cluster IP port:
//
//   - ports with no ready endpoint (the proxy sends their connections to
//     an endpoint that is terminating but still serving, or refuses them);
//   - Services with sessionAffinity ClientIP (it keeps their affinity; a
//     table rewritten whole on each change would forget it);
//   - a loopback cluster IP with endpoints that are not loopback (the
//     kernel will not send a packet from 127.0.0.1 out of another
//     interface) and a cluster IP that is not loopback with loopback
//     endpoints (a packet from a container may not be sent to 127.0.0.0/8).
//
// When two Services claim one cluster IP port (a conflict the allocator
// reports), the older one owns it, as in the proxy and in Lookup; if it
// has nothing the kernel can translate, the port is left to the proxy.
//
// mixed lists the ports left to the proxy because of their address kinds,
// which a user may not expect; see KernelProxy.sync.
func desired(services []*discovery.Service) (ports []servicePort, mixed []portKey) {
	owner := map[portKey]*discovery.Service{}
	for _, svc := range services {
		if !svc.ClusterIP.IsValid() || !svc.ClusterIP.Is4() {
			continue
		}
		for _, port := range svc.Ports {
			key := portKey{ip: svc.ClusterIP, port: uint16(port.Port), protocol: port.Protocol}
			if cur, ok := owner[key]; !ok || svc.OlderThan(cur) {
				owner[key] = svc
			}
		}
	}
	for key, svc := range owner {
		if svc.SessionAffinity == api.ServiceAffinityClientIP ||
			key.protocol != api.ProtocolTCP && key.protocol != api.ProtocolUDP || key.port == 0 {
			continue
		}
		for _, port := range svc.Ports {
			if uint16(port.Port) != key.port || port.Protocol != key.protocol {
				continue
			}
			switch eps, err := translatable(key.ip, port.Ready); {
			case err == errMixed:
				mixed = append(mixed, key)
			case len(eps) > 0:
				ports = append(ports, servicePort{ClusterIP: key.ip, Port: key.port, Protocol: key.protocol, Endpoints: eps})
			}
			break
		}
	}
	slices.SortFunc(ports, func(a, b servicePort) int {
		return cmp.Or(a.ClusterIP.Compare(b.ClusterIP), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return ports, mixed
}

// errMixed says that a cluster IP and its endpoints are not alike
// loopback addresses or alike not.
var errMixed = errors.New("the cluster IP is a loopback address and an endpoint is not, or the reverse")

// translatable returns ready's IPv4 endpoints, sorted, which the kernel
// can send connections for clusterIP to, or errMixed if it cannot: they
// must be loopback addresses exactly when clusterIP is.
func translatable(clusterIP netip.Addr, ready []netip.AddrPort) ([]netip.AddrPort, error) {
	var eps []netip.AddrPort
	for _, ep := range ready {
		if !ep.Addr().Is4() {
			continue
		}
		if ep.Addr().IsLoopback() != clusterIP.IsLoopback() {
			return nil, errMixed
		}
		eps = append(eps, ep)
	}
	slices.SortFunc(eps, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return eps, nil
}

// equalPorts reports whether a and b translate the same way.
func equalPorts(a, b []servicePort) bool {
	return slices.EqualFunc(a, b, func(x, y servicePort) bool {
		return x.key() == y.key() && slices.Equal(x.Endpoints, y.Endpoints)
	})
}

// goneUDPEndpoints returns, for each UDP port, the endpoints that after no
// longer sends it to: of those before sent it to, and of those still
// pending from earlier syncs. Conntrack would keep sending a UDP flow's
// packets to such an endpoint until the flow idles out; their entries are
// deleted.
func goneUDPEndpoints(pending map[portKey][]netip.AddrPort, before, after []servicePort) map[portKey][]netip.AddrPort {
	live := map[portKey]map[netip.AddrPort]bool{}
	for _, p := range after {
		set := map[netip.AddrPort]bool{}
		for _, ep := range p.Endpoints {
			set[ep] = true
		}
		live[p.key()] = set
	}
	var gone map[portKey][]netip.AddrPort
	add := func(key portKey, ep netip.AddrPort) {
		if key.protocol != api.ProtocolUDP || live[key][ep] || slices.Contains(gone[key], ep) {
			return
		}
		if gone == nil {
			gone = map[portKey][]netip.AddrPort{}
		}
		gone[key] = append(gone[key], ep)
	}
	for key, eps := range pending {
		for _, ep := range eps {
			add(key, ep)
		}
	}
	for _, p := range before {
		for _, ep := range p.Endpoints {
			add(p.key(), ep)
		}
	}
	return gone
}
