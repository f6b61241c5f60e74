package api

// Service gives a stable name and load-balanced access to the ready Pods its
// selector matches.
type Service struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       ServiceSpec   `json:"spec,omitempty"`
	Status     ServiceStatus `json:"status,omitempty"`
}

// ObjectKind returns "Service".
func (*Service) ObjectKind() string { return KindService }

// ServiceSpec is the desired state of a Service.
type ServiceSpec struct {
	// Ports the Service exposes; at least one is required unless the
	// Service is headless.
	Ports []ServicePort `json:"ports,omitempty"`
	// Selector picks the Pods behind the Service by label.
	Selector map[string]string `json:"selector,omitempty"`
	// ClusterIP is "None" for a headless Service; otherwise Baton ignores
	// it on input.
	ClusterIP string `json:"clusterIP,omitempty"`
	// Type is ClusterIP (the default) or NodePort.
	Type ServiceType `json:"type,omitempty"`
	// SessionAffinity is None (the default) or ClientIP.
	SessionAffinity ServiceAffinity `json:"sessionAffinity,omitempty"`
}

// ClusterIPNone marks a headless Service.
const ClusterIPNone = "None"

// ServiceType says how a Service is exposed.
type ServiceType string

// Service types.
const (
	ServiceTypeClusterIP ServiceType = "ClusterIP"
	ServiceTypeNodePort  ServiceType = "NodePort"
)

// ServiceAffinity says whether a client sticks to one endpoint.
type ServiceAffinity string

// Session affinities.
const (
	ServiceAffinityNone     ServiceAffinity = "None"
	ServiceAffinityClientIP ServiceAffinity = "ClientIP"
)

// ServicePort is one port of a Service.
type ServicePort struct {
	// Name is required, and unique, when the Service has several ports.
	Name string `json:"name,omitempty"`
	// Protocol is TCP (the default) or UDP.
	Protocol Protocol `json:"protocol,omitempty"`
	// Port is the Service's port.
	Port int32 `json:"port"`
	// TargetPort is the Pods' port, by number or by container port name;
	// the default is Port.
	TargetPort IntOrString `json:"targetPort,omitempty"`
	// NodePort is the host port of a NodePort Service.
	NodePort int32 `json:"nodePort,omitempty"`
}

// ServiceStatus is the observed state of a Service; Baton records none yet.
type ServiceStatus struct{}
