package scheduler

import "github.com/batonhq/baton/api"

// ReasonUntoleratedTaint is TaintToleration's reason.
const ReasonUntoleratedTaint = "node(s) had untolerated taint"

// TaintToleration rejects nodes with a NoSchedule or NoExecute taint the
// Pod does not tolerate, as the Kubernetes plugin of that name does.
// PreferNoSchedule taints are ignored.
type TaintToleration struct{}

var _ FilterPlugin = TaintToleration{}

// Name returns "TaintToleration".
func (TaintToleration) Name() string { return "TaintToleration" }

// Filter rejects a node with a taint pod does not tolerate.
func (TaintToleration) Filter(pod *PodInfo, node *NodeInfo) string {
	for i := range node.Node.Spec.Taints {
		taint := &node.Node.Spec.Taints[i]
		if taint.Effect == api.TaintPreferNoSchedule {
			continue
		}
		if api.TolerationFor(pod.Pod.Spec.Tolerations, taint) == nil {
			return ReasonUntoleratedTaint
		}
	}
	return ""
}
