package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// API groups and versions of the supported kinds, as they appear in the
// apiVersion field of a manifest.
const (
	CoreV1        = "v1"
	AppsV1        = "apps/v1"
	AutoscalingV2 = "autoscaling/v2"
)

// Kinds of object Baton stores.
const (
	KindPod        = "Pod"
	KindDeployment = "Deployment"
	KindService    = "Service"
	KindNamespace  = "Namespace"
	KindNode       = "Node"
	KindEvent      = "Event"
	KindReplicaSet = "ReplicaSet"
	KindConfigMap  = "ConfigMap"
	KindSecret     = "Secret"

	KindHorizontalPodAutoscaler = "HorizontalPodAutoscaler"
)

// Object is implemented by every stored kind.
type Object interface {
	// GetObjectMeta returns a pointer to the object's metadata, so callers
	// can read and (on their own copies) change it in place.
	GetObjectMeta() *ObjectMeta
	// ObjectKind returns the object's kind, such as "Pod", whatever its
	// TypeMeta says.
	ObjectKind() string
	// DeepCopyObject returns a copy that shares no memory with the receiver.
	DeepCopyObject() Object
}

// TypeMeta names an object's schema: apiVersion and kind, as in a manifest.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the metadata every object carries.
type ObjectMeta struct {
	// Name is unique within a namespace (or, for cluster-scoped kinds,
	// within the cluster). It must be a DNS-1123 subdomain, or a DNS-1123
	// label where the kind requires one.
	Name string `json:"name,omitempty"`
	// GenerateName, when Name is empty, asks Baton to pick a unique name
	// with this prefix.
	GenerateName string `json:"generateName,omitempty"`
	// Namespace is the namespace of a namespaced object; empty means
	// "default" on create. Cluster-scoped kinds leave it empty.
	Namespace string `json:"namespace,omitempty"`
	// UID is set by Baton on create and never changes.
	UID string `json:"uid,omitempty"`
	// ResourceVersion is set by Baton on every write. An update that
	// carries a stale ResourceVersion fails with ErrConflict; an empty one
	// updates unconditionally.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation counts changes to the desired state (spec); Baton sets it.
	Generation int64 `json:"generation,omitempty"`
	// CreationTimestamp is set by Baton on create.
	CreationTimestamp Time `json:"creationTimestamp,omitempty"`
	// DeletionTimestamp is set when a graceful deletion has begun.
	DeletionTimestamp *Time `json:"deletionTimestamp,omitempty"`
	// DeletionGracePeriodSeconds is the grace period of a graceful deletion.
	DeletionGracePeriodSeconds *int64 `json:"deletionGracePeriodSeconds,omitempty"`
	// Labels select objects: Services and Deployments find Pods by them.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations hold non-identifying data; Baton's own use the
	// "baton.dev/" prefix.
	Annotations map[string]string `json:"annotations,omitempty"`
	// OwnerReferences name the objects this one belongs to; when every
	// owner is gone, the garbage collector deletes it.
	OwnerReferences []OwnerReference `json:"ownerReferences,omitempty"`
}

// GetObjectMeta returns m itself; it makes every kind that embeds ObjectMeta
// satisfy part of Object.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// Key returns "namespace/name", or "name" for cluster-scoped objects.
func (m *ObjectMeta) Key() string {
	if m.Namespace == "" {
		return m.Name
	}
	return m.Namespace + "/" + m.Name
}

// IsControlledBy reports whether the object has a controller owner reference
// to uid.
func (m *ObjectMeta) IsControlledBy(uid string) bool {
	ref := m.ControllerRef()
	return ref != nil && ref.UID == uid
}

// ControllerRef returns the owner reference marked as controller, or nil.
func (m *ObjectMeta) ControllerRef() *OwnerReference {
	for i := range m.OwnerReferences {
		ref := &m.OwnerReferences[i]
		if ref.Controller != nil && *ref.Controller {
			return ref
		}
	}
	return nil
}

// OwnerReference points at an object that owns this one.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// NewControllerRef returns an owner reference marking owner as the
// controller of the object that carries it.
func NewControllerRef(owner Object, apiVersion string) OwnerReference {
	meta := owner.GetObjectMeta()
	yes := true
	return OwnerReference{
		APIVersion:         apiVersion,
		Kind:               owner.ObjectKind(),
		Name:               meta.Name,
		UID:                meta.UID,
		Controller:         &yes,
		BlockOwnerDeletion: &yes,
	}
}

// ObjectReference names an object, as an Event's involvedObject does.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// ReferenceTo returns a reference to obj.
func ReferenceTo(obj Object) ObjectReference {
	meta := obj.GetObjectMeta()
	return ObjectReference{
		Kind:            obj.ObjectKind(),
		Namespace:       meta.Namespace,
		Name:            meta.Name,
		UID:             meta.UID,
		APIVersion:      APIVersionOf(obj.ObjectKind()),
		ResourceVersion: meta.ResourceVersion,
	}
}

// APIVersionOf returns the apiVersion that kind is served under, or "" for
// an unknown kind.
func APIVersionOf(kind string) string {
	switch kind {
	case KindDeployment, KindReplicaSet:
		return AppsV1
	case KindHorizontalPodAutoscaler:
		return AutoscalingV2
	case KindPod, KindService, KindNamespace, KindNode, KindEvent, KindConfigMap, KindSecret:
		return CoreV1
	case KindEndpointSlice:
		return DiscoveryV1
	}
	return ""
}

// Time is a timestamp that encodes as RFC 3339 text, and as null when zero,
// like Kubernetes' metav1.Time.
type Time struct {
	time.Time
}

// NewTime wraps t.
func NewTime(t time.Time) Time { return Time{Time: t} }

// NewTimePtr returns a pointer to a Time wrapping t.
func NewTimePtr(t time.Time) *Time { return &Time{Time: t} }

// MarshalJSON encodes t as an RFC 3339 string in UTC, or null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON decodes an RFC 3339 string or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time must be an RFC 3339 string: %w", err)
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time must be an RFC 3339 string, got %q", s)
	}
	// MarshalJSON writes UTC, which RFC 3339 can hold only for years
	// 0000-9999; refuse what could not be written back.
	if y := parsed.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %q is out of range: in UTC its year must be 0000 to 9999", s)
	}
	t.Time = parsed
	return nil
}

// ConditionStatus is the status of a condition: True, False or Unknown.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)
