package scheduler

import (
	"math"
	"testing"

	"github.com/batonhq/baton/api"
)

func TestLeastAllocated(t *testing.T) {
	tests := []struct {
		name string
		pod  *api.Pod
		node *api.Node
		used Resources
		want int64
	}{
		// cpu (4000-1000)*100/4000 = 75, memory (8Gi-2Gi)*100/8Gi = 75.
		{"empty node", testPod("p", requests("1", "2Gi")), testNode("n", "4", "8Gi"), Resources{}, 75},
		// cpu (4000-3000)/4000 = 25, memory (8-6)/8 = 25.
		{"half used", testPod("p", requests("1", "2Gi")), testNode("n", "4", "8Gi"),
			Resources{MilliCPU: 2000, Memory: 4 * gi}, 25},
		// cpu 0 (full), memory (8-2)/8 = 75: mean 37 (rounded down).
		{"cpu full", testPod("p", requests("1", "2Gi")), testNode("n", "4", "8Gi"),
			Resources{MilliCPU: 3000}, 37},
		// cpu overcommitted scores 0, memory 75.
		{"overcommitted cpu", testPod("p", requests("1", "2Gi")), testNode("n", "4", "8Gi"),
			Resources{MilliCPU: 3500}, 37},
		// best-effort: 100m of 1000m -> 90, 200Mi of 1000Mi -> 80.
		{"best-effort counts defaults", testPod("p"), testNode("n", "1", "1000Mi"), Resources{}, 85},
		// explicit zero requests take nothing.
		{"explicit zero", testPod("p", requests("0", "0")), testNode("n", "1", "1000Mi"), Resources{}, 100},
		{"node without resources", testPod("p"), testNode("n", "", ""), Resources{}, 0},
		{"huge cpu does not overflow", testPod("p", requests("0", "0")),
			testNode("n", "", "1Gi", func(n *api.Node) { n.Status.Allocatable[api.ResourceCPU] = api.NewMilliQuantity(math.MaxInt64) }),
			Resources{}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (LeastAllocated{}).Score(podInfo(tt.pod), nodeInfo(tt.node, tt.used)); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}
