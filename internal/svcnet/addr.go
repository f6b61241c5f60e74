package svcnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/batonhq/baton/api"
)

// Add assigns a to the interface as a /32, so that the kernel delivers
// traffic to it locally and the proxy can bind to it. Adding an address
// that is already there succeeds and changes nothing. a must be in the
// CIDR (an IPv4-mapped IPv6 address is taken as its IPv4 address);
// another address is refused with api.ErrInvalid.
func (n *Net) Add(a netip.Addr) error {
	a, err := n.check(a)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("svcnet: adding %s: %w", a, net.ErrClosed)
	}
	// Universe scope (the zero value), as kube-ipvs0's addresses have.
	if err := n.h.AddrReplace(n.link, hostAddr(a)); err != nil {
		return opError(fmt.Sprintf("adding %s to %q", a, n.link.Attrs().Name), err)
	}
	n.log.Debug("added address", zap.Stringer("address", a))
	return nil
}

// Remove removes a from the interface. Removing an address that is not
// there succeeds. a must be in the CIDR, as for Add.
func (n *Net) Remove(a netip.Addr) error {
	a, err := n.check(a)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("svcnet: removing %s: %w", a, net.ErrClosed)
	}
	err = n.h.AddrDel(n.link, hostAddr(a))
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return opError(fmt.Sprintf("removing %s from %q", a, n.link.Attrs().Name), err)
	}
	n.log.Debug("removed address", zap.Stringer("address", a))
	return nil
}

// Addresses returns the IPv4 addresses on the interface, read from the
// kernel and sorted. The slice is the caller's.
func (n *Net) Addresses() ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("svcnet: listing addresses: %w", net.ErrClosed)
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) {
		return n.h.AddrList(n.link, netlink.FAMILY_V4)
	})
	if err != nil {
		return nil, fmt.Errorf("svcnet: listing addresses of %q: %w", n.link.Attrs().Name, err)
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			out = append(out, ip.Unmap())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out), nil
}

// check returns a as IPv4 if it is in the CIDR, and an error otherwise.
func (n *Net) check(a netip.Addr) (netip.Addr, error) {
	a = a.Unmap()
	if !n.cidr.Contains(a) {
		return a, fmt.Errorf("svcnet: address %s is not in the service CIDR %s: %w", a, n.cidr, api.ErrInvalid)
	}
	return a, nil
}

// hostAddr returns a as a /32 address of universe scope.
func hostAddr(a netip.Addr) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}}
}
