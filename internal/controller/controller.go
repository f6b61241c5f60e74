// Package controller runs level-triggered reconcilers: store changes are
// mapped to keys, keys go through a deduplicating work queue, and workers
// call Reconcile for each key, retrying failures with backoff. A reconciler
// reads what is and what should be and closes the gap; it never relies on
// what the change was, so a missed or repeated key does no harm.
//
// The concrete controllers live in the subpackages.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/workqueue"
)

// Request names the object to reconcile.
type Request struct {
	Namespace string
	Name      string
}

// RequestFor returns the request for obj.
func RequestFor(obj api.Object) Request {
	m := obj.GetObjectMeta()
	return Request{Namespace: m.Namespace, Name: m.Name}
}

func (r Request) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Result tells the controller what to do after a successful Reconcile.
type Result struct {
	// RequeueAfter, when positive, reconciles the key again after that
	// long even if nothing changes.
	RequeueAfter time.Duration
}

// Reconciler closes the gap between desired and observed state for one key.
type Reconciler interface {
	// Reconcile is called with one key at a time per key (never
	// concurrently for the same key). Returning an error retries the key
	// with backoff unless the error is Terminal.
	Reconcile(ctx context.Context, req Request) (Result, error)
}

// BatchReconciler is a Reconciler that can also take many keys at once, to
// write their results in one store transaction. A controller whose
// reconciler implements it hands it up to Options.BatchSize keys at a time.
type BatchReconciler interface {
	Reconciler
	// ReconcileBatch returns one Outcome per request, in order.
	ReconcileBatch(ctx context.Context, reqs []Request) []Outcome
}

// Outcome is the result of reconciling one key of a batch.
type Outcome struct {
	Result Result
	Err    error
}

// Func adapts a function to Reconciler.
type Func func(ctx context.Context, req Request) (Result, error)

// Reconcile calls f.
func (f Func) Reconcile(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

// terminalError marks an error that retrying cannot fix.
type terminalError struct{ err error }

func (e terminalError) Error() string { return e.err.Error() }
func (e terminalError) Unwrap() error { return e.err }

// Terminal wraps err so the controller logs it and does not retry.
func Terminal(err error) error { return terminalError{err: err} }

// IsTerminal reports whether err was marked Terminal.
func IsTerminal(err error) bool {
	var t terminalError
	return errors.As(err, &t)
}

// Options configure a Controller.
type Options struct {
	// Workers is the number of concurrent Reconcile calls; default 1.
	Workers int
	// Log receives errors and retries; default no-op.
	Log *zap.Logger
	// Clock drives retries and RequeueAfter; default real time.
	Clock clock.Clock
	// BatchSize is the most keys handed to a BatchReconciler at once;
	// default 500.
	BatchSize int
}

// Controller feeds a Reconciler from store changes.
type Controller struct {
	name       string
	reconciler Reconciler
	workers    int
	batchSize  int
	log        *zap.Logger
	queue      *workqueue.Queue[Request]
	watches    []watch

	// pacingMu guards slow, paced and stopped.
	pacingMu sync.Mutex
	// slow holds the keys whose last reconcile took slowReconcile or
	// more: when it ended and how long it took.
	slow map[Request]slowKey
	// paced holds the real-time timers of keys held back by pacing.
	paced   map[Request]*time.Timer
	stopped bool
}

// slowReconcile is the reconcile time from which a key is paced.
const slowReconcile = time.Millisecond

// pace is how long a paced key waits after its reconcile ends, as a
// multiple of how long the reconcile took: a key is reconciled at most a
// third of the time, however often its objects change. maxPace caps the
// wait, so that one long reconcile (creating 100,000 Pods, say) does not
// hold its key back for long after.
const (
	pace    = 2
	maxPace = 100 * time.Millisecond
)

type slowKey struct {
	end  time.Time
	took time.Duration
}

type watch struct {
	store *store.Store
	kind  string
	mapFn func(store.Change) []Request
}

// New returns a controller named name running r.
func New(name string, r Reconciler, opts Options) *Controller {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.BatchSize < 1 {
		opts.BatchSize = 500
	}
	return &Controller{
		name:       name,
		reconciler: r,
		workers:    opts.Workers,
		batchSize:  opts.BatchSize,
		log:        opts.Log.Named(name),
		queue:      workqueue.New[Request](workqueue.WithClock(opts.Clock)),
		slow:       map[Request]slowKey{},
		paced:      map[Request]*time.Timer{},
	}
}

// add queues req at once, unless its last reconcile was slow: then it waits
// until pace times that reconcile's duration has passed since it ended, so
// that a key whose reconcile is expensive (a ReplicaSet of 100,000 Pods,
// say) does not take a whole core just because its Pods keep changing.
// Pacing measures CPU cost, so it runs on real time, not on the clock.
func (c *Controller) add(req Request) {
	c.pacingMu.Lock()
	s, slow := c.slow[req]
	wait := time.Until(s.end.Add(min(pace*s.took, maxPace)))
	if !slow || wait <= 0 || c.stopped {
		c.pacingMu.Unlock()
		c.queue.Add(req)
		return
	}
	if _, ok := c.paced[req]; !ok {
		var t *time.Timer
		t = time.AfterFunc(wait, func() {
			c.pacingMu.Lock()
			// EnqueueNow may have let the key go and a later add paced it
			// again with a timer of its own: leave that one be.
			if c.paced[req] == t {
				delete(c.paced, req)
			}
			c.pacingMu.Unlock()
			c.queue.Add(req)
		})
		c.paced[req] = t
	}
	c.pacingMu.Unlock()
}

// timed records how long req's reconcile took, for pacing.
func (c *Controller) timed(req Request, took time.Duration) {
	c.pacingMu.Lock()
	defer c.pacingMu.Unlock()
	if took >= slowReconcile {
		c.slow[req] = slowKey{end: time.Now(), took: took}
	} else {
		delete(c.slow, req)
	}
}

// stopPacing cancels the timers of paced keys.
func (c *Controller) stopPacing() {
	c.pacingMu.Lock()
	defer c.pacingMu.Unlock()
	c.stopped = true
	for req, t := range c.paced {
		t.Stop()
		delete(c.paced, req)
	}
}

// Watch makes changes to objects of kind enqueue the requests mapFn returns.
// When Run starts, every existing object of kind is mapped as if Added.
// mapFn runs under the store's write lock: it must be quick and must not
// write to the store. Call Watch before Run.
func (c *Controller) Watch(s *store.Store, kind string, mapFn func(store.Change) []Request) {
	c.watches = append(c.watches, watch{store: s, kind: kind, mapFn: mapFn})
}

// Enqueue asks for req to be reconciled.
func (c *Controller) Enqueue(req Request) { c.add(req) }

// EnqueueNow asks for req to be reconciled at once, however long its last
// reconcile took: for an event that will not wait, such as a container's
// exit, whose restart is due at once. Pacing is for keys whose objects
// keep changing; a reconcile that was slow because it waited on a runtime
// costs little CPU, so this does not undo what pacing is for.
func (c *Controller) EnqueueNow(req Request) {
	c.pacingMu.Lock()
	if t, ok := c.paced[req]; ok {
		t.Stop()
		delete(c.paced, req)
	}
	c.pacingMu.Unlock()
	c.queue.Add(req)
}

// EnqueueAfter asks for req to be reconciled after d.
func (c *Controller) EnqueueAfter(req Request, d time.Duration) { c.queue.AddAfter(req, d) }

// Run subscribes to the watched kinds and reconciles until ctx ends, then
// stops the workers and returns once they have all exited.
func (c *Controller) Run(ctx context.Context) error {
	for _, w := range c.watches {
		snap, cancel := w.store.Subscribe(
			func(ch store.Change) bool { return ch.Kind() == w.kind },
			func(ch store.Change) {
				for _, req := range w.mapFn(ch) {
					c.add(req)
				}
			})
		defer cancel()
		snap.Each(w.kind, "", func(o api.Object) bool {
			for _, req := range w.mapFn(store.Change{Type: store.Added, Revision: snap.Revision(), Object: o}) {
				c.add(req)
			}
			return true
		})
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx)
		}()
	}
	<-ctx.Done()
	c.stopPacing()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) work(ctx context.Context) {
	if batch, ok := c.reconciler.(BatchReconciler); ok {
		c.workBatches(ctx, batch)
		return
	}
	for {
		req, ok := c.queue.Get(ctx)
		if !ok {
			return
		}
		c.process(ctx, req)
		c.queue.Done(req)
	}
}

func (c *Controller) workBatches(ctx context.Context, r BatchReconciler) {
	for {
		reqs, ok := c.queue.GetBatch(ctx, c.batchSize)
		if !ok {
			return
		}
		outcomes := c.reconcileBatch(ctx, r, reqs)
		for i, req := range reqs {
			c.handle(ctx, req, outcomes[i].Result, outcomes[i].Err)
			c.queue.Done(req)
		}
	}
}

func (c *Controller) reconcileBatch(ctx context.Context, r BatchReconciler, reqs []Request) (outcomes []Outcome) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("reconcile panicked; retrying with backoff", zap.Int("keys", len(reqs)), zap.Any("panic", p), zap.Stack("stack"))
			outcomes = make([]Outcome, len(reqs))
			for i := range outcomes {
				outcomes[i].Err = fmt.Errorf("panic: %v", p)
			}
		}
	}()
	outcomes = r.ReconcileBatch(ctx, reqs)
	if len(outcomes) != len(reqs) {
		panic(fmt.Sprintf("controller %s: ReconcileBatch returned %d outcomes for %d keys", c.name, len(outcomes), len(reqs)))
	}
	return outcomes
}

func (c *Controller) process(ctx context.Context, req Request) {
	start := time.Now()
	res, err := c.reconcileOne(ctx, req)
	c.timed(req, time.Since(start))
	c.handle(ctx, req, res, err)
}

func (c *Controller) reconcileOne(ctx context.Context, req Request) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("reconcile panicked; retrying with backoff", zap.Stringer("key", req), zap.Any("panic", p), zap.Stack("stack"))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.reconciler.Reconcile(ctx, req)
}

func (c *Controller) handle(ctx context.Context, req Request, res Result, err error) {
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutting down; the next Run starts from the store anyway.
	case err != nil && IsTerminal(err):
		c.log.Error("reconcile failed; not retrying", zap.Stringer("key", req), zap.Error(err))
		c.queue.Forget(req)
	case err != nil:
		delay := c.queue.NextRetry(req)
		c.log.Debug("reconcile failed; retrying", zap.Stringer("key", req), zap.Duration("after", delay), zap.Error(err))
		c.queue.AddAfter(req, delay)
	default:
		c.queue.Forget(req)
		if res.RequeueAfter > 0 {
			c.queue.AddAfter(req, res.RequeueAfter)
		}
	}
}

// Same maps a change to a request for the changed object itself.
func Same(ch store.Change) []Request { return []Request{RequestFor(ch.Object)} }

// ControllerOf maps a change to a request for the object's controller
// owner, if it is of kind ownerKind; ownerKind objects live in the
// dependent's namespace.
func ControllerOf(ownerKind string) func(store.Change) []Request {
	return func(ch store.Change) []Request {
		m := ch.Object.GetObjectMeta()
		ref := m.ControllerRef()
		if ref == nil || ref.Kind != ownerKind {
			return nil
		}
		return []Request{{Namespace: m.Namespace, Name: ref.Name}}
	}
}
