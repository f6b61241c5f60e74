package deployment

// rolloutRecreate takes one step of a Recreate rollout: scale every old
// ReplicaSet to zero, wait until none of their Pods is left (terminating
// ones included, so two versions never run at once), then bring the new
// ReplicaSet up to the full count. It reports whether it changed anything.
func (r *Reconciler) rolloutRecreate(st *state) (bool, error) {
	acted := false
	for _, rs := range st.oldRSs {
		if replicasOf(rs.Spec.Replicas) == 0 {
			continue
		}
		changed, err := r.scaleRS(st, rs, 0)
		if err != nil {
			return acted, err
		}
		acted = acted || changed
	}
	if acted {
		return true, nil
	}
	for _, rs := range st.oldRSs {
		if c := st.counts[rs.UID]; c.Active > 0 || c.Terminating > 0 {
			return false, nil // their deletion brings us back
		}
	}
	if st.newRS == nil {
		return r.createNewRS(st, st.want())
	}
	if acted, err := r.syncNewRSRevision(st); acted || err != nil {
		return acted, err
	}
	if replicasOf(st.newRS.Spec.Replicas) != st.want() {
		return r.scaleRS(st, st.newRS, st.want())
	}
	return false, nil
}
