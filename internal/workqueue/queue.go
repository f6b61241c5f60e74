// Package workqueue is the deduplicating work queue that feeds Baton's
// reconcilers, modelled on client-go's: a key added many times before a
// worker takes it is processed once; a key is never processed by two
// workers at once; a key added while it is being processed is processed
// again afterwards; failed keys are retried with per-key exponential
// backoff.
package workqueue

import (
	"context"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/batonhq/baton/clock"
)

// Default retry backoff of AddRateLimited.
const (
	DefaultInitialRetry = 10 * time.Millisecond
	DefaultMaxRetry     = 30 * time.Second
)

// Queue is a work queue of keys. It is safe for concurrent use.
type Queue[K comparable] struct {
	clock        clock.Clock
	initialRetry time.Duration
	maxRetry     time.Duration

	mu sync.Mutex // guards every field below
	// order holds keys waiting for a worker, oldest first; dirty is the
	// same set, plus keys re-added while processing.
	order []K
	dirty map[K]struct{}
	// dirtyPeak is the most keys dirty has held since it was last made.
	dirtyPeak  int
	processing map[K]struct{}
	retries    map[K]*backoff.ExponentialBackOff
	timers     map[K]delayed
	shutdown   bool
	// ready is closed, and replaced, when order gains a key or the queue
	// shuts down.
	ready chan struct{}
}

// delayed is a pending AddAfter.
type delayed struct {
	at    time.Time
	timer clock.Timer
}

// Option configures a Queue.
type Option func(*options)

type options struct {
	clock        clock.Clock
	initialRetry time.Duration
	maxRetry     time.Duration
}

// WithClock sets the clock for delays and retries.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithRetry sets the first and the largest retry delay of AddRateLimited.
func WithRetry(initial, max time.Duration) Option {
	return func(o *options) { o.initialRetry, o.maxRetry = initial, max }
}

// New returns an empty queue.
func New[K comparable](opts ...Option) *Queue[K] {
	o := options{clock: clock.Real(), initialRetry: DefaultInitialRetry, maxRetry: DefaultMaxRetry}
	for _, opt := range opts {
		opt(&o)
	}
	return &Queue[K]{
		clock:        o.clock,
		initialRetry: o.initialRetry,
		maxRetry:     o.maxRetry,
		dirty:        map[K]struct{}{},
		processing:   map[K]struct{}{},
		retries:      map[K]*backoff.ExponentialBackOff{},
		timers:       map[K]delayed{},
		ready:        make(chan struct{}),
	}
}

// Add queues key unless it is already waiting.
func (q *Queue[K]) Add(key K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue[K]) addLocked(key K) {
	if q.shutdown {
		return
	}
	if _, waiting := q.dirty[key]; waiting {
		return
	}
	q.dirty[key] = struct{}{}
	q.dirtyPeak = max(q.dirtyPeak, len(q.dirty))
	if _, busy := q.processing[key]; busy {
		return // Done queues it again
	}
	q.order = append(q.order, key)
	q.signalLocked()
}

func (q *Queue[K]) signalLocked() {
	close(q.ready)
	q.ready = make(chan struct{})
}

// AddAfter queues key once d has passed on the queue's clock. Of several
// pending delays for one key, the earliest wins.
func (q *Queue[K]) AddAfter(key K, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	at := q.clock.Now().Add(d)
	if prev, ok := q.timers[key]; ok {
		if !at.Before(prev.at) {
			return
		}
		prev.timer.Stop()
	}
	var timer clock.Timer
	timer = q.clock.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if cur, ok := q.timers[key]; ok && cur.timer == timer {
			delete(q.timers, key)
		}
		q.addLocked(key)
	})
	q.timers[key] = delayed{at: at, timer: timer}
}

// AddRateLimited queues key after its next retry delay: exponential from
// the initial delay up to the maximum, with jitter, until Forget.
func (q *Queue[K]) AddRateLimited(key K) {
	q.AddAfter(key, q.NextRetry(key))
}

// NextRetry advances key's retry backoff and returns the delay.
func (q *Queue[K]) NextRetry(key K) time.Duration {
	q.mu.Lock()
	b, ok := q.retries[key]
	if !ok {
		b = &backoff.ExponentialBackOff{
			InitialInterval:     q.initialRetry,
			RandomizationFactor: 0.1,
			Multiplier:          2,
			MaxInterval:         q.maxRetry,
			Stop:                backoff.Stop,
			Clock:               q.clock,
		}
		b.Reset()
		q.retries[key] = b
	}
	d := b.NextBackOff()
	q.mu.Unlock()
	return d
}

// Forget resets key's retry backoff; call it when the key succeeded.
func (q *Queue[K]) Forget(key K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.retries, key)
}

// Get waits for a key and marks it processing; the caller must call Done.
// It returns false when the queue shuts down or ctx ends.
func (q *Queue[K]) Get(ctx context.Context) (K, bool) {
	keys, ok := q.GetBatch(ctx, 1)
	if !ok {
		var zero K
		return zero, false
	}
	return keys[0], true
}

// GetBatch waits for at least one key and returns up to max keys, each
// marked processing; the caller must call Done for each. It returns false
// when the queue shuts down or ctx ends.
func (q *Queue[K]) GetBatch(ctx context.Context, max int) ([]K, bool) {
	for {
		q.mu.Lock()
		if q.shutdown {
			q.mu.Unlock()
			return nil, false
		}
		if len(q.order) > 0 {
			n := min(max, len(q.order))
			keys := make([]K, n)
			copy(keys, q.order[:n])
			q.order = q.order[n:]
			for _, k := range keys {
				delete(q.dirty, k)
				q.processing[k] = struct{}{}
			}
			q.releaseDrainedLocked()
			q.mu.Unlock()
			return keys, true
		}
		ready := q.ready
		q.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// burstKeys is how many waiting keys make a burst whose memory the queue
// lets go of once it drains; below it, the memory is reused.
const burstKeys = 1024

// releaseDrainedLocked lets go of the memory a burst of keys left behind
// once the queue has drained: a slice resliced from the front and a map
// that has been emptied both keep their largest size otherwise, for as
// long as the queue lives.
func (q *Queue[K]) releaseDrainedLocked() {
	if len(q.order) > 0 {
		return
	}
	if cap(q.order) > burstKeys {
		q.order = nil
	}
	if len(q.dirty) == 0 && q.dirtyPeak > burstKeys {
		q.dirty, q.dirtyPeak = map[K]struct{}{}, 0
	}
}

// Done marks key processed; if it was added meanwhile it is queued again.
func (q *Queue[K]) Done(key K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, waiting := q.dirty[key]; waiting && !q.shutdown {
		q.order = append(q.order, key)
		q.signalLocked()
	}
}

// Len returns the number of keys waiting for a worker.
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// ShutDown stops the queue: pending delays are cancelled, waiting Gets
// return false, and later Adds are ignored.
func (q *Queue[K]) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	q.shutdown = true
	for _, d := range q.timers {
		d.timer.Stop()
	}
	q.timers = map[K]delayed{}
	q.signalLocked()
}
