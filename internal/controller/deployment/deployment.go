// Package deployment rolls Deployments out the way Kubernetes does: every
// distinct Pod template is a ReplicaSet carrying a revision number, and the
// controller scales ReplicaSets — never Pods — to move from one revision to
// the next within maxSurge and maxUnavailable (RollingUpdate) or by
// stopping every old Pod before starting new ones (Recreate). It scales
// proportionally when replicas change mid-rollout, keeps
// revisionHistoryLimit old ReplicaSets for rollback, reports status and the
// Available and Progressing conditions, and, when a Deployment opts in with
// the baton.dev/auto-rollback annotation, rolls back by itself when a
// rollout exceeds its progress deadline.
//
// Unlike Kubernetes, it counts Pods straight from the store, which is
// consistent and in-process, instead of trusting ReplicaSet statuses that
// may lag: the surge and availability bounds are computed from what is.
package deployment

import (
	"context"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/replicaset"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// PodTemplateHashLabel carries the hash of the template a ReplicaSet and
// its Pods were made from, as in Kubernetes.
const PodTemplateHashLabel = "pod-template-hash"

// Reconciler reconciles Deployments.
type Reconciler struct {
	Store  *store.Store
	Clock  clock.Clock
	Log    *zap.Logger
	Events events.Source
}

// Register makes c reconcile a Deployment when it, one of its ReplicaSets,
// or one of their Pods changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindDeployment, controller.Same)
	c.Watch(r.Store, api.KindReplicaSet, controller.ControllerOf(api.KindDeployment))
	c.Watch(r.Store, api.KindPod, r.podChanged)
	c.Watch(r.Store, api.KindConfigMap, r.configChanged)
	c.Watch(r.Store, api.KindSecret, r.configChanged)
}

// configChanged maps a ConfigMap or Secret change to the Deployments that
// asked to roll out on such changes and use it.
func (r *Reconciler) configChanged(ch store.Change) []controller.Request {
	meta := ch.Object.GetObjectMeta()
	var reqs []controller.Request
	r.Store.View(func(tx store.ReadTx) {
		for _, d := range store.List[*api.Deployment](tx, meta.Namespace) {
			if d.Annotations[api.AnnotationRestartOnConfigChange] == "true" && d.Spec.Template.Spec.References(ch.Kind(), meta.Name) {
				reqs = append(reqs, controller.RequestFor(d))
			}
		}
	})
	return reqs
}

// podChanged maps a Pod change to its ReplicaSet's Deployment. Only
// changes that can move a rollout count: a Pod added, deleted, marked for
// deletion, or becoming ready or not.
func (r *Reconciler) podChanged(ch store.Change) []controller.Request {
	pod := ch.Object.(*api.Pod)
	ref := pod.ControllerRef()
	if ref == nil || ref.Kind != api.KindReplicaSet {
		return nil
	}
	if ch.Type == store.Modified {
		old := ch.Old.(*api.Pod)
		if old.IsReady() == pod.IsReady() && (old.DeletionTimestamp == nil) == (pod.DeletionTimestamp == nil) &&
			old.IsTerminal() == pod.IsTerminal() {
			return nil
		}
	}
	var req []controller.Request
	r.Store.View(func(tx store.ReadTx) {
		rs, err := store.Get[*api.ReplicaSet](tx, pod.Namespace, ref.Name)
		if err != nil {
			return
		}
		if owner := rs.ControllerRef(); owner != nil && owner.Kind == api.KindDeployment {
			req = []controller.Request{{Namespace: pod.Namespace, Name: owner.Name}}
		}
	})
	return req
}

// state is what one reconcile sees: the Deployment, its ReplicaSets and
// their Pods, counted.
type state struct {
	d    *api.Deployment
	hash string
	// newRS runs the current template; nil until made.
	newRS *api.ReplicaSet
	// oldRSs run earlier templates, oldest first.
	oldRSs []*api.ReplicaSet
	// counts holds each ReplicaSet's Pods, by UID.
	counts map[string]replicaset.Counts
	now    time.Time
}

func (st *state) all() []*api.ReplicaSet {
	if st.newRS == nil {
		return st.oldRSs
	}
	return append(slices.Clone(st.oldRSs), st.newRS)
}

// want is the Deployment's replicas.
func (st *state) want() int32 { return replicasOf(st.d.Spec.Replicas) }

func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// size is how many Pods a ReplicaSet stands for: its replicas, or the Pods
// it still has if more (it is being scaled down).
func (st *state) size(rs *api.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return max(replicasOf(rs.Spec.Replicas), st.counts[rs.UID].Active)
}

// available is how many of a ReplicaSet's Pods are available and will
// stay: no more than its replicas, since the Pods beyond those are about
// to be deleted.
func (st *state) available(rs *api.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return min(st.counts[rs.UID].Available, replicasOf(rs.Spec.Replicas))
}

// sum adds f over the ReplicaSets, in int64: several ReplicaSets of a
// Deployment near the int32 limit must not wrap around.
func (st *state) sum(f func(*api.ReplicaSet) int32) int64 {
	var n int64
	for _, rs := range st.all() {
		n += int64(f(rs))
	}
	return n
}

// load reads the Deployment at req and everything it owns in one snapshot.
func (r *Reconciler) load(req controller.Request) (*state, bool) {
	var st *state
	r.Store.View(func(tx store.ReadTx) {
		d, err := store.Get[*api.Deployment](tx, req.Namespace, req.Name)
		if err != nil || d.DeletionTimestamp != nil {
			return // the garbage collector takes its ReplicaSets
		}
		st = &state{d: d, hash: TemplateHash(&d.Spec.Template), counts: map[string]replicaset.Counts{}, now: r.Clock.Now()}
		withPods := 0
		tx.EachByOwner(api.KindReplicaSet, d.UID, func(obj api.Object) bool {
			rs := obj.(*api.ReplicaSet)
			if !rs.IsControlledBy(d.UID) || rs.DeletionTimestamp != nil {
				return true
			}
			// A ReplicaSet may have Pods if it wants some, reports some,
			// or has not reported since it was created or scaled.
			if replicasOf(rs.Spec.Replicas) > 0 || rs.Status.Replicas > 0 || rs.Status.ObservedGeneration < rs.Generation {
				withPods++
			}
			if rs.Labels[PodTemplateHashLabel] == st.hash && st.newRS == nil {
				st.newRS = rs
			} else {
				st.oldRSs = append(st.oldRSs, rs)
			}
			return true
		})
		// During a rollout, decisions rest on the Pods themselves, counted
		// now. Otherwise one ReplicaSet holds every Pod and its status,
		// kept by the ReplicaSet controller, is enough: counting 100,000
		// Pods again on every change of one would cost a core. A
		// ReplicaSet scaled to zero before its controller ever reported
		// its Pods still counts as having some until it reports none.
		rolling := st.newRS == nil || withPods > 1
		// Right after a rollout the ReplicaSet's status may still show
		// fewer available Pods than the count the Deployment last
		// reported from the Pods themselves (its controller paces its
		// recounts): count them again rather than report a drop that did
		// not happen. A real drop costs one count, then the status agrees.
		behind := !rolling && st.newRS.Status.AvailableReplicas < d.Status.AvailableReplicas
		for _, rs := range st.all() {
			if rolling || behind {
				st.counts[rs.UID] = replicaset.CountPods(tx, rs.UID, d.Spec.MinReadySeconds, st.now)
			} else {
				st.counts[rs.UID] = replicaset.Counts{Active: rs.Status.Replicas, Ready: rs.Status.ReadyReplicas, Available: rs.Status.AvailableReplicas}
			}
		}
	})
	if st != nil {
		slices.SortStableFunc(st.oldRSs, func(a, b *api.ReplicaSet) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return int(Revision(a) - Revision(b))
		})
	}
	return st, st != nil
}

// Reconcile moves one Deployment a step toward its desired state. Each
// step writes and returns; the changes it causes bring the Deployment
// back, so progress is level-triggered and survives restarts.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	st, ok := r.load(req)
	if !ok {
		return controller.Result{}, nil
	}
	if changed, err := r.syncConfigHash(st.d); changed || err != nil {
		return controller.Result{}, err
	}
	if st.d.Spec.Paused {
		// A paused Deployment still scales, but rolls nothing out.
		if acted, err := r.scale(st); acted || err != nil {
			return controller.Result{}, err
		}
		return r.syncStatus(st, false)
	}
	if r.isScalingEvent(st) {
		if acted, err := r.scale(st); acted || err != nil {
			return controller.Result{}, err
		}
	}
	var acted bool
	var err error
	if st.d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType {
		acted, err = r.rolloutRecreate(st)
	} else {
		acted, err = r.rolloutRolling(st)
	}
	if acted || err != nil {
		return controller.Result{}, err
	}
	if r.complete(st) {
		if err := r.clearAutoRolledBack(st); err != nil {
			return controller.Result{}, err
		}
		if err := r.cleanup(st); err != nil {
			return controller.Result{}, err
		}
	}
	return r.syncStatus(st, true)
}

// Revision returns the revision number a ReplicaSet carries, or 0.
func Revision(obj api.Object) int64 {
	n, err := strconv.ParseInt(obj.GetObjectMeta().Annotations[api.AnnotationRevision], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
