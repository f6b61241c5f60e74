package scheduler

import (
	"testing"

	"github.com/batonhq/baton/api"
)

func TestNodeResourcesFit(t *testing.T) {
	tests := []struct {
		name string
		pod  *api.Pod
		node *api.Node
		used Resources
		want string
	}{
		{"fits empty node", testPod("p", requests("1", "1Gi")), testNode("n", "2", "2Gi"), Resources{}, ""},
		{"fits exactly", testPod("p", requests("1", "1Gi")), testNode("n", "2", "2Gi"),
			Resources{MilliCPU: 1000, Memory: gi, Pods: 109}, ""},
		{"cpu short by a millicore", testPod("p", requests("1001m", "1Gi")), testNode("n", "2", "2Gi"),
			Resources{MilliCPU: 1000, Memory: gi}, ReasonInsufficientCPU},
		{"memory short by a byte", testPod("p", requests("1", "1073741825")), testNode("n", "2", "2Gi"),
			Resources{MilliCPU: 1000, Memory: gi}, ReasonInsufficientMemory},
		{"pod slots full", testPod("p"), testNode("n", "2", "2Gi", maxPods(3)),
			Resources{Pods: 3}, ReasonTooManyPods},
		{"zero pods allowed", testPod("p"), testNode("n", "2", "2Gi", maxPods(0)),
			Resources{}, ReasonTooManyPods},
		{"no pod limit", testPod("p"), testNode("n", "2", "2Gi", noPodLimit),
			Resources{Pods: 1_000_000}, ""},
		{"pods reported before cpu", testPod("p", requests("3", "3Gi")), testNode("n", "2", "2Gi", maxPods(1)),
			Resources{Pods: 1}, ReasonTooManyPods},
		{"cpu reported before memory", testPod("p", requests("3", "3Gi")), testNode("n", "2", "2Gi"),
			Resources{}, ReasonInsufficientCPU},
		{"best-effort fits an overcommitted node", testPod("p"), testNode("n", "2", "2Gi"),
			Resources{MilliCPU: 5000, Memory: 5 * gi, Pods: 4}, ""},
		{"memory-only pod ignores cpu", testPod("p", requests("", "1Gi")), testNode("n", "2", "2Gi"),
			Resources{MilliCPU: 5000}, ""},
		{"node without cpu takes pods without cpu", testPod("p", requests("", "1Gi")), testNode("n", "", "2Gi"),
			Resources{}, ""},
		{"node without cpu refuses cpu", testPod("p", requests("1m", "")), testNode("n", "", "2Gi"),
			Resources{}, ReasonInsufficientCPU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeResourcesFit{}).Filter(podInfo(tt.pod), nodeInfo(tt.node, tt.used)); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
