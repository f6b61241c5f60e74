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

// Event records something that happened to an object.
type Event = api.Event

// Event types.
const (
	EventTypeNormal  = api.EventTypeNormal
	EventTypeWarning = api.EventTypeWarning
)
