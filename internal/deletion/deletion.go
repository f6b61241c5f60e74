// Package deletion deletes objects the way Kubernetes does, for every path
// that deletes — the public API, the namespace controller, the garbage
// collector and the deployment controller — so they cannot disagree:
//
//   - A Pod bound to a node may have running containers, so it is only
//     marked (deletionTimestamp and a grace period); its node agent stops
//     the containers within the grace period and then removes the Pod.
//     A grace period of zero, or a Pod never bound, is removed at once.
//   - A Namespace is marked Terminating; the namespace controller deletes
//     everything in it and then the Namespace itself.
//   - Anything else is removed at once; the garbage collector then removes
//     the objects it owned.
package deletion

import (
	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/store"
)

// DefaultGracePeriodSeconds is used when a Pod sets none.
const DefaultGracePeriodSeconds int64 = 30

// Options tune one deletion.
type Options struct {
	// GracePeriodSeconds overrides the Pod's terminationGracePeriodSeconds;
	// 0 deletes at once.
	GracePeriodSeconds *int64
	// Preconditions must hold, else api.ErrConflict.
	Preconditions store.Preconditions
}

// Delete deletes the object of kind at namespace/name within tx.
func Delete(tx store.Tx, kind, namespace, name string, opts Options) error {
	obj, err := tx.Get(kind, namespace, name)
	if err != nil {
		return err
	}
	meta := obj.GetObjectMeta()
	pre := opts.Preconditions
	if (pre.UID != "" && pre.UID != meta.UID) || (pre.ResourceVersion != "" && pre.ResourceVersion != meta.ResourceVersion) {
		// Let the store word the conflict.
		return tx.Delete(kind, namespace, name, pre)
	}
	switch o := obj.(type) {
	case *api.Pod:
		return deletePod(tx, o, opts)
	case *api.Namespace:
		if o.DeletionTimestamp != nil {
			return nil
		}
		next := *o
		next.DeletionTimestamp = api.NewTimePtr(tx.Now())
		next.Status.Phase = api.NamespaceTerminating
		return tx.Update(&next)
	}
	return tx.Delete(kind, namespace, name, pre)
}

func deletePod(tx store.Tx, pod *api.Pod, opts Options) error {
	grace := DefaultGracePeriodSeconds
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
	}
	if pod.Spec.NodeName == "" || grace <= 0 {
		return tx.Delete(api.KindPod, pod.Namespace, pod.Name, opts.Preconditions)
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds <= grace {
		return nil // already terminating at least as fast
	}
	next := *pod
	next.DeletionTimestamp = api.NewTimePtr(tx.Now())
	next.DeletionGracePeriodSeconds = &grace
	return tx.Update(&next)
}

// IsTerminating reports whether obj has been marked for deletion.
func IsTerminating(obj api.Object) bool {
	return obj.GetObjectMeta().DeletionTimestamp != nil
}
