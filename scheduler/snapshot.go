package scheduler

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/batonhq/baton/api"
)

// Snapshot is the scheduler's view of the cluster: every node, with the
// resources requested by the Pods bound to it. It is built once from the
// store and then kept current by the caller, which Assumes each placement
// it makes so that the next Pod scheduled sees it, and Forgets a Pod whose
// binding failed or that was deleted.
//
// A Snapshot is not safe for concurrent use: one goroutine at a time may
// call its methods or schedule against it. It does not copy the Nodes and
// Pods it is given and never modifies them.
type Snapshot struct {
	nodes []NodeInfo         // sorted by name
	index map[string]int     // node name -> position in nodes
	pods  map[podKey]podSlot // every Pod accounted for, by namespace/name
}

// podKey identifies a Pod within a Snapshot without allocating a string.
type podKey struct{ namespace, name string }

func keyOf(pod *api.Pod) podKey { return podKey{pod.Namespace, pod.Name} }

func (k podKey) String() string {
	if k.namespace == "" {
		return k.name
	}
	return k.namespace + "/" + k.name
}

// podSlot records where a Pod is accounted and what was added for it, so
// that Forget subtracts exactly that.
type podSlot struct {
	node             int
	request, nonZero Resources
}

// NewSnapshot returns a Snapshot of nodes and of the Pods among pods that
// are bound to one of them (Spec.NodeName set) and not terminal (neither
// Succeeded nor Failed). Pods bound to a node not in nodes, and unbound
// Pods, are ignored. Of two nodes with the same name, or two Pods with the
// same namespace and name, the first is kept.
func NewSnapshot(nodes []*api.Node, pods []*api.Pod) *Snapshot {
	s := &Snapshot{
		nodes: make([]NodeInfo, 0, len(nodes)),
		index: make(map[string]int, len(nodes)),
		pods:  make(map[podKey]podSlot, len(pods)),
	}
	for _, node := range nodes {
		s.nodes = append(s.nodes, NodeInfo{Node: node, Allocatable: allocatable(node)})
	}
	slices.SortStableFunc(s.nodes, func(a, b NodeInfo) int { return strings.Compare(a.Node.Name, b.Node.Name) })
	s.nodes = slices.CompactFunc(s.nodes, func(a, b NodeInfo) bool { return a.Node.Name == b.Node.Name })
	for i := range s.nodes {
		s.index[s.nodes[i].Node.Name] = i
	}
	for _, pod := range pods {
		if pod.Spec.NodeName == "" || pod.IsTerminal() {
			continue
		}
		i, ok := s.index[pod.Spec.NodeName]
		if !ok {
			continue
		}
		if _, dup := s.pods[keyOf(pod)]; dup {
			continue
		}
		s.add(pod, i)
	}
	return s
}

func (s *Snapshot) add(pod *api.Pod, node int) {
	slot := podSlot{node: node, request: PodRequests(pod), nonZero: nonZeroPodRequests(pod)}
	s.pods[keyOf(pod)] = slot
	s.nodes[node].Requested.add(slot.request)
	s.nodes[node].NonZeroRequested.add(slot.nonZero)
}

// Assume accounts pod on the node named nodeName, as if it were bound
// there, so that later scheduling sees the resources it takes. It does not
// check that the Pod fits: that is Schedule's job.
//
// Assuming a Pod again on the node it is already accounted on does
// nothing. Assume fails, changing nothing, with an error matching
// api.ErrNotFound when the node is not in the snapshot, and with one
// matching api.ErrAlreadyExists when the Pod is accounted on another node.
func (s *Snapshot) Assume(pod *api.Pod, nodeName string) error {
	i, ok := s.index[nodeName]
	if !ok {
		return api.NotFoundError(api.KindNode, "", nodeName)
	}
	if slot, ok := s.pods[keyOf(pod)]; ok {
		if slot.node == i {
			return nil
		}
		return fmt.Errorf("pod %q is already on node %q, cannot assume it on %q: %w",
			keyOf(pod), s.nodes[slot.node].Node.Name, nodeName, api.ErrAlreadyExists)
	}
	s.add(pod, i)
	return nil
}

// Forget undoes the accounting of pod, whether it came from NewSnapshot or
// Assume: call it when a Pod's binding failed or the Pod was deleted or
// finished. The Pod is identified by namespace and name, and exactly what
// was added for it is subtracted, even if pod's requests have changed since.
// Forgetting a Pod that is not accounted does nothing.
func (s *Snapshot) Forget(pod *api.Pod) {
	key := keyOf(pod)
	slot, ok := s.pods[key]
	if !ok {
		return
	}
	delete(s.pods, key)
	s.nodes[slot.node].Requested.sub(slot.request)
	s.nodes[slot.node].NonZeroRequested.sub(slot.nonZero)
}

// Node returns the node named name, or nil if the snapshot has none. The
// NodeInfo stays owned by the snapshot: read it, never modify it.
func (s *Snapshot) Node(name string) *NodeInfo {
	if i, ok := s.index[name]; ok {
		return &s.nodes[i]
	}
	return nil
}

// NodeOf returns the name of the node pod is accounted on, and whether it
// is accounted at all.
func (s *Snapshot) NodeOf(pod *api.Pod) (nodeName string, ok bool) {
	slot, ok := s.pods[keyOf(pod)]
	if !ok {
		return "", false
	}
	return s.nodes[slot.node].Node.Name, true
}

// Nodes yields the snapshot's nodes in name order. Read them, never modify
// them.
func (s *Snapshot) Nodes() iter.Seq[*NodeInfo] {
	return func(yield func(*NodeInfo) bool) {
		for i := range s.nodes {
			if !yield(&s.nodes[i]) {
				return
			}
		}
	}
}

// Len returns the number of nodes in the snapshot.
func (s *Snapshot) Len() int { return len(s.nodes) }
