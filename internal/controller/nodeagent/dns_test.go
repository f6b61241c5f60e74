package nodeagent

import (
	"net/netip"
	"reflect"
	"testing"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const hostResolv = `# written by the host
nameserver 192.0.2.53
nameserver 192.0.2.54 ; trailing comment
nameserver dns.example
search corp.example  lab.example
options edns0 ndots:1
`

// TestPodDNSConfig follows kubelet's rules for each dnsPolicy.
func TestPodDNSConfig(t *testing.T) {
	clusterDNS := netip.MustParseAddr("10.97.0.10")
	host := parseResolvConf([]byte(hostResolv))
	if want := (runtime.DNSConfig{
		Servers:  []string{"192.0.2.53", "192.0.2.54"},
		Searches: []string{"corp.example", "lab.example"},
		Options:  []string{"edns0", "ndots:1"},
	}); !reflect.DeepEqual(host, want) {
		t.Fatalf("parseResolvConf = %+v, want %+v", host, want)
	}
	two := "2"
	cluster := &runtime.DNSConfig{
		Servers:  []string{"10.97.0.10"},
		Searches: []string{"shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example"},
		Options:  []string{"ndots:5"},
	}
	for _, tc := range []struct {
		name        string
		spec        api.PodSpec
		haveCluster bool               // else there is no cluster DNS server
		want        *runtime.DNSConfig // nil: the host's file as it is
	}{
		{name: "empty policy is ClusterFirst", haveCluster: true, want: cluster},
		{name: "ClusterFirst", spec: api.PodSpec{DNSPolicy: api.DNSClusterFirst}, haveCluster: true, want: cluster},
		{name: "ClusterFirst without cluster DNS is Default", spec: api.PodSpec{DNSPolicy: api.DNSClusterFirst}},
		{name: "ClusterFirst on the host network is Default", spec: api.PodSpec{HostNetwork: true}, haveCluster: true},
		{name: "ClusterFirstWithHostNet", spec: api.PodSpec{HostNetwork: true, DNSPolicy: api.DNSClusterFirstWithHostNet}, haveCluster: true, want: cluster},
		{name: "Default", spec: api.PodSpec{DNSPolicy: api.DNSDefault}, haveCluster: true},
		{name: "Default with dnsConfig", spec: api.PodSpec{DNSPolicy: api.DNSDefault, DNSConfig: &api.PodDNSConfig{
			Nameservers: []string{"192.0.2.54", "192.0.2.99"},
			Options:     []api.PodDNSConfigOption{{Name: "ndots", Value: &two}},
		}}, haveCluster: true, want: &runtime.DNSConfig{
			Servers:  []string{"192.0.2.53", "192.0.2.54", "192.0.2.99"},
			Searches: []string{"corp.example", "lab.example"},
			Options:  []string{"edns0", "ndots:2"},
		}},
		{name: "None", spec: api.PodSpec{DNSPolicy: api.DNSNone, DNSConfig: &api.PodDNSConfig{
			Nameservers: []string{"192.0.2.7"},
			Searches:    []string{"only.example"},
			Options:     []api.PodDNSConfigOption{{Name: "single-request"}},
		}}, haveCluster: true, want: &runtime.DNSConfig{
			Servers:  []string{"192.0.2.7"},
			Searches: []string{"only.example"},
			Options:  []string{"single-request"},
		}},
		{name: "ClusterFirst with dnsConfig, capped at 3 nameservers", spec: api.PodSpec{DNSConfig: &api.PodDNSConfig{
			Nameservers: []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"},
			Searches:    []string{"cluster.local", "extra.example"},
		}}, haveCluster: true, want: &runtime.DNSConfig{
			Servers:  []string{"10.97.0.10", "192.0.2.1", "192.0.2.2"},
			Searches: append(append([]string{}, cluster.Searches...), "extra.example"),
			Options:  []string{"ndots:5"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: tc.spec}
			dns := clusterDNS
			if !tc.haveCluster {
				dns = netip.Addr{}
			}
			got := resolvConfFor(pod, dns, DefaultClusterDomain, func() runtime.DNSConfig { return host })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
