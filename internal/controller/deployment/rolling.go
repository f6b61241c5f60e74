package deployment

import (
	"github.com/batonhq/baton/api"
)

// fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded
// down) against the Deployment's replicas. When both come to zero,
// maxUnavailable is 1, as in Kubernetes, so that a rollout can move.
func fenceposts(d *api.Deployment) (surge, unavailable int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType || ru == nil {
		return 0, 0
	}
	want := int(replicasOf(d.Spec.Replicas))
	if ru.MaxSurge != nil {
		if v, err := ru.MaxSurge.ScaledValue(want, true); err == nil {
			surge = int32(v)
		}
	}
	if ru.MaxUnavailable != nil {
		if v, err := ru.MaxUnavailable.ScaledValue(want, false); err == nil {
			unavailable = int32(v)
		}
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, min(unavailable, int32(want))
}

// rolloutRolling takes one step of a rolling update: make the new
// ReplicaSet, scale it up within maxSurge, or scale old ones down within
// maxUnavailable. It reports whether it changed anything.
func (r *Reconciler) rolloutRolling(st *state) (bool, error) {
	if st.newRS == nil {
		return r.createNewRS(st, r.newRSReplicas(st))
	}
	if acted, err := r.syncNewRSRevision(st); acted || err != nil {
		return acted, err
	}
	if acted, err := r.reconcileNewRS(st); acted || err != nil {
		return acted, err
	}
	return r.reconcileOldRSs(st)
}

// newRSReplicas is how big the new ReplicaSet may be now: the Deployment's
// replicas, less what keeps the total within replicas + maxSurge.
func (r *Reconciler) newRSReplicas(st *state) int32 {
	want := st.want()
	var cur int32
	if st.newRS != nil {
		cur = replicasOf(st.newRS.Spec.Replicas)
	}
	surge, _ := fenceposts(st.d)
	total := st.sum(st.size)
	maxTotal := want + surge
	if total >= maxTotal {
		return cur
	}
	return cur + min(maxTotal-total, want-cur)
}

// reconcileNewRS scales the new ReplicaSet toward the Deployment's replicas.
func (r *Reconciler) reconcileNewRS(st *state) (bool, error) {
	want, cur := st.want(), replicasOf(st.newRS.Spec.Replicas)
	switch {
	case cur == want:
		return false, nil
	case cur > want:
		return r.scaleRS(st, st.newRS, want)
	}
	if next := r.newRSReplicas(st); next != cur {
		return r.scaleRS(st, st.newRS, next)
	}
	return false, nil
}

// reconcileOldRSs scales old ReplicaSets down as far as maxUnavailable
// allows: first the Pods that are not available anyway, then available
// ones down to replicas - maxUnavailable.
func (r *Reconciler) reconcileOldRSs(st *state) (bool, error) {
	var oldPods int32
	for _, rs := range st.oldRSs {
		oldPods += st.size(rs)
	}
	if oldPods == 0 {
		return false, nil
	}
	_, maxUnavailable := fenceposts(st.d)
	minAvailable := st.want() - maxUnavailable
	newUnavailable := max(replicasOf(st.newRS.Spec.Replicas)-st.available(st.newRS), 0)
	maxScaledDown := st.sum(st.size) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	targets := map[*api.ReplicaSet]int32{}
	var scaledDown int32
	// Unhealthy Pods first: removing them costs no availability.
	for _, rs := range st.oldRSs {
		if scaledDown >= maxScaledDown {
			break
		}
		cur := replicasOf(rs.Spec.Replicas)
		unhealthy := cur - st.available(rs)
		if unhealthy <= 0 {
			continue
		}
		n := min(maxScaledDown-scaledDown, unhealthy)
		targets[rs] = cur - n
		scaledDown += n
	}
	// Then available ones, oldest ReplicaSet first, down to minAvailable.
	available := st.sum(st.available)
	if excess := available - minAvailable; excess > 0 {
		var down int32
		for _, rs := range st.oldRSs {
			if down >= excess {
				break
			}
			cur := replicasOf(rs.Spec.Replicas)
			if t, ok := targets[rs]; ok {
				cur = t
			}
			// Only its available Pods are left to remove without cost.
			n := min(cur, excess-down, st.available(rs))
			if n <= 0 {
				continue
			}
			targets[rs] = cur - n
			down += n
		}
	}
	acted := false
	for _, rs := range st.oldRSs {
		if t, ok := targets[rs]; ok && t != replicasOf(rs.Spec.Replicas) {
			changed, err := r.scaleRS(st, rs, t)
			if err != nil {
				return acted, err
			}
			acted = acted || changed
		}
	}
	return acted, nil
}
