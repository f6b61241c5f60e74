package baton

import "github.com/batonhq/baton/api"

// Object is implemented by every kind: *Pod, *Deployment, *Service,
// *Namespace, *Node and *Event.
type Object = api.Object

// TypeMeta is an object's apiVersion and kind.
type TypeMeta = api.TypeMeta

// ObjectMeta is the metadata every object carries: name, namespace, uid,
// labels, annotations, resourceVersion, generation, timestamps and owner
// references.
type ObjectMeta = api.ObjectMeta

// OwnerReference names an object's owner; owned objects are deleted with it.
type OwnerReference = api.OwnerReference

// ObjectReference names an object, as an Event's involvedObject does.
type ObjectReference = api.ObjectReference

// LabelSelector selects objects by label: matchLabels and matchExpressions.
type LabelSelector = api.LabelSelector

// LabelSelectorRequirement is one expression of a LabelSelector.
type LabelSelectorRequirement = api.LabelSelectorRequirement

// Time is a timestamp that encodes as RFC 3339.
type Time = api.Time

// Quantity is a resource amount such as "250m" or "128Mi".
type Quantity = api.Quantity

// ResourceList maps resource names to quantities.
type ResourceList = api.ResourceList

// ResourceName names a resource: cpu, memory or pods.
type ResourceName = api.ResourceName

// IntOrString holds an integer or a string, such as a port name.
type IntOrString = api.IntOrString

// ConditionStatus is True, False or Unknown.
type ConditionStatus = api.ConditionStatus

// Resource names, label selector operators and condition statuses.
const (
	ResourceCPU    = api.ResourceCPU
	ResourceMemory = api.ResourceMemory
	ResourcePods   = api.ResourcePods

	LabelSelectorOpIn           = api.LabelSelectorOpIn
	LabelSelectorOpNotIn        = api.LabelSelectorOpNotIn
	LabelSelectorOpExists       = api.LabelSelectorOpExists
	LabelSelectorOpDoesNotExist = api.LabelSelectorOpDoesNotExist

	ConditionTrue    = api.ConditionTrue
	ConditionFalse   = api.ConditionFalse
	ConditionUnknown = api.ConditionUnknown
)

// ParseQuantity parses a quantity such as "500m" or "1Gi".
func ParseQuantity(s string) (Quantity, error) { return api.ParseQuantity(s) }

// MustParseQuantity is ParseQuantity for constants; it panics on bad input.
func MustParseQuantity(s string) Quantity { return api.MustParseQuantity(s) }

// FromInt returns an IntOrString holding i.
func FromInt(i int32) IntOrString { return api.FromInt(i) }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return api.FromString(s) }
