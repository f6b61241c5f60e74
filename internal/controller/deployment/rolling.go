package deployment

import (
	"math"

	"github.com/batonhq/baton/api"
)

// fenceposts resolves maxSurge (rounded up) and maxUnavailable (rounded
// down) against the Deployment's replicas, as Kubernetes'
// ResolveFenceposts does. When both come to zero, maxUnavailable is 1, so
// that a rollout can move.
//
// Unlike Kubernetes, it cannot overflow: the values are computed exactly,
// surge is capped so that replicas + surge fits in an int32 (a maxSurge of
// 2147483647, or of "1000000%", means "as many as can be counted"), and
// unavailable at replicas.
func fenceposts(d *api.Deployment) (surge, unavailable int32) {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType || ru == nil {
		return 0, 0
	}
	want := replicasOf(d.Spec.Replicas)
	s := min(scaledValue(ru.MaxSurge, want, true), math.MaxInt32-int64(want))
	u := scaledValue(ru.MaxUnavailable, want, false)
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(min(u, int64(want)))
}

// scaledValue resolves a maxSurge or maxUnavailable against total with
// IntOrString.ScaledValue; nil, negative or malformed values (which
// validation refuses) count as 0, and the result is at most
// math.MaxInt32.
func scaledValue(v *api.IntOrString, total int32, roundUp bool) int64 {
	if v == nil {
		return 0
	}
	n, err := v.ScaledValue(int(total), roundUp)
	if err != nil || n < 0 {
		return 0
	}
	return min(int64(n), math.MaxInt32)
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
	maxTotal := int64(want) + int64(surge)
	if total >= maxTotal {
		return cur
	}
	return cur + int32(min(maxTotal-total, int64(want-cur)))
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
	var oldPods int64
	for _, rs := range st.oldRSs {
		oldPods += int64(st.size(rs))
	}
	if oldPods == 0 {
		return false, nil
	}
	_, maxUnavailable := fenceposts(st.d)
	minAvailable := int64(st.want() - maxUnavailable)
	newUnavailable := int64(max(replicasOf(st.newRS.Spec.Replicas)-st.available(st.newRS), 0))
	maxScaledDown := st.sum(st.size) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	targets := map[*api.ReplicaSet]int32{}
	var scaledDown int64
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
		n := int32(min(maxScaledDown-scaledDown, int64(unhealthy)))
		targets[rs] = cur - n
		scaledDown += int64(n)
	}
	// Then available ones, oldest ReplicaSet first, down to minAvailable.
	available := st.sum(st.available)
	if excess := available - minAvailable; excess > 0 {
		var down int64
		for _, rs := range st.oldRSs {
			if down >= excess {
				break
			}
			cur := replicasOf(rs.Spec.Replicas)
			if t, ok := targets[rs]; ok {
				cur = t
			}
			// Only its available Pods are left to remove without cost.
			n := int32(min(int64(cur), excess-down, int64(st.available(rs))))
			if n <= 0 {
				continue
			}
			targets[rs] = cur - n
			down += int64(n)
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
