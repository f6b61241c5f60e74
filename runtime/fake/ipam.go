package fake

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
)

// maxPool caps how many addresses of a large range the fake uses, so that
// its bitmap stays within 2 MiB.
const maxPool = 1 << 24

// ipam allocates sandbox IPs from a range, in order, like CNI's host-local
// plugin: the search for a free address starts after the last one handed
// out, so a released address is not reused at once. It is not safe for
// concurrent use; Runtime.mu guards it.
type ipam struct {
	prefix netip.Prefix
	// base is the network address; offset 0 of the pool is base+2, after
	// the gateway.
	base netip.Addr
	// size is how many addresses the pool holds.
	size uint64
	// used is a bitmap of allocated offsets, grown on demand.
	used []uint64
	// inUse counts allocated offsets.
	inUse uint64
	// next is the offset the next search starts at.
	next uint64
}

func newIPAM(cidr string) (*ipam, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: %w; pass a range such as %q", cidr, err, DefaultPodCIDR)
	}
	prefix = prefix.Masked()
	hostBits := prefix.Addr().BitLen() - prefix.Bits()
	size := uint64(maxPool)
	if hostBits < 25 {
		size = 1 << hostBits
		reserved := uint64(2) // network address and gateway
		if prefix.Addr().Is4() {
			reserved++ // broadcast
		}
		if size <= reserved {
			return nil, fmt.Errorf("pod CIDR %q leaves no address for sandboxes; use a /30 or larger range", cidr)
		}
		size -= reserved
	}
	return &ipam{prefix: prefix, base: prefix.Addr(), size: size}, nil
}

// allocate returns a free offset, or an error when the pool is exhausted.
func (p *ipam) allocate() (uint64, error) {
	if p.inUse >= p.size {
		return 0, fmt.Errorf("no free IP left in pod CIDR %s (%d in use): remove sandboxes, or use WithPodCIDR with a larger range", p.prefix, p.inUse)
	}
	for i := uint64(0); i < p.size; i++ {
		off := (p.next + i) % p.size
		word, bit := off/64, off%64
		if word >= uint64(len(p.used)) {
			p.used = append(p.used, make([]uint64, word+1-uint64(len(p.used)))...)
		}
		if p.used[word]&(1<<bit) == 0 {
			p.used[word] |= 1 << bit
			p.inUse++
			p.next = off + 1
			return off, nil
		}
	}
	panic("fake: ipam: inUse < size but no free offset")
}

// release returns off to the pool. Releasing a free offset does nothing.
func (p *ipam) release(off uint64) {
	word, bit := off/64, off%64
	if word < uint64(len(p.used)) && p.used[word]&(1<<bit) != 0 {
		p.used[word] &^= 1 << bit
		p.inUse--
	}
}

// addr returns the address at off.
func (p *ipam) addr(off uint64) netip.Addr {
	a := p.base.As16()
	lo := binary.BigEndian.Uint64(a[8:])
	hi := binary.BigEndian.Uint64(a[:8])
	lo, carry := bits.Add64(lo, off+2, 0)
	hi += carry
	binary.BigEndian.PutUint64(a[8:], lo)
	binary.BigEndian.PutUint64(a[:8], hi)
	addr := netip.AddrFrom16(a)
	if p.base.Is4() {
		addr = addr.Unmap()
	}
	return addr
}
