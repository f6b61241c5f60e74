package deployment

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
)

// TemplateHash returns a short, stable hash of a Pod template, used in
// ReplicaSet and Pod names and the pod-template-hash label.
func TemplateHash(t *api.PodTemplateSpec) string {
	data, err := json.Marshal(t)
	if err != nil {
		panic("deployment: a pod template must encode as JSON: " + err.Error())
	}
	h := fnv.New32a()
	h.Write(data)
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// safeEncode maps digits onto consonants and digits that cannot spell
// words, as Kubernetes' rand.SafeEncodeString does.
func safeEncode(s string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte(s)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

// maxRevision returns the highest revision among rss.
func maxRevision(rss []*api.ReplicaSet) int64 {
	var top int64
	for _, rs := range rss {
		top = max(top, Revision(rs))
	}
	return top
}

// replicaAnnotations returns rs's annotations with the desired and
// maximum replica counts of st's Deployment, or nil when they are current.
func replicaAnnotations(st *state, rs *api.ReplicaSet) map[string]string {
	surge, _ := fenceposts(st.d)
	desired := strconv.Itoa(int(st.want()))
	maxReplicas := strconv.Itoa(int(st.want() + surge))
	if rs.Annotations[api.AnnotationDesiredReplicas] == desired && rs.Annotations[api.AnnotationMaxReplicas] == maxReplicas {
		return nil
	}
	out := maps.Clone(rs.Annotations)
	if out == nil {
		out = map[string]string{}
	}
	out[api.AnnotationDesiredReplicas] = desired
	out[api.AnnotationMaxReplicas] = maxReplicas
	return out
}

// createNewRS makes the ReplicaSet of the current template with replicas
// Pods, as the next revision.
func (r *Reconciler) createNewRS(st *state, replicas int32) (bool, error) {
	d := st.d
	labels := maps.Clone(d.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[PodTemplateHashLabel] = st.hash
	template := *d.Spec.Template.DeepCopy()
	template.Labels = labels
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[PodTemplateHashLabel] = st.hash
	surge, _ := fenceposts(d)
	revision := maxRevision(st.oldRSs) + 1
	annotations := map[string]string{
		api.AnnotationRevision:        strconv.FormatInt(revision, 10),
		api.AnnotationDesiredReplicas: strconv.Itoa(int(st.want())),
		api.AnnotationMaxReplicas:     strconv.Itoa(int(st.want() + surge)),
	}
	if cause := d.Annotations[api.AnnotationChangeCause]; cause != "" {
		annotations[api.AnnotationChangeCause] = cause
	}
	rs := &api.ReplicaSet{
		TypeMeta: api.TypeMeta{APIVersion: api.AppsV1, Kind: api.KindReplicaSet},
		ObjectMeta: api.ObjectMeta{
			Namespace:       d.Namespace,
			Name:            d.Name + "-" + st.hash,
			Labels:          labels,
			Annotations:     annotations,
			OwnerReferences: []api.OwnerReference{api.NewControllerRef(d, api.AppsV1)},
		},
		Spec: api.ReplicaSetSpec{
			Replicas:        &replicas,
			MinReadySeconds: d.Spec.MinReadySeconds,
			Selector:        selector,
			Template:        template,
		},
	}
	err := r.Store.Update(func(tx store.Tx) error {
		cur, err := store.Get[*api.Deployment](tx, d.Namespace, d.Name)
		if err != nil || cur.ResourceVersion != d.ResourceVersion {
			return errStale
		}
		if err := tx.Create(rs); err != nil {
			if errors.Is(err, api.ErrAlreadyExists) {
				return fmt.Errorf("replica set %s/%s exists but is not this deployment's revision of its template; delete it: %w",
					rs.Namespace, rs.Name, err)
			}
			return err
		}
		return r.setDeploymentRevision(tx, cur, revision)
	})
	if errors.Is(err, errStale) {
		return true, nil // the Deployment changed; its change brings it back
	}
	if err != nil {
		r.Events.Warning(d, "FailedCreate", "Failed to create new replica set %q: %v", rs.Name, err)
		return false, err
	}
	r.Events.Normal(d, "ScalingReplicaSet", "Scaled up replica set %s to %d", rs.Name, replicas)
	return true, nil
}

// errStale marks a write skipped because what it was based on changed.
var errStale = errors.New("stale")

// setDeploymentRevision records the current revision on the Deployment.
func (r *Reconciler) setDeploymentRevision(tx store.Tx, d *api.Deployment, revision int64) error {
	want := strconv.FormatInt(revision, 10)
	if d.Annotations[api.AnnotationRevision] == want {
		return nil
	}
	next := *d
	next.Annotations = maps.Clone(d.Annotations)
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[api.AnnotationRevision] = want
	return tx.Update(&next)
}

// syncNewRSRevision makes the new ReplicaSet the highest revision: when a
// rollback brings an old template back, its ReplicaSet is reused, takes the
// next revision number, and remembers the ones it held before.
func (r *Reconciler) syncNewRSRevision(st *state) (bool, error) {
	rs := st.newRS
	top := maxRevision(st.oldRSs)
	current := Revision(rs)
	needRS := current <= top
	needD := st.d.Annotations[api.AnnotationRevision] != strconv.FormatInt(max(current, top+1), 10)
	if !needRS && !needD {
		return false, nil
	}
	err := r.Store.Update(func(tx store.Tx) error {
		revision := current
		if needRS {
			revision = top + 1
			next := *rs
			next.Annotations = maps.Clone(rs.Annotations)
			if next.Annotations == nil {
				next.Annotations = map[string]string{}
			}
			if current > 0 {
				history := next.Annotations[api.AnnotationRevisionHistory]
				if history != "" {
					history += ","
				}
				next.Annotations[api.AnnotationRevisionHistory] = history + strconv.FormatInt(current, 10)
			}
			next.Annotations[api.AnnotationRevision] = strconv.FormatInt(revision, 10)
			if err := tx.Update(&next); err != nil {
				return err
			}
		}
		d, err := store.Get[*api.Deployment](tx, st.d.Namespace, st.d.Name)
		if err != nil || d.UID != st.d.UID {
			return errStale
		}
		return r.setDeploymentRevision(tx, d, revision)
	})
	if errors.Is(err, errStale) || errors.Is(err, api.ErrConflict) {
		return true, nil
	}
	return err == nil, err
}

// scaleRS sets a ReplicaSet's replicas, recording the Deployment's replica
// counts on it. It reports whether it wrote anything.
func (r *Reconciler) scaleRS(st *state, rs *api.ReplicaSet, replicas int32) (bool, error) {
	cur := replicasOf(rs.Spec.Replicas)
	annotations := replicaAnnotations(st, rs)
	if cur == replicas && annotations == nil {
		return false, nil
	}
	next := *rs
	next.Spec.Replicas = &replicas
	if annotations != nil {
		next.Annotations = annotations
	}
	if cur != replicas {
		next.Generation++
	}
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return true, nil // changed under us; that change brings us back
	}
	if err != nil {
		return false, err
	}
	if cur != replicas {
		verb := "up"
		if replicas < cur {
			verb = "down"
		}
		r.Events.Normal(st.d, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", verb, rs.Name, cur, replicas)
	}
	return true, nil
}

// cleanup deletes the oldest ReplicaSets beyond revisionHistoryLimit that
// have no Pods left.
func (r *Reconciler) cleanup(st *state) error {
	limit := int32(api.DefaultRevisionHistoryLimit)
	if st.d.Spec.RevisionHistoryLimit != nil {
		limit = *st.d.Spec.RevisionHistoryLimit
	}
	var idle []*api.ReplicaSet
	for _, rs := range st.oldRSs {
		c := st.counts[rs.UID]
		if replicasOf(rs.Spec.Replicas) == 0 && c.Active == 0 && c.Terminating == 0 {
			idle = append(idle, rs)
		}
	}
	excess := len(idle) - int(limit)
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(idle, func(a, b *api.ReplicaSet) int { return int(Revision(a) - Revision(b)) })
	return r.Store.Update(func(tx store.Tx) error {
		for _, rs := range idle[:excess] {
			err := deletion.Delete(tx, api.KindReplicaSet, rs.Namespace, rs.Name, deletion.Options{
				Preconditions: store.Preconditions{UID: rs.UID},
			})
			if err != nil && !store.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}

// RevisionInfo describes one revision of a Deployment.
type RevisionInfo struct {
	Revision    int64
	ReplicaSet  *api.ReplicaSet
	ChangeCause string
}

// History returns the revisions of the Deployment d, oldest first.
func History(tx store.ReadTx, d *api.Deployment) []RevisionInfo {
	var out []RevisionInfo
	tx.EachByOwner(api.KindReplicaSet, d.UID, func(obj api.Object) bool {
		rs := obj.(*api.ReplicaSet)
		if rs.IsControlledBy(d.UID) {
			out = append(out, RevisionInfo{Revision: Revision(rs), ReplicaSet: rs, ChangeCause: rs.Annotations[api.AnnotationChangeCause]})
		}
		return true
	})
	slices.SortFunc(out, func(a, b RevisionInfo) int { return int(a.Revision - b.Revision) })
	return out
}

// Rollback sets the Deployment's template back to that of revision
// toRevision (0: the one before the current), within tx. It returns the
// revision rolled back to, or an error matching api.ErrNotFound when there
// is no such revision, and changes nothing (returning the current
// revision) when the template is already that one. Like "kubectl rollout
// undo", it refuses a paused Deployment with an error matching
// api.ErrFailedPrecondition: a paused rollout would not roll back anyway.
func Rollback(tx store.Tx, d *api.Deployment, toRevision int64) (int64, error) {
	if d.Spec.Paused {
		return 0, fmt.Errorf("deployment %s/%s is paused: you cannot roll back a paused deployment; resume it first and try again: %w",
			d.Namespace, d.Name, api.ErrFailedPrecondition)
	}
	history := History(tx, d)
	current, _ := strconv.ParseInt(d.Annotations[api.AnnotationRevision], 10, 64)
	var target *RevisionInfo
	for i := len(history) - 1; i >= 0; i-- {
		h := &history[i]
		if (toRevision == 0 && h.Revision < current) || (toRevision != 0 && h.Revision == toRevision) {
			target = h
			break
		}
	}
	if target == nil {
		if toRevision == 0 {
			return 0, fmt.Errorf("deployment %s/%s has no revision before %d to roll back to: %w", d.Namespace, d.Name, current, api.ErrNotFound)
		}
		var known []string
		for _, h := range history {
			known = append(known, strconv.FormatInt(h.Revision, 10))
		}
		return 0, fmt.Errorf("deployment %s/%s has no revision %d (it has %s): %w",
			d.Namespace, d.Name, toRevision, strings.Join(known, ", "), api.ErrNotFound)
	}
	template := *target.ReplicaSet.Spec.Template.DeepCopy()
	delete(template.Labels, PodTemplateHashLabel)
	if TemplateHash(&template) == TemplateHash(&d.Spec.Template) {
		return target.Revision, nil
	}
	next := *d
	next.Spec.Template = template
	next.Generation++
	return target.Revision, tx.Update(&next)
}
