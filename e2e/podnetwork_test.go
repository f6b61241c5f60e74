package e2e_test

// Issue 5: Services reached from inside containerd Pods, by cluster IP
// and by name.

import (
	"net"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// Cluster IPs of this test come from 198.18.7.0/24, in the range set aside
// for benchmarking (RFC 2544), which no real network uses; Baton assigns
// them to a dummy interface the test's Orchestrator makes, and routes the
// rest of the range nowhere, so no packet leaves the host.
const (
	podNetCIDR  = "198.18.7.0/24"
	podNetDNS   = "198.18.7.10"
	podNetIface = "baton-e2e0"
)

// A Pod in its own network namespace reaches a Service by cluster IP and
// by name: its resolv.conf names the cluster DNS server, which answers
// with the cluster IP, where the proxy listens. An unallocated cluster IP
// is unreachable at once. The interface is gone when Run returns.
func TestPodsReachServicesByNameAndClusterIP(t *testing.T) {
	t.Parallel()
	c := newCluster(t,
		baton.WithServiceCIDR(podNetCIDR),
		baton.WithServiceProxy("127.0.0.1"),
		baton.WithServiceInterface(podNetIface),
		baton.WithDNS(net.JoinHostPort(podNetDNS, "53")))
	ctx := ctxFor(t)
	if _, err := c.Deployments("default").Create(ctx, deploymentOf("web", 2, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	svc, err := c.Services("default").Create(ctx, webService())
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(svc.Spec.ClusterIP); ip == nil || !strings.HasPrefix(svc.Spec.ClusterIP, "198.18.7.") || svc.Spec.ClusterIP == podNetDNS {
		t.Fatalf("cluster IP %q; want one of %s other than the DNS server's", svc.Spec.ClusterIP, podNetCIDR)
	}
	if _, err := c.Pods("default").Create(ctx, podOf("client", shContainer("sh", "exec sleep 3600"))); err != nil {
		t.Fatal(err)
	}
	waitPods(t, c.Orchestrator, "2 web pods and the client ready", readyPods(3))
	waitResolvable(t, c.Orchestrator, 2)

	resolv := mustExec(t, c.Orchestrator, "client", "cat", "/etc/resolv.conf")
	for _, want := range []string{"nameserver " + podNetDNS, "search default.svc.cluster.local svc.cluster.local cluster.local", "options ndots:5"} {
		if !strings.Contains(resolv, want) {
			t.Errorf("the client's resolv.conf lacks %q:\n%s", want, resolv)
		}
	}

	// By cluster IP, by full name, and by short name through the search
	// path: each answers with one of the web Pods' pages.
	for _, host := range []string{svc.Spec.ClusterIP, "web.default.svc.cluster.local", "web"} {
		// (busybox wget's -T crashes it: no timeout option here.)
		out := mustExec(t, c.Orchestrator, "client", "wget", "-q", "-O", "-", "http://"+host+"/")
		if !strings.HasPrefix(out, "hello from web-") {
			t.Errorf("GET http://%s/ from the client Pod = %q; want a web Pod's page", host, out)
		}
	}
	if out := mustExec(t, c.Orchestrator, "client", "sh", "-c", "nslookup web.default.svc.cluster.local"); !strings.Contains(out, svc.Spec.ClusterIP) {
		t.Errorf("nslookup web.default.svc.cluster.local in the client Pod:\n%s\nwant %s", out, svc.Spec.ClusterIP)
	}

	// An address of the range no Service holds is unreachable, not
	// forwarded off the host: wget fails at once, well before timeout's
	// 10 s (which would exit 143).
	code, out := execOut(t, c.Orchestrator, "client", "sh", "-c", "timeout 10 wget -q -O - http://198.18.7.200/ 2>&1")
	if code == 0 || code == 143 || !strings.Contains(strings.ToLower(out), "no route to host") {
		t.Errorf("GET an unallocated cluster IP: exit %d, %q; want a failure saying there is no route", code, out)
	}

	// Deleting the Service takes its address off the interface.
	if err := c.Services("default").Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cluster IP removed from "+podNetIface, func() (bool, string) {
		addrs := interfaceAddrs(t, podNetIface)
		return !strings.Contains(addrs, svc.Spec.ClusterIP+"/"), addrs
	})

	c.stop()
	if _, err := net.InterfaceByName(podNetIface); err == nil {
		t.Errorf("interface %s still exists after Run returned", podNetIface)
	}
}

// interfaceAddrs returns the addresses of the named interface, as
// "a/bits a/bits".
func interfaceAddrs(t *testing.T, name string) string {
	t.Helper()
	iface, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatalf("interface %s: %v", name, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return strings.Join(out, " ")
}
