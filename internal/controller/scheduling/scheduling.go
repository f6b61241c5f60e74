// Package scheduling binds pending Pods to Nodes. It keeps a
// scheduler.Snapshot of the cluster in memory, rebuilt from the store when
// Nodes change and kept current from Pod changes, places a batch of pending
// Pods one after another through the scheduler package, and writes the
// bindings in one transaction. Pods that fit nowhere are marked
// Unschedulable and tried again when a Node or Pod change may have made room.
package scheduling

import (
	"context"
	"errors"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/scheduler"
)

// Reconciler schedules Pods. Use one controller worker: the snapshot and
// the scheduler are used by one goroutine at a time.
type Reconciler struct {
	store     *store.Store
	log       *zap.Logger
	events    events.Source
	scheduler *scheduler.Scheduler

	// mu guards the fields below. It is taken by store subscribers, so it
	// is never held while calling the store.
	mu sync.Mutex
	// changes are Pod changes not yet applied to the snapshot.
	changes []store.Change
	// nodesChanged asks for the snapshot to be rebuilt.
	nodesChanged bool
	// unschedulable are Pods that fit nowhere when last tried.
	unschedulable map[controller.Request]struct{}

	// snapshot is only used by the worker goroutine.
	snapshot *scheduler.Snapshot
}

var _ controller.BatchReconciler = (*Reconciler)(nil)

// New returns a scheduling reconciler.
func New(s *store.Store, log *zap.Logger, ev events.Source, sched *scheduler.Scheduler) *Reconciler {
	return &Reconciler{
		store:         s,
		log:           log.Named("scheduler"),
		events:        ev,
		scheduler:     sched,
		nodesChanged:  true,
		unschedulable: map[controller.Request]struct{}{},
	}
}

// Register wires Pod and Node changes to c.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.store, api.KindPod, r.podChanged)
	c.Watch(r.store, api.KindNode, r.nodeChanged)
}

func isPending(pod *api.Pod) bool {
	return pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && !pod.IsTerminal()
}

func (r *Reconciler) podChanged(ch store.Change) []controller.Request {
	pod := ch.Object.(*api.Pod)
	r.mu.Lock()
	defer r.mu.Unlock()
	if changesSnapshot(ch) {
		if len(r.changes) >= maxPendingChanges {
			r.changes, r.nodesChanged = nil, true // cheaper to rebuild
		} else {
			r.changes = append(r.changes, ch)
		}
	}
	freed := pod.Spec.NodeName != "" && (ch.Type == store.Deleted || pod.IsTerminal())
	switch {
	case ch.Type == store.Deleted:
		delete(r.unschedulable, controller.RequestFor(pod))
	case isPending(pod):
		return []controller.Request{controller.RequestFor(pod)}
	}
	if freed {
		return r.retryUnschedulableLocked()
	}
	return nil
}

// maxPendingChanges bounds the Pod changes kept between batches.
const maxPendingChanges = 10000

// changesSnapshot reports whether a Pod change alters what the snapshot
// accounts: a Pod bound, finished or deleted.
func changesSnapshot(ch store.Change) bool {
	pod := ch.Object.(*api.Pod)
	if pod.Spec.NodeName == "" {
		return false
	}
	if ch.Type != store.Modified {
		return true
	}
	old := ch.Old.(*api.Pod)
	return old.Spec.NodeName == "" || pod.IsTerminal() != old.IsTerminal()
}

func (r *Reconciler) nodeChanged(ch store.Change) []controller.Request {
	if old, ok := ch.Old.(*api.Node); ok && ch.Type == store.Modified && nodeUnchangedForScheduling(old, ch.Object.(*api.Node)) {
		return nil // a heartbeat
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodesChanged = true
	return r.retryUnschedulableLocked()
}

// nodeUnchangedForScheduling reports whether a Node update leaves what
// the scheduler reads unchanged.
func nodeUnchangedForScheduling(a, b *api.Node) bool {
	if a.IsReady() != b.IsReady() || a.Spec.Unschedulable != b.Spec.Unschedulable || len(a.Labels) != len(b.Labels) ||
		!slices.EqualFunc(a.Spec.Taints, b.Spec.Taints, sameTaint) {
		return false
	}
	for k, v := range a.Labels {
		if b.Labels[k] != v {
			return false
		}
	}
	for _, name := range []api.ResourceName{api.ResourceCPU, api.ResourceMemory, api.ResourcePods} {
		if !a.Status.Allocatable[name].Equal(b.Status.Allocatable[name]) || !a.Status.Capacity[name].Equal(b.Status.Capacity[name]) {
			return false
		}
	}
	return true
}

func (r *Reconciler) retryUnschedulableLocked() []controller.Request {
	reqs := make([]controller.Request, 0, len(r.unschedulable))
	for req := range r.unschedulable {
		reqs = append(reqs, req)
	}
	clear(r.unschedulable)
	return reqs
}

// Reconcile schedules one Pod.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	out := r.ReconcileBatch(ctx, []controller.Request{req})
	return out[0].Result, out[0].Err
}

// placement is the decision for one Pod of a batch.
type placement struct {
	pod  *api.Pod
	node string
	err  error
}

// ReconcileBatch schedules a batch of Pods and writes the outcome in one
// transaction.
func (r *Reconciler) ReconcileBatch(ctx context.Context, reqs []controller.Request) []controller.Outcome {
	r.syncSnapshot()
	var decisions []placement
	r.store.View(func(tx store.ReadTx) {
		for _, req := range reqs {
			pod, err := store.Get[*api.Pod](tx, req.Namespace, req.Name)
			if err != nil || !isPending(pod) {
				continue
			}
			node, err := r.scheduler.Schedule(pod, r.snapshot)
			if err == nil {
				if err = r.snapshot.Assume(pod, node); err != nil {
					node = ""
				}
			}
			decisions = append(decisions, placement{pod: pod, node: node, err: err})
		}
	})
	outcomes := make([]controller.Outcome, len(reqs))
	if len(decisions) == 0 {
		return outcomes
	}
	bound, err := r.write(decisions)
	if err != nil {
		for _, d := range decisions {
			if d.node != "" {
				r.snapshot.Forget(d.pod)
			}
		}
		for i := range outcomes {
			outcomes[i].Err = err
		}
		return outcomes
	}
	r.mu.Lock()
	for _, d := range decisions {
		if d.err != nil {
			r.unschedulable[controller.RequestFor(d.pod)] = struct{}{}
		}
	}
	r.mu.Unlock()
	for _, d := range decisions {
		switch {
		case d.err != nil:
			r.events.Warning(d.pod, "FailedScheduling", "%s", d.err.Error())
		case bound[d.pod]:
			r.events.Normal(d.pod, "Scheduled", "Successfully assigned %s/%s to %s", d.pod.Namespace, d.pod.Name, d.node)
		default:
			r.snapshot.Forget(d.pod) // changed under us; its next change brings it back
		}
	}
	return outcomes
}

// write stores the bindings and unschedulable conditions of a batch. It
// returns which Pods were bound.
func (r *Reconciler) write(decisions []placement) (map[*api.Pod]bool, error) {
	bound := map[*api.Pod]bool{}
	err := r.store.Update(func(tx store.Tx) error {
		clear(bound)
		for _, d := range decisions {
			cur, err := store.Get[*api.Pod](tx, d.pod.Namespace, d.pod.Name)
			if err != nil || cur.UID != d.pod.UID || !isPending(cur) {
				continue
			}
			cond := api.PodCondition{Type: api.PodScheduled, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(tx.Now())}
			if d.err != nil {
				var fit *scheduler.FitError
				reason := "SchedulerError"
				if errors.As(d.err, &fit) {
					reason = "Unschedulable"
				}
				cond = api.PodCondition{Type: api.PodScheduled, Status: api.ConditionFalse, Reason: reason,
					Message: d.err.Error(), LastTransitionTime: api.NewTime(tx.Now())}
				if old := cur.Status.Condition(api.PodScheduled); old != nil && old.Status == cond.Status && old.Message == cond.Message {
					continue
				}
			}
			next := *cur
			next.Status.Conditions = withCondition(cur.Status.Conditions, cond)
			if d.err == nil {
				next.Spec.NodeName = d.node
			}
			if err := tx.Update(&next); err != nil {
				return err
			}
			bound[d.pod] = d.err == nil
		}
		return nil
	})
	return bound, err
}

// withCondition returns a new slice of conditions with c replacing any of
// its type.
func withCondition(conds []api.PodCondition, c api.PodCondition) []api.PodCondition {
	out := make([]api.PodCondition, 0, len(conds)+1)
	for _, old := range conds {
		if old.Type != c.Type {
			out = append(out, old)
		}
	}
	return append(out, c)
}

// syncSnapshot brings the snapshot up to date with the changes seen since
// the last batch, rebuilding it from the store when Nodes changed.
func (r *Reconciler) syncSnapshot() {
	r.mu.Lock()
	changes := r.changes
	rebuild := r.nodesChanged || r.snapshot == nil
	r.changes, r.nodesChanged = nil, false
	r.mu.Unlock()
	if rebuild {
		r.store.View(func(tx store.ReadTx) {
			// NewSnapshot skips the Pods that are not bound.
			r.snapshot = scheduler.NewSnapshot(store.List[*api.Node](tx, ""), store.List[*api.Pod](tx, ""))
		})
		// The rebuilt snapshot already shows every change up to now.
		return
	}
	for _, ch := range changes {
		pod := ch.Object.(*api.Pod)
		if ch.Type == store.Deleted || pod.IsTerminal() {
			r.snapshot.Forget(pod)
			continue
		}
		if err := r.snapshot.Assume(pod, pod.Spec.NodeName); err != nil {
			r.log.Debug("pod bound to a node the snapshot lacks", zap.String("pod", pod.Key()), zap.Error(err))
		}
	}
}

// sameTaint compares what the scheduler reads of a taint.
func sameTaint(a, b api.Taint) bool {
	return a.Key == b.Key && a.Value == b.Value && a.Effect == b.Effect
}
