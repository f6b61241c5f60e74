package scheduler

// ReasonNodeSelectorMismatch is NodeSelector's reason.
const ReasonNodeSelectorMismatch = "node(s) didn't match Pod's node selector"

// NodeSelector rejects nodes that do not carry every label of the Pod's
// Spec.NodeSelector with the same value, as the nodeSelector part of
// Kubernetes' NodeAffinity plugin does.
type NodeSelector struct{}

var _ FilterPlugin = NodeSelector{}

// Name returns "NodeSelector".
func (NodeSelector) Name() string { return "NodeSelector" }

// Filter rejects a node missing one of the Pod's selector labels.
func (NodeSelector) Filter(pod *PodInfo, node *NodeInfo) string {
	selector := pod.Pod.Spec.NodeSelector
	if len(selector) == 0 {
		return "" // skip starting a map iteration, which costs more
	}
	labels := node.Node.Labels
	for k, want := range selector {
		if got, ok := labels[k]; !ok || got != want {
			return ReasonNodeSelectorMismatch
		}
	}
	return ""
}
