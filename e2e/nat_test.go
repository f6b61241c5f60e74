package e2e_test

// WithServiceNAT: the kernel carries connections to cluster IPs, from the
// host and from Pods on the same bridge as the endpoints.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton"
)

// Cluster IPs of this test come from 198.18.9.0/24 (RFC 2544's range, as
// in podnetwork_test.go, but a /24 of its own), assigned to a dummy
// interface the Orchestrator makes, the rest of the range routed nowhere:
// no packet leaves the host. The nftables table and the interface have
// names no other test uses.
const (
	natCIDR  = "198.18.9.0/24"
	natIface = "baton-e2e-nat"
	natTable = "baton-e2e-nat"
)

// With WithServiceNAT, connections to a Service's cluster IP, from the
// host and from a Pod on the bridge its endpoints are on (the hairpin case
// masquerade exists for), reach both endpoints through the kernel's DNAT:
// the table has a chain for the port translating to each endpoint, and the
// kernel's connection tracking shows each connection translated to the
// endpoint whose page came back, which a connection the userspace proxy
// served would not (its reply would come from the cluster IP). The table
// and the interface are gone when Run returns.
func TestServiceNATCarriesClusterIPConnections(t *testing.T) {
	t.Parallel()
	c := newCluster(t,
		baton.WithServiceCIDR(natCIDR),
		baton.WithServiceProxy("127.0.0.1"),
		baton.WithServiceInterface(natIface),
		baton.WithServiceNAT(natTable))
	ctx := ctxFor(t)
	if _, err := c.Deployments("default").Create(ctx, deploymentOf("web", 2, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	svc, err := c.Services("default").Create(ctx, webService())
	if err != nil {
		t.Fatal(err)
	}
	clusterIP, err := netip.ParseAddr(svc.Spec.ClusterIP)
	if err != nil || !netip.MustParsePrefix(natCIDR).Contains(clusterIP) {
		t.Fatalf("cluster IP %q; want one of %s", svc.Spec.ClusterIP, natCIDR)
	}
	if _, err := c.Pods("default").Create(ctx, podOf("client", shContainer("sh", "exec sleep 3600"))); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, c.Orchestrator, "2 web pods and the client ready", readyPods(3))
	waitResolvable(t, c.Orchestrator, 2)

	// webPods maps each web Pod's IP to its name, which its page says.
	webPods := map[netip.Addr]string{}
	var web []*baton.Pod
	var clientIP netip.Addr
	for _, p := range pods {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			t.Fatalf("pod %s has IP %q: %v", p.Name, p.Status.PodIP, err)
		}
		if p.Name == "client" {
			clientIP = ip
		} else {
			webPods[ip] = p.Name
			web = append(web, p)
		}
	}

	// The table translates port 80 of the cluster IP (the only Service
	// port, so chain port-0) to both Pods: a rule setting the masquerade
	// mark, then one DNAT rule per endpoint.
	nft, err := nftables.New()
	if err != nil {
		t.Fatalf("connect to nftables: %v", err)
	}
	waitTranslated(t, nft, natTable, web)

	// From the host, both Pods answer.
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"
	hc := httpClient(nil)
	answered := map[string]int{}
	eventually(t, "both web pods answering GET "+url+" from the host", func() (bool, string) {
		body, err := fetch(hc, url)
		if err != nil {
			return false, err.Error()
		}
		answered[strings.TrimSpace(body)]++
		return len(answered) == 2, fmt.Sprint(answered)
	})
	for page := range answered {
		if !strings.HasPrefix(page, "hello from web-") {
			t.Errorf("GET %s from the host answered %q; want a web Pod's page", url, page)
		}
	}

	// A connection from the host is translated by the kernel, to the Pod
	// that answers it.
	page, flow := getTracked(t, clusterIP)
	t.Logf("the host's connection: %s", flow)
	endpoint, _ := netip.AddrFromSlice(flow.Reverse.SrcIP)
	name, ok := webPods[endpoint.Unmap()]
	if !ok || flow.Reverse.SrcPort != 8080 {
		t.Errorf("conntrack: the host's connection to %s:80 has its reply from %s:%d; want a web Pod's IP, port 8080 (pods: %v)",
			clusterIP, flow.Reverse.SrcIP, flow.Reverse.SrcPort, webPods)
	} else if want := "hello from " + name; strings.TrimSpace(page) != want {
		t.Errorf("the host's connection was translated to %s (%s), but the page is %q; want %q", endpoint, name, page, want)
	}

	// From the client Pod, through the bridge to the host and back onto
	// the bridge to a web Pod. Conntrack may still hold connections of an
	// earlier test between the same addresses (closed ones linger for
	// 2 minutes): only the new one is looked at. (busybox wget's -T
	// crashes it: no timeout option here.)
	fromClient := func(f *netlink.ConntrackFlow) bool {
		return f.Forward.SrcIP.Equal(clientIP.AsSlice()) && f.Forward.DstIP.Equal(clusterIP.AsSlice()) && f.Forward.DstPort == 80
	}
	before := map[uint16]bool{}
	for _, f := range trackedFlows(t, fromClient) {
		before[f.Forward.SrcPort] = true
	}
	out := mustExec(t, c.Orchestrator, "client", "wget", "-q", "-O", "-", url)
	if !strings.HasPrefix(out, "hello from web-") {
		t.Errorf("GET %s from the client Pod = %q; want a web Pod's page", url, out)
	}
	flows := trackedFlows(t, func(f *netlink.ConntrackFlow) bool { return fromClient(f) && !before[f.Forward.SrcPort] })
	if len(flows) == 0 {
		t.Errorf("conntrack has no connection from the client Pod (%s) to %s:80", clientIP, clusterIP)
	}
	for _, f := range flows {
		t.Logf("the client Pod's connection: %s", f)
		from, _ := netip.AddrFromSlice(f.Reverse.SrcIP)
		to, _ := netip.AddrFromSlice(f.Reverse.DstIP)
		if _, ok := webPods[from.Unmap()]; !ok || f.Reverse.SrcPort != 8080 {
			t.Errorf("conntrack: the client Pod's connection %s has its reply from %s:%d; want a web Pod's IP, port 8080", f, from, f.Reverse.SrcPort)
		}
		// Masqueraded: the web Pod answers the host, not the client on its
		// own bridge, which would drop an answer from an address it did not
		// ask.
		if to.Unmap() == clientIP {
			t.Errorf("conntrack: the client Pod's connection %s is not masqueraded: the reply goes to the client's own address", f)
		}
	}

	c.stop()
	if hasTable(t, nft, natTable) {
		t.Errorf("nftables table %s still exists after Run returned", natTable)
	}
	if _, err := net.InterfaceByName(natIface); err == nil {
		t.Errorf("interface %s still exists after Run returned", natIface)
	}
}

// hasTable reports whether the nftables table name (family ip) exists.
func hasTable(t *testing.T, nft *nftables.Conn, name string) bool {
	t.Helper()
	tables, err := nft.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatalf("list nftables tables: %v", err)
	}
	return slices.ContainsFunc(tables, func(tb *nftables.Table) bool { return tb.Name == name })
}

// waitTranslated waits until chain port-0 of the nftables table (family
// ip) DNATs to port 8080 of exactly the pods.
func waitTranslated(t *testing.T, nft *nftables.Conn, table string, pods []*baton.Pod) {
	t.Helper()
	var want []netip.AddrPort
	for _, p := range pods {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			t.Fatalf("pod %s has IP %q: %v", p.Name, p.Status.PodIP, err)
		}
		want = append(want, netip.AddrPortFrom(ip, 8080))
	}
	slices.SortFunc(want, netip.AddrPort.Compare)
	eventually(t, fmt.Sprintf("table %s translating port-0 to %v", table, want), func() (bool, string) {
		if !hasTable(t, nft, table) {
			return false, "no table " + table
		}
		tb := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}
		rules, err := nft.GetRules(tb, &nftables.Chain{Name: "port-0", Table: tb})
		if err != nil {
			return false, fmt.Sprintf("rules of chain port-0: %v", err)
		}
		got := dnatTargets(rules)
		return slices.Equal(got, want), fmt.Sprintf("DNAT to %v", got)
	})
}

// dnatTargets returns the addresses the rules DNAT to, sorted.
func dnatTargets(rules []*nftables.Rule) []netip.AddrPort {
	var out []netip.AddrPort
	for _, r := range rules {
		regs := map[uint32][]byte{}
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Immediate:
				regs[e.Register] = e.Data
			case *expr.NAT:
				if e.Type != expr.NATTypeDestNAT {
					continue
				}
				ip, ok := netip.AddrFromSlice(regs[e.RegAddrMin])
				port := regs[e.RegProtoMin]
				if ok && len(port) == 2 {
					out = append(out, netip.AddrPortFrom(ip, uint16(port[0])<<8|uint16(port[1])))
				}
			}
		}
	}
	slices.SortFunc(out, netip.AddrPort.Compare)
	return out
}

// getTracked GETs / on port 80 of clusterIP from the host, over a
// connection of its own, and returns the page and the conntrack entry of
// that connection, looked up while it is still open.
func getTracked(t *testing.T, clusterIP netip.Addr) (string, *netlink.ConntrackFlow) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", netip.AddrPortFrom(clusterIP, 80).String())
	if err != nil {
		t.Fatalf("dial %s:80: %v", clusterIP, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: web\r\n\r\n"); err != nil {
		t.Fatalf("send GET to %s:80: %v", clusterIP, err)
	}
	resp, err := io.ReadAll(conn) // httpd closes after an HTTP/1.0 answer
	if err != nil {
		t.Fatalf("read the answer of %s:80: %v", clusterIP, err)
	}
	head, body, _ := strings.Cut(string(resp), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.0 200") && !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("GET / on %s:80 answered %q", clusterIP, resp)
	}
	local := conn.LocalAddr().(*net.TCPAddr)
	flows := trackedFlows(t, func(f *netlink.ConntrackFlow) bool {
		return f.Forward.SrcIP.Equal(local.IP) && f.Forward.SrcPort == uint16(local.Port) &&
			f.Forward.DstIP.Equal(clusterIP.AsSlice()) && f.Forward.DstPort == 80
	})
	if len(flows) != 1 {
		t.Fatalf("conntrack has %d entries of the connection %s -> %s:80; want 1", len(flows), local, clusterIP)
	}
	return body, flows[0]
}

// trackedFlows returns the host's IPv4 TCP conntrack entries that keep
// holds for.
func trackedFlows(t *testing.T, keep func(*netlink.ConntrackFlow) bool) []*netlink.ConntrackFlow {
	t.Helper()
	var all []*netlink.ConntrackFlow
	var err error
	// A dump the kernel interrupts (the table changed meanwhile) may miss
	// entries; another is taken.
	for range 20 {
		all, err = netlink.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		t.Fatalf("list conntrack entries: %v", err)
	}
	var out []*netlink.ConntrackFlow
	for _, f := range all {
		if f.Forward.Protocol == unix.IPPROTO_TCP && keep(f) {
			out = append(out, f)
		}
	}
	return out
}
