package scheduler

import (
	"testing"

	"github.com/batonhq/baton/api"
)

func TestNodeUnschedulable(t *testing.T) {
	tests := []struct {
		name string
		node *api.Node
		want string
	}{
		{"schedulable", testNode("n", "1", "1Gi"), ""},
		{"cordoned", testNode("n", "1", "1Gi", cordoned), ReasonNodeUnschedulable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeUnschedulable{}).Filter(podInfo(testPod("p")), nodeInfo(tt.node, Resources{})); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
