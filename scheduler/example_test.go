package scheduler_test

import (
	"errors"
	"fmt"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/scheduler"
)

// Schedule a batch of Pods the way the binding controller does: build a
// snapshot, then schedule each Pod and assume it, so the next one sees it.
func Example() {
	node := func(name, cpu, memory string, labels map[string]string) *api.Node {
		return &api.Node{
			ObjectMeta: api.ObjectMeta{Name: name, Labels: labels},
			Status: api.NodeStatus{
				Allocatable: api.ResourceList{
					api.ResourceCPU:    api.MustParseQuantity(cpu),
					api.ResourceMemory: api.MustParseQuantity(memory),
					api.ResourcePods:   api.NewQuantity(110),
				},
				Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}},
			},
		}
	}
	pod := func(name, cpu string, nodeSelector map[string]string) *api.Pod {
		return &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
			Spec: api.PodSpec{
				NodeSelector: nodeSelector,
				Containers: []api.Container{{
					Name: "app", Image: "busybox",
					Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: api.MustParseQuantity(cpu)}},
				}},
			},
		}
	}

	snap := scheduler.NewSnapshot([]*api.Node{
		node("edge-1", "2", "2Gi", map[string]string{"zone": "edge"}),
		node("core-1", "4", "8Gi", map[string]string{"zone": "core"}),
	}, nil)
	s := scheduler.New()
	for _, p := range []*api.Pod{
		pod("web-1", "1", nil),
		pod("web-2", "1", nil),
		pod("sensor", "1500m", map[string]string{"zone": "edge"}),
		pod("batch", "3", nil),
	} {
		nodeName, err := s.Schedule(p, snap)
		var fit *scheduler.FitError
		if errors.As(err, &fit) {
			fmt.Printf("%s: %v\n", p.Name, err)
			continue
		}
		if err := snap.Assume(p, nodeName); err != nil {
			panic(err)
		}
		fmt.Printf("%s -> %s\n", p.Name, nodeName)
	}
	// Output:
	// web-1 -> core-1
	// web-2 -> core-1
	// sensor -> edge-1
	// batch: 0/2 nodes are available: 2 Insufficient cpu.
}
