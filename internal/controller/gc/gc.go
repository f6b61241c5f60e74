// Package gc is the garbage collector: it deletes Pods whose owners are all
// gone (Kubernetes' background cascading deletion) and force-deletes Pods
// bound to a Node that no longer exists (Kubernetes' pod GC), since no node
// agent will ever finish them.
package gc

import (
	"context"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
)

// ownerKinds are the kinds that can own Pods.
var ownerKinds = []string{api.KindDeployment}

// Reconciler collects Pods.
type Reconciler struct {
	Store *store.Store
}

var _ controller.BatchReconciler = (*Reconciler)(nil)

// Register wires the changes that can orphan a Pod to c.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindPod, func(ch store.Change) []controller.Request {
		if ch.Type == store.Added && len(ch.Object.GetObjectMeta().OwnerReferences) > 0 {
			return controller.Same(ch)
		}
		return nil
	})
	for _, kind := range ownerKinds {
		c.Watch(r.Store, kind, func(ch store.Change) []controller.Request {
			if ch.Type != store.Deleted {
				return nil
			}
			var reqs []controller.Request
			r.Store.View(func(tx store.ReadTx) {
				for _, dep := range tx.ListByOwner(api.KindPod, ch.Object.GetObjectMeta().UID) {
					reqs = append(reqs, controller.RequestFor(dep))
				}
			})
			return reqs
		})
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

// Reconcile collects one Pod.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	out := r.ReconcileBatch(ctx, []controller.Request{req})
	return out[0].Result, out[0].Err
}

// ReconcileBatch collects Pods in one transaction.
func (r *Reconciler) ReconcileBatch(ctx context.Context, reqs []controller.Request) []controller.Outcome {
	outcomes := make([]controller.Outcome, len(reqs))
	err := r.Store.Update(func(tx store.Tx) error {
		for _, req := range reqs {
			if err := collect(tx, req); err != nil && !store.IsNotFound(err) {
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

func collect(tx store.Tx, req controller.Request) error {
	pod, err := store.Get[*api.Pod](tx, req.Namespace, req.Name)
	if err != nil {
		return err
	}
	if pod.Spec.NodeName != "" {
		if _, err := tx.Get(api.KindNode, "", pod.Spec.NodeName); store.IsNotFound(err) {
			return tx.Delete(api.KindPod, pod.Namespace, pod.Name, store.Preconditions{UID: pod.UID})
		}
	}
	if len(pod.OwnerReferences) == 0 || deletion.IsTerminating(pod) || anyOwnerExists(tx, pod.OwnerReferences) {
		return nil
	}
	return deletion.Delete(tx, api.KindPod, pod.Namespace, pod.Name, deletion.Options{
		Preconditions: store.Preconditions{UID: pod.UID},
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
