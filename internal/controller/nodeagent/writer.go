package nodeagent

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/store"
)

// writeChunk bounds the writes of one transaction.
const writeChunk = 1000

// statusWriter writes Pod statuses and final deletions for every node agent,
// grouping whatever is waiting into one store transaction: while one
// transaction commits, the next batch gathers. Later submissions for a Pod
// replace earlier ones. It is safe for concurrent use.
type statusWriter struct {
	store *store.Store
	log   *zap.Logger

	mu      sync.Mutex // guards pending
	pending map[controller.Request]podWrite
	wake    chan struct{} // has a value when pending is non-empty
}

// podWrite is a status to write, or a deletion, for the Pod with uid.
type podWrite struct {
	uid    string
	status *api.PodStatus // nil for a deletion
	// committed, when set, is called once the write is in the store.
	committed func()
}

func newStatusWriter(s *store.Store, log *zap.Logger) *statusWriter {
	return &statusWriter{store: s, log: log, pending: map[controller.Request]podWrite{}, wake: make(chan struct{}, 1)}
}

// setStatus queues status for the Pod at key with uid; committed is called
// once it is stored.
func (w *statusWriter) setStatus(key controller.Request, uid string, status *api.PodStatus, committed func()) {
	w.submit(key, podWrite{uid: uid, status: status, committed: committed})
}

// remove queues the final deletion of the Pod at key with uid.
func (w *statusWriter) remove(key controller.Request, uid string) {
	w.submit(key, podWrite{uid: uid})
}

func (w *statusWriter) submit(key controller.Request, pw podWrite) {
	w.mu.Lock()
	w.pending[key] = pw
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes until ctx ends, then writes what is left.
func (w *statusWriter) run(ctx context.Context) {
	for {
		select {
		case <-w.wake:
			w.flush()
		case <-ctx.Done():
			w.flush()
			return
		}
	}
}

func (w *statusWriter) flush() {
	w.mu.Lock()
	batch := w.pending
	w.pending = map[controller.Request]podWrite{}
	w.mu.Unlock()
	keys := make([]controller.Request, 0, len(batch))
	for k := range batch {
		keys = append(keys, k)
	}
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), writeChunk)]
		keys = keys[len(chunk):]
		err := w.store.Update(func(tx store.Tx) error {
			for _, key := range chunk {
				if err := write(tx, key, batch[key]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			w.log.Error("could not write pod statuses", zap.Int("pods", len(chunk)), zap.Error(err))
			continue
		}
		for _, key := range chunk {
			if pw := batch[key]; pw.committed != nil {
				pw.committed()
			}
		}
	}
}

func write(tx store.Tx, key controller.Request, pw podWrite) error {
	cur, err := store.Get[*api.Pod](tx, key.Namespace, key.Name)
	if err != nil || cur.UID != pw.uid {
		return nil // gone, or replaced by a namesake
	}
	if pw.status == nil {
		return tx.Delete(api.KindPod, key.Namespace, key.Name, store.Preconditions{UID: pw.uid})
	}
	next := *cur
	next.Status = *pw.status
	// The scheduler owns PodScheduled; keep whatever it wrote last.
	if sched := cur.Status.Condition(api.PodScheduled); sched != nil {
		if mine := pw.status.Condition(api.PodScheduled); mine == nil || *mine != *sched {
			next.Status.Conditions = withPodCondition(next.Status.Conditions, *sched)
		}
	}
	return tx.Update(&next)
}

// withPodCondition returns a new slice with c replacing any condition of
// its type, keeping the order.
func withPodCondition(conds []api.PodCondition, c api.PodCondition) []api.PodCondition {
	out := make([]api.PodCondition, 0, len(conds)+1)
	replaced := false
	for _, old := range conds {
		if old.Type == c.Type {
			out = append(out, c)
			replaced = true
		} else {
			out = append(out, old)
		}
	}
	if !replaced {
		out = append([]api.PodCondition{c}, out...)
	}
	return out
}
