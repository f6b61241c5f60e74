package baton

import (
	"context"

	"github.com/batonhq/baton/api"
)

// EndpointSlice lists some of the endpoints of a Service
// (discovery.k8s.io/v1). Baton's endpoints controller keeps them for every
// Service with a selector; read them with EndpointSlices.
type EndpointSlice = api.EndpointSlice

// Endpoint is one address behind a Service: a Pod's.
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
)

// ClusterIPNone is the clusterIP of a headless Service.
const ClusterIPNone = api.ClusterIPNone

// EndpointSliceClient reads the EndpointSlices of one namespace ("" for
// all). Baton writes them; this client only reads. Objects returned are
// the caller's own copies.
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
