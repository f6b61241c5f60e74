package scheduler

import (
	"testing"

	"github.com/batonhq/baton/api"
)

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name             string
		pod              *api.Pod
		request, nonZero Resources
	}{
		{
			name:    "no requests",
			pod:     testPod("p"),
			request: Resources{Pods: 1},
			nonZero: Resources{MilliCPU: 100, Memory: 200 * mi, Pods: 1},
		},
		{
			name:    "cpu and memory",
			pod:     testPod("p", requests("500m", "1Gi")),
			request: Resources{MilliCPU: 500, Memory: gi, Pods: 1},
			nonZero: Resources{MilliCPU: 500, Memory: gi, Pods: 1},
		},
		{
			name:    "containers add up",
			pod:     testPod("p", requests("1", "100Mi"), requests("250m", "28Mi")),
			request: Resources{MilliCPU: 1250, Memory: 128 * mi, Pods: 1},
			nonZero: Resources{MilliCPU: 1250, Memory: 128 * mi, Pods: 1},
		},
		{
			name:    "defaults fill only what is unset",
			pod:     testPod("p", requests("200m", ""), requests("", "1Mi"), requests("", "")),
			request: Resources{MilliCPU: 200, Memory: mi, Pods: 1},
			nonZero: Resources{MilliCPU: 200 + 100 + 100, Memory: 200*mi + mi + 200*mi, Pods: 1},
		},
		{
			name:    "explicit zero stays zero",
			pod:     testPod("p", requests("0", "0")),
			request: Resources{Pods: 1},
			nonZero: Resources{Pods: 1},
		},
		{
			name:    "fractional memory rounds up to a byte",
			pod:     testPod("p", requests("", "1500m")),
			request: Resources{Memory: 2, Pods: 1},
			nonZero: Resources{MilliCPU: 100, Memory: 2, Pods: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PodRequests(tt.pod); got != tt.request {
				t.Errorf("PodRequests = %+v, want %+v", got, tt.request)
			}
			info := NewPodInfo(tt.pod)
			if info.Pod != tt.pod || info.Requests != tt.request || info.NonZeroRequests != tt.nonZero {
				t.Errorf("NewPodInfo = %+v, want requests %+v and non-zero %+v", info, tt.request, tt.nonZero)
			}
		})
	}
}

func TestAllocatable(t *testing.T) {
	tests := []struct {
		name string
		node *api.Node
		want Resources
	}{
		{
			name: "allocatable",
			node: testNode("n", "4", "8Gi", maxPods(30)),
			want: Resources{MilliCPU: 4000, Memory: 8 * gi, Pods: 30},
		},
		{
			name: "capacity when allocatable lacks a resource",
			node: testNode("n", "", "8Gi", func(n *api.Node) {
				n.Status.Capacity = api.ResourceList{api.ResourceCPU: api.MustParseQuantity("2"), api.ResourceMemory: api.MustParseQuantity("16Gi")}
			}),
			want: Resources{MilliCPU: 2000, Memory: 8 * gi, Pods: 110},
		},
		{
			name: "nothing declared",
			node: testNode("n", "", "", noPodLimit),
			want: Resources{Pods: UnlimitedPods},
		},
		{
			name: "explicit zero pods",
			node: testNode("n", "1", "1Gi", maxPods(0)),
			want: Resources{MilliCPU: 1000, Memory: gi, Pods: 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allocatable(tt.node); got != tt.want {
				t.Errorf("allocatable = %+v, want %+v", got, tt.want)
			}
		})
	}
}
