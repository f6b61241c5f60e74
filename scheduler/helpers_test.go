package scheduler

import (
	"github.com/batonhq/baton/api"
)

// testNode returns a Ready node with the given allocatable cpu and memory
// ("" leaves one out) and 110 pods, changed by opts.
func testNode(name, cpu, memory string, opts ...func(*api.Node)) *api.Node {
	n := &api.Node{
		ObjectMeta: api.ObjectMeta{Name: name},
		Status: api.NodeStatus{
			Allocatable: api.ResourceList{api.ResourcePods: api.NewQuantity(110)},
			Conditions:  []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}},
		},
	}
	if cpu != "" {
		n.Status.Allocatable[api.ResourceCPU] = api.MustParseQuantity(cpu)
	}
	if memory != "" {
		n.Status.Allocatable[api.ResourceMemory] = api.MustParseQuantity(memory)
	}
	for _, opt := range opts {
		opt(n)
	}
	return n
}

func maxPods(n int64) func(*api.Node) {
	return func(node *api.Node) { node.Status.Allocatable[api.ResourcePods] = api.NewQuantity(n) }
}

func noPodLimit(node *api.Node) { delete(node.Status.Allocatable, api.ResourcePods) }

func labels(kv ...string) func(*api.Node) {
	return func(node *api.Node) { node.Labels = pairs(kv) }
}

func cordoned(node *api.Node) { node.Spec.Unschedulable = true }

func readiness(status api.ConditionStatus) func(*api.Node) {
	return func(node *api.Node) { node.Status.Conditions[0].Status = status }
}

// testPod returns a Pod in namespace "default" with one container per
// call of requests in opts (none: one container without requests).
func testPod(name string, opts ...func(*api.Pod)) *api.Pod {
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name}}
	for _, opt := range opts {
		opt(p)
	}
	if len(p.Spec.Containers) == 0 {
		p.Spec.Containers = []api.Container{{Name: "c0", Image: "busybox"}}
	}
	return p
}

// requests adds a container requesting cpu and memory; "" leaves one unset.
func requests(cpu, memory string) func(*api.Pod) {
	return func(p *api.Pod) {
		c := api.Container{Name: "c" + string(rune('0'+len(p.Spec.Containers))), Image: "busybox"}
		if cpu != "" || memory != "" {
			c.Resources.Requests = api.ResourceList{}
		}
		if cpu != "" {
			c.Resources.Requests[api.ResourceCPU] = api.MustParseQuantity(cpu)
		}
		if memory != "" {
			c.Resources.Requests[api.ResourceMemory] = api.MustParseQuantity(memory)
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
}

func selector(kv ...string) func(*api.Pod) {
	return func(p *api.Pod) { p.Spec.NodeSelector = pairs(kv) }
}

func boundTo(node string) func(*api.Pod) {
	return func(p *api.Pod) { p.Spec.NodeName = node }
}

func phase(ph api.PodPhase) func(*api.Pod) {
	return func(p *api.Pod) { p.Status.Phase = ph }
}

func pairs(kv []string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

const (
	mi = 1024 * 1024
	gi = 1024 * mi
)

// nodeInfo returns a NodeInfo for node whose Pods request used (and, for
// scoring, the same non-zero amounts).
func nodeInfo(node *api.Node, used Resources) *NodeInfo {
	return &NodeInfo{Node: node, Allocatable: allocatable(node), Requested: used, NonZeroRequested: used}
}

func podInfo(pod *api.Pod) *PodInfo {
	info := NewPodInfo(pod)
	return &info
}
