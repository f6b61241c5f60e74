package nodeagent

import (
	"math/rand/v2"
	"sync"
	"time"
)

// crashBackoff delays restarts of a container that keeps exiting, as
// kubelet does: the first restart is immediate, the next waits Initial, and
// each one after waits twice as long up to Max. A container that stays up
// longer than 2×Max starts over from Initial. It is safe for concurrent use.
type crashBackoff struct {
	initial, max time.Duration
	// jitter, when positive, lengthens each delay by a random fraction up
	// to it, so that many containers crashing together do not restart in
	// lockstep.
	jitter float64

	mu      sync.Mutex // guards entries
	entries map[string]backoffEntry
}

type backoffEntry struct {
	// base doubles; delay is base plus jitter.
	base, delay time.Duration
	lastUpdate  time.Time
}

func newCrashBackoff(initial, max time.Duration, jitter float64) *crashBackoff {
	return &crashBackoff{initial: initial, max: max, jitter: jitter, entries: map[string]backoffEntry{}}
}

// wait returns how much longer a container that exited at exitedAt must
// wait before it may restart; 0 means now.
func (b *crashBackoff) wait(key string, exitedAt, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > 2*b.max {
		return 0
	}
	return max(exitedAt.Add(e.delay).Sub(now), 0)
}

// next records a restart at now and lengthens the delay before the next.
func (b *crashBackoff) next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > 2*b.max {
		e.base = b.initial
	} else {
		e.base = min(e.base*2, b.max)
	}
	e.delay = e.base
	if b.jitter > 0 {
		e.delay += time.Duration(rand.Float64() * b.jitter * float64(e.base))
	}
	e.lastUpdate = now
	b.entries[key] = e
}

// current returns the delay the next restart will wait, for messages.
func (b *crashBackoff) current(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries[key].delay
}

// forget drops every key with prefix, when a Pod goes.
func (b *crashBackoff) forget(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.entries, k)
		}
	}
}
