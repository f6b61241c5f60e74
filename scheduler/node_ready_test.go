package scheduler

import (
	"testing"

	"github.com/batonhq/baton/api"
)

func TestNodeReady(t *testing.T) {
	tests := []struct {
		name string
		node *api.Node
		want string
	}{
		{"ready", testNode("n", "1", "1Gi"), ""},
		{"not ready", testNode("n", "1", "1Gi", readiness(api.ConditionFalse)), ReasonNodeNotReady},
		{"unknown", testNode("n", "1", "1Gi", readiness(api.ConditionUnknown)), ReasonNodeNotReady},
		{"no condition", testNode("n", "1", "1Gi", func(n *api.Node) { n.Status.Conditions = nil }), ReasonNodeNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeReady{}).Filter(podInfo(testPod("p")), nodeInfo(tt.node, Resources{})); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
