package scheduler

// LeastAllocated favours the nodes with the most room left, spreading Pods
// out, as Kubernetes' NodeResourcesFit scoring strategy LeastAllocated
// (formerly the NodeResourcesLeastAllocated plugin) does with its default
// weights.
//
// For cpu and memory it computes (allocatable - requested) * 100 /
// allocatable, where requested is the node's NonZeroRequested plus the
// Pod's NonZeroRequests, and gives the mean of the two. A resource the node
// has none of, or that the Pod would overcommit, scores 0.
type LeastAllocated struct{}

var _ ScorePlugin = LeastAllocated{}

// Name returns "NodeResourcesLeastAllocated".
func (LeastAllocated) Name() string { return "NodeResourcesLeastAllocated" }

// Score rates node by the share of cpu and memory left after placing pod.
func (LeastAllocated) Score(pod *PodInfo, node *NodeInfo) int64 {
	cpu := leastRequested(node.NonZeroRequested.MilliCPU+pod.NonZeroRequests.MilliCPU, node.Allocatable.MilliCPU)
	mem := leastRequested(node.NonZeroRequested.Memory+pod.NonZeroRequests.Memory, node.Allocatable.Memory)
	return (cpu + mem) / 2
}

func leastRequested(requested, allocatable int64) int64 {
	if allocatable <= 0 || requested > allocatable {
		return 0
	}
	free := allocatable - requested
	if free > (1<<63-1)/MaxNodeScore {
		// free*100 would overflow (absurd millicores); divide first.
		return min(free/(allocatable/MaxNodeScore), MaxNodeScore)
	}
	return free * MaxNodeScore / allocatable
}
