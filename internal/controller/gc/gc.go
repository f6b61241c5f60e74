// Package gc is the garbage collector: it deletes objects whose owners are
// all gone (Kubernetes' background cascading deletion: a Deployment's
// ReplicaSets, a ReplicaSet's Pods) and force-deletes Pods bound to a Node
// that no longer exists (Kubernetes' pod GC), since no node agent will ever
// finish them. One Reconciler collects one dependent kind.
package gc

import (
	"context"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
)

// Reconciler collects the objects of one kind.
type Reconciler struct {
	Store *store.Store
	// Kind is the dependent kind collected; the store must index it by
	// owner.
	Kind string
	// OwnerKinds are the kinds whose deletion can orphan a Kind.
	OwnerKinds []string
}

var _ controller.BatchReconciler = (*Reconciler)(nil)

// Register wires the changes that can orphan an object to c.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, r.Kind, func(ch store.Change) []controller.Request {
		if ch.Type == store.Added && len(ch.Object.GetObjectMeta().OwnerReferences) > 0 {
			return controller.Same(ch)
		}
		return nil
	})
	for _, kind := range r.OwnerKinds {
		c.Watch(r.Store, kind, func(ch store.Change) []controller.Request {
			if ch.Type != store.Deleted {
				return nil
			}
			var reqs []controller.Request
			r.Store.View(func(tx store.ReadTx) {
				tx.EachByOwner(r.Kind, ch.Object.GetObjectMeta().UID, func(dep api.Object) bool {
					reqs = append(reqs, controller.RequestFor(dep))
					return true
				})
			})
			return reqs
		})
	}
	if r.Kind != api.KindPod {
		return
	}
	c.Watch(r.Store, api.KindNode, func(ch store.Change) []controller.Request {
		if ch.Type != store.Deleted {
			return nil
		}
		var reqs []controller.Request
		r.Store.View(func(tx store.ReadTx) {
			for _, pod := range tx.PodsOnNode(ch.Object.GetObjectMeta().Name) {
				reqs = append(reqs, controller.RequestFor(pod))
			}
		})
		return reqs
	})
}

// Reconcile collects one object.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	out := r.ReconcileBatch(ctx, []controller.Request{req})
	return out[0].Result, out[0].Err
}

// ReconcileBatch collects objects in one transaction.
func (r *Reconciler) ReconcileBatch(ctx context.Context, reqs []controller.Request) []controller.Outcome {
	outcomes := make([]controller.Outcome, len(reqs))
	err := r.Store.Update(func(tx store.Tx) error {
		for _, req := range reqs {
			if err := r.collect(tx, req); err != nil && !store.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range outcomes {
			outcomes[i].Err = err
		}
	}
	return outcomes
}

func (r *Reconciler) collect(tx store.Tx, req controller.Request) error {
	obj, err := tx.Get(r.Kind, req.Namespace, req.Name)
	if err != nil {
		return err
	}
	meta := obj.GetObjectMeta()
	if pod, ok := obj.(*api.Pod); ok && pod.Spec.NodeName != "" {
		if _, err := tx.Get(api.KindNode, "", pod.Spec.NodeName); store.IsNotFound(err) {
			return tx.Delete(api.KindPod, pod.Namespace, pod.Name, store.Preconditions{UID: pod.UID})
		}
	}
	if len(meta.OwnerReferences) == 0 || deletion.IsTerminating(obj) || anyOwnerExists(tx, meta.OwnerReferences) {
		return nil
	}
	return deletion.Delete(tx, r.Kind, meta.Namespace, meta.Name, deletion.Options{
		Preconditions: store.Preconditions{UID: meta.UID},
	})
}

func anyOwnerExists(tx store.ReadTx, refs []api.OwnerReference) bool {
	for _, ref := range refs {
		_, err := tx.GetByUID(ref.Kind, ref.UID)
		if err == nil || !store.IsNotFound(err) {
			// Present, or of a kind Baton cannot look up: keep the Pod.
			return true
		}
	}
	return false
}
