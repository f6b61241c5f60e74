package scheduler

// NodeResourcesFit's reasons.
const (
	ReasonTooManyPods        = "Too many pods"
	ReasonInsufficientCPU    = "Insufficient cpu"
	ReasonInsufficientMemory = "Insufficient memory"
)

// NodeResourcesFit rejects nodes without room for the Pod's requests: one
// more Pod than the node has (unless its pods allocatable is
// UnlimitedPods), or more cpu or memory than its allocatable minus what its
// Pods already request. As in Kubernetes, a Pod that requests no cpu fits
// any node's cpu, even an overcommitted one; likewise memory.
//
// Unlike Kubernetes, which lists every resource that is short, it reports
// only the first, in the order pods, cpu, memory, because a filter returns
// one reason.
type NodeResourcesFit struct{}

var _ FilterPlugin = NodeResourcesFit{}

// Name returns "NodeResourcesFit".
func (NodeResourcesFit) Name() string { return "NodeResourcesFit" }

// Filter rejects a node that lacks room for the Pod.
func (NodeResourcesFit) Filter(pod *PodInfo, node *NodeInfo) string {
	req, alloc, used := &pod.Requests, &node.Allocatable, &node.Requested
	switch {
	case req.Pods > alloc.Pods-used.Pods:
		return ReasonTooManyPods
	case req.MilliCPU > 0 && req.MilliCPU > alloc.MilliCPU-used.MilliCPU:
		return ReasonInsufficientCPU
	case req.Memory > 0 && req.Memory > alloc.Memory-used.Memory:
		return ReasonInsufficientMemory
	}
	return ""
}
