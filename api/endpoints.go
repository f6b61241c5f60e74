package api

// DiscoveryV1 is the API group and version EndpointSlices are served under.
const DiscoveryV1 = "discovery.k8s.io/v1"

// KindEndpointSlice is the kind of an EndpointSlice.
const KindEndpointSlice = "EndpointSlice"

// Well-known labels of EndpointSlices, as in Kubernetes.
const (
	// LabelServiceName names the Service an EndpointSlice belongs to.
	// Consumers (Baton's resolver, proxy and DNS server) find a Service's
	// slices by it.
	LabelServiceName = "kubernetes.io/service-name"
	// LabelManagedBy names the controller that manages an EndpointSlice.
	LabelManagedBy = "endpointslice.kubernetes.io/managed-by"
	// EndpointSliceControllerName is the LabelManagedBy value of the
	// slices Baton's endpoints controller keeps.
	EndpointSliceControllerName = "endpointslice-controller.baton.dev"
)

// MaxEndpointsPerSlice is how many endpoints Baton's endpoints controller
// puts in one EndpointSlice at most, Kubernetes' default.
const MaxEndpointsPerSlice = 100

// EndpointSlice lists some of the network endpoints of a Service, in the
// shape of Kubernetes' discovery.k8s.io/v1 EndpointSlice. Baton's endpoints
// controller keeps the slices of every Service that has a selector: one or
// more per Service, labelled LabelServiceName and LabelManagedBy
// (EndpointSliceControllerName) and controlled by the Service. All
// endpoints of one slice share its ports, so Pods whose targetPort resolves
// to different numbers land in different slices.
//
// Users write the slices of a Service without a selector, as in
// Kubernetes: a slice labelled LabelServiceName with the Service's name is
// one of its slices whoever wrote it, and the resolver, the proxy and the
// DNS server use it as they use the controller's. The controller never
// touches a slice that lacks its LabelManagedBy value or is not controlled
// by the Service, and the clients refuse slices that claim that value.
type EndpointSlice struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	// AddressType is the family of every address in the slice: IPv4 or
	// IPv6.
	AddressType AddressType `json:"addressType"`
	// Endpoints are the slice's endpoints, at most MaxEndpointsPerSlice
	// when Baton writes them.
	Endpoints []Endpoint `json:"endpoints"`
	// Ports are the ports every endpoint of the slice serves, one per
	// Service port that resolved. Empty means the Service's ports could not
	// be resolved for these endpoints.
	Ports []EndpointPort `json:"ports"`
}

// ObjectKind returns "EndpointSlice".
func (*EndpointSlice) ObjectKind() string { return KindEndpointSlice }

// AddressType is the address family of an EndpointSlice.
type AddressType string

// Address types. Kubernetes' deprecated FQDN is not supported.
const (
	AddressTypeIPv4 AddressType = "IPv4"
	AddressTypeIPv6 AddressType = "IPv6"
)

// Endpoint is one network endpoint of a Service: a Pod's address.
type Endpoint struct {
	// Addresses hold the endpoint's address; consumers use the first, as
	// in Kubernetes. Baton writes exactly one.
	Addresses []string `json:"addresses"`
	// Conditions say whether the endpoint takes traffic.
	Conditions EndpointConditions `json:"conditions,omitempty"`
	// Hostname is the endpoint's DNS hostname, when set.
	Hostname *string `json:"hostname,omitempty"`
	// TargetRef is the Pod behind the endpoint.
	TargetRef *ObjectReference `json:"targetRef,omitempty"`
	// NodeName is the Node the Pod runs on.
	NodeName *string `json:"nodeName,omitempty"`
	// Zone is the zone the endpoint is in, when known.
	Zone *string `json:"zone,omitempty"`
}

// EndpointConditions say whether an endpoint takes traffic. Following
// Kubernetes, an unset Ready or Serving means true (unknown is read as
// ready) and an unset Terminating means false.
type EndpointConditions struct {
	// Ready: the endpoint takes new traffic. A terminating endpoint is
	// never ready.
	Ready *bool `json:"ready,omitempty"`
	// Serving: the Pod is ready, whether or not it is terminating.
	// Consumers may fall back to serving, terminating endpoints when a
	// Service has no ready one.
	Serving *bool `json:"serving,omitempty"`
	// Terminating: the Pod is being deleted.
	Terminating *bool `json:"terminating,omitempty"`
}

// IsReady reads Ready, unset meaning true.
func (c EndpointConditions) IsReady() bool { return c.Ready == nil || *c.Ready }

// IsServing reads Serving, unset meaning the same as Ready.
func (c EndpointConditions) IsServing() bool {
	if c.Serving == nil {
		return c.IsReady()
	}
	return *c.Serving
}

// IsTerminating reads Terminating, unset meaning false.
func (c EndpointConditions) IsTerminating() bool { return c.Terminating != nil && *c.Terminating }

// EndpointPort is a port every endpoint of a slice serves.
type EndpointPort struct {
	// Name is the name of the Service port this port resolves; unset or
	// empty for a Service's single unnamed port.
	Name *string `json:"name,omitempty"`
	// Protocol is TCP (the default) or UDP.
	Protocol *Protocol `json:"protocol,omitempty"`
	// Port is the port number on the endpoints.
	Port *int32 `json:"port,omitempty"`
	// AppProtocol is the application protocol, such as "http", when known.
	AppProtocol *string `json:"appProtocol,omitempty"`
}

// PortName returns Name, or "" when it is unset.
func (p EndpointPort) PortName() string {
	if p.Name == nil {
		return ""
	}
	return *p.Name
}

// PortProtocol returns Protocol, or TCP when it is unset.
func (p EndpointPort) PortProtocol() Protocol {
	if p.Protocol == nil || *p.Protocol == "" {
		return ProtocolTCP
	}
	return *p.Protocol
}

// PortNumber returns Port, or 0 when it is unset.
func (p EndpointPort) PortNumber() int32 {
	if p.Port == nil {
		return 0
	}
	return *p.Port
}

// SetEndpointSliceDefaults fills, in place, the unset fields of an
// EndpointSlice as Kubernetes does: apiVersion and kind, and each port's
// name ("", a Service's single unnamed port) and protocol (TCP). Fields
// already set are never changed. s must be the caller's own copy.
func SetEndpointSliceDefaults(s *EndpointSlice) {
	setTypeMeta(&s.TypeMeta, KindEndpointSlice)
	for i := range s.Ports {
		p := &s.Ports[i]
		if p.Name == nil {
			name := ""
			p.Name = &name
		}
		if p.Protocol == nil {
			tcp := ProtocolTCP
			p.Protocol = &tcp
		}
	}
}
