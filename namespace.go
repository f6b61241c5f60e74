package baton

import "github.com/batonhq/baton/api"

// Namespace groups objects; deleting it deletes everything in it.
type Namespace = api.Namespace

// NamespaceDefault is the namespace that always exists and is used when an
// object names none.
const NamespaceDefault = api.NamespaceDefault

// Node is a place Pods run: a container runtime with capacity and labels.
type Node = api.Node

// NodeCondition is one condition of a Node.
type NodeCondition = api.NodeCondition

// Taint is a mark on a Node that repels Pods that do not tolerate it.
type Taint = api.Taint

// TaintEffect is what a taint does to Pods that do not tolerate it.
type TaintEffect = api.TaintEffect

// Toleration lets a Pod onto, and keeps it on, a Node with a matching
// taint.
type Toleration = api.Toleration

// TolerationOperator is how a toleration compares a taint's value.
type TolerationOperator = api.TolerationOperator

// Taint effects and toleration operators.
const (
	TaintNoSchedule       = api.TaintNoSchedule
	TaintPreferNoSchedule = api.TaintPreferNoSchedule
	TaintNoExecute        = api.TaintNoExecute
	TolerationOpExists    = api.TolerationOpExists
	TolerationOpEqual     = api.TolerationOpEqual
)

// The taints Baton puts on a Node that is not Ready.
const (
	TaintNodeNotReady    = api.TaintNodeNotReady
	TaintNodeUnreachable = api.TaintNodeUnreachable
)

// Event records something that happened to an object.
type Event = api.Event

// Event types.
const (
	EventTypeNormal  = api.EventTypeNormal
	EventTypeWarning = api.EventTypeWarning
)
