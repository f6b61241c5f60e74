package scheduler

// ReasonNodeUnschedulable is NodeUnschedulable's reason.
const ReasonNodeUnschedulable = "node(s) were unschedulable"

// NodeUnschedulable rejects nodes marked Spec.Unschedulable (cordoned), as
// the Kubernetes plugin of that name does for Pods without a toleration.
type NodeUnschedulable struct{}

var _ FilterPlugin = NodeUnschedulable{}

// Name returns "NodeUnschedulable".
func (NodeUnschedulable) Name() string { return "NodeUnschedulable" }

// Filter rejects a cordoned node.
func (NodeUnschedulable) Filter(_ *PodInfo, node *NodeInfo) string {
	if node.Node.Spec.Unschedulable {
		return ReasonNodeUnschedulable
	}
	return ""
}
