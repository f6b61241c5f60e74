// Package svcnet gives cluster IPs a home on the host, as kube-proxy's
// IPVS mode does with kube-ipvs0, so that containers in network
// namespaces of their own can reach the Service proxy.
//
// A Net owns one interface in one network namespace (the host's,
// normally) and an unreachable route for the whole service CIDR in the
// main routing table. The interface is a dummy one, or, on kernels built
// without the dummy driver (some VM kernels are), a bridge without ports:
// either only carries addresses and sends nothing. Open marks the
// interface it creates with an alias, and takes over only an interface
// so marked, which an earlier run left.
//
//   - each cluster IP in use is assigned to the interface as a /32
//     of universe scope, so the kernel adds a route for it to the local
//     table, delivers traffic to it locally (from the host and, routed
//     through the host, from Pods), and lets the proxy bind to it;
//   - every other address of the CIDR matches the unreachable route (the
//     local table is consulted before the main table), so a connection to
//     an unallocated cluster IP fails at once with EHOSTUNREACH instead of
//     being sent off the host along the default route.
//
// Pods are told "unreachable" only when the host forwards packets on the
// interface they arrive on (net.ipv4.conf.<dev>.forwarding, which a CNI
// bridge that is the Pods' gateway needs anyway): without forwarding the
// kernel drops a packet that matches an unreachable route without sending
// an ICMP error, and the Pod's connection times out. Connections made on
// the host itself fail at once either way.
//
// Net manages IPv4 addresses only. It changes no sysctl: as with
// kube-ipvs0, the host answers ARP requests for the addresses on any
// interface unless arp_ignore says otherwise, which matters only if the
// service CIDR overlaps a network the host is attached to.
//
// Local delivery goes through the loopback device, whichever interface
// holds the address: in a namespace whose lo is down (a new one) nothing
// reaches the addresses. A host's lo is always up.
//
// Open, Add, Remove and Close need CAP_NET_ADMIN in the namespace's user
// namespace, and entering another namespace (Config.NetNS) needs
// CAP_SYS_ADMIN.
package svcnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton/api"
)

// MinPrefixLen is the shortest service CIDR prefix Config accepts: 2^20
// addresses at most, the limit Kubernetes' API server puts on an IPv4
// service range. A shorter prefix would route a large part of the address
// space to nowhere.
const MinPrefixLen = 12

// Config configures a Net.
type Config struct {
	// Interface names the interface, such as "baton-svc0": at most 15
	// bytes of printable ASCII without '/', ':' or '%'. Open creates it,
	// or takes over one of that name that an earlier run left (marked
	// with OwnerAlias); Close deletes it.
	Interface string
	// CIDR is the service CIDR, such as 10.97.0.0/24: an IPv4 network
	// address (no host bits set) with a prefix of at least MinPrefixLen
	// bits, overlapping none of 0.0.0.0/8, 127.0.0.0/8 (loopback),
	// 169.254.0.0/16 (link-local) and 224.0.0.0/3 (multicast, reserved
	// and broadcast). It gets the unreachable route, and only its
	// addresses may be added.
	CIDR netip.Prefix
	// NetNS is the network namespace to work in. The zero value (and
	// netns.None()) means the namespace of the thread calling Open: note
	// that a namespace handle is a file descriptor, and descriptor 0 is
	// standard input. Open uses the handle only while it runs (the Net's
	// netlink socket keeps the namespace alive), so the caller keeps
	// ownership and may close it once Open returns.
	NetNS netns.NsHandle
	// Log receives what Net changes; default no-op.
	Log *zap.Logger
}

// OwnerAlias is the alias (ip link's "alias") of the interfaces Open
// creates; it takes over no other.
const OwnerAlias = "baton service cluster IPs"

// Net is an interface carrying cluster IPs, with the unreachable
// route of their CIDR. Make one with Open. Its methods are safe for
// concurrent use; each is one or a few netlink requests, serialized.
//
// Net does not watch the kernel: if someone else deletes the interface,
// Add and Remove fail (ENODEV) until Open is called again.
type Net struct {
	cidr  netip.Prefix
	route *netlink.Route
	log   *zap.Logger

	// mu guards closed, h and the use of h. A netlink.Handle that has been
	// closed does not fail: it sends each request on a new socket in the
	// calling thread's namespace, the host's, say, instead of cfg.NetNS.
	// So Close sets h to nil, and a request on it would panic.
	mu     sync.Mutex
	closed bool
	h      *netlink.Handle
	link   netlink.Link
}

// Open makes sure the interface cfg.Interface exists and is up in
// cfg.NetNS, removes every IPv4 address left on it by an earlier run (so
// the caller starts clean and adds the addresses it wants again), and
// adds the unreachable route for cfg.CIDR to the main table, replacing one
// left by an earlier run.
//
// Open changes nothing and fails if a link of that name exists that it did
// not make (api.ErrAlreadyExists), or if the main table already has a
// route for cfg.CIDR that is not unreachable, such as the prefix route of
// a network the host is on (api.ErrAlreadyExists too). Without
// CAP_NET_ADMIN it fails with an error that says so and wraps EPERM
// (errors.Is(err, os.ErrPermission)), and changes nothing. On a kernel
// without the dummy driver (CONFIG_DUMMY) it makes a bridge instead. An
// invalid Config is refused with api.ErrInvalid, naming the field.
//
// Should a later step fail, Open deletes the interface if it created it;
// leftover addresses it removed stay removed.
func Open(cfg Config) (*Net, error) {
	return openKinds(cfg, linkKinds)
}

// linkKinds are the kinds of link Open may make, in order of preference.
var linkKinds = []string{"dummy", "bridge"}

// openKinds is Open, making the first of kinds the kernel supports.
func openKinds(cfg Config, kinds []string) (*Net, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("interface", cfg.Interface), zap.Stringer("cidr", cfg.CIDR))
	h, err := handleAt(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	n := &Net{
		cidr: cfg.CIDR,
		route: &netlink.Route{
			Dst:   prefixIPNet(cfg.CIDR),
			Type:  unix.RTN_UNREACHABLE,
			Table: unix.RT_TABLE_MAIN,
		},
		log: log,
		h:   h,
	}
	if err := n.open(cfg.Interface, kinds); err != nil {
		h.Close()
		return nil, err
	}
	return n, nil
}

// open does Open's work on the handle.
func (n *Net) open(name string, kinds []string) error {
	link, err := n.h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		link = nil
	case err != nil:
		return fmt.Errorf("svcnet: looking up link %q: %w", name, err)
	case !ours(link):
		return notOurs(link)
	}
	// Look for a route that the unreachable one would replace or shadow
	// before changing anything.
	if err := n.checkRoute(); err != nil {
		return err
	}
	created := false
	if link == nil {
		if link, err = n.create(name, kinds); err != nil {
			return err
		}
		created = true
	}
	n.link = link
	undo := func() {
		if created {
			if err := n.h.LinkDel(link); err != nil {
				n.log.Warn("deleting the interface Open created", zap.Error(err))
			}
		}
	}
	if err := n.h.LinkSetUp(link); err != nil {
		undo()
		return opError("setting "+quote(name)+" up", err)
	}
	cleared, err := n.clear()
	if err != nil {
		undo()
		return err
	}
	if err := n.h.RouteReplace(n.route); err != nil {
		undo()
		return opError("adding the unreachable route for "+n.cidr.String(), err)
	}
	n.log.Info("service network open", zap.String("kind", link.Type()), zap.Bool("created", created), zap.Int("leftoverAddresses", cleared))
	return nil
}

// create makes link name of the first of kinds the kernel supports, marked
// with OwnerAlias.
func (n *Net) create(name string, kinds []string) (netlink.Link, error) {
	for _, kind := range kinds {
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		err := n.h.LinkAdd(&netlink.GenericLink{LinkAttrs: attrs, LinkType: kind})
		if errors.Is(err, unix.EOPNOTSUPP) {
			n.log.Info("the kernel cannot make this kind of interface; trying the next", zap.String("kind", kind), zap.Error(err))
			continue
		}
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("svcnet: Config.Interface %q: another program made a link of that name meanwhile: %w", name, api.ErrAlreadyExists)
		}
		if err != nil {
			return nil, opError(fmt.Sprintf("creating %s interface %q", kind, name), err)
		}
		link, err := n.h.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("svcnet: looking up link %q: %w", name, err)
		}
		// The kernel takes no alias with a new link; should marking it
		// fail, the unmarked link must not stay behind.
		if err := n.h.LinkSetAlias(link, OwnerAlias); err != nil {
			_ = n.h.LinkDel(link)
			return nil, opError(fmt.Sprintf("marking interface %q as Baton's", name), err)
		}
		return n.h.LinkByName(name)
	}
	return nil, fmt.Errorf("svcnet: creating interface %q: the kernel can make none of %v (for dummy, Linux option CONFIG_DUMMY): %w",
		name, kinds, unix.EOPNOTSUPP)
}

// Kind returns the kind of link carrying the addresses: "dummy", or
// "bridge" on a kernel without the dummy driver.
func (n *Net) Kind() string { return n.link.Type() }

// checkRoute fails if the main table has a route for the CIDR that is not
// unreachable.
func (n *Net) checkRoute() error {
	filter := &netlink.Route{Dst: n.route.Dst, Table: unix.RT_TABLE_MAIN}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return n.h.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return fmt.Errorf("svcnet: listing routes: %w", err)
	}
	for _, r := range routes {
		if r.Type != unix.RTN_UNREACHABLE {
			return fmt.Errorf("svcnet: Config.CIDR %s: the main routing table has a route for it (%s); Baton will not replace it with its unreachable route: choose another service CIDR: %w",
				n.cidr, r, api.ErrAlreadyExists)
		}
	}
	return nil
}

// clear removes every IPv4 address from the link and returns how many
// there were.
func (n *Net) clear() (int, error) {
	found := 0
	// Deleting a primary address can delete its secondaries too, and
	// another program may be adding addresses: list until none is left.
	for range 10 {
		addrs, err := retryDump(func() ([]netlink.Addr, error) {
			return n.h.AddrList(n.link, netlink.FAMILY_V4)
		})
		if err != nil {
			return found, fmt.Errorf("svcnet: listing addresses of %q: %w", n.link.Attrs().Name, err)
		}
		if len(addrs) == 0 {
			return found, nil
		}
		for _, a := range addrs {
			found++
			err := n.h.AddrDel(n.link, &a)
			if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
				return found, opError(fmt.Sprintf("removing leftover address %s from %q", a.IPNet, n.link.Attrs().Name), err)
			}
			n.log.Info("removed leftover address", zap.Stringer("address", a.IPNet))
		}
	}
	return found, fmt.Errorf("svcnet: addresses keep appearing on %q as they are removed: %w", n.link.Attrs().Name, api.ErrConflict)
}

// Close deletes the interface, which takes its addresses, and the
// unreachable route. It is idempotent: only the first call does anything,
// and later ones return nil. After Close, Add, Remove and Addresses fail
// with net.ErrClosed.
func (n *Net) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	defer func() {
		n.h.Close()
		n.h = nil
	}()
	var errs []error
	// The interface goes first so that no cluster IP is ever routed off
	// the host.
	if err := n.h.LinkDel(n.link); err != nil && !isNotFound(err) {
		errs = append(errs, opError("deleting "+quote(n.link.Attrs().Name), err))
	}
	if err := n.h.RouteDel(n.route); err != nil && !errors.Is(err, unix.ESRCH) {
		errs = append(errs, opError("deleting the unreachable route for "+n.cidr.String(), err))
	}
	n.log.Info("service network closed")
	return errors.Join(errs...)
}

// handleAt returns a netlink handle whose socket lives in ns.
//
// netlink.NewHandleAt would do, but it reports a failure to enter ns
// without its errno and, should moving the thread back fail, returns the
// thread to the pool still in ns. Here the thread that enters ns is never
// unlocked, so the runtime ends it with its goroutine.
func handleAt(ns netns.NsHandle) (*netlink.Handle, error) {
	if ns == 0 || ns == netns.None() {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("svcnet: opening a netlink socket: %w", err)
		}
		return h, nil
	}
	type result struct {
		h   *netlink.Handle
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: see above.
		if err := netns.Set(ns); err != nil {
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("svcnet: entering Config.NetNS %d needs CAP_SYS_ADMIN: %w", ns, err)
			} else {
				err = fmt.Errorf("svcnet: Config.NetNS %d: not a network namespace handle: %w: %w", ns, err, api.ErrInvalid)
			}
			done <- result{err: err}
			return
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			err = fmt.Errorf("svcnet: opening a netlink socket in Config.NetNS %d: %w", ns, err)
		}
		done <- result{h, err}
	}()
	r := <-done
	return r.h, r.err
}

// validate checks cfg, naming the field at fault.
func validate(cfg Config) error {
	if err := validName(cfg.Interface); err != "" {
		return fmt.Errorf("svcnet: Config.Interface %q: %s: %w", cfg.Interface, err, api.ErrInvalid)
	}
	if err := validCIDR(cfg.CIDR); err != "" {
		if !cfg.CIDR.IsValid() {
			return fmt.Errorf("svcnet: Config.CIDR: %s: %w", err, api.ErrInvalid)
		}
		return fmt.Errorf("svcnet: Config.CIDR %s: %s: %w", cfg.CIDR, err, api.ErrInvalid)
	}
	if cfg.NetNS < 0 && cfg.NetNS != netns.None() {
		return fmt.Errorf("svcnet: Config.NetNS %d: not a file descriptor: %w", cfg.NetNS, api.ErrInvalid)
	}
	return nil
}

// validName returns what is wrong with an interface name, or "". The
// kernel refuses "", ".", "..", names of 16 bytes or more and names with
// '/', ':' or white space; it would expand "%d" to a number, and Open
// could not find the link again.
func validName(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) >= unix.IFNAMSIZ:
		return fmt.Sprintf("longer than %d bytes", unix.IFNAMSIZ-1)
	case name == "." || name == "..":
		return "not a valid interface name"
	}
	for i := range len(name) {
		c := name[i]
		if c <= ' ' || c > '~' || c == '/' || c == ':' || c == '%' {
			return fmt.Sprintf("byte %q is not allowed in an interface name (printable ASCII without '/', ':' or '%%')", c)
		}
	}
	return ""
}

// reserved are the networks a service CIDR must not overlap.
var reserved = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("224.0.0.0/3"), "multicast, reserved and broadcast"},
}

// validCIDR returns what is wrong with a service CIDR, or "".
func validCIDR(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "required, such as 10.97.0.0/24"
	case !p.Addr().Is4():
		return "not IPv4 (svcnet manages IPv4 only)"
	case p.Masked() != p:
		return fmt.Sprintf("host bits are set; the network is %s", p.Masked())
	}
	for _, r := range reserved {
		if p.Overlaps(r.prefix) {
			return fmt.Sprintf("overlaps %s (%s)", r.prefix, r.what)
		}
	}
	if p.Bits() < MinPrefixLen {
		return fmt.Sprintf("larger than /%d", MinPrefixLen)
	}
	return ""
}

// ours reports whether Open made link, in this run or an earlier one.
func ours(link netlink.Link) bool {
	return slices.Contains(linkKinds, link.Type()) && link.Attrs().Alias == OwnerAlias
}

// notOurs is Open's error for a link of the wanted name that it did not
// make.
func notOurs(link netlink.Link) error {
	return fmt.Errorf("svcnet: Config.Interface %q: a link of that name exists (a %s) that Baton did not make (it would be a %s with alias %q); "+
		"Baton will not take it over: remove it or choose another name: %w",
		link.Attrs().Name, link.Type(), strings.Join(linkKinds, " or "), OwnerAlias, api.ErrAlreadyExists)
}

// opError wraps err from a netlink request that changes something,
// saying what it needs when the kernel refused it for want of privilege.
func opError(what string, err error) error {
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("svcnet: %s needs CAP_NET_ADMIN: %w", what, err)
	}
	return fmt.Errorf("svcnet: %s: %w", what, err)
}

// isNotFound reports whether err says a link does not exist.
func isNotFound(err error) bool {
	var notFound netlink.LinkNotFoundError
	return errors.As(err, &notFound) || errors.Is(err, unix.ENODEV)
}

// retryDump calls list until the kernel's dump was not interrupted by a
// change, a few times at most.
func retryDump[T any](list func() ([]T, error)) ([]T, error) {
	for i := 0; ; i++ {
		v, err := list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) || i == 4 {
			return v, err
		}
	}
}

// prefixIPNet converts an IPv4 prefix.
func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

// quote quotes an interface name for a message.
func quote(name string) string { return fmt.Sprintf("%q", name) }
