package kernelproxy

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

func TestDesired(t *testing.T) {
	r := discovery.NewResolver()
	setService(r, "web", "127.64.0.10", api.ServiceAffinityNone,
		[]string{"127.0.0.3", "127.0.0.2", "::1"}, port("http", api.ProtocolTCP, 80, 8080), port("dns", api.ProtocolUDP, 53, 5353))
	setService(r, "sticky", "127.64.0.11", api.ServiceAffinityClientIP, []string{"127.0.0.2"}, port("http", api.ProtocolTCP, 80, 8080))
	setService(r, "headless", api.ClusterIPNone, api.ServiceAffinityNone, []string{"127.0.0.2"}, port("http", api.ProtocolTCP, 80, 8080))
	setService(r, "empty", "127.64.0.12", api.ServiceAffinityNone, nil, port("http", api.ProtocolTCP, 80, 8080))
	setService(r, "v6only", "127.64.0.13", api.ServiceAffinityNone, []string{"::1"}, port("http", api.ProtocolTCP, 80, 8080))

	got, _ := desired(r.Services())
	ip := netip.MustParseAddr("127.64.0.10")
	want := []servicePort{
		{ClusterIP: ip, Port: 53, Protocol: api.ProtocolUDP, Endpoints: []netip.AddrPort{
			netip.MustParseAddrPort("127.0.0.2:5353"), netip.MustParseAddrPort("127.0.0.3:5353")}},
		{ClusterIP: ip, Port: 80, Protocol: api.ProtocolTCP, Endpoints: []netip.AddrPort{
			netip.MustParseAddrPort("127.0.0.2:8080"), netip.MustParseAddrPort("127.0.0.3:8080")}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("desired =\n%+v\nwant only web's ports, sorted, with IPv4 endpoints:\n%+v", got, want)
	}
	if !equalPorts(got, want) || equalPorts(got, want[:1]) {
		t.Error("equalPorts disagrees with DeepEqual")
	}
}

// TestDesiredOwnerAndAddressKinds: of two Services claiming one cluster IP
// port the older owns it, even when only the newer has endpoints; and a
// port whose endpoints are not the same kind of address (loopback or not)
// as its cluster IP is left to the userspace proxy.
func TestDesiredOwnerAndAddressKinds(t *testing.T) {
	r := discovery.NewResolver()
	early, late := time.Unix(1000, 0), time.Unix(2000, 0)
	http := port("http", api.ProtocolTCP, 80, 8080)
	setServiceIn(r, "zzz", early, "owner", "127.64.0.10", api.ServiceAffinityNone, nil, http)
	setServiceIn(r, "aaa", late, "taker", "127.64.0.10", api.ServiceAffinityNone, []string{"127.0.0.9"}, http)
	setServiceIn(r, "default", early, "mixed", "127.64.0.11", api.ServiceAffinityNone, []string{"127.0.0.2", "10.88.0.2"}, http)
	setServiceIn(r, "default", early, "pods", "127.64.0.12", api.ServiceAffinityNone, []string{"10.88.0.2"}, http)
	setServiceIn(r, "default", early, "hostnet", "198.18.0.10", api.ServiceAffinityNone, []string{"127.0.0.1"}, http)
	setServiceIn(r, "default", early, "real", "198.18.0.11", api.ServiceAffinityNone, []string{"10.88.0.3"}, http)

	got, mixed := desired(r.Services())
	want := []servicePort{{ClusterIP: netip.MustParseAddr("198.18.0.11"), Port: 80, Protocol: api.ProtocolTCP,
		Endpoints: []netip.AddrPort{netip.MustParseAddrPort("10.88.0.3:8080")}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("desired =\n%+v\nwant only the Service whose cluster IP and endpoints are both not loopback:\n%+v", got, want)
	}
	var mixedIPs []string
	for _, key := range mixed {
		mixedIPs = append(mixedIPs, key.ip.String())
	}
	slices.Sort(mixedIPs)
	if want := []string{"127.64.0.11", "127.64.0.12", "198.18.0.10"}; !slices.Equal(mixedIPs, want) {
		t.Errorf("ports left to the proxy for their address kinds: %v, want %v", mixedIPs, want)
	}
}

func TestGoneUDPEndpoints(t *testing.T) {
	a, b := netip.MustParseAddrPort("127.0.0.2:53"), netip.MustParseAddrPort("127.0.0.3:53")
	ip := netip.MustParseAddr("127.64.0.10")
	udp := servicePort{ClusterIP: ip, Port: 53, Protocol: api.ProtocolUDP, Endpoints: []netip.AddrPort{a, b}}
	tcp := servicePort{ClusterIP: ip, Port: 80, Protocol: api.ProtocolTCP, Endpoints: []netip.AddrPort{a}}
	fewer := udp
	fewer.Endpoints = []netip.AddrPort{b}

	if got := goneUDPEndpoints(nil, []servicePort{udp, tcp}, []servicePort{fewer}); !reflect.DeepEqual(got, map[portKey][]netip.AddrPort{udp.key(): {a}}) {
		t.Errorf("one UDP endpoint left, TCP port gone: %v; want only the UDP endpoint", got)
	}
	if got := goneUDPEndpoints(nil, []servicePort{udp}, nil); !reflect.DeepEqual(got, map[portKey][]netip.AddrPort{udp.key(): {a, b}}) {
		t.Errorf("UDP port gone: %v; want both endpoints", got)
	}
	if got := goneUDPEndpoints(nil, []servicePort{udp}, []servicePort{udp}); len(got) != 0 {
		t.Errorf("nothing changed: %v", got)
	}
	// Pending from an earlier sync: kept until deleted, unless the
	// endpoint is back.
	pending := map[portKey][]netip.AddrPort{udp.key(): {a, b}}
	if got := goneUDPEndpoints(pending, nil, []servicePort{fewer}); !reflect.DeepEqual(got, map[portKey][]netip.AddrPort{udp.key(): {a}}) {
		t.Errorf("a and b pending, b back: %v; want a only", got)
	}
}

type portSpec struct {
	name       string
	protocol   api.Protocol
	port, from int32
}

func port(name string, protocol api.Protocol, port, target int32) portSpec {
	return portSpec{name: name, protocol: protocol, port: port, from: target}
}

// setService gives r a Service with clusterIP and ports, and one slice
// with a ready endpoint at each of addrs serving each port's target.
func setService(r *discovery.Resolver, name, clusterIP string, affinity api.ServiceAffinity, addrs []string, ports ...portSpec) {
	setServiceIn(r, "default", time.Time{}, name, clusterIP, affinity, addrs, ports...)
}

// setServiceIn is setService in namespace, created at created.
func setServiceIn(r *discovery.Resolver, namespace string, created time.Time, name, clusterIP string, affinity api.ServiceAffinity, addrs []string, ports ...portSpec) {
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: namespace, Name: name, UID: "uid-" + namespace + "-" + name,
			CreationTimestamp: api.NewTime(created)},
		Spec: api.ServiceSpec{ClusterIP: clusterIP, SessionAffinity: affinity, Selector: map[string]string{"app": name}},
	}
	slice := &api.EndpointSlice{
		ObjectMeta:  api.ObjectMeta{Namespace: namespace, Name: name + "-a", Labels: map[string]string{api.LabelServiceName: name}},
		AddressType: api.AddressTypeIPv4,
	}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, api.ServicePort{Name: p.name, Protocol: p.protocol, Port: p.port})
		slice.Ports = append(slice.Ports, api.EndpointPort{Name: &p.name, Protocol: &p.protocol, Port: &p.from})
	}
	ready := true
	for _, a := range addrs {
		slice.Endpoints = append(slice.Endpoints, api.Endpoint{Addresses: []string{a},
			Conditions: api.EndpointConditions{Ready: &ready, Serving: &ready}})
	}
	api.SetDefaults(svc)
	r.SetService(svc)
	r.SetEndpointSlice(slice)
}
