package scheduler

import (
	"testing"

	"github.com/batonhq/baton/api"
)

func TestTaintToleration(t *testing.T) {
	tainted := func(taints ...api.Taint) func(*api.Node) {
		return func(n *api.Node) { n.Spec.Taints = taints }
	}
	tolerating := func(tolerations ...api.Toleration) *api.Pod {
		p := testPod("p")
		p.Spec.Tolerations = tolerations
		return p
	}
	gpu := api.Taint{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule}
	tests := []struct {
		name string
		pod  *api.Pod
		node *api.Node
		want string
	}{
		{"no taints", testPod("p"), testNode("n", "1", "1Gi"), ""},
		{"NoSchedule, not tolerated", testPod("p"), testNode("n", "1", "1Gi", tainted(gpu)), ReasonUntoleratedTaint},
		{"NoExecute, not tolerated", testPod("p"), testNode("n", "1", "1Gi", tainted(api.Taint{Key: "k", Effect: api.TaintNoExecute})), ReasonUntoleratedTaint},
		{"PreferNoSchedule is ignored", testPod("p"), testNode("n", "1", "1Gi", tainted(api.Taint{Key: "k", Effect: api.TaintPreferNoSchedule})), ""},
		{"Equal with the value", tolerating(api.Toleration{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule}), testNode("n", "1", "1Gi", tainted(gpu)), ""},
		{"Equal with another value", tolerating(api.Toleration{Key: "gpu", Value: "false"}), testNode("n", "1", "1Gi", tainted(gpu)), ReasonUntoleratedTaint},
		{"Exists on the key, any effect", tolerating(api.Toleration{Key: "gpu", Operator: api.TolerationOpExists}), testNode("n", "1", "1Gi", tainted(gpu)), ""},
		{"another effect", tolerating(api.Toleration{Key: "gpu", Operator: api.TolerationOpExists, Effect: api.TaintNoExecute}), testNode("n", "1", "1Gi", tainted(gpu)), ReasonUntoleratedTaint},
		{"Exists with no key tolerates all", tolerating(api.Toleration{Operator: api.TolerationOpExists}), testNode("n", "1", "1Gi", tainted(gpu, api.Taint{Key: "k", Effect: api.TaintNoExecute})), ""},
		{"one of two tolerated", tolerating(api.Toleration{Key: "gpu", Operator: api.TolerationOpExists}), testNode("n", "1", "1Gi", tainted(gpu, api.Taint{Key: "k", Effect: api.TaintNoExecute})), ReasonUntoleratedTaint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (TaintToleration{}).Filter(podInfo(tt.pod), nodeInfo(tt.node, Resources{})); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
