package kernelproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/testutil"
)

// The tests that program nftables run the whole test binary in a network
// namespace of its own (testutil.RunInOwnNetNS), with its loopback
// interface up: every address they use is a loopback one, and the table
// they write is gone with the namespace whatever happens.

const childEnv = "KERNELPROXY_TEST_CHILD"

// requireEnv is the switch CI sets to turn skips of privileged tests into
// failures.
const requireEnv = "BATON_REQUIRE_CONTAINERD"

const waitTimeout = 10 * time.Second

// privileged says why the nftables tests cannot run here, or is "".
var privileged string

func TestMain(m *testing.M) {
	switch {
	case testutil.InChildNetNS(childEnv):
		if lo, err := netlink.LinkByName("lo"); err != nil {
			privileged = "no loopback interface: " + err.Error()
		} else if err := netlink.LinkSetUp(lo); err != nil {
			privileged = "cannot bring the loopback interface up: " + err.Error()
		}
	case os.Geteuid() == 0:
		if code, ok := testutil.RunInOwnNetNS(childEnv); ok {
			os.Exit(code)
		}
		privileged = "cannot make a network namespace for the tests"
	default:
		privileged = "programming nftables needs root (CAP_NET_ADMIN); run the tests as root"
	}
	goleak.VerifyTestMain(m)
}

func needPrivileges(t *testing.T) {
	t.Helper()
	if privileged == "" {
		return
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1 requires privileged tests to run)", privileged, requireEnv)
	}
	t.Skip(privileged)
}

// running is a KernelProxy run until the test ends.
type running struct {
	k    *KernelProxy
	r    *discovery.Resolver
	conn *nftables.Conn
}

func run(t *testing.T, table string) *running {
	t.Helper()
	needPrivileges(t)
	return newRunning(t, table)
}

// newRunning opens a KernelProxy on table and runs it until tb ends.
func newRunning(tb testing.TB, table string, opts ...func(*Config)) *running {
	tb.Helper()
	r := discovery.NewResolver()
	cfg := Config{Resolver: r, Table: table, Log: zaptest.NewLogger(tb)}
	for _, opt := range opts {
		opt(&cfg)
	}
	k, err := Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	conn, err := nftables.New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return &running{k: k, r: r, conn: conn}
}

// waitTranslated waits until the table's chain of Service port i sends to
// n endpoints (n DNAT rules after the marking one), or has no such chain
// when n is 0.
func (rn *running) waitTranslated(t *testing.T, i, n int) {
	t.Helper()
	testutil.Eventually(t, fmt.Sprintf("port-%d translated to %d endpoints", i, n), waitTimeout, time.Millisecond, func() (bool, string) {
		rules, err := rn.conn.GetRules(rn.k.table, &nftables.Chain{Name: fmt.Sprintf("port-%d", i), Table: rn.k.table})
		switch {
		case n == 0:
			return err != nil || len(rules) == 0, fmt.Sprintf("%d rules", len(rules))
		case err != nil:
			return false, err.Error()
		}
		return len(rules) == n+1, fmt.Sprintf("%d rules", len(rules))
	})
}

// tables lists the names of the ip tables.
func (rn *running) tables(t *testing.T) []string {
	t.Helper()
	ts, err := rn.conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range ts {
		names = append(names, tb.Name)
	}
	return names
}

// tcpBackend serves on addr (a loopback address, port 0 for any) by
// writing its own address and closing.
func tcpBackend(t *testing.T, host string, port int) string {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, l.Addr())
			c.Close()
		}
	}()
	return l.Addr().String()
}

// ask connects to addr and returns the line the backend sends.
func ask(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestTranslatesAndSpreads: connections to a cluster IP port nothing
// listens on reach the Service's ready endpoints, spread over them; when
// an endpoint leaves, new connections avoid it; when none is left the
// port is no longer translated (the userspace proxy answers it); and the
// table is gone when Run ends.
func TestTranslatesAndSpreads(t *testing.T) {
	rn := run(t, "baton-test")
	a := tcpBackend(t, "127.0.0.2", 0)
	_, port, _ := net.SplitHostPort(a)
	b := tcpBackend(t, "127.0.0.3", atoi(port))
	c := tcpBackend(t, "127.0.0.4", atoi(port))
	const service = "127.64.0.10:80"
	if _, err := ask(service); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("before the Service exists: %v, want connection refused", err)
	}
	setService(rn.r, "web", "127.64.0.10", api.ServiceAffinityNone, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"},
		portSpec{name: "http", protocol: api.ProtocolTCP, port: 80, from: int32(atoi(port))})
	rn.waitTranslated(t, 0, 3)

	counts := map[string]int{}
	const n = 900
	for range n {
		got, err := ask(service)
		if err != nil {
			t.Fatal(err)
		}
		counts[got]++
	}
	// Each endpoint is picked with probability 1/3: of 900 tries each gets
	// 300 ± 60 (over 4 standard deviations; p < 1e-4 for the test). A
	// rule set that weighed them unequally, such as 1/3 at every rule
	// (300, 200, 400), would not.
	for _, ep := range []string{a, b, c} {
		if counts[ep] < 240 || counts[ep] > 360 {
			t.Errorf("connections per endpoint %v, want each of %s, %s and %s near %d", counts, a, b, c, n/3)
			break
		}
	}

	setService(rn.r, "web", "127.64.0.10", api.ServiceAffinityNone, []string{"127.0.0.3"},
		portSpec{name: "http", protocol: api.ProtocolTCP, port: 80, from: int32(atoi(port))})
	rn.waitTranslated(t, 0, 1)
	for range 50 {
		if got, err := ask(service); err != nil || got != b {
			t.Fatalf("after 127.0.0.2 left: %q, %v; want %s", got, err, b)
		}
	}

	setService(rn.r, "web", "127.64.0.10", api.ServiceAffinityNone, nil,
		portSpec{name: "http", protocol: api.ProtocolTCP, port: 80, from: int32(atoi(port))})
	rn.waitTranslated(t, 0, 0)
	if _, err := ask(service); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("with no ready endpoint: %v, want connection refused (no translation)", err)
	}
}

// TestUDPFlowsFollowEndpoints: UDP datagrams to a cluster IP port reach an
// endpoint and its answers come back from the cluster IP; when that
// endpoint leaves, the next datagram of the same flow goes to the one
// that is left (the flow's conntrack entry was deleted).
func TestUDPFlowsFollowEndpoints(t *testing.T) {
	rn := run(t, "baton-test-udp")
	first := udpBackend(t, "127.0.0.2:5353")
	udpBackend(t, "127.0.0.3:5353")
	setService(rn.r, "dns", "127.64.0.20", api.ServiceAffinityNone, []string{"127.0.0.2"},
		portSpec{name: "dns", protocol: api.ProtocolUDP, port: 53, from: 5353})
	rn.waitTranslated(t, 0, 1)

	c, err := net.Dial("udp", "127.64.0.20:53")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := udpAsk(t, c); got != first {
		t.Fatalf("first answer from %q, want %s", got, first)
	}
	setService(rn.r, "dns", "127.64.0.20", api.ServiceAffinityNone, []string{"127.0.0.3"},
		portSpec{name: "dns", protocol: api.ProtocolUDP, port: 53, from: 5353})
	testutil.Eventually(t, "the flow moved to 127.0.0.3", waitTimeout, time.Millisecond, func() (bool, string) {
		got := udpAsk(t, c)
		return got == "127.0.0.3:5353", "answered by " + got
	})
}

// udpBackend answers each datagram on addr with addr.
func udpBackend(t *testing.T, addr string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(addr), from)
		}
	}()
	return addr
}

// udpAsk sends a datagram on c and returns the answer ("" if none comes
// within a second: the datagram may have gone nowhere).
func udpAsk(t *testing.T, c net.Conn) string {
	t.Helper()
	if _, err := c.Write([]byte("?")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// TestRunDeletesTable: the table exists while Run runs and not after.
func TestRunDeletesTable(t *testing.T) {
	needPrivileges(t)
	r := discovery.NewResolver()
	k, err := Open(Config{Resolver: r, Table: "baton-test-end"})
	if err != nil {
		t.Fatal(err)
	}
	rn := &running{k: k, r: r}
	if rn.conn, err = nftables.New(); err != nil {
		t.Fatal(err)
	}
	if !contains(rn.tables(t), "baton-test-end") {
		t.Fatalf("after Open: tables %v", rn.tables(t))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := k.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if contains(rn.tables(t), "baton-test-end") {
		t.Errorf("after Run: tables %v still hold baton-test-end", rn.tables(t))
	}
}

// TestOpenNeedsResolver: a Config without a Resolver is refused.
func TestOpenNeedsResolver(t *testing.T) {
	if _, err := Open(Config{}); err == nil || !strings.Contains(err.Error(), "Resolver") {
		t.Errorf("Open without a Resolver = %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

// TestWaitSynced: after any burst of Resolver changes, WaitSynced returns
// only once the table holds the last state (checked at once, not polled).
func TestWaitSynced(t *testing.T) {
	rn := run(t, "baton-test-wait")
	addrs := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	for i := range 60 {
		// Bursts of one to three changes, so that Run sometimes misses
		// the channels of the middle ones.
		var n int
		for j := range i%3 + 1 {
			n = (i+j)%3 + 1
			setService(rn.r, "web", "127.64.0.30", api.ServiceAffinityNone, addrs[:n],
				portSpec{name: "http", protocol: api.ProtocolTCP, port: 80, from: 8080})
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		err := rn.k.WaitSynced(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: WaitSynced: %v", i, err)
		}
		rules, err := rn.conn.GetRules(rn.k.table, &nftables.Chain{Name: "port-0", Table: rn.k.table})
		if err != nil || len(rules) != n+1 {
			t.Fatalf("round %d: right after WaitSynced the port's chain has %d rules (%v), want %d endpoints and the mark", i, len(rules), err, n)
		}
	}
}

// TestResyncPutsBackTable: a table deleted behind Baton's back (by
// "nft flush ruleset", say) is written again at the next resync, with
// nothing changed in the Resolver.
func TestResyncPutsBackTable(t *testing.T) {
	needPrivileges(t)
	rn := newRunning(t, "baton-test-resync", func(c *Config) { c.ResyncPeriod = 20 * time.Millisecond })
	setService(rn.r, "web", "127.64.0.50", api.ServiceAffinityNone, []string{"127.0.0.2"},
		portSpec{name: "http", protocol: api.ProtocolTCP, port: 80, from: 8080})
	rn.waitTranslated(t, 0, 1)
	rn.conn.DelTable(rn.k.table)
	if err := rn.conn.Flush(); err != nil {
		t.Fatal(err)
	}
	rn.waitTranslated(t, 0, 1)
}
