package deployment

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/store"
)

// Reasons of the Progressing and Available conditions, as in Kubernetes.
const (
	reasonNewRSAvailable         = "NewReplicaSetAvailable"
	reasonRSUpdated              = "ReplicaSetUpdated"
	reasonDeadlineExceeded       = "ProgressDeadlineExceeded"
	reasonPaused                 = "DeploymentPaused"
	reasonMinimumAvailable       = "MinimumReplicasAvailable"
	reasonMinimumUnavailable     = "MinimumReplicasUnavailable"
	reasonAutoRolledBack         = "RolledBack"
	reasonAutoRollbackImpossible = "RollbackImpossible"
)

// counted is the Deployment's status as its Pods show it.
func (st *state) counted() api.DeploymentStatus {
	want := st.want()
	s := api.DeploymentStatus{ObservedGeneration: st.d.Generation}
	for _, rs := range st.all() {
		c := st.counts[rs.UID]
		s.Replicas += c.Active
		s.ReadyReplicas += c.Ready
		s.AvailableReplicas += c.Available
	}
	if st.newRS != nil {
		s.UpdatedReplicas = st.counts[st.newRS.UID].Active
	}
	s.UnavailableReplicas = max(want-s.AvailableReplicas, 0)
	return s
}

// complete reports whether the rollout is done: every Pod runs the current
// template and is available, and no old Pod is left.
func (r *Reconciler) complete(st *state) bool {
	s := st.counted()
	want := st.want()
	return st.newRS != nil && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

// syncStatus writes the Deployment's status and conditions if they
// changed, and rolls back by itself when the rollout has just exceeded its
// progress deadline and the Deployment opted in.
func (r *Reconciler) syncStatus(st *state, rolling bool) (controller.Result, error) {
	d, now := st.d, st.now
	status := st.counted()
	_, maxUnavailable := fenceposts(d)
	want := st.want()

	available := api.DeploymentCondition{Type: api.DeploymentAvailable, Status: api.ConditionFalse,
		Reason: reasonMinimumUnavailable, Message: "Deployment does not have minimum availability."}
	if status.AvailableReplicas >= want-maxUnavailable {
		available.Status, available.Reason, available.Message = api.ConditionTrue, reasonMinimumAvailable, "Deployment has minimum availability."
	}
	progressing, timedOut := r.progressing(st, status, rolling)
	status.Conditions = []api.DeploymentCondition{
		withTimes(available, d.Status.Condition(api.DeploymentAvailable), now),
		progressing,
	}

	var result controller.Result
	if progressing.Status == api.ConditionTrue && progressing.Reason != reasonNewRSAvailable {
		if deadline := progressDeadline(d); deadline > 0 {
			result.RequeueAfter = max(progressing.LastUpdateTime.Add(deadline).Sub(now), 0) + time.Second
		}
	}
	for _, rs := range st.all() {
		if w := st.counts[rs.UID].Wait; w > 0 && (result.RequeueAfter == 0 || w < result.RequeueAfter) {
			result.RequeueAfter = w
		}
	}
	if statusEqual(d.Status, status) {
		return result, nil
	}
	next := *d
	next.Status = status
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return result, nil
	}
	if err != nil {
		return result, err
	}
	if timedOut {
		r.Events.Warning(d, reasonDeadlineExceeded, "Deployment %q has timed out progressing: no progress for %s", d.Name, progressDeadline(d))
		if d.Annotations[api.AnnotationAutoRollback] == "true" {
			r.autoRollback(&next)
		}
	}
	return result, nil
}

func progressDeadline(d *api.Deployment) time.Duration {
	if d.Spec.ProgressDeadlineSeconds == nil {
		return time.Duration(api.DefaultProgressDeadlineSeconds) * time.Second
	}
	return time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
}

// progressing computes the Progressing condition as Kubernetes does. It
// also reports whether the rollout has just now exceeded its deadline.
func (r *Reconciler) progressing(st *state, status api.DeploymentStatus, rolling bool) (api.DeploymentCondition, bool) {
	d, now := st.d, st.now
	old := d.Status.Condition(api.DeploymentProgressing)
	rsName := d.Name
	if st.newRS != nil {
		rsName = st.newRS.Name
	}
	set := func(status api.ConditionStatus, reason, message string) api.DeploymentCondition {
		c := api.DeploymentCondition{Type: api.DeploymentProgressing, Status: status, Reason: reason, Message: message,
			LastUpdateTime: api.NewTime(now), LastTransitionTime: api.NewTime(now)}
		if old != nil && old.Status == status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		return c
	}
	switch {
	case !rolling:
		if old != nil && old.Reason == reasonPaused {
			return *old, false
		}
		return set(api.ConditionUnknown, reasonPaused, "Deployment is paused"), false
	case r.complete(st):
		if old != nil && old.Reason == reasonNewRSAvailable && old.Message == fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName) {
			return *old, false
		}
		return set(api.ConditionTrue, reasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", rsName)), false
	case old == nil || old.Reason == reasonPaused || old.Reason == reasonNewRSAvailable ||
		d.Status.ObservedGeneration != d.Generation || madeProgress(d.Status, status):
		// A new rollout, a resumed one, or one that moved: the clock
		// for the progress deadline starts again.
		return set(api.ConditionTrue, reasonRSUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", rsName)), false
	case old.Reason == reasonDeadlineExceeded:
		return *old, false
	case now.Sub(old.LastUpdateTime.Time) > progressDeadline(d):
		return set(api.ConditionFalse, reasonDeadlineExceeded, fmt.Sprintf("ReplicaSet %q has timed out progressing.", rsName)), true
	}
	return *old, false
}

// madeProgress reports whether the Pods moved forward since the status
// last written: more updated, ready or available, or fewer old ones.
func madeProgress(before, after api.DeploymentStatus) bool {
	return after.UpdatedReplicas > before.UpdatedReplicas ||
		after.Replicas-after.UpdatedReplicas < before.Replicas-before.UpdatedReplicas ||
		after.ReadyReplicas > before.ReadyReplicas ||
		after.AvailableReplicas > before.AvailableReplicas
}

// withTimes keeps old's timestamps when c says the same thing.
func withTimes(c api.DeploymentCondition, old *api.DeploymentCondition, now time.Time) api.DeploymentCondition {
	c.LastUpdateTime, c.LastTransitionTime = api.NewTime(now), api.NewTime(now)
	if old != nil && old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
		if old.Reason == c.Reason && old.Message == c.Message {
			c.LastUpdateTime = old.LastUpdateTime
		}
	}
	return c
}

// statusEqual compares statuses, ignoring condition timestamps that change
// only because time passed.
func statusEqual(a, b api.DeploymentStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.Replicas != b.Replicas ||
		a.UpdatedReplicas != b.UpdatedReplicas || a.ReadyReplicas != b.ReadyReplicas ||
		a.AvailableReplicas != b.AvailableReplicas || a.UnavailableReplicas != b.UnavailableReplicas ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message ||
			!x.LastUpdateTime.Equal(y.LastUpdateTime.Time) {
			return false
		}
	}
	return true
}

// autoRollback rolls d back after its rollout exceeded the progress
// deadline, recording why: to the newest earlier revision that was not
// itself rolled back automatically. It marks the failed revision's
// ReplicaSet with api.AnnotationAutoRolledBack, so that when the revision
// rolled back to fails too, the next automatic rollback does not return to
// the first, and two failing revisions are never alternated.
func (r *Reconciler) autoRollback(d *api.Deployment) {
	var to int64
	err := r.Store.Update(func(tx store.Tx) error {
		cur, err := store.Get[*api.Deployment](tx, d.Namespace, d.Name)
		if err != nil || cur.UID != d.UID {
			return err
		}
		from, _ := strconv.ParseInt(cur.Annotations[api.AnnotationRevision], 10, 64)
		var failed *api.ReplicaSet
		var skipped []string
		history := History(tx, cur)
		for i := len(history) - 1; i >= 0 && to == 0; i-- {
			h := history[i]
			switch {
			case h.Revision == from:
				failed = h.ReplicaSet
			case h.Revision > from:
			case h.ReplicaSet.Annotations[api.AnnotationAutoRolledBack] == "true":
				skipped = append(skipped, strconv.FormatInt(h.Revision, 10))
			default:
				to = h.Revision
			}
		}
		if to == 0 {
			why := "there is no earlier revision"
			if len(skipped) > 0 {
				why = fmt.Sprintf("the earlier revisions (%s) were rolled back automatically themselves", strings.Join(skipped, ", "))
			}
			return fmt.Errorf("%s: %w", why, api.ErrNotFound)
		}
		if failed != nil && failed.Annotations[api.AnnotationAutoRolledBack] != "true" {
			next := *failed
			next.Annotations = maps.Clone(failed.Annotations)
			next.Annotations[api.AnnotationAutoRolledBack] = "true"
			if err := tx.Update(&next); err != nil {
				return err
			}
		}
		_, err = Rollback(tx, cur, to)
		return err
	})
	if err != nil {
		r.Events.Warning(d, reasonAutoRollbackImpossible, "Rollout of revision %s exceeded its progress deadline and cannot be rolled back: %v",
			d.Annotations[api.AnnotationRevision], err)
		return
	}
	r.Events.Warning(d, reasonAutoRolledBack, "Rollout of revision %s exceeded its progress deadline of %s; rolled back to revision %d (%s=true)",
		d.Annotations[api.AnnotationRevision], progressDeadline(d), to, api.AnnotationAutoRollback)
}

// clearAutoRolledBack removes api.AnnotationAutoRolledBack from the new
// ReplicaSet once its rollout has completed: the revision works after all,
// and automatic rollback may return to it again.
func (r *Reconciler) clearAutoRolledBack(st *state) error {
	rs := st.newRS
	if _, ok := rs.Annotations[api.AnnotationAutoRolledBack]; !ok {
		return nil
	}
	next := *rs
	next.Annotations = maps.Clone(rs.Annotations)
	delete(next.Annotations, api.AnnotationAutoRolledBack)
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return nil // changed under us; that change brings us back
	}
	return err
}
