package scheduler

import "github.com/batonhq/baton/api"

// NodeInfo is one node of a Snapshot with the resources its Pods use.
//
// Plugins read a NodeInfo and must not modify it; only the Snapshot that
// holds it changes it, through NewSnapshot, Assume and Forget.
type NodeInfo struct {
	// Node is the node itself, shared with the caller: never modify it.
	Node *api.Node
	// Allocatable is what the node offers Pods. A resource missing from
	// Node.Status.Allocatable is taken from Node.Status.Capacity; missing
	// from both, it is zero for cpu and memory and UnlimitedPods for pods.
	Allocatable Resources
	// Requested is the sum of the PodRequests of the Pods on the node;
	// Requested.Pods is their number.
	Requested Resources
	// NonZeroRequested is Requested with the default requests for
	// containers that state none (DefaultMilliCPURequest and
	// DefaultMemoryRequest); scoring uses it.
	NonZeroRequested Resources
}

// Name returns the node's name.
func (n *NodeInfo) Name() string { return n.Node.Name }
