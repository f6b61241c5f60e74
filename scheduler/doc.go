// Package scheduler decides which node each Pod runs on. It is pure
// placement logic over an in-memory Snapshot of the nodes: no store, no
// goroutines, no clock, so the same inputs always give the same placements.
//
// # The model
//
// A Snapshot holds every node with the resources already requested by the
// Pods bound to it. The controller that binds Pods builds one from the
// store (NewSnapshot), then for each pending Pod of a batch asks a
// Scheduler for a node (Schedule), records the decision in the snapshot
// (Snapshot.Assume) so the next Pod sees it, and finally writes the
// bindings. If a binding fails, or a Pod goes away, Snapshot.Forget undoes
// its accounting.
//
// Schedule works in two phases, like the Kubernetes scheduler framework:
//
//  1. Filter. Each FilterPlugin may reject a node, giving a reason. The
//     defaults are NodeUnschedulable, NodeReady, TaintToleration,
//     NodeSelector and NodeResourcesFit. A node is rejected for the first
//     reason found.
//  2. Score. Each node left is rated 0 to MaxNodeScore by every
//     ScorePlugin, times its weight. The default is LeastAllocated, which
//     spreads Pods by the share of cpu and memory left, counting 100m cpu
//     and 200Mi memory for a container that requests none.
//
// The highest total wins; ties go to the node with fewer Pods, then to the
// first by name. There is no randomness, so placements can be compared
// against golden files. When every node is rejected, Schedule returns a
// *FitError that counts the nodes per reason in Kubernetes' words: "0/3
// nodes are available: 2 Insufficient cpu, 1 node(s) didn't match Pod's
// node selector."
//
// # Resources
//
// Requests and allocatable amounts are cpu (in millicores), memory (in
// bytes) and a number of Pods (see Resources). A node's allocatable comes
// from its Status.Allocatable, else its Status.Capacity. A node that
// declares no "pods" resource takes any number of Pods; one that declares
// no cpu or memory has none, so it takes only Pods that request none.
//
// # Concurrency and ownership
//
// A Scheduler reuses buffers between calls and a Snapshot is mutable: use
// each from one goroutine at a time. Neither copies nor modifies the Nodes
// and Pods it is given.
//
// # Not yet
//
// Affinity, taints and tolerations, topology spread, host ports and
// preemption are not implemented; plugins for them fit the same two
// interfaces.
package scheduler
