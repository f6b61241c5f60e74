package scheduler

import (
	"math"

	"github.com/batonhq/baton/api"
)

// Default requests that scoring assumes for a container that does not state
// one, as Kubernetes does, so that best-effort Pods still spread across
// nodes instead of piling onto the first. They never affect whether a Pod
// fits: NodeResourcesFit uses the Pod's real requests.
const (
	// DefaultMilliCPURequest is 100m CPU.
	DefaultMilliCPURequest int64 = 100
	// DefaultMemoryRequest is 200Mi memory.
	DefaultMemoryRequest int64 = 200 * 1024 * 1024
)

// UnlimitedPods is the Pods allocatable of a node that declares no "pods"
// resource: such a node has no limit on its number of Pods.
const UnlimitedPods int64 = math.MaxInt64

// Resources is an amount of the resources the scheduler accounts for: what
// a Pod requests, what a node has allocatable, or what a node's Pods
// request together.
type Resources struct {
	// MilliCPU is CPU in thousandths of a core.
	MilliCPU int64
	// Memory is memory in bytes.
	Memory int64
	// Pods is a number of Pods: 1 for a Pod's request, the node's limit
	// for its allocatable, the Pods on it for its requested.
	Pods int64
}

func (r *Resources) add(o Resources) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.Pods += o.Pods
}

func (r *Resources) sub(o Resources) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.Pods -= o.Pods
}

// PodRequests returns what pod requests: the sum of its containers' cpu and
// memory requests, and one Pod slot. A container without a request counts
// as zero here.
func PodRequests(pod *api.Pod) Resources {
	r := Resources{Pods: 1}
	for i := range pod.Spec.Containers {
		requests := pod.Spec.Containers[i].Resources.Requests
		r.MilliCPU += requests[api.ResourceCPU].MilliValue()
		r.Memory += requests[api.ResourceMemory].Value()
	}
	return r
}

// nonZeroPodRequests is PodRequests with DefaultMilliCPURequest and
// DefaultMemoryRequest for each container that leaves cpu or memory unset
// (a request explicitly set to zero stays zero, as in Kubernetes).
func nonZeroPodRequests(pod *api.Pod) Resources {
	r := Resources{Pods: 1}
	for i := range pod.Spec.Containers {
		requests := pod.Spec.Containers[i].Resources.Requests
		if q, ok := requests[api.ResourceCPU]; ok {
			r.MilliCPU += q.MilliValue()
		} else {
			r.MilliCPU += DefaultMilliCPURequest
		}
		if q, ok := requests[api.ResourceMemory]; ok {
			r.Memory += q.Value()
		} else {
			r.Memory += DefaultMemoryRequest
		}
	}
	return r
}

// PodInfo is a Pod with its requests worked out once, so that plugins
// called for every node need not recompute them.
type PodInfo struct {
	// Pod is the Pod being scheduled; plugins must not modify it.
	Pod *api.Pod
	// Requests is PodRequests(Pod): what must fit on the node.
	Requests Resources
	// NonZeroRequests is Requests with the default requests filled in for
	// containers that state none; scoring uses it.
	NonZeroRequests Resources
}

// NewPodInfo returns pod with its requests worked out.
func NewPodInfo(pod *api.Pod) PodInfo {
	return PodInfo{Pod: pod, Requests: PodRequests(pod), NonZeroRequests: nonZeroPodRequests(pod)}
}

// allocatable returns what node offers Pods: each resource from its
// Status.Allocatable, else from its Status.Capacity, else zero cpu and
// memory and UnlimitedPods.
func allocatable(node *api.Node) Resources {
	get := func(name api.ResourceName) (api.Quantity, bool) {
		if q, ok := node.Status.Allocatable[name]; ok {
			return q, true
		}
		q, ok := node.Status.Capacity[name]
		return q, ok
	}
	r := Resources{Pods: UnlimitedPods}
	if q, ok := get(api.ResourceCPU); ok {
		r.MilliCPU = q.MilliValue()
	}
	if q, ok := get(api.ResourceMemory); ok {
		r.Memory = q.Value()
	}
	if q, ok := get(api.ResourcePods); ok {
		r.Pods = q.Value()
	}
	return r
}
