package scheduler

// ReasonNodeNotReady is NodeReady's reason.
const ReasonNodeNotReady = "node(s) were not ready"

// NodeReady rejects nodes whose Ready condition is not True (False,
// Unknown or missing), as Kubernetes' former CheckNodeCondition predicate
// did; Kubernetes now expresses this with the not-ready taint.
type NodeReady struct{}

var _ FilterPlugin = NodeReady{}

// Name returns "NodeReady".
func (NodeReady) Name() string { return "NodeReady" }

// Filter rejects a node that is not ready.
func (NodeReady) Filter(_ *PodInfo, node *NodeInfo) string {
	if !node.Node.IsReady() {
		return ReasonNodeNotReady
	}
	return ""
}
