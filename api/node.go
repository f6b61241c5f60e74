package api

// Node is a place Pods run: a container runtime with capacity and labels.
// Nodes are cluster-scoped.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       NodeSpec   `json:"spec,omitempty"`
	Status     NodeStatus `json:"status,omitempty"`
}

// ObjectKind returns "Node".
func (*Node) ObjectKind() string { return KindNode }

// NodeSpec is the desired state of a Node.
type NodeSpec struct {
	// Unschedulable keeps new Pods off the node (kubectl cordon).
	Unschedulable bool `json:"unschedulable,omitempty"`
	// Taints repel Pods that do not tolerate them. Baton adds and removes
	// the not-ready and unreachable NoExecute taints itself.
	Taints []Taint `json:"taints,omitempty"`
}

// NodeStatus is the observed state of a Node.
type NodeStatus struct {
	// Capacity is the node's total resources.
	Capacity ResourceList `json:"capacity,omitempty"`
	// Allocatable is the share of Capacity that Pods may request.
	Allocatable ResourceList `json:"allocatable,omitempty"`
	// Conditions holds Ready.
	Conditions []NodeCondition `json:"conditions,omitempty"`
	// Addresses are the node's addresses.
	Addresses []NodeAddress `json:"addresses,omitempty"`
	// NodeInfo describes the node's runtime.
	NodeInfo NodeSystemInfo `json:"nodeInfo,omitempty"`
}

// NodeConditionType names a Node condition.
type NodeConditionType string

// NodeReady is True while the node's agent and runtime answer.
const NodeReady NodeConditionType = "Ready"

// NodeCondition is one condition of a Node.
type NodeCondition struct {
	Type               NodeConditionType `json:"type"`
	Status             ConditionStatus   `json:"status"`
	LastHeartbeatTime  Time              `json:"lastHeartbeatTime,omitempty"`
	LastTransitionTime Time              `json:"lastTransitionTime,omitempty"`
	Reason             string            `json:"reason,omitempty"`
	Message            string            `json:"message,omitempty"`
}

// Condition returns the Node's condition of type t, or nil.
func (s *NodeStatus) Condition(t NodeConditionType) *NodeCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether the Node's Ready condition is True.
func (n *Node) IsReady() bool {
	c := n.Status.Condition(NodeReady)
	return c != nil && c.Status == ConditionTrue
}

// NodeAddress is one address of a Node.
type NodeAddress struct {
	// Type is InternalIP or Hostname.
	Type    string `json:"type"`
	Address string `json:"address"`
}

// NodeSystemInfo describes a Node's runtime.
type NodeSystemInfo struct {
	ContainerRuntimeVersion string `json:"containerRuntimeVersion,omitempty"`
	OperatingSystem         string `json:"operatingSystem,omitempty"`
	Architecture            string `json:"architecture,omitempty"`
}
