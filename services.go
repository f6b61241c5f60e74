package baton

import (
	"context"

	"github.com/batonhq/baton/api"
)

// EndpointSlice lists some of the endpoints of a Service
// (discovery.k8s.io/v1). Baton's endpoints controller keeps them for every
// Service with a selector; for a Service without one, write them yourself
// with EndpointSlices, labelled LabelServiceName.
type EndpointSlice = api.EndpointSlice

// Endpoint is one address behind a Service: a Pod's, or any address a
// user's slice names.
type Endpoint = api.Endpoint

// EndpointConditions say whether an endpoint is ready, serving and
// terminating.
type EndpointConditions = api.EndpointConditions

// EndpointPort is a port every endpoint of a slice serves.
type EndpointPort = api.EndpointPort

// AddressType is IPv4 or IPv6.
type AddressType = api.AddressType

// ServiceAffinity is None or ClientIP.
type ServiceAffinity = api.ServiceAffinity

// Service affinities, address types, and the label naming a slice's
// Service.
const (
	ServiceAffinityNone     = api.ServiceAffinityNone
	ServiceAffinityClientIP = api.ServiceAffinityClientIP

	AddressTypeIPv4 = api.AddressTypeIPv4
	AddressTypeIPv6 = api.AddressTypeIPv6

	// LabelServiceName labels each EndpointSlice with its Service's name.
	LabelServiceName = api.LabelServiceName
	// LabelManagedBy names the controller that manages an EndpointSlice;
	// EndpointSliceControllerName is its value on the slices Baton keeps,
	// and reserved to them.
	LabelManagedBy              = api.LabelManagedBy
	EndpointSliceControllerName = api.EndpointSliceControllerName
)

// ClusterIPNone is the clusterIP of a headless Service.
const ClusterIPNone = api.ClusterIPNone

// EndpointSliceClient reads and writes the EndpointSlices of one namespace
// ("" reads all namespaces and creates in "default"). It is safe for
// concurrent use; objects passed in are never retained and objects
// returned are the caller's own copies.
//
// Baton's endpoints controller keeps the slices of every Service with a
// selector, labelled LabelManagedBy: EndpointSliceControllerName and
// controlled by the Service. The slices of a Service without a selector
// are the user's, as in Kubernetes: write them here, labelled
// LabelServiceName with the Service's name, and the Resolver, the Dialer,
// the proxy and the DNS server use them as they use the controller's. The
// controller never touches a slice it does not keep, and this client
// refuses (ErrInvalid, at metadata.labels) any slice whose LabelManagedBy
// claims EndpointSliceControllerName, so it cannot write the controller's
// slices either (the controller would put them back).
type EndpointSliceClient struct {
	c Client[*EndpointSlice]
}

// EndpointSlices returns a client for the EndpointSlices in namespace.
func (o *Orchestrator) EndpointSlices(namespace string) *EndpointSliceClient {
	return &EndpointSliceClient{c: Client[*EndpointSlice]{o: o, namespace: namespace}}
}

// Get returns the EndpointSlice called name, or an error matching
// ErrNotFound.
func (c *EndpointSliceClient) Get(ctx context.Context, name string) (*EndpointSlice, error) {
	return c.c.Get(ctx, name)
}

// List returns the EndpointSlices matching opts, ordered by namespace and
// name.
func (c *EndpointSliceClient) List(ctx context.Context, opts ...ListOption) ([]*EndpointSlice, error) {
	return c.c.List(ctx, opts...)
}

// ForService returns the EndpointSlices of Service service, like
// "kubectl get endpointslices -l kubernetes.io/service-name=<service>".
func (c *EndpointSliceClient) ForService(ctx context.Context, service string) ([]*EndpointSlice, error) {
	return c.c.List(ctx, MatchLabels(map[string]string{api.LabelServiceName: service}))
}

// Watch delivers an Added event for every matching EndpointSlice, then
// every change, as Client.Watch does.
func (c *EndpointSliceClient) Watch(ctx context.Context, opts ...ListOption) (<-chan WatchEvent[*EndpointSlice], error) {
	return c.c.Watch(ctx, opts...)
}

// Create stores a new EndpointSlice and returns it as stored, with uid,
// resourceVersion and defaults (each port's protocol TCP and name "")
// filled in. An empty namespace means the client's (or "default"). It
// fails with ErrAlreadyExists if the name is taken, and with ErrInvalid,
// naming each bad field and changing nothing, if the slice is malformed or
// claims to be managed by Baton's endpoints controller.
func (c *EndpointSliceClient) Create(ctx context.Context, s *EndpointSlice) (*EndpointSlice, error) {
	return c.c.Create(ctx, s)
}

// Update replaces an existing EndpointSlice, with Create's checks. When s
// carries a resourceVersion that is no longer current it fails with
// ErrConflict; an empty resourceVersion updates unconditionally.
func (c *EndpointSliceClient) Update(ctx context.Context, s *EndpointSlice) (*EndpointSlice, error) {
	return c.c.Update(ctx, s)
}

// Apply creates the EndpointSlice, or replaces the existing one of that
// name whatever its resourceVersion, with Create's checks.
func (c *EndpointSliceClient) Apply(ctx context.Context, s *EndpointSlice) (*EndpointSlice, error) {
	return c.c.Apply(ctx, s)
}

// Delete deletes the EndpointSlice called name, or fails with ErrNotFound;
// opts are Client.Delete's, and none changes how a slice is deleted. A
// slice Baton's endpoints controller keeps may be deleted too, as in
// Kubernetes; the controller then writes a new one.
func (c *EndpointSliceClient) Delete(ctx context.Context, name string, opts ...DeleteOption) error {
	return c.c.Delete(ctx, name, opts...)
}
