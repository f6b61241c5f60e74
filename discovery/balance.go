package discovery

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Policy says how a Dialer picks among a Service port's endpoints.
type Policy int

// Balancing policies.
const (
	// RoundRobin takes the endpoints in turn.
	RoundRobin Policy = iota
	// LeastConnections takes the endpoint with the fewest connections
	// open through the Resolver's Dialers, in turn among equals.
	LeastConnections
)

// String returns "RoundRobin" or "LeastConnections".
func (p Policy) String() string {
	if p == LeastConnections {
		return "LeastConnections"
	}
	return "RoundRobin"
}

// maxSticky bounds the client affinities a port remembers before expired
// ones are swept.
const maxSticky = 4096

// balance is the balancing state of one Service port. It outlives the
// port's snapshots, so that the round-robin cursor, the connection counts
// and the affinities survive endpoint changes.
type balance struct {
	next atomic.Uint64 // round-robin cursor

	mu     sync.Mutex // guards active and sticky
	active map[netip.AddrPort]int
	sticky map[netip.Addr]stickyEntry
}

type stickyEntry struct {
	endpoint netip.AddrPort
	last     time.Time
}

func newBalance() *balance { return &balance{} }

// order returns up to n of cands in the order a new connection should try
// them. With affinity, client's remembered endpoint comes first while it is
// a candidate and was used within timeout.
func (b *balance) order(cands []netip.AddrPort, policy Policy, n int, affinity bool, client netip.Addr, now time.Time, timeout time.Duration) []netip.AddrPort {
	n = min(n, len(cands))
	out := make([]netip.AddrPort, 0, n)
	start := int(b.next.Add(1)-1) % len(cands)
	if affinity {
		b.mu.Lock()
		if e, ok := b.sticky[client]; ok && now.Sub(e.last) < timeout && slices.Contains(cands, e.endpoint) {
			out = append(out, e.endpoint)
		}
		b.mu.Unlock()
	}
	if policy == LeastConnections {
		b.mu.Lock()
		defer b.mu.Unlock()
		for len(out) < n {
			best, bestCount := -1, 0
			for i := range cands {
				ep := cands[(start+i)%len(cands)]
				if slices.Contains(out, ep) {
					continue
				}
				if c := b.active[ep]; best < 0 || c < bestCount {
					best, bestCount = (start+i)%len(cands), c
				}
			}
			out = append(out, cands[best])
		}
		return out
	}
	for i := 0; len(out) < n; i++ {
		if ep := cands[(start+i)%len(cands)]; !slices.Contains(out, ep) {
			out = append(out, ep)
		}
	}
	return out
}

// acquire counts a connection to ep; release uncounts it.
func (b *balance) acquire(ep netip.AddrPort) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == nil {
		b.active = map[netip.AddrPort]int{}
	}
	b.active[ep]++
}

func (b *balance) release(ep netip.AddrPort) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active[ep] <= 1 {
		delete(b.active, ep)
		return
	}
	b.active[ep]--
}

// stick remembers that client used ep at now.
func (b *balance) stick(client netip.Addr, ep netip.AddrPort, now time.Time, timeout time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sticky == nil {
		b.sticky = map[netip.Addr]stickyEntry{}
	}
	if len(b.sticky) >= maxSticky {
		for c, e := range b.sticky {
			if now.Sub(e.last) >= timeout {
				delete(b.sticky, c)
			}
		}
	}
	b.sticky[client] = stickyEntry{endpoint: ep, last: now}
}
