package nodeagent

import (
	"math/rand/v2"
	"sync"
	"time"
)

// crashBackoff delays restarts of a container that keeps exiting, as
// kubelet does: the first restart is immediate, the next waits initial, and
// each one after waits twice as long up to max. A container that stays up
// longer than reset starts over from initial. Keys name a container and its
// spec hash, as kubelet's do, so a changed spec starts with no delay. It is
// safe for concurrent use.
type crashBackoff struct {
	initial, max, reset time.Duration
	// jitter, when positive, lengthens each delay by a random fraction up
	// to it, never past max, so that many containers crashing together do
	// not restart in lockstep.
	jitter float64

	mu      sync.Mutex // guards entries
	entries map[string]backoffEntry
}

type backoffEntry struct {
	// base doubles; delay is base plus jitter.
	base, delay time.Duration
	lastUpdate  time.Time
}

func newCrashBackoff(initial, max, reset time.Duration, jitter float64) *crashBackoff {
	return &crashBackoff{initial: initial, max: max, reset: reset, jitter: jitter, entries: map[string]backoffEntry{}}
}

// crashBackoffKey names one container of a Pod at one spec hash.
func crashBackoffKey(podUID, container, hash string) string {
	return podUID + "/" + container + "/" + hash
}

// wait returns how much longer a container that exited at exitedAt must
// wait before it may restart; 0 means now.
func (b *crashBackoff) wait(key string, exitedAt, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > b.reset {
		return 0
	}
	return max(exitedAt.Add(e.delay).Sub(now), 0)
}

// next records a restart at now and lengthens the delay before the next.
func (b *crashBackoff) next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok || now.Sub(e.lastUpdate) > b.reset {
		e.base = b.initial
	} else {
		e.base = min(e.base*2, b.max)
	}
	e.delay = e.base
	if b.jitter > 0 {
		e.delay = min(e.delay+time.Duration(rand.Float64()*b.jitter*float64(e.base)), b.max)
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
