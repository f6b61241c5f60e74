// Package store is Baton's single source of truth: every object lives here,
// in go-memdb tables, one per kind. The package wraps memdb and never
// exposes it.
//
// # Contracts
//
//   - Reads see a consistent snapshot (View). Objects read from the store
//     are shared with every other reader and must never be mutated: copy,
//     change, then write.
//   - Writes are all-or-nothing transactions (Update). One transaction is
//     one revision; every object it writes gets that revision as its
//     resourceVersion. An update carrying a stale resourceVersion fails with
//     api.ErrConflict, never overwriting a newer write.
//   - Objects passed to Create and Update become the store's: the caller
//     must not touch them afterwards.
//   - Changes are published after commit, in revision order and without
//     gaps, to subscribers (Subscribe, Watch).
package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
)

// DefaultHistory is how many recent changes a store keeps for watches that
// resume from a past revision.
const DefaultHistory = 1024

// Store holds the objects. It is safe for concurrent use: many readers, and
// writers serialised one transaction at a time.
type Store struct {
	db    *memdb.MemDB
	clock clock.Clock

	// writeMu serialises write transactions together with the publication
	// of their changes, so subscribers see changes in revision order and a
	// subscription starts at an exact revision. It guards rev, rng, subs,
	// nextSub and history.
	writeMu sync.Mutex
	rev     uint64
	rng     *mrand.ChaCha8
	subs    map[uint64]*subscription
	nextSub uint64
	history *history

	// current is the latest committed snapshot and its revision, for
	// readers that take no lock.
	current atomic.Pointer[view]
}

// view is a committed snapshot of the database at a revision.
type view struct {
	db  *memdb.MemDB
	rev uint64
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps creation and deletion times.
func WithClock(c clock.Clock) Option { return func(s *Store) { s.clock = c } }

// WithHistory sets how many recent changes are kept for watches that resume
// from a past revision; the default is DefaultHistory.
func WithHistory(n int) Option {
	return func(s *Store) { s.history = newHistory(n) }
}

// New returns an empty store.
func New(opts ...Option) (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	s := &Store{
		db:      db,
		clock:   clock.Real(),
		rng:     mrand.NewChaCha8(seed),
		subs:    map[uint64]*subscription{},
		history: newHistory(DefaultHistory),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.current.Store(&view{db: db.Snapshot(), rev: 0})
	return s, nil
}

// Revision returns the revision of the last committed transaction.
func (s *Store) Revision() uint64 { return s.current.Load().rev }

// View calls fn with a consistent read-only snapshot. Objects fn reads are
// shared: fn must not mutate them.
func (s *Store) View(fn func(ReadTx)) {
	v := s.current.Load()
	fn(&readTx{txn: v.db.Txn(false), rev: v.rev})
}

// Update runs fn in a write transaction. If fn returns an error nothing is
// written and the error is returned; otherwise the changes are committed as
// one new revision and published to subscribers before Update returns. A
// transaction that changes nothing takes no revision.
func (s *Store) Update(fn func(Tx) error) error {
	_, err := s.update(fn)
	return err
}

// UpdateRevision is Update that also returns the revision committed, or the
// current revision when nothing changed.
func (s *Store) UpdateRevision(fn func(Tx) error) (uint64, error) {
	return s.update(fn)
}

func (s *Store) update(fn func(Tx) error) (uint64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	txn := s.db.Txn(true)
	tx := &writeTx{
		readTx: readTx{txn: txn, rev: s.rev + 1},
		store:  s,
		now:    s.clock.Now(),
	}
	if err := fn(tx); err != nil {
		txn.Abort()
		return s.rev, err
	}
	if len(tx.changes) == 0 {
		txn.Abort()
		return s.rev, nil
	}
	txn.Commit()
	s.rev++
	s.current.Store(&view{db: s.db.Snapshot(), rev: s.rev})
	s.publishLocked(tx.changes)
	return s.rev, nil
}

// newUIDLocked returns a random (version 4) UUID. Callers hold writeMu.
func (s *Store) newUIDLocked() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], s.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], s.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out)
}

// nameSuffixLocked returns 5 random characters for generateName, from the
// alphabet Kubernetes uses (no vowels, no look-alikes). Callers hold writeMu.
func (s *Store) nameSuffixLocked() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[s.rng.Uint64()%uint64(len(alphabet))]
	}
	return string(b)
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, api.ErrNotFound) }
