// Package discovery finds Services and balances connections over their
// endpoints, in process: a Resolver keeps an index of Services and their
// EndpointSlices, a Dialer dials "web.<namespace>:80"-style addresses
// (usable as http.Transport.DialContext), and EnvFor computes the
// Kubernetes-style environment variables that tell containers where the
// Services of their namespace are.
//
// # Names
//
// A Service address is "<service>.<namespace>", optionally followed by
// ".svc" or ".svc.<cluster domain>" (default "cluster.local") and a final
// dot, in any case, or the Service's cluster IP. The port is a Service port
// number or a Service port name. Anything else is refused: the Dialer never
// dials an address that is not an endpoint of a Service.
//
// # Endpoints
//
// An endpoint takes new connections while it is ready. A terminating Pod's
// endpoint is not ready, so it leaves load balancing before its containers
// are stopped; connections already open to it are left alone. When a
// Service port has no ready endpoint, its serving terminating endpoints are
// used instead, as Kubernetes' proxies do, so that a Service whose Pods are
// all being replaced keeps answering while they drain.
//
// # Balancing
//
// Endpoints are picked round-robin by default, or by fewest open
// connections (LeastConnections); a Service with sessionAffinity ClientIP
// sends each client to the endpoint it used last, for as long as that
// endpoint stays ready and the client keeps coming back within the
// affinity timeout. A connection refused by an endpoint is retried on the
// next one, a bounded number of times. The balancing state of a Service
// port (the round-robin cursor, connection counts and affinities) lives in
// the Resolver and is shared by every Dialer of it.
package discovery
