package deployment

import (
	"math"
	"slices"
	"strconv"
	"strings"

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

// isSaturated reports whether the new ReplicaSet runs the Deployment's
// full count, was scaled for it, and has every Pod available, as
// Kubernetes' deploymentutil.IsSaturated does.
func (st *state) isSaturated() bool {
	rs := st.newRS
	if rs == nil {
		return false
	}
	desired, err := strconv.ParseInt(rs.Annotations[api.AnnotationDesiredReplicas], 10, 32)
	want := st.want()
	return err == nil && int32(desired) == want && replicasOf(rs.Spec.Replicas) == want && st.available(rs) >= want
}

// scale resizes the ReplicaSets for a new replica count without rolling
// anything out, as Kubernetes' DeploymentController.scale does: the only
// active ReplicaSet takes the full count; once the new ReplicaSet is
// saturated, old ones go to zero; mid-rollout of a RollingUpdate, the
// change is shared among the active ReplicaSets in proportion to their
// sizes (see proportionalSizes), so that the rollout's shape survives the
// scaling.
func (r *Reconciler) scale(st *state) (bool, error) {
	want := st.want()
	if rs := st.activeOrLatest(); rs != nil {
		return r.scaleRS(st, rs, want)
	}
	if st.isSaturated() {
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
	if st.d.Spec.Strategy.Type == api.RecreateDeploymentStrategyType {
		return false, nil
	}
	surge, _ := fenceposts(st.d)
	active := st.active()
	sizes := proportionalSizes(active, want, surge, st.d.Status.Replicas)
	acted := false
	for i, rs := range active {
		changed, err := r.scaleRS(st, rs, sizes[i])
		if err != nil {
			return acted, err
		}
		acted = acted || changed
	}
	return acted, nil
}

// proportionalSizes returns the size each of the active ReplicaSets rss
// (all with replicas > 0) takes when a Deployment in the middle of a
// rolling update is scaled to want replicas with maxSurge surge; status is
// the Deployment's status.replicas, used only for a ReplicaSet that lacks
// the max-replicas annotation. It follows Kubernetes' scale
// (pkg/controller/deployment/sync.go) step for step:
//
//  1. The total may grow to allowed = want + surge (0 when want is 0), so
//     toAdd = allowed - the sum of the ReplicaSets' replicas, which may be
//     negative.
//  2. The ReplicaSets are ordered largest first; among equal sizes, newer
//     first when growing (ReplicaSetsBySizeNewer) and older first when
//     shrinking (ReplicaSetsBySizeOlder); creation ties go by name.
//  3. In that order, each takes its proportion (GetReplicaSetProportion):
//     round(replicas × allowed / its max-replicas annotation) − replicas,
//     the annotation being want + surge when it was last scaled, but never
//     more (growing) or less (shrinking) than what is left of toAdd.
//  4. Whatever rounding left over goes to the first, the largest, which
//     never goes below zero.
//
// The result is in the order of rss. Sums are taken in int64, so no count
// a valid Deployment can hold overflows.
func proportionalSizes(rss []*api.ReplicaSet, want, surge, status int32) []int32 {
	sizes := make([]int32, len(rss))
	var current int64
	for i, rs := range rss {
		sizes[i] = replicasOf(rs.Spec.Replicas)
		current += int64(sizes[i])
	}
	var allowed int64
	if want > 0 {
		allowed = int64(want) + int64(surge)
	}
	toAdd := allowed - current
	if toAdd == 0 || len(rss) == 0 {
		return sizes
	}
	order := make([]int, len(rss))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		if c := int(sizes[j]) - int(sizes[i]); c != 0 {
			return c // larger first
		}
		c := rss[i].CreationTimestamp.Compare(rss[j].CreationTimestamp.Time)
		if c == 0 {
			c = strings.Compare(rss[i].Name, rss[j].Name)
		}
		if toAdd > 0 {
			return -c // newer first
		}
		return c // older first
	})
	var added int64
	for _, i := range order {
		p := proportion(sizes[i], rss[i], want, allowed, toAdd, added, status)
		sizes[i] += int32(p)
		added += p
	}
	first := order[0]
	sizes[first] = int32(max(int64(sizes[first])+toAdd-added, 0))
	return sizes
}

// proportion is Kubernetes' GetReplicaSetProportion: how many replicas rs,
// of size replicas, gains (or, negative, loses) of toAdd, of which added
// are already given out.
func proportion(replicas int32, rs *api.ReplicaSet, want int32, allowed, toAdd, added int64, status int32) int64 {
	if replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := fraction(replicas, rs, want, allowed, status)
	left := toAdd - added
	if toAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

// fraction is Kubernetes' getReplicaSetFraction: rs's size scaled from
// the Deployment's replicas + maxSurge when rs was last scaled (its
// max-replicas annotation, or failing that the Deployment's
// status.replicas) to allowed, less its size now.
func fraction(replicas int32, rs *api.ReplicaSet, want int32, allowed int64, status int32) int64 {
	if want == 0 {
		return -int64(replicas)
	}
	before, err := strconv.ParseInt(rs.Annotations[api.AnnotationMaxReplicas], 10, 32)
	if err != nil || before == 0 {
		before = int64(status)
		if before == 0 {
			return 0
		}
	}
	scaled := float64(replicas) * float64(allowed) / float64(before)
	return int64(math.Round(scaled)) - int64(replicas)
}
