package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/batonhq/baton/api"
)

// ChangeType says what a Change did.
type ChangeType string

// Change types, named as Kubernetes names watch events.
const (
	Added    ChangeType = "ADDED"
	Modified ChangeType = "MODIFIED"
	Deleted  ChangeType = "DELETED"
)

// Change is one committed write. Its objects are shared and must not be
// mutated.
type Change struct {
	Type ChangeType
	// Revision is the revision of the transaction that made the change.
	Revision uint64
	// Object is the new state, or for Deleted the last state.
	Object api.Object
	// Old is the previous state, for Modified and Deleted.
	Old api.Object
}

// Kind returns the kind of the changed object.
func (c Change) Kind() string { return c.Object.ObjectKind() }

type subscription struct {
	filter func(Change) bool
	fn     func(Change)
}

// publishLocked hands changes to subscribers and history. Callers hold
// writeMu.
func (s *Store) publishLocked(changes []Change) {
	for _, c := range changes {
		s.history.add(c)
		for _, sub := range s.subs {
			if sub.filter == nil || sub.filter(c) {
				sub.fn(c)
			}
		}
	}
}

// Subscribe registers fn to receive every change after the returned
// snapshot, in revision order, for which filter (when non-nil) returns true.
// fn runs synchronously while the store's write lock is held, so it must be
// quick and must not write to the store; a work queue Add is the intended
// use. The returned ReadTx shows the state just before the first change fn
// will see, so a caller can list it and then follow the changes with
// nothing missed and nothing repeated. Call cancel to stop; fn is not called
// after cancel returns.
func (s *Store) Subscribe(filter func(Change) bool, fn func(Change)) (snapshot ReadTx, cancel func()) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	v := s.current.Load()
	id := s.addSubLocked(filter, fn)
	return &readTx{txn: v.db.Txn(false), rev: v.rev}, func() { s.removeSub(id) }
}

// SubscribeFrom is Subscribe starting after revision rev: fn first receives
// the kept changes after rev, then every new one. It fails with
// api.ErrExpired when changes after rev are no longer kept.
func (s *Store) SubscribeFrom(rev uint64, filter func(Change) bool, fn func(Change)) (cancel func(), err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if rev > s.rev {
		return nil, fmt.Errorf("store: revision %d is in the future; the latest is %d: %w", rev, s.rev, api.ErrInvalid)
	}
	missed, ok := s.history.since(rev)
	if !ok {
		return nil, fmt.Errorf("store: changes after revision %d are no longer kept (the oldest resumable revision is %d); list again and watch from the current state: %w",
			rev, s.history.floor, api.ErrExpired)
	}
	for _, c := range missed {
		if filter == nil || filter(c) {
			fn(c)
		}
	}
	id := s.addSubLocked(filter, fn)
	return func() { s.removeSub(id) }, nil
}

func (s *Store) addSubLocked(filter func(Change) bool, fn func(Change)) uint64 {
	s.nextSub++
	s.subs[s.nextSub] = &subscription{filter: filter, fn: fn}
	return s.nextSub
}

func (s *Store) removeSub(id uint64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	delete(s.subs, id)
}

// history keeps the most recent changes in a ring.
type history struct {
	ring []Change
	next int // index the next change goes to
	full bool
	// floor is the highest revision some of whose changes may be missing:
	// the revision of the last change pushed out of the ring, or the
	// revision a store was restored at.
	floor uint64
}

func newHistory(n int) *history {
	if n < 1 {
		n = 1
	}
	return &history{ring: make([]Change, n)}
}

func (h *history) add(c Change) {
	if h.full {
		h.floor = h.ring[h.next].Revision
	}
	h.ring[h.next] = c
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

// reset forgets every change and marks rev as the floor.
func (h *history) reset(rev uint64) {
	clear(h.ring)
	h.next, h.full, h.floor = 0, false, rev
}

// since returns the changes with revisions after rev. It reports false when
// some of them are no longer kept.
func (h *history) since(rev uint64) ([]Change, bool) {
	if rev < h.floor {
		return nil, false
	}
	kept := h.ring[:h.next]
	if h.full {
		kept = append(append([]Change(nil), h.ring[h.next:]...), h.ring[:h.next]...)
	}
	i := 0
	for i < len(kept) && kept[i].Revision <= rev {
		i++
	}
	return append([]Change(nil), kept[i:]...), true
}

// WatchOptions select what Watch delivers.
type WatchOptions struct {
	// Kind is the kind to watch.
	Kind string
	// Namespace limits the watch to one namespace; "" watches all.
	Namespace string
	// Filter, when set, selects objects: a watch sees an object only while
	// Filter returns true for it. As in Kubernetes, an object modified into
	// the selection arrives as Added, and one modified out of it as Deleted
	// with its last selected state.
	Filter func(api.Object) bool
	// FromRevision, when non-zero, resumes after that revision instead of
	// starting with the current state.
	FromRevision uint64
}

// Watch returns a channel that first carries an Added change for every
// object that exists now (unless opts.FromRevision is set), then every later
// change, converted by conv; changes for which conv returns false are
// skipped. Delivery is in order and gap-free: a slow reader never blocks the
// store, because undelivered changes queue in memory. The channel closes
// when ctx ends, after which the watch's goroutine has exited or is about
// to.
func Watch[T any](ctx context.Context, s *Store, opts WatchOptions, conv func(Change) (T, bool)) (<-chan T, error) {
	q := newQueue()
	match := func(c Change) bool {
		return c.Kind() == opts.Kind && (opts.Namespace == "" || c.Object.GetObjectMeta().Namespace == opts.Namespace)
	}
	push := func(c Change) {
		if c, ok := selectChange(c, opts.Filter); ok {
			q.push(c)
		}
	}
	var cancel func()
	if opts.FromRevision > 0 {
		var err error
		if cancel, err = s.SubscribeFrom(opts.FromRevision, match, push); err != nil {
			return nil, err
		}
	} else {
		var snap ReadTx
		snap, cancel = s.Subscribe(match, push)
		var initial []Change
		snap.Each(opts.Kind, opts.Namespace, func(o api.Object) bool {
			if opts.Filter == nil || opts.Filter(o) {
				initial = append(initial, Change{Type: Added, Revision: snap.Revision(), Object: o})
			}
			return true
		})
		q.prepend(initial)
	}
	out := make(chan T)
	go func() {
		defer close(out)
		defer cancel()
		for {
			batch, ok := q.wait(ctx)
			if !ok {
				return
			}
			for _, c := range batch {
				v, keep := conv(c)
				if !keep {
					continue
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// selectChange returns c as a watch selecting objects by filter sees it,
// or false when that watch sees nothing of it. A Modified change that
// moves an object into the selection becomes Added; one that moves it out
// becomes Deleted, carrying the object's last selected state stamped with
// the change's revision, as Kubernetes' watch cache does.
func selectChange(c Change, filter func(api.Object) bool) (Change, bool) {
	if filter == nil {
		return c, true
	}
	now := filter(c.Object)
	if c.Type != Modified {
		return c, now
	}
	before := filter(c.Old)
	switch {
	case now && !before:
		return Change{Type: Added, Revision: c.Revision, Object: c.Object}, true
	case !now && before:
		last := c.Old.DeepCopyObject()
		last.GetObjectMeta().ResourceVersion = c.Object.GetObjectMeta().ResourceVersion
		return Change{Type: Deleted, Revision: c.Revision, Object: last, Old: c.Old}, true
	}
	return c, now
}

// queue is an unbounded FIFO of changes with one consumer.
type queue struct {
	mu    sync.Mutex // guards items and ready
	items []Change
	ready chan struct{} // closed when items becomes non-empty
}

func newQueue() *queue { return &queue{ready: make(chan struct{})} }

func (q *queue) push(c Change) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		close(q.ready)
	}
	q.items = append(q.items, c)
}

func (q *queue) prepend(cs []Change) {
	if len(cs) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		close(q.ready)
	}
	q.items = append(cs, q.items...)
}

// wait returns everything queued, waiting for at least one item; it reports
// false when ctx ends first.
func (q *queue) wait(ctx context.Context) ([]Change, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			items := q.items
			q.items = nil
			q.ready = make(chan struct{})
			q.mu.Unlock()
			return items, true
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
