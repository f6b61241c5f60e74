package kernelproxy

import (
	"cmp"
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
// ready IPv4 endpoint. The rest is left to the userspace proxy, which
// listens on every cluster IP port: ports with no ready endpoint (it
// refuses their connections), Services with sessionAffinity ClientIP (it
// keeps their affinity), and headless Services (which have no cluster IP).
func desired(services []*discovery.Service) []servicePort {
	seen := map[portKey]bool{}
	var out []servicePort
	for _, svc := range services {
		if !svc.ClusterIP.IsValid() || !svc.ClusterIP.Is4() || svc.SessionAffinity == api.ServiceAffinityClientIP {
			continue
		}
		for _, port := range svc.Ports {
			if port.Protocol != api.ProtocolTCP && port.Protocol != api.ProtocolUDP || port.Port < 1 || port.Port > 65535 {
				continue
			}
			var eps []netip.AddrPort
			for _, ep := range port.Ready {
				if ep.Addr().Is4() {
					eps = append(eps, ep)
				}
			}
			if len(eps) == 0 {
				continue
			}
			slices.SortFunc(eps, func(a, b netip.AddrPort) int { return a.Compare(b) })
			sp := servicePort{ClusterIP: svc.ClusterIP, Port: uint16(port.Port), Protocol: port.Protocol, Endpoints: eps}
			if seen[sp.key()] {
				continue // two Services cannot share a cluster IP port; the allocator sees to it
			}
			seen[sp.key()] = true
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b servicePort) int {
		return cmp.Or(a.ClusterIP.Compare(b.ClusterIP), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

// equalPorts reports whether a and b translate the same way.
func equalPorts(a, b []servicePort) bool {
	return slices.EqualFunc(a, b, func(x, y servicePort) bool {
		return x.key() == y.key() && slices.Equal(x.Endpoints, y.Endpoints)
	})
}

// goneUDPEndpoints returns, for each UDP port of before, the endpoints that
// after no longer sends it to. Conntrack would keep sending a UDP flow's
// packets to such an endpoint until the flow idles out; they are deleted.
func goneUDPEndpoints(before, after []servicePort) map[portKey][]netip.AddrPort {
	now := map[portKey]map[netip.AddrPort]bool{}
	for _, p := range after {
		set := map[netip.AddrPort]bool{}
		for _, ep := range p.Endpoints {
			set[ep] = true
		}
		now[p.key()] = set
	}
	gone := map[portKey][]netip.AddrPort{}
	for _, p := range before {
		if p.Protocol != api.ProtocolUDP {
			continue
		}
		for _, ep := range p.Endpoints {
			if !now[p.key()][ep] {
				gone[p.key()] = append(gone[p.key()], ep)
			}
		}
	}
	return gone
}
