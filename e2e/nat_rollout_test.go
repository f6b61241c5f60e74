package e2e_test

// WithServiceNAT during a rolling update: the kernel carries every request
// to the cluster IP, and none fails.

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/batonhq/baton"
)

// Cluster IPs of this test come from a /24 of RFC 2544's range of its own,
// on a dummy interface the Orchestrator makes, the rest of the range routed
// nowhere: no packet leaves the host. The interface and the nftables table
// have names no other test uses.
const (
	natRolloutCIDR  = "198.18.10.0/24"
	natRolloutIface = "baton-e2e-natro"
	natRolloutTable = "baton-e2e-natro"
)

// A client on the host sends requests continuously to a Service's cluster
// IP, which the kernel translates (WithServiceNAT), while the 3 busybox
// httpd Pods behind it roll to a new template: not one request fails, both
// versions answer, and conntrack shows the client's connections
// translated by the kernel to the web Pods, none served by the userspace
// proxy (which listens on the cluster IP too).
func TestServiceNATZeroFailedRequestsDuringRollout(t *testing.T) {
	t.Parallel()
	c := newCluster(t,
		baton.WithServiceCIDR(natRolloutCIDR),
		baton.WithServiceProxy("127.0.0.1"),
		baton.WithServiceInterface(natRolloutIface),
		baton.WithServiceNAT(natRolloutTable))
	// As in TestServiceZeroFailedRequestsDuringRollout, each old Pod
	// serves until it is killed, well after the kernel stopped sending it
	// new connections. (So this test passes whether or not the node agent
	// waits for the table to drop a deleted Pod before stopping it; the
	// nodeagent tests check that wait.)
	svc := startWebV1(t, c)
	clusterIP, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !netip.MustParsePrefix(natRolloutCIDR).Contains(clusterIP) {
		t.Fatalf("cluster IP %q; want one of %s", svc.Spec.ClusterIP, natRolloutCIDR)
	}
	v1Pods := waitPods(t, c.Orchestrator, "3 ready v1 pods", readyPods(3))

	// The kernel carries the requests from the start: the table translates
	// port 80 of the cluster IP (the only Service port: chain port-0) to
	// the 3 v1 Pods.
	nft, err := nftables.New()
	if err != nil {
		t.Fatalf("connect to nftables: %v", err)
	}
	waitTranslated(t, nft, natRolloutTable, v1Pods)

	// The client records the local address of each connection it makes,
	// to find the connection in conntrack afterwards.
	var mu sync.Mutex // guards dialed
	dialed := map[netip.AddrPort]bool{}
	client := httpClient(func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			local := conn.LocalAddr().(*net.TCPAddr).AddrPort()
			mu.Lock()
			dialed[netip.AddrPortFrom(local.Addr().Unmap(), local.Port())] = true
			mu.Unlock()
		}
		return conn, err
	})
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"
	load := startRequests(map[*http.Client]string{client: url}, 4)
	load.waitCount(t, "requests served by v1", "v1", 50)
	setVersion(t, c.Orchestrator, "web", "v2")
	rollout(t, c.Orchestrator, "web")
	v2Pods := waitPods(t, c.Orchestrator, "only the 3 new pods", readyPods(3))
	waitTranslated(t, nft, natRolloutTable, v2Pods)
	load.waitCount(t, "requests served by v2 after the rollout", "v2", load.count("v2")+50)
	_, sent := load.finish(t)

	mu.Lock()
	defer mu.Unlock()
	// Every connection the client made is in conntrack (closed ones stay
	// there for 2 minutes, in TIME_WAIT), translated to port 8080 of a web
	// Pod. One the userspace proxy served would have its reply from the
	// cluster IP. A local port used twice has the entry of its last
	// connection: the kernel replaces a TIME_WAIT entry on a new SYN.
	webPods := map[netip.Addr]string{}
	for _, p := range append(v1Pods, v2Pods...) {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			t.Fatalf("pod %s has IP %q: %v", p.Name, p.Status.PodIP, err)
		}
		webPods[ip] = p.Name
	}
	flows := trackedFlows(t, func(f *netlink.ConntrackFlow) bool {
		src, _ := netip.AddrFromSlice(f.Forward.SrcIP)
		return f.Forward.DstIP.Equal(clusterIP.AsSlice()) && f.Forward.DstPort == 80 &&
			dialed[netip.AddrPortFrom(src.Unmap(), f.Forward.SrcPort)]
	})
	translated := map[string]int{}
	var untranslated []string
	for _, f := range flows {
		from, _ := netip.AddrFromSlice(f.Reverse.SrcIP)
		if name, ok := webPods[from.Unmap()]; ok && f.Reverse.SrcPort == 8080 {
			translated[name]++
		} else {
			untranslated = append(untranslated, f.String())
		}
	}
	if len(untranslated) > 0 {
		t.Errorf("%d of the client's connections were not translated to a web Pod (pods: %v):\n  %s",
			len(untranslated), webPods, strings.Join(untranslated[:min(len(untranslated), 10)], "\n  "))
	}
	if len(flows) != len(dialed) {
		t.Errorf("conntrack has entries of %d of the %d local addresses the client's connections had; want all", len(flows), len(dialed))
	}
	t.Logf("%d requests, from %d local addresses; conntrack entries translated to each pod: %v", sent, len(dialed), translated)
}
