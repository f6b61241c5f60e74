package svcnet_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/proxy"
	"github.com/batonhq/baton/internal/svcnet"
	"github.com/batonhq/baton/internal/testutil"
)

var _ proxy.AddressAssigner = (*svcnet.Net)(nil)

func TestMain(m *testing.M) {
	if !testutil.InChildNetNS(childEnv) && os.Geteuid() == 0 {
		if code, ok := testutil.RunInOwnNetNS(childEnv); ok {
			os.Exit(code)
		}
	}
	noDummy = dummyUnsupported()
	goleak.VerifyTestMain(m)
}

// childEnv is set in the environment of the test process that
// testutil.RunInOwnNetNS starts, to the parent's network namespace. The
// tests work only in namespaces they create, but should a bug (in svcnet
// or in a test) send a netlink request to the process's own namespace
// instead (as a closed netlink.Handle does), it lands in an empty
// namespace that ends with the test rather than in the host's.
const childEnv = "SVCNET_TEST_CHILD"

// noDummy says why the kernel cannot create dummy interfaces, or is "".
// Where it cannot (a kernel built without CONFIG_DUMMY, as some VM
// kernels are), Open makes a bridge instead, and so the tests run with
// bridges: everything svcnet does but creating the link is the same for
// both, since traffic to a local address is delivered through the
// loopback device whatever interface holds the address.
var noDummy string

// dummyUnsupported tries to create a dummy interface in a new network
// namespace and returns why it could not if the kernel lacks the driver.
// It returns "" when it cannot tell (not root): the tests skip then.
func dummyUnsupported() string {
	if os.Geteuid() != 0 {
		return ""
	}
	c := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends, with the namespace, with this
		// goroutine.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			c <- nil
			return
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			c <- nil
			return
		}
		defer h.Close()
		c <- h.LinkAdd(&netlink.Dummy{LinkAttrs: linkAttrs("probe0")})
	}()
	if err := <-c; errors.Is(err, unix.EOPNOTSUPP) {
		return "the kernel cannot create dummy interfaces (built without CONFIG_DUMMY?): " + err.Error()
	}
	return ""
}

// Open makes a dummy interface where the kernel can, else a bridge; both
// carry Baton's alias.
func TestOpenFallsBackToBridge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()
	want := "dummy"
	if noDummy != "" {
		want = "bridge"
		t.Logf("this kernel has no dummy driver, so Open made a bridge: %s", noDummy)
	}
	if n.Kind() != want {
		t.Errorf("Kind() = %q, want %q", n.Kind(), want)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// A kernel without the first kind asked for gets the next.
	n, err := svcnet.OpenKinds(e.config(), "no-such-kind", "bridge")
	if err != nil {
		t.Fatalf("OpenKinds: %v", err)
	}
	l := e.link(ifname)
	if n.Kind() != "bridge" || l == nil || l.Type() != "bridge" || l.Attrs().Alias != svcnet.OwnerAlias {
		t.Errorf("after the fallback: Kind() %q, link %+v; want a bridge with alias %q", n.Kind(), l, svcnet.OwnerAlias)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// And none of them: a clear error, nothing made.
	if _, err := svcnet.OpenKinds(e.config(), "no-such-kind"); err == nil || !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "no-such-kind") {
		t.Errorf("OpenKinds(no-such-kind) = %v; want EOPNOTSUPP naming the kind", err)
	}
}

// Every test works only in network namespaces it creates, never in the
// host's: Net is pointed at one with Config.NetNS, and the tests inspect
// it, listen and dial from threads that have entered it (see inNS).

// requireEnv is containerdtest.RequireEnv, the switch CI sets to turn
// skips of privileged tests into failures (not imported, so that this
// test binary does not link containerd's client).
const requireEnv = "BATON_REQUIRE_CONTAINERD"

const ifname = "baton-svc0"

var cidr = netip.MustParsePrefix("10.97.0.0/24")

// unavailable skips t because it cannot run here, or fails it if CI
// requires privileged tests to run.
func unavailable(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s (%s=1 requires privileged tests to run)", why, requireEnv)
	}
	t.Skip(why)
}

// newNS creates a network namespace and returns a handle to it, closed
// when t ends. The namespace is created on a thread of its own that is
// never unlocked, so the runtime ends that thread with its goroutine and
// no other goroutine ever runs in the new namespace by accident (nor
// does the calling thread need to switch back).
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "svcnet tests need root: they create network namespaces and interfaces")
	}
	type result struct {
		ns  netns.NsHandle
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.New()
		c <- result{ns, err}
	}()
	r := <-c
	if errors.Is(r.err, unix.EPERM) {
		unavailable(t, "svcnet tests need CAP_SYS_ADMIN to create network namespaces: "+r.err.Error())
	}
	if r.err != nil {
		t.Fatalf("creating a network namespace: %v", r.err)
	}
	t.Cleanup(func() { r.ns.Close() })
	return r.ns
}

// inNS runs f on a thread that has entered ns and returns its error. The
// thread is never unlocked: the runtime ends it with f's goroutine.
// Sockets f opens belong to ns and may be used from any goroutine
// afterwards. f runs on another goroutine, so it must not call t.Fatal.
func inNS(ns netns.NsHandle, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("entering the namespace: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// env is a network namespace and a netlink handle into it for the test
// to set up and inspect it.
type env struct {
	t  *testing.T
	ns netns.NsHandle
	h  *netlink.Handle
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ns := newNS(t)
	var h *netlink.Handle
	err := inNS(ns, func() (err error) {
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &env{t: t, ns: ns, h: h}
}

func (e *env) config() svcnet.Config {
	return svcnet.Config{Interface: ifname, CIDR: cidr, NetNS: e.ns, Log: zaptest.NewLogger(e.t)}
}

// open opens a Net in e with e.config(), closed when the test ends.
func (e *env) open() *svcnet.Net {
	e.t.Helper()
	n, err := svcnet.Open(e.config())
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.t.Cleanup(func() {
		if err := n.Close(); err != nil {
			e.t.Errorf("Close: %v", err)
		}
	})
	return n
}

// link returns the link named name, or nil if there is none.
func (e *env) link(name string) netlink.Link {
	e.t.Helper()
	l, err := e.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("LinkByName(%q): %v", name, err)
	}
	return l
}

// linkNames returns the names of every link, sorted.
func (e *env) linkNames() []string {
	e.t.Helper()
	links, err := e.h.LinkList()
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

// addrs returns the IPv4 addresses of the link named name as
// "address/length", sorted.
func (e *env) addrs(name string) []string {
	e.t.Helper()
	l := e.link(name)
	if l == nil {
		e.t.Fatalf("no link %q", name)
	}
	list, err := e.h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.IPNet.String())
	}
	slices.Sort(out)
	return out
}

// mainRoutes returns the IPv4 routes of the main table, as strings.
func (e *env) mainRoutes() []string {
	e.t.Helper()
	routes, err := e.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range routes {
		out = append(out, describeRoute(r))
	}
	slices.Sort(out)
	return out
}

// describeRoute gives the parts of r the tests care about.
func describeRoute(r netlink.Route) string {
	kind := "unicast"
	if r.Type == unix.RTN_UNREACHABLE {
		kind = "unreachable"
	}
	return fmt.Sprintf("%s %v dev %d", kind, r.Dst, r.LinkIndex)
}

// unreachable is the route Open adds, as mainRoutes shows it.
var unreachable = "unreachable " + cidr.String() + " dev 0"

// addLink creates l in e, with the addresses given as "a.b.c.d/n".
func (e *env) addLink(l netlink.Link, up bool, addrs ...string) netlink.Link {
	e.t.Helper()
	if err := e.h.LinkAdd(l); err != nil {
		e.t.Fatalf("adding link %q: %v", l.Attrs().Name, err)
	}
	alias := l.Attrs().Alias
	l = e.link(l.Attrs().Name)
	if alias != "" {
		if err := e.h.LinkSetAlias(l, alias); err != nil {
			e.t.Fatalf("setting the alias of %q: %v", l.Attrs().Name, err)
		}
		l = e.link(l.Attrs().Name)
	}
	for _, a := range addrs {
		ipn, err := netlink.ParseIPNet(a)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
			e.t.Fatalf("adding %s to %q: %v", a, l.Attrs().Name, err)
		}
	}
	if up {
		e.up(l.Attrs().Name)
	}
	return l
}

func (e *env) up(name string) {
	e.t.Helper()
	if err := e.h.LinkSetUp(e.link(name)); err != nil {
		e.t.Fatalf("setting %q up: %v", name, err)
	}
}

// leftoverLink returns a link such as an earlier run would leave: a
// bridge (which every kernel here has); addLink gives it Baton's alias.
func leftoverLink() netlink.Link {
	attrs := linkAttrs(ifname)
	attrs.Alias = svcnet.OwnerAlias
	return &netlink.Bridge{LinkAttrs: attrs}
}

func linkAttrs(name string) netlink.LinkAttrs {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	return attrs
}

func mustAddrs(t *testing.T, n *svcnet.Net, want ...string) {
	t.Helper()
	got, err := n.Addresses()
	if err != nil {
		t.Fatalf("Addresses: %v", err)
	}
	var gotS []string
	for _, a := range got {
		gotS = append(gotS, a.String())
	}
	if !slices.Equal(gotS, want) {
		t.Fatalf("Addresses = %v, want %v", gotS, want)
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestOpenCreatesUpDummyAndUnreachableRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()

	l := e.link(ifname)
	if l == nil {
		t.Fatalf("no link %q after Open", ifname)
	}
	if l.Type() != n.Kind() || l.Attrs().Alias != svcnet.OwnerAlias {
		t.Errorf("link type %q alias %q, want %s with alias %q", l.Type(), l.Attrs().Alias, n.Kind(), svcnet.OwnerAlias)
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("link flags %v, want up", l.Attrs().Flags)
	}
	if got := e.mainRoutes(); !slices.Equal(got, []string{unreachable}) {
		t.Errorf("main routes %q, want %q", got, unreachable)
	}
	mustAddrs(t, n)
}

// With the zero NetNS, Open works in the calling thread's namespace: here
// a thread that has entered the test's namespace.
func TestOpenInCurrentNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var n *svcnet.Net
	err := inNS(e.ns, func() (err error) {
		cfg := e.config()
		cfg.NetNS = 0
		n, err = svcnet.Open(cfg)
		return err
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	// Used from this goroutine, on any thread, n still works in e.ns.
	if err := n.Add(addr("10.97.0.3")); err != nil {
		t.Fatal(err)
	}
	if got := e.addrs(ifname); !slices.Equal(got, []string{"10.97.0.3/32"}) {
		t.Errorf("kernel addresses %v, want [10.97.0.3/32]", got)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if e.link(ifname) != nil {
		t.Errorf("link %q is still there after Close", ifname)
	}
}

func TestAddRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()

	if err := n.Add(addr("10.97.0.10")); err != nil {
		t.Fatal(err)
	}
	mustAddrs(t, n, "10.97.0.10")
	list, err := e.h.AddrList(e.link(ifname), netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].IPNet.String() != "10.97.0.10/32" || list[0].Scope != int(netlink.SCOPE_UNIVERSE) {
		t.Fatalf("kernel addresses %v, want 10.97.0.10/32 scope universe", list)
	}

	// Idempotent.
	if err := n.Add(addr("10.97.0.10")); err != nil {
		t.Fatalf("second Add: %v", err)
	}
	if got := e.addrs(ifname); !slices.Equal(got, []string{"10.97.0.10/32"}) {
		t.Fatalf("kernel addresses after a second Add: %v", got)
	}

	// Sorted by address, not by text or by order of adding.
	for _, a := range []string{"10.97.0.9", "10.97.0.255", "10.97.0.0"} {
		if err := n.Add(addr(a)); err != nil {
			t.Fatal(err)
		}
	}
	// An IPv4-mapped IPv6 address is taken as its IPv4 address.
	if err := n.Add(addr("::ffff:10.97.0.100")); err != nil {
		t.Fatal(err)
	}
	mustAddrs(t, n, "10.97.0.0", "10.97.0.9", "10.97.0.10", "10.97.0.100", "10.97.0.255")

	if err := n.Remove(addr("10.97.0.10")); err != nil {
		t.Fatal(err)
	}
	mustAddrs(t, n, "10.97.0.0", "10.97.0.9", "10.97.0.100", "10.97.0.255")
	// Removing an absent address succeeds.
	if err := n.Remove(addr("10.97.0.10")); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if err := n.Remove(addr("10.97.0.77")); err != nil {
		t.Fatalf("Remove of an address never added: %v", err)
	}
	for _, a := range []string{"10.97.0.0", "10.97.0.9", "10.97.0.100", "10.97.0.255"} {
		if err := n.Remove(addr(a)); err != nil {
			t.Fatal(err)
		}
	}
	mustAddrs(t, n)
	if got := e.addrs(ifname); len(got) != 0 {
		t.Fatalf("kernel addresses %v after removing all", got)
	}
	// The route is untouched throughout.
	if got := e.mainRoutes(); !slices.Equal(got, []string{unreachable}) {
		t.Errorf("main routes %q, want %q", got, unreachable)
	}
}

func TestAddRefusesAddressOutsideCIDR(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()
	if err := n.Add(addr("10.97.0.5")); err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{
		addr("10.97.1.0"), addr("10.96.255.255"), addr("127.0.0.1"), addr("192.0.2.1"),
		addr("fd00::1"), addr("::1"), {},
	} {
		err := n.Add(a)
		if !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Add(%v) = %v, want ErrInvalid", a, err)
			continue
		}
		if !strings.Contains(err.Error(), a.String()) || !strings.Contains(err.Error(), cidr.String()) {
			t.Errorf("Add(%v) = %q; want the address and the CIDR named", a, err)
		}
		if err := n.Remove(a); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Remove(%v) = %v, want ErrInvalid", a, err)
		}
	}
	mustAddrs(t, n, "10.97.0.5")
	if got := e.addrs(ifname); !slices.Equal(got, []string{"10.97.0.5/32"}) {
		t.Errorf("kernel addresses %v, want only 10.97.0.5/32", got)
	}
}

// An interface left by a run that ended without Close (down, say, and
// with addresses in and out of the CIDR, secondary ones too) is taken
// over and cleared.
func TestOpenClearsLeftoverAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.addLink(leftoverLink(), false,
		"10.97.0.5/32", "10.97.0.200/32", "192.0.2.1/32", "198.51.100.1/24", "198.51.100.2/24")
	if got := e.addrs(ifname); len(got) != 5 {
		t.Fatalf("setting up leftovers: addresses %v", got)
	}

	n := e.open()
	mustAddrs(t, n)
	if got := e.addrs(ifname); len(got) != 0 {
		t.Errorf("kernel addresses %v after Open, want none", got)
	}
	after := e.link(ifname)
	if after.Attrs().Index != before.Attrs().Index {
		t.Errorf("link index %d, was %d: Open recreated the link instead of taking it over", after.Attrs().Index, before.Attrs().Index)
	}
	if after.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("link not up after Open")
	}
	if got := e.mainRoutes(); !slices.Equal(got, []string{unreachable}) {
		t.Errorf("main routes %q, want %q", got, unreachable)
	}

	// And a Net that is opened again while another is open (a restart
	// that did not close) starts clean too.
	if err := n.Add(addr("10.97.0.8")); err != nil {
		t.Fatal(err)
	}
	n2, err := svcnet.Open(e.config())
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	mustAddrs(t, n2)
	if err := n2.Add(addr("10.97.0.9")); err != nil {
		t.Fatal(err)
	}
	mustAddrs(t, n, "10.97.0.9") // the same interface
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesNonDummyLink(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind string
		link netlink.Link
	}{
		{"bridge", &netlink.Bridge{LinkAttrs: linkAttrs(ifname)}},
		{"veth", &netlink.Veth{LinkAttrs: linkAttrs(ifname), PeerName: "peer0"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			before := e.addLink(tc.link, false, "10.97.0.5/32", "192.0.2.1/32")
			names := e.linkNames()
			routes := e.mainRoutes()

			n, err := svcnet.Open(e.config())
			if err == nil {
				n.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, api.ErrAlreadyExists) {
				t.Errorf("Open: %v, want ErrAlreadyExists", err)
			}
			for _, want := range []string{"Config.Interface", ifname, tc.kind, "Baton did not make"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open: %q does not say %q", err, want)
				}
			}

			after := e.link(ifname)
			if after == nil || after.Type() != tc.kind || after.Attrs().Index != before.Attrs().Index {
				t.Fatalf("link after Open: %v, want the %s as it was", after, tc.kind)
			}
			if after.Attrs().Flags&net.FlagUp != 0 {
				t.Errorf("Open set the %s up", tc.kind)
			}
			if got := e.addrs(ifname); !slices.Equal(got, []string{"10.97.0.5/32", "192.0.2.1/32"}) {
				t.Errorf("addresses of the %s: %v, want them untouched", tc.kind, got)
			}
			if got := e.linkNames(); !slices.Equal(got, names) {
				t.Errorf("links %v, were %v", got, names)
			}
			if got := e.mainRoutes(); !slices.Equal(got, routes) {
				t.Errorf("main routes %q, were %q", got, routes)
			}
		})
	}
}

// A main-table route for exactly the CIDR, here the prefix route of a
// network the namespace is on, would be replaced by the unreachable
// route: Open refuses instead.
func TestOpenRefusesConflictingRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addLink(&netlink.Bridge{LinkAttrs: linkAttrs("lan0")}, true, "10.97.0.1/24")
	names := e.linkNames()
	routes := e.mainRoutes()
	if len(routes) != 1 {
		t.Fatalf("setting up: main routes %q, want the prefix route of lan0", routes)
	}

	n, err := svcnet.Open(e.config())
	if err == nil {
		n.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, api.ErrAlreadyExists) || !strings.Contains(err.Error(), "Config.CIDR "+cidr.String()) {
		t.Errorf("Open: %v, want ErrAlreadyExists naming Config.CIDR", err)
	}
	if got := e.linkNames(); !slices.Equal(got, names) {
		t.Errorf("links %v, were %v", got, names)
	}
	if got := e.mainRoutes(); !slices.Equal(got, routes) {
		t.Errorf("main routes %q, were %q", got, routes)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n, err := svcnet.Open(e.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Add(addr("10.97.0.4")); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if e.link(ifname) != nil {
		t.Errorf("link %q is still there after Close", ifname)
	}
	if got := e.mainRoutes(); len(got) != 0 {
		t.Errorf("main routes %q after Close, want none", got)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := n.Add(addr("10.97.0.4")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Add after Close: %v, want net.ErrClosed", err)
	}
	if err := n.Remove(addr("10.97.0.4")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Remove after Close: %v, want net.ErrClosed", err)
	}
	if _, err := n.Addresses(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Addresses after Close: %v, want net.ErrClosed", err)
	}
	if got := e.linkNames(); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("links %v after Close, want only lo", got)
	}
}

// Close deletes only the unreachable route it added: another route for
// the CIDR's destination added meanwhile with another metric stays.
func TestCloseLeavesOtherRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()
	lan := e.addLink(&netlink.Bridge{LinkAttrs: linkAttrs("lan0")}, true)
	other := &netlink.Route{LinkIndex: lan.Attrs().Index, Dst: &net.IPNet{IP: net.IP{10, 97, 0, 0}, Mask: net.CIDRMask(24, 32)}, Priority: 100}
	if err := e.h.RouteAdd(other); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("unicast %s dev %d", cidr, lan.Attrs().Index)}
	if got := e.mainRoutes(); !slices.Equal(got, want) {
		t.Errorf("main routes %q, want %q", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	notNS, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer notNS.Close()
	for _, tc := range []struct {
		name   string
		change func(*svcnet.Config)
		field  string
	}{
		{"no interface", func(c *svcnet.Config) { c.Interface = "" }, `Config.Interface ""`},
		{"long interface", func(c *svcnet.Config) { c.Interface = "baton-services-0" }, `Config.Interface "baton-services-0": longer than 15 bytes`},
		{"slash", func(c *svcnet.Config) { c.Interface = "baton/0" }, `Config.Interface "baton/0"`},
		{"colon", func(c *svcnet.Config) { c.Interface = "baton:0" }, `Config.Interface "baton:0"`},
		{"space", func(c *svcnet.Config) { c.Interface = "baton 0" }, `Config.Interface "baton 0"`},
		{"pattern", func(c *svcnet.Config) { c.Interface = "baton%d" }, `Config.Interface "baton%d"`},
		{"dot", func(c *svcnet.Config) { c.Interface = "." }, `Config.Interface "."`},
		{"no CIDR", func(c *svcnet.Config) { c.CIDR = netip.Prefix{} }, "Config.CIDR: required"},
		{"IPv6 CIDR", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("fd00:97::/112") }, "Config.CIDR fd00:97::/112: not IPv4"},
		{"4in6 CIDR", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("::ffff:10.97.0.0/120") }, "Config.CIDR ::ffff:10.97.0.0/120: not IPv4"},
		{"loopback CIDR", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("127.0.0.0/8") }, "Config.CIDR 127.0.0.0/8: overlaps 127.0.0.0/8 (loopback)"},
		{"loopback part", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("127.64.0.0/16") }, "Config.CIDR 127.64.0.0/16: overlaps 127.0.0.0/8"},
		{"link-local CIDR", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("169.254.0.0/24") }, "Config.CIDR 169.254.0.0/24: overlaps 169.254.0.0/16"},
		{"multicast CIDR", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("239.1.0.0/16") }, "Config.CIDR 239.1.0.0/16: overlaps 224.0.0.0/3"},
		{"zero network", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("0.0.0.0/24") }, "Config.CIDR 0.0.0.0/24: overlaps 0.0.0.0/8"},
		{"default route", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("0.0.0.0/0") }, "Config.CIDR 0.0.0.0/0: overlaps 0.0.0.0/8"},
		{"too large", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("10.0.0.0/8") }, "Config.CIDR 10.0.0.0/8: larger than /12"},
		{"host bits", func(c *svcnet.Config) { c.CIDR = netip.MustParsePrefix("10.97.0.1/24") }, "Config.CIDR 10.97.0.1/24: host bits are set; the network is 10.97.0.0/24"},
		{"negative NetNS", func(c *svcnet.Config) { c.NetNS = -2 }, "Config.NetNS -2"},
		{"NetNS not a namespace", func(c *svcnet.Config) { c.NetNS = netns.NsHandle(notNS.Fd()) }, fmt.Sprintf("Config.NetNS %d: not a network namespace", notNS.Fd())},
	} {
		cfg := e.config()
		tc.change(&cfg)
		n, err := svcnet.Open(cfg)
		if err == nil {
			n.Close()
			t.Errorf("%s: Open succeeded", tc.name)
			continue
		}
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Open: %v; want ErrInvalid and %q", tc.name, err, tc.field)
		}
	}
	// Nothing was created in the namespace.
	if got := e.linkNames(); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("links %v, want only lo", got)
	}
	if got := e.mainRoutes(); len(got) != 0 {
		t.Errorf("main routes %q, want none", got)
	}
	// A CIDR of the smallest size allowed is fine.
	cfg := e.config()
	cfg.CIDR = netip.MustParsePrefix("10.96.0.0/12")
	n, err := svcnet.Open(cfg)
	if err != nil {
		t.Fatalf("Open with a /12: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}

// Without CAP_NET_ADMIN, Open says so and changes nothing. Capabilities
// are per thread on Linux: the test drops CAP_NET_ADMIN from the effective
// set of one thread, which it never unlocks, and calls Open there.
func TestOpenWithoutCapNetAdmin(t *testing.T) {
	t.Parallel()
	for _, leftover := range []bool{false, true} {
		t.Run(fmt.Sprintf("leftover=%v", leftover), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if leftover {
				e.addLink(leftoverLink(), false, "10.97.0.5/32")
			}
			names := e.linkNames()

			errc := make(chan error, 1)
			go func() {
				runtime.LockOSThread()
				// Never unlocked: the thread ends with this goroutine.
				hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
				var data [2]unix.CapUserData
				if err := unix.Capget(&hdr, &data[0]); err != nil {
					errc <- fmt.Errorf("capget: %w", err)
					return
				}
				data[unix.CAP_NET_ADMIN/32].Effective &^= 1 << (unix.CAP_NET_ADMIN % 32)
				if err := unix.Capset(&hdr, &data[0]); err != nil {
					errc <- fmt.Errorf("capset: %w", err)
					return
				}
				n, err := svcnet.Open(e.config())
				if err == nil {
					n.Close()
					err = errors.New("Open succeeded without CAP_NET_ADMIN")
				}
				errc <- err
			}()
			err := <-errc
			if !errors.Is(err, os.ErrPermission) || !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "needs CAP_NET_ADMIN") {
				t.Fatalf("Open: %v; want EPERM and a word about CAP_NET_ADMIN", err)
			}
			t.Logf("Open: %v", err)

			if got := e.linkNames(); !slices.Equal(got, names) {
				t.Errorf("links %v, were %v", got, names)
			}
			if got := e.mainRoutes(); len(got) != 0 {
				t.Errorf("main routes %q, want none", got)
			}
			if leftover {
				if got := e.addrs(ifname); !slices.Equal(got, []string{"10.97.0.5/32"}) {
					t.Errorf("addresses %v, want the leftover untouched", got)
				}
				if e.link(ifname).Attrs().Flags&net.FlagUp != 0 {
					t.Errorf("the leftover link was set up")
				}
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	n := e.open()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 16 {
				a := netip.AddrFrom4([4]byte{10, 97, 0, byte(g*16 + i)})
				if err := n.Add(a); err != nil {
					errs <- err
					return
				}
				if i%2 == 1 {
					if err := n.Remove(a); err != nil {
						errs <- err
						return
					}
				}
				if _, err := n.Addresses(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := n.Addresses()
	if err != nil {
		t.Fatal(err)
	}
	var want []netip.Addr
	for i := 0; i < 128; i += 2 {
		want = append(want, netip.AddrFrom4([4]byte{10, 97, 0, byte(i)}))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Addresses = %v, want %v", got, want)
	}

	// Close while others Add: each Add either happens before Close (and
	// Close's deletion of the link takes the address) or fails with
	// net.ErrClosed.
	var added sync.WaitGroup
	for g := range 4 {
		added.Go(func() {
			for i := range 50 {
				err := n.Add(netip.AddrFrom4([4]byte{10, 97, 0, byte(128 + g*16 + i%16)}))
				if err != nil && !errors.Is(err, net.ErrClosed) {
					t.Errorf("Add: %v", err)
				}
			}
		})
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	added.Wait()
	if e.link(ifname) != nil {
		t.Errorf("link still there after Close")
	}
}

// dialUnreachable dials addr and returns nil if the dial fails at once
// with EHOSTUNREACH, as the unreachable route makes it.
func dialUnreachable(addr string) error {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("dial %s succeeded", addr)
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return fmt.Errorf("dial %s timed out: %w; want it refused at once by the unreachable route", addr, err)
	}
	if !errors.Is(err, unix.EHOSTUNREACH) {
		return fmt.Errorf("dial %s: %w; want EHOSTUNREACH", addr, err)
	}
	if d := time.Since(start); d > time.Second {
		return fmt.Errorf("dial %s took %v to fail", addr, d)
	}
	return nil
}

// echo accepts one connection from l, checks its remote address is from,
// and echoes one line.
func echo(l net.Listener, from string) error {
	c, err := l.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	if host, _, _ := net.SplitHostPort(c.RemoteAddr().String()); host != from {
		return fmt.Errorf("connection from %s, want %s", c.RemoteAddr(), from)
	}
	_, err = io.Copy(c, io.LimitReader(c, 6))
	return err
}

// roundTrip dials addr, writes "hello\n" and reads it back.
func roundTrip(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		return err
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "hello\n" {
		return fmt.Errorf("read %q back", buf)
	}
	return nil
}

// In the namespace of the Net, a listener binds to an added address and
// takes connections; an unallocated address of the CIDR fails at once.
func TestTrafficInNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Local delivery goes through the loopback device, even to addresses
	// of other interfaces; the host's is always up.
	e.up("lo")
	n := e.open()
	if err := n.Add(addr("10.97.0.1")); err != nil {
		t.Fatal(err)
	}

	var l net.Listener
	err := inNS(e.ns, func() (err error) {
		l, err = net.Listen("tcp", "10.97.0.1:0")
		return err
	})
	if err != nil {
		t.Fatalf("listening on an added address: %v", err)
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() { served <- echo(l, "10.97.0.1") }()
	err = inNS(e.ns, func() error {
		if err := roundTrip(l.Addr().String()); err != nil {
			return err
		}
		if err := dialUnreachable("10.97.0.2:80"); err != nil {
			return err
		}
		// An address outside the CIDR has no route at all here.
		_, err := net.DialTimeout("tcp", "10.98.0.1:80", 2*time.Second)
		if !errors.Is(err, unix.ENETUNREACH) {
			return fmt.Errorf("dial outside the CIDR: %v, want ENETUNREACH", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}

	// Once removed, the address is as unallocated as any other, though
	// the listener is still open.
	if err := n.Remove(addr("10.97.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := inNS(e.ns, func() error { return dialUnreachable(l.Addr().String()) }); err != nil {
		t.Fatal(err)
	}
}

// A Pod in a network namespace of its own, connected to the Net's
// namespace ("the host") by a veth pair and routing through it, reaches
// an added address. An unallocated address fails at once only if the
// host forwards on the Pod's interface: without forwarding the kernel
// drops the packet without an ICMP error and the Pod's dial times out.
func TestTrafficFromPodNamespace(t *testing.T) {
	t.Parallel()
	host := newEnv(t)
	pod := newEnv(t)
	host.up("lo")
	pod.up("lo")
	host.addLink(&netlink.Veth{LinkAttrs: linkAttrs("veth-h"), PeerName: "veth-p", PeerNamespace: netlink.NsFd(pod.ns)}, true, "10.88.0.1/24")
	pod.up("veth-p")
	ipn, _ := netlink.ParseIPNet("10.88.0.2/24")
	if err := pod.h.AddrAdd(pod.link("veth-p"), &netlink.Addr{IPNet: ipn}); err != nil {
		t.Fatal(err)
	}
	if err := pod.h.RouteAdd(&netlink.Route{Gw: net.IP{10, 88, 0, 1}}); err != nil {
		t.Fatalf("adding the Pod's default route: %v", err)
	}
	// A thread in the host namespace sees that namespace's sysctls under
	// /proc/sys/net (and a veth-h only there).
	forwarding := func(on string) {
		t.Helper()
		err := inNS(host.ns, func() error {
			return os.WriteFile("/proc/sys/net/ipv4/conf/veth-h/forwarding", []byte(on), 0)
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	n := host.open()
	if err := n.Add(addr("10.97.0.1")); err != nil {
		t.Fatal(err)
	}
	var l net.Listener
	err := inNS(host.ns, func() (err error) {
		l, err = net.Listen("tcp", "10.97.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	forwarding("0")
	served := make(chan error, 1)
	go func() { served <- echo(l, "10.88.0.2") }()
	if err := inNS(pod.ns, func() error { return roundTrip(l.Addr().String()) }); err != nil {
		t.Fatalf("from the Pod to an added address, host not forwarding: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
	err = inNS(pod.ns, func() error {
		_, err := net.DialTimeout("tcp", "10.97.0.2:80", 300*time.Millisecond)
		if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			return fmt.Errorf("dial of an unallocated address, host not forwarding: %v; want a timeout (the kernel sends no ICMP error)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	forwarding("1")
	if err := inNS(pod.ns, func() error { return dialUnreachable("10.97.0.2:80") }); err != nil {
		t.Fatalf("from the Pod, host forwarding: %v", err)
	}
	go func() { served <- echo(l, "10.88.0.2") }()
	if err := inNS(pod.ns, func() error { return roundTrip(l.Addr().String()) }); err != nil {
		t.Fatalf("from the Pod to an added address, host forwarding: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
}
