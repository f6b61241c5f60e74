package api

// Namespace groups namespaced objects; deleting it deletes them all.
type Namespace struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       NamespaceSpec   `json:"spec,omitempty"`
	Status     NamespaceStatus `json:"status,omitempty"`
}

// ObjectKind returns "Namespace".
func (*Namespace) ObjectKind() string { return KindNamespace }

// NamespaceSpec is empty; it exists so manifests with "spec: {}" decode.
type NamespaceSpec struct{}

// NamespaceStatus is the observed state of a Namespace.
type NamespaceStatus struct {
	// Phase is Active, or Terminating once deletion has begun.
	Phase NamespacePhase `json:"phase,omitempty"`
}

// NamespacePhase is the lifecycle phase of a Namespace.
type NamespacePhase string

// Namespace phases.
const (
	NamespaceActive      NamespacePhase = "Active"
	NamespaceTerminating NamespacePhase = "Terminating"
)

// Names of the namespaces Baton creates.
const (
	NamespaceDefault = "default"
	NamespaceSystem  = "baton-system"
)
