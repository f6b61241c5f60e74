package deployment

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/store"
)

// syncConfigHash keeps a Deployment that opted in with
// baton.dev/restart-on-config-change rolling out whenever a ConfigMap or
// Secret its Pods use changes: it records a hash of them (see configHash)
// on the Pod template, so that a change of one is a change of the
// template. It reports whether it wrote the Deployment.
func (r *Reconciler) syncConfigHash(d *api.Deployment) (bool, error) {
	if d.Annotations[api.AnnotationRestartOnConfigChange] != "true" {
		return false, nil
	}
	var hash string
	r.Store.View(func(tx store.ReadTx) { hash = configHash(tx, d) })
	if d.Spec.Template.Annotations[api.AnnotationConfigHash] == hash {
		return false, nil
	}
	next := *d
	next.Spec.Template = *d.Spec.Template.DeepCopy()
	if next.Spec.Template.Annotations == nil {
		next.Spec.Template.Annotations = map[string]string{}
	}
	next.Spec.Template.Annotations[api.AnnotationConfigHash] = hash
	next.Generation++
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return true, nil // changed under us; that change brings it back
	}
	if err == nil {
		r.Events.Normal(d, "ConfigChanged", "A ConfigMap or Secret used by the Pods changed; rolling out")
	}
	return err == nil, err
}

// configHash hashes the ConfigMaps and Secrets of d's namespace that its
// template uses (missing ones count as absent), each by its uid and
// generation. The generation goes up whenever an update changes the data
// (and one deleted and created again has a new uid), so a write that
// leaves the data as it was rolls nothing out, and a snapshot restores
// both, so the hash is stable across restarts. Values are never hashed:
// the annotation is readable by anyone who can read the Deployment, its
// ReplicaSets or Pods, and is stored unsealed in snapshots, and a digest
// of a low-entropy Secret (a short password) would let them test guesses
// offline. It is also cheap, as it runs at every reconcile of an opted-in
// Deployment.
func configHash(tx store.ReadTx, d *api.Deployment) string {
	h := sha256.New()
	write := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
	}
	spec := &d.Spec.Template.Spec
	for _, kind := range []string{api.KindConfigMap, api.KindSecret} {
		tx.Each(kind, d.Namespace, func(obj api.Object) bool {
			name := obj.GetObjectMeta().Name
			if !spec.References(kind, name) {
				return true
			}
			meta := obj.GetObjectMeta()
			write(kind, name, meta.UID, strconv.FormatInt(meta.Generation, 10))
			return true
		})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
