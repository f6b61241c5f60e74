// Package servicefeed keeps a discovery.Resolver in step with the store:
// every Service and EndpointSlice change reaches the Resolver while the
// store's write lock is still held, so that once a write returns, Resolve
// sees it.
//
// It also tells the Resolver of each Pod whose deletion begins, in the
// very commit that marks it: the Resolver stops offering that Pod's
// endpoints at once, before the endpoints controller has rewritten its
// slices and, above all, before the Pod's node agent can have begun to
// stop its containers (it acts on the same commit, after it). Without
// this, a connection could be sent to a Pod in the instant between its
// server closing its listener and its slices saying so.
package servicefeed

import (
	"sync"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/store"
)

// Feed loads every Service and EndpointSlice of s into r, then applies
// every later change to them, until cancel is called. It starts no
// goroutine. r must be fed by nothing else.
func Feed(s *store.Store, r *discovery.Resolver) (cancel func()) {
	// mu holds back changes committed during the initial load until it is
	// done, so that no change is overwritten by the older snapshot.
	var mu sync.Mutex
	mu.Lock()
	snap, cancel := s.Subscribe(
		func(ch store.Change) bool {
			k := ch.Kind()
			return k == api.KindService || k == api.KindEndpointSlice || k == api.KindPod
		},
		func(ch store.Change) {
			mu.Lock()
			defer mu.Unlock()
			apply(r, ch)
		})
	snap.Each(api.KindService, "", func(o api.Object) bool {
		r.SetService(o.(*api.Service))
		return true
	})
	snap.Each(api.KindEndpointSlice, "", func(o api.Object) bool {
		r.SetEndpointSlice(o.(*api.EndpointSlice))
		return true
	})
	snap.Each(api.KindPod, "", func(o api.Object) bool {
		if meta := o.GetObjectMeta(); meta.DeletionTimestamp != nil {
			r.PodTerminating(meta.UID)
		}
		return true
	})
	mu.Unlock()
	return cancel
}

func apply(r *discovery.Resolver, ch store.Change) {
	meta := ch.Object.GetObjectMeta()
	switch o := ch.Object.(type) {
	case *api.Service:
		if ch.Type == store.Deleted {
			r.DeleteService(meta.Namespace, meta.Name)
			return
		}
		r.SetService(o)
	case *api.EndpointSlice:
		if ch.Type == store.Deleted {
			r.DeleteEndpointSlice(meta.Namespace, meta.Name)
			return
		}
		r.SetEndpointSlice(o)
	case *api.Pod:
		switch {
		case ch.Type == store.Deleted:
			r.PodDeleted(meta.UID)
		case o.DeletionTimestamp != nil && (ch.Old == nil || ch.Old.GetObjectMeta().DeletionTimestamp == nil):
			r.PodTerminating(meta.UID)
		}
	}
}
