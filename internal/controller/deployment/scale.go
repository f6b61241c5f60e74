package deployment

import (
	"math"
	"slices"
	"strconv"

	"github.com/batonhq/baton/api"
)

// active returns the ReplicaSets that should have Pods.
func (st *state) active() []*api.ReplicaSet {
	var out []*api.ReplicaSet
	for _, rs := range st.all() {
		if replicasOf(rs.Spec.Replicas) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// activeOrLatest returns the one ReplicaSet that should have Pods, or,
// when none should, the newest; nil when several should.
func (st *state) activeOrLatest() *api.ReplicaSet {
	switch active := st.active(); {
	case len(active) == 1:
		return active[0]
	case len(active) > 1:
		return nil
	case st.newRS != nil:
		return st.newRS
	case len(st.oldRSs) > 0:
		return st.oldRSs[len(st.oldRSs)-1]
	}
	return nil
}

// isScalingEvent reports whether the Deployment's replicas changed since
// its active ReplicaSets were last scaled for it: they record the count
// they were scaled for in an annotation, as in Kubernetes.
func (r *Reconciler) isScalingEvent(st *state) bool {
	for _, rs := range st.active() {
		desired, err := strconv.ParseInt(rs.Annotations[api.AnnotationDesiredReplicas], 10, 32)
		if err == nil && int32(desired) != st.want() {
			return true
		}
	}
	return false
}

// scale resizes the ReplicaSets for a new replica count without rolling
// anything out, following Kubernetes: the only active ReplicaSet takes the
// full count; once the new ReplicaSet is saturated, old ones go to zero;
// mid-rollout, the change is shared among the ReplicaSets in proportion to
// their sizes, so that the rollout's shape survives the scaling.
func (r *Reconciler) scale(st *state) (bool, error) {
	want := st.want()
	if rs := st.activeOrLatest(); rs != nil {
		return r.scaleRS(st, rs, want)
	}
	if st.newRS != nil && replicasOf(st.newRS.Spec.Replicas) == want && st.available(st.newRS) >= want {
		acted := false
		for _, rs := range st.oldRSs {
			if replicasOf(rs.Spec.Replicas) > 0 {
				changed, err := r.scaleRS(st, rs, 0)
				if err != nil {
					return acted, err
				}
				acted = acted || changed
			}
		}
		return acted, nil
	}
	active := st.active()
	surge, _ := fenceposts(st.d)
	allowed := want + surge
	var current int32
	for _, rs := range active {
		current += replicasOf(rs.Spec.Replicas)
	}
	toAdd := allowed - current
	// Growing: biggest first, newer first on ties. Shrinking: smallest
	// first, older first on ties.
	ordered := slices.Clone(active)
	slices.SortStableFunc(ordered, func(a, b *api.ReplicaSet) int {
		sa, sb := replicasOf(a.Spec.Replicas), replicasOf(b.Spec.Replicas)
		if sa != sb {
			if toAdd > 0 {
				return int(sb - sa)
			}
			return int(sa - sb)
		}
		if toAdd > 0 {
			return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
		}
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	targets := make([]int32, len(ordered))
	var added int32
	for i, rs := range ordered {
		cur := replicasOf(rs.Spec.Replicas)
		share := proportion(rs, want, toAdd, added)
		targets[i] = cur + share
		added += share
	}
	// What rounding left over goes to the first (biggest when growing).
	if leftover := toAdd - added; leftover != 0 && len(targets) > 0 {
		targets[0] = max(targets[0]+leftover, 0)
	}
	acted := false
	for i, rs := range ordered {
		changed, err := r.scaleRS(st, rs, targets[i])
		if err != nil {
			return acted, err
		}
		acted = acted || changed
	}
	return acted, nil
}

// proportion is rs's share of toAdd: its size scaled from the replicas it
// was sized for to want, capped by what is left to add.
func proportion(rs *api.ReplicaSet, want, toAdd, added int32) int32 {
	if toAdd == 0 {
		return 0
	}
	cur := replicasOf(rs.Spec.Replicas)
	sizedFor, err := strconv.ParseInt(rs.Annotations[api.AnnotationDesiredReplicas], 10, 32)
	var fraction int32
	if err != nil || sizedFor == 0 {
		fraction = 0
	} else {
		fraction = int32(math.Round(float64(cur)*float64(want)/float64(sizedFor))) - cur
	}
	if toAdd > 0 {
		return max(min(fraction, toAdd-added), 0)
	}
	return min(max(fraction, toAdd-added), 0)
}
