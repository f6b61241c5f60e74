// Package events records Kubernetes-style Events: a Pod was scheduled, a
// container started or crashed. Recording never blocks the caller: events
// are buffered and written in batches, repeats of the same event fold into
// one with a count, a token bucket bounds how fast a storm of events can
// load the store, and the number of stored events is bounded with the
// oldest dropped first.
package events

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
)

// Defaults of Options.
const (
	DefaultMaxEvents = 1000
	DefaultBurst     = 1000
	DefaultPerSecond = 200
	// bufferSize bounds events waiting to be written; more are dropped.
	bufferSize = 4096
)

// Options tune a Recorder.
type Options struct {
	// MaxEvents bounds the stored events; the oldest go first.
	MaxEvents int
	// Burst and PerSecond shape one token bucket for the whole recorder
	// that admits events, repeats included (Kubernetes' spam filter keeps
	// a bucket per source and object); an event turned away is counted by
	// Dropped, and was still logged.
	Burst     int
	PerSecond int
}

// Recorder buffers events and writes them to the store. Every event is also
// logged, at Debug level as Kubernetes logs its events at a high
// verbosity, so a host that wants them in its logs turns Debug on. It is
// safe for concurrent use.
type Recorder struct {
	store *store.Store
	clock clock.Clock
	log   *zap.Logger
	opts  Options

	mu      sync.Mutex // guards pending, dropped, tokens and refilled
	pending []pendingEvent
	dropped int
	tokens  float64
	refill  time.Time

	wake chan struct{} // has a value when pending is non-empty
}

type pendingEvent struct {
	ref       api.ObjectReference
	eventType string
	reason    string
	message   string
	source    api.EventSource
	at        time.Time
}

// New returns a recorder writing to s. Call Run to start writing.
func New(s *store.Store, c clock.Clock, log *zap.Logger, opts Options) *Recorder {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = DefaultMaxEvents
	}
	if opts.Burst <= 0 {
		opts.Burst = DefaultBurst
	}
	if opts.PerSecond <= 0 {
		opts.PerSecond = DefaultPerSecond
	}
	return &Recorder{
		store:  s,
		clock:  c,
		log:    log.Named("events"),
		opts:   opts,
		tokens: float64(opts.Burst),
		refill: c.Now(),
		wake:   make(chan struct{}, 1),
	}
}

// Source is a recorder bound to the component (and node) reporting.
type Source struct {
	r      *Recorder
	source api.EventSource
}

// For returns a Source reporting as component on host (host may be empty).
func (r *Recorder) For(component, host string) Source {
	return Source{r: r, source: api.EventSource{Component: component, Host: host}}
}

// Normal records a Normal event about obj.
func (s Source) Normal(obj api.Object, reason, format string, args ...any) {
	s.record(obj, api.EventTypeNormal, reason, format, args...)
}

// Warning records a Warning event about obj.
func (s Source) Warning(obj api.Object, reason, format string, args ...any) {
	s.record(obj, api.EventTypeWarning, reason, format, args...)
}

func (s Source) record(obj api.Object, eventType, reason, format string, args ...any) {
	if s.r == nil {
		return
	}
	message := format
	if len(args) > 0 {
		message = fmt.Sprintf(format, args...)
	}
	s.r.add(pendingEvent{
		ref:       api.ReferenceTo(obj),
		eventType: eventType,
		reason:    reason,
		message:   message,
		source:    s.source,
		at:        s.r.clock.Now(),
	})
}

func (r *Recorder) add(e pendingEvent) {
	r.log.Debug(e.message, zap.String("type", e.eventType), zap.String("reason", e.reason),
		zap.String("object", e.ref.Kind+" "+e.ref.Namespace+"/"+e.ref.Name))
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) >= bufferSize || !r.takeTokenLocked(e.at) {
		r.dropped++
		return
	}
	r.pending = append(r.pending, e)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Recorder) takeTokenLocked(now time.Time) bool {
	if elapsed := now.Sub(r.refill); elapsed > 0 {
		r.tokens = min(float64(r.opts.Burst), r.tokens+elapsed.Seconds()*float64(r.opts.PerSecond))
		r.refill = now
	}
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}

// Dropped returns how many events were dropped because the buffer was full
// or the rate limit was reached.
func (r *Recorder) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Run writes buffered events until ctx ends, then writes what is left.
func (r *Recorder) Run(ctx context.Context) error {
	for {
		select {
		case <-r.wake:
			r.Flush()
		case <-ctx.Done():
			r.Flush()
			return nil
		}
	}
}

// Flush writes the buffered events now.
func (r *Recorder) Flush() {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := r.store.Update(func(tx store.Tx) error {
		for _, e := range batch {
			if err := r.write(tx, e); err != nil {
				return err
			}
		}
		return r.prune(tx)
	})
	if err != nil {
		r.log.Warn("could not write events", zap.Int("count", len(batch)), zap.Error(err))
	}
}

// write stores e, folding it into an existing identical event.
func (r *Recorder) write(tx store.Tx, e pendingEvent) error {
	namespace := e.ref.Namespace
	if namespace == "" {
		namespace = api.NamespaceDefault
	}
	name := eventName(e)
	if old, err := store.Get[*api.Event](tx, namespace, name); err == nil {
		next := *old
		next.Count++
		next.LastTimestamp = api.NewTime(e.at)
		next.ResourceVersion = ""
		return tx.Update(&next)
	}
	if ns, err := store.Get[*api.Namespace](tx, "", namespace); err != nil || ns.DeletionTimestamp != nil {
		return nil // the namespace is going, and with it the object
	}
	return tx.Create(&api.Event{
		TypeMeta:       api.TypeMeta{APIVersion: api.CoreV1, Kind: api.KindEvent},
		ObjectMeta:     api.ObjectMeta{Namespace: namespace, Name: name},
		InvolvedObject: e.ref,
		Reason:         e.reason,
		Message:        e.message,
		Source:         e.source,
		FirstTimestamp: api.NewTime(e.at),
		LastTimestamp:  api.NewTime(e.at),
		Count:          1,
		Type:           e.eventType,
	})
}

// eventName derives a stable name from what makes two events the same, so
// repeats find each other.
func eventName(e pendingEvent) string {
	h := fnv.New64a()
	for _, s := range []string{e.ref.UID, e.ref.Kind, e.ref.Name, e.eventType, e.reason, e.message, e.source.Component, e.source.Host} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return e.ref.Name + "." + strconv.FormatUint(h.Sum64(), 16)
}

// prune deletes the oldest events beyond MaxEvents.
func (r *Recorder) prune(tx store.Tx) error {
	all := store.List[*api.Event](tx, "")
	excess := len(all) - r.opts.MaxEvents
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b *api.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp.Time) })
	for _, e := range all[:excess] {
		if err := tx.Delete(api.KindEvent, e.Namespace, e.Name, store.Preconditions{}); err != nil {
			return err
		}
	}
	return nil
}
