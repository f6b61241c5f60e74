// Package replicaset keeps each ReplicaSet's Pods at spec.replicas: it
// creates Pods from the template, owned by the ReplicaSet, deletes the
// surplus (the least useful first, as Kubernetes does), clears away Pods
// that ran to completion, and reports status.
package replicaset

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// createChunk bounds the Pods created in one store transaction, so that a
// large scale-up does not hold the store's write lock for long.
const createChunk = 500

// Reconciler reconciles ReplicaSets.
type Reconciler struct {
	Store  *store.Store
	Clock  clock.Clock
	Log    *zap.Logger
	Events events.Source
}

// Register makes c reconcile a ReplicaSet when it or one of its Pods
// changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindReplicaSet, controller.Same)
	c.Watch(r.Store, api.KindPod, controller.ControllerOf(api.KindReplicaSet))
}

// Reconcile brings one ReplicaSet's Pods to spec.replicas and updates its
// status.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	var rs *api.ReplicaSet
	var counts Counts
	r.Store.View(func(tx store.ReadTx) {
		obj, err := store.Get[*api.ReplicaSet](tx, req.Namespace, req.Name)
		if err != nil || obj.DeletionTimestamp != nil {
			return // the garbage collector takes its Pods
		}
		rs = obj
		counts = CountPods(tx, rs.UID, rs.Spec.MinReadySeconds, r.Clock.Now())
	})
	if rs == nil {
		return controller.Result{}, nil
	}
	want := replicas(rs)
	diff := want - counts.Active
	switch {
	case diff > 0:
		if err := r.createPods(rs, int(diff)); err != nil {
			return controller.Result{}, err
		}
		r.Events.Normal(rs, "SuccessfulCreate", "Created %d pod(s)", diff)
	case diff < 0:
		var active []*api.Pod
		r.Store.View(func(tx store.ReadTx) { active = activePods(tx, rs.UID) })
		victims := RankForDeletion(active)[:min(int(-diff), len(active))]
		if err := r.deletePods(victims); err != nil {
			return controller.Result{}, err
		}
		r.Events.Normal(rs, "SuccessfulDelete", "Deleted %d pod(s)", len(victims))
	}
	if len(counts.Finished) > 0 {
		// Pods that ran to completion no longer count; clear them away.
		if err := r.deletePods(counts.Finished); err != nil {
			return controller.Result{}, err
		}
	}
	if diff != 0 || len(counts.Finished) > 0 {
		// The Pods just changed; their changes bring the ReplicaSet back
		// here to report status from what they became.
		return controller.Result{}, nil
	}
	return r.updateStatus(rs, counts)
}

func replicas(rs *api.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// Counts summarises the Pods of one owner.
type Counts struct {
	// Active counts Pods neither terminating nor finished; Ready and
	// Available count the active ones that are ready, and ready for
	// minReadySeconds.
	Active, Ready, Available int32
	// Terminating counts Pods being deleted.
	Terminating int32
	// Wait is how long until the next ready Pod becomes available.
	Wait time.Duration
	// Finished holds Pods that succeeded or failed.
	Finished []*api.Pod
}

// CountPods counts the Pods controlled by owner in one pass, without
// gathering them, so that many thousands cost little to report on.
func CountPods(tx store.ReadTx, owner string, minReadySeconds int32, now time.Time) Counts {
	var c Counts
	minReady := time.Duration(minReadySeconds) * time.Second
	tx.EachByOwner(api.KindPod, owner, func(obj api.Object) bool {
		p := obj.(*api.Pod)
		switch {
		case !p.IsControlledBy(owner):
			return true
		case p.DeletionTimestamp != nil:
			c.Terminating++
			return true
		case p.IsTerminal():
			c.Finished = append(c.Finished, p)
			return true
		}
		c.Active++
		if !p.IsReady() {
			return true
		}
		c.Ready++
		if left := AvailableIn(p, minReady, now); left > 0 {
			if c.Wait == 0 || left < c.Wait {
				c.Wait = left
			}
			return true
		}
		c.Available++
		return true
	})
	return c
}

// AvailableIn returns how long until a ready Pod counts as available:
// zero once it has been ready for minReady.
func AvailableIn(p *api.Pod, minReady time.Duration, now time.Time) time.Duration {
	cond := p.Status.Condition(api.PodReady)
	if cond == nil {
		return minReady
	}
	return max(cond.LastTransitionTime.Add(minReady).Sub(now), 0)
}

// activePods returns the Pods controlled by owner that count toward its
// replicas.
func activePods(tx store.ReadTx, owner string) []*api.Pod {
	var out []*api.Pod
	tx.EachByOwner(api.KindPod, owner, func(obj api.Object) bool {
		if p := obj.(*api.Pod); p.IsControlledBy(owner) && p.DeletionTimestamp == nil && !p.IsTerminal() {
			out = append(out, p)
		}
		return true
	})
	return out
}

// createPods creates n Pods from rs's template. The Pods share the
// template's spec, labels and owner reference: stored objects are
// immutable, so sharing is safe and saves memory.
func (r *Reconciler) createPods(rs *api.ReplicaSet, n int) error {
	owners := []api.OwnerReference{api.NewControllerRef(rs, api.AppsV1)}
	spec := podSpecFor(&rs.Spec.Template)
	for n > 0 {
		chunk := min(n, createChunk)
		err := r.Store.Update(func(tx store.Tx) error {
			// The ReplicaSet may have gone or changed since it was read.
			cur, err := store.Get[*api.ReplicaSet](tx, rs.Namespace, rs.Name)
			if err != nil || cur.UID != rs.UID || cur.DeletionTimestamp != nil {
				return err
			}
			if ns, err := store.Get[*api.Namespace](tx, "", rs.Namespace); err != nil || ns.DeletionTimestamp != nil {
				return err
			}
			for range chunk {
				pod := &api.Pod{
					TypeMeta: api.TypeMeta{APIVersion: api.CoreV1, Kind: api.KindPod},
					ObjectMeta: api.ObjectMeta{
						Namespace:       rs.Namespace,
						GenerateName:    rs.Name + "-",
						Labels:          rs.Spec.Template.Labels,
						Annotations:     rs.Spec.Template.Annotations,
						OwnerReferences: owners,
					},
					Spec:   spec,
					Status: api.PodStatus{Phase: api.PodPending},
				}
				if err := tx.Create(pod); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		n -= chunk
	}
	return nil
}

// podSpecFor returns the spec of a Pod made from t, defaulted as a Pod
// (a container with only limits requests them). When defaulting changes
// nothing it is the template's own spec, shared.
func podSpecFor(t *api.PodTemplateSpec) api.PodSpec {
	pod := &api.Pod{Spec: *t.Spec.DeepCopy()}
	api.SetDefaults(pod)
	if reflect.DeepEqual(pod.Spec, t.Spec) {
		return t.Spec
	}
	return pod.Spec
}

func (r *Reconciler) deletePods(pods []*api.Pod) error {
	return r.Store.Update(func(tx store.Tx) error {
		for _, p := range pods {
			err := deletion.Delete(tx, api.KindPod, p.Namespace, p.Name, deletion.Options{
				Preconditions: store.Preconditions{UID: p.UID},
			})
			if err != nil && !store.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}

// RankForDeletion orders Pods so that the ones to delete first come first,
// as Kubernetes' ReplicaSet controller does: unscheduled before scheduled,
// pending before running, not ready before ready, more restarts before
// fewer, newer before older.
func RankForDeletion(pods []*api.Pod) []*api.Pod {
	ranked := slices.Clone(pods)
	slices.SortStableFunc(ranked, func(a, b *api.Pod) int {
		if c := boolRank(a.Spec.NodeName != "", b.Spec.NodeName != ""); c != 0 {
			return c
		}
		if c := phaseRank(a.Status.Phase) - phaseRank(b.Status.Phase); c != 0 {
			return c
		}
		if c := boolRank(a.IsReady(), b.IsReady()); c != 0 {
			return c
		}
		if c := int(restarts(b) - restarts(a)); c != 0 {
			return c
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return ranked
}

// boolRank orders false before true.
func boolRank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func phaseRank(p api.PodPhase) int {
	switch p {
	case api.PodPending:
		return 0
	case api.PodUnknown:
		return 1
	}
	return 2
}

func restarts(p *api.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// updateStatus writes the status counts describe, if it changed, unless
// the ReplicaSet changed meanwhile (its change brings it back here). It
// returns when to look again for a Pod that will become available once
// minReadySeconds pass.
func (r *Reconciler) updateStatus(rs *api.ReplicaSet, c Counts) (controller.Result, error) {
	status := api.ReplicaSetStatus{
		Replicas:           c.Active,
		ReadyReplicas:      c.Ready,
		AvailableReplicas:  c.Available,
		ObservedGeneration: rs.Generation,
	}
	result := controller.Result{RequeueAfter: c.Wait}
	if rs.Status == status {
		return result, nil
	}
	next := *rs
	next.Status = status
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return result, nil
	}
	return result, err
}
