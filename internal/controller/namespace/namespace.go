// Package namespace empties Namespaces that are being deleted: it deletes
// every object in a Terminating namespace (Pods gracefully) and removes the
// Namespace once nothing is left in it.
package namespace

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
)

// recheck is how often a Terminating namespace still holding objects is
// looked at again, in case a change that would wake it is missed.
const recheck = 30 * time.Second

// Reconciler empties and removes Terminating namespaces.
type Reconciler struct {
	Store *store.Store
	Log   *zap.Logger
}

// Register makes c reconcile a namespace when it changes or when anything in
// it is deleted.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindNamespace, controller.Same)
	for _, kind := range store.Kinds() {
		if !store.IsNamespaced(kind) {
			continue
		}
		c.Watch(r.Store, kind, func(ch store.Change) []controller.Request {
			if ch.Type != store.Deleted {
				return nil
			}
			return []controller.Request{{Name: ch.Object.GetObjectMeta().Namespace}}
		})
	}
}

// Reconcile empties namespace req.Name if it is Terminating.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	var remaining int
	err := r.Store.Update(func(tx store.Tx) error {
		ns, err := store.Get[*api.Namespace](tx, "", req.Name)
		if err != nil || ns.DeletionTimestamp == nil {
			return nil // gone or active: nothing to do
		}
		for _, kind := range store.Kinds() {
			if !store.IsNamespaced(kind) {
				continue
			}
			for _, obj := range tx.List(kind, req.Name) {
				if deletion.IsTerminating(obj) {
					continue
				}
				meta := obj.GetObjectMeta()
				if err := deletion.Delete(tx, kind, meta.Namespace, meta.Name, deletion.Options{}); err != nil {
					return err
				}
			}
		}
		// Count what is left: Pods wait for their node agents.
		remaining = 0
		for _, kind := range store.Kinds() {
			if store.IsNamespaced(kind) {
				remaining += len(tx.List(kind, req.Name))
			}
		}
		if remaining == 0 {
			return tx.Delete(api.KindNamespace, "", req.Name, store.Preconditions{UID: ns.UID})
		}
		return nil
	})
	if err != nil {
		return controller.Result{}, err
	}
	if remaining > 0 {
		r.Log.Debug("namespace still holds objects", zap.String("namespace", req.Name), zap.Int("remaining", remaining))
		return controller.Result{RequeueAfter: recheck}, nil
	}
	return controller.Result{}, nil
}
