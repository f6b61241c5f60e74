package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
)

// Defaults of a Dialer.
const (
	// DefaultMaxAttempts bounds the endpoints one dial tries.
	DefaultMaxAttempts = 3
	// DefaultAffinityTimeout is how long a client sticks to an endpoint of
	// a Service with sessionAffinity ClientIP after its last connection,
	// Kubernetes' default of three hours.
	DefaultAffinityTimeout = 3 * time.Hour
	// DefaultDialTimeout bounds one attempt to connect to an endpoint.
	DefaultDialTimeout = 5 * time.Second
)

// Dialer connects to Services by name, balancing over their endpoints; its
// DialContext fits http.Transport.DialContext. It dials only endpoints of
// Services the Resolver knows: any other address is refused. It is safe
// for concurrent use.
type Dialer struct {
	r               *Resolver
	policy          Policy
	namespace       string
	attempts        int
	net             *net.Dialer
	clock           clock.Clock
	affinityTimeout time.Duration
}

// DialerOption configures NewDialer.
type DialerOption func(*Dialer)

// WithPolicy sets how endpoints are picked; the default is RoundRobin.
func WithPolicy(p Policy) DialerOption { return func(d *Dialer) { d.policy = p } }

// WithNamespace makes a bare Service name, such as "web:80", mean a Service
// of namespace, as it does for a Pod in that namespace. Without it a bare
// name is refused.
func WithNamespace(namespace string) DialerOption {
	return func(d *Dialer) { d.namespace = namespace }
}

// WithMaxAttempts bounds how many endpoints one dial tries when they refuse
// the connection; the default is DefaultMaxAttempts, and at least one is
// always tried.
func WithMaxAttempts(n int) DialerOption { return func(d *Dialer) { d.attempts = n } }

// WithNetDialer sets the dialer that connects to endpoints, for timeouts
// and keep-alives; the default is a net.Dialer with a DefaultDialTimeout
// timeout. The Dialer does not modify it.
func WithNetDialer(nd *net.Dialer) DialerOption { return func(d *Dialer) { d.net = nd } }

// WithClock sets the clock session affinity is timed on; the default is
// clock.Real().
func WithClock(c clock.Clock) DialerOption { return func(d *Dialer) { d.clock = c } }

// WithAffinityTimeout sets how long a client sticks to an endpoint of a
// ClientIP-affinity Service after its last connection; the default is
// DefaultAffinityTimeout.
func WithAffinityTimeout(timeout time.Duration) DialerOption {
	return func(d *Dialer) { d.affinityTimeout = timeout }
}

// NewDialer returns a Dialer resolving through r.
func NewDialer(r *Resolver, opts ...DialerOption) *Dialer {
	d := &Dialer{r: r}
	for _, opt := range opts {
		opt(d)
	}
	if d.attempts < 1 {
		d.attempts = DefaultMaxAttempts
	}
	if d.net == nil {
		d.net = &net.Dialer{Timeout: DefaultDialTimeout}
	}
	if d.clock == nil {
		d.clock = clock.Real()
	}
	if d.affinityTimeout <= 0 {
		d.affinityTimeout = DefaultAffinityTimeout
	}
	return d
}

// Dial is DialContext with context.Background().
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to a Service: network is "tcp" or "udp" (or their
// 4 and 6 variants), address is "<host>:<port>" where host names a Service
// as Resolver.Lookup reads it (or, with WithNamespace, a bare Service
// name) and port is a Service port number or name. It picks an endpoint by
// the Dialer's policy and the Service's session affinity and, when an
// endpoint refuses the connection, tries the next, up to the attempt
// limit.
//
// Errors match api.ErrInvalid for an address that names no Service (the
// Dialer never dials such an address), api.ErrNotFound for a Service or
// port that does not exist, and api.ErrUnavailable when the port has no
// ready endpoint or every endpoint tried refused; errors from ctx are
// returned as they are.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	port, err := d.resolve(network, address)
	if err != nil {
		return nil, fmt.Errorf("discovery: dial %s %s: %w", network, address, err)
	}
	b, err := d.DialPort(ctx, network, port, netip.Addr{})
	if err != nil {
		return nil, fmt.Errorf("discovery: dial %s %s: %w", network, address, err)
	}
	if d.policy != LeastConnections {
		b.Release()
		return b.Conn, nil
	}
	return &trackedConn{Conn: b.Conn, b: b}, nil
}

func (d *Dialer) resolve(network, address string) (*Port, error) {
	protocol, err := protocolOf(network)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, api.ErrInvalid)
	}
	if d.namespace != "" && !strings.Contains(host, ".") && !strings.Contains(host, ":") {
		host += "." + d.namespace
	}
	return d.r.Resolve(host, port, protocol)
}

func protocolOf(network string) (api.Protocol, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return api.ProtocolTCP, nil
	case "udp", "udp4", "udp6":
		return api.ProtocolUDP, nil
	}
	return "", fmt.Errorf("network %q is not tcp or udp: %w", network, api.ErrInvalid)
}

// Backend is a connection to one endpoint, as DialPort makes it.
type Backend struct {
	// Conn is the connection, as the net.Dialer returned it: a
	// *net.TCPConn or *net.UDPConn.
	Conn net.Conn
	// Endpoint is the endpoint connected to.
	Endpoint netip.AddrPort

	bal  *balance
	once sync.Once
}

// Release stops counting the connection toward its endpoint's connections
// (see LeastConnections). Call it once Conn is closed; further calls do
// nothing.
func (b *Backend) Release() {
	b.once.Do(func() {
		if b.bal != nil {
			b.bal.release(b.Endpoint)
		}
	})
}

// DialPort connects to an endpoint of port on behalf of client (the zero
// Addr for the process itself), as DialContext does once it has resolved
// the address, and returns the raw connection so that a proxy can splice
// it. network must be one of port's protocol ("tcp" for TCP). The caller
// must call Release once it has closed the connection. Errors are those of
// DialContext.
func (d *Dialer) DialPort(ctx context.Context, network string, port *Port, client netip.Addr) (*Backend, error) {
	cands := port.Candidates()
	if len(cands) == 0 {
		hint := "wait for its Pods to become Ready"
		if svc := port.Service.Object; svc != nil && len(svc.Spec.Selector) == 0 {
			hint = fmt.Sprintf("it has no selector, so its endpoints are those of the EndpointSlices labelled %s=%s",
				api.LabelServiceName, svc.Name)
		}
		return nil, fmt.Errorf("service %s has no ready endpoint; %s: %w", port, hint, api.ErrUnavailable)
	}
	affinity := port.Service.SessionAffinity == api.ServiceAffinityClientIP
	now := d.clock.Now()
	order := port.bal.order(cands, d.policy, d.attempts, affinity, client, now, d.affinityTimeout)
	var lastErr error
	for _, ep := range order {
		port.bal.acquire(ep)
		conn, err := d.net.DialContext(ctx, network, ep.String())
		if err == nil {
			if affinity {
				port.bal.stick(client, ep, now, d.affinityTimeout)
			}
			return &Backend{Conn: conn, Endpoint: ep, bal: port.bal}, nil
		}
		port.bal.release(ep)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		lastErr = err
		if !retryable(err) {
			break
		}
	}
	return nil, fmt.Errorf("service %s: %d endpoint(s) tried, none answered: %w: %w", port, len(order), api.ErrUnavailable, lastErr)
}

// retryable reports whether a dial error means the endpoint is not there,
// so that another endpoint may answer.
func retryable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EADDRNOTAVAIL)
}

// trackedConn releases its Backend when closed, for LeastConnections.
type trackedConn struct {
	net.Conn
	b *Backend
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.b.Release()
	return err
}

// CloseWrite half-closes a TCP connection.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("discovery: %T cannot half-close: %w", c.Conn, api.ErrInvalid)
}
