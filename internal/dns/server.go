// Package dns is Baton's cluster DNS server, answering for the Services a
// discovery.Resolver knows, over UDP and TCP on one address:
//
//   - <service>.<namespace>.svc.<domain> A: the Service's cluster IP, or
//     for a headless Service the addresses of its ready endpoints;
//   - _<port>._<protocol>.<service>.<namespace>.svc.<domain> SRV: the
//     named port, pointing at the Service's name (cluster IP) or at each
//     ready endpoint's own name (headless), with the addresses as extra A
//     records; SRV of the Service name itself lists every named port;
//   - <endpoint>.<service>.<namespace>.svc.<domain> A, for the ready
//     endpoints of a headless Service, named by their hostname or their
//     dashed address ("127-88-0-2");
//   - NXDOMAIN for any other name in the cluster domain, with the zone's
//     SOA so that resolvers cache the answer for the TTL;
//   - REFUSED for every name outside the cluster domain: the server never
//     forwards or recurses, so it sends no query beyond the host.
//
// Answers carry a TTL of 5 seconds by default, as CoreDNS's kubernetes
// plugin does.
package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

// DefaultTTL is the TTL of answers, in seconds.
const DefaultTTL = 5

// Config configures a Server.
type Config struct {
	// Resolver answers the queries.
	Resolver *discovery.Resolver
	// Addr is the host:port to listen on, UDP and TCP; a port of 0 picks a
	// free port (the same for both).
	Addr string
	// TTL of answers in seconds; default DefaultTTL.
	TTL uint32
	// Log receives what goes wrong; default no-op.
	Log *zap.Logger
}

// Server is a DNS server listening on one address. Make one with Listen.
type Server struct {
	cfg    Config
	domain string // "<cluster domain>." in lower case
	udp    net.PacketConn
	tcp    net.Listener
}

// Listen binds the UDP and TCP sockets of cfg.Addr. Call Serve to answer.
func Listen(cfg Config) (*Server, error) {
	if cfg.Resolver == nil {
		return nil, fmt.Errorf("dns: Config.Resolver is nil: %w", api.ErrInvalid)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dns: listen address %q: %w: give host:port, such as 127.0.0.1:53: %w", cfg.Addr, err, api.ErrInvalid)
	}
	s := &Server{cfg: cfg, domain: dns.Fqdn(strings.ToLower(cfg.Resolver.ClusterDomain()))}
	// With port 0, take the UDP port first and then TCP on the same one,
	// trying a few times in case another process holds that TCP port.
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("dns: %w", err)
		}
		tcpAddr := net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
		l, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			s.udp, s.tcp = pc, l
			return s, nil
		}
		pc.Close()
		if port != "0" || attempt == 10 {
			return nil, fmt.Errorf("dns: %w", err)
		}
	}
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.udp.LocalAddr().String() }

// Serve answers queries until ctx ends, then closes the sockets and
// returns once every goroutine it started has exited.
func (s *Server) Serve(ctx context.Context) error {
	servers := []*dns.Server{
		{PacketConn: s.udp, Handler: s},
		{Listener: s.tcp, Handler: s},
	}
	errs := make(chan error, len(servers))
	var wg sync.WaitGroup
	var started []*dns.Server
	var startErr error
	for _, srv := range servers {
		up := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(up) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- srv.ActivateAndServe()
		}()
		select {
		case <-up:
			started = append(started, srv)
		case err := <-errs:
			startErr = err
		}
		if startErr != nil {
			break
		}
	}
	if startErr == nil {
		<-ctx.Done()
	}
	for _, srv := range started {
		_ = srv.Shutdown()
	}
	s.udp.Close()
	s.tcp.Close()
	wg.Wait()
	if startErr != nil {
		return fmt.Errorf("dns: serving %s: %w", s.Addr(), startErr)
	}
	return nil
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := s.answer(req)
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size)
	}
	if err := w.WriteMsg(resp); err != nil {
		s.cfg.Log.Debug("writing a DNS answer failed", zap.Error(err))
	}
}

func (s *Server) answer(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	if req.Opcode != dns.OpcodeQuery {
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	}
	if len(req.Question) != 1 {
		return resp.SetRcodeFormatError(req)
	}
	resp.SetReply(req)
	resp.RecursionAvailable = false
	q := req.Question[0]
	name := strings.ToLower(dns.Fqdn(q.Name))
	if q.Qclass != dns.ClassINET || (name != s.domain && !strings.HasSuffix(name, "."+s.domain)) {
		resp.Rcode = dns.RcodeRefused
		return resp
	}
	resp.Authoritative = true
	found := s.lookup(resp, name, q.Qtype)
	if !found {
		resp.Rcode = dns.RcodeNameError
	}
	if len(resp.Answer) == 0 {
		resp.Ns = []dns.RR{s.soa()}
	}
	return resp
}

// lookup fills resp with the records of name of type qtype, and reports
// whether name exists.
func (s *Server) lookup(resp *dns.Msg, name string, qtype uint16) bool {
	rel := strings.TrimSuffix(strings.TrimSuffix(name, s.domain), ".") // labels before the cluster domain
	if rel == "" {
		return true // the zone apex
	}
	labels := strings.Split(rel, ".")
	n := len(labels)
	if labels[n-1] != "svc" {
		return false
	}
	switch n {
	case 1: // svc.<domain>
		return true
	case 2: // <namespace>.svc.<domain>
		for _, svc := range s.cfg.Resolver.Services() {
			if svc.Namespace == labels[0] {
				return true
			}
		}
		return false
	}
	svc := s.cfg.Resolver.Service(labels[n-2], labels[n-3])
	if svc == nil {
		return false
	}
	svcName := labels[n-3] + "." + labels[n-2] + ".svc." + s.domain
	switch n {
	case 3: // <service>.<namespace>.svc.<domain>
		switch qtype {
		case dns.TypeA:
			resp.Answer = append(resp.Answer, s.serviceA(svc, name)...)
		case dns.TypeSRV:
			for _, port := range svc.Ports {
				if port.Name != "" {
					s.srv(resp, svc, port, name, svcName)
				}
			}
		}
		return true
	case 4: // <endpoint>.<service>.<namespace>.svc.<domain>
		if !svc.Headless {
			return false
		}
		for _, ep := range svc.Endpoints {
			if ep.Ready && endpointLabel(ep) == labels[0] {
				if qtype == dns.TypeA && ep.Addr.Is4() {
					resp.Answer = append(resp.Answer, s.a(name, ep.Addr))
				}
				return true
			}
		}
		return false
	case 5: // _<port>._<protocol>.<service>.<namespace>.svc.<domain>
		portName, okPort := strings.CutPrefix(labels[0], "_")
		protocol, okProto := strings.CutPrefix(labels[1], "_")
		if !okPort || !okProto {
			return false
		}
		for _, port := range svc.Ports {
			if port.Name == portName && strings.EqualFold(string(port.Protocol), protocol) {
				if qtype == dns.TypeSRV {
					s.srv(resp, svc, port, name, svcName)
				}
				return true
			}
		}
		return false
	}
	return false
}

// serviceA returns the A records of a Service's name.
func (s *Server) serviceA(svc *discovery.Service, name string) []dns.RR {
	if !svc.Headless {
		if svc.ClusterIP.Is4() {
			return []dns.RR{s.a(name, svc.ClusterIP)}
		}
		return nil
	}
	var out []dns.RR
	for _, ep := range svc.Endpoints {
		if ep.Ready && ep.Addr.Is4() {
			out = append(out, s.a(name, ep.Addr))
		}
	}
	return out
}

// srv appends the SRV records of port, and their addresses as extras.
func (s *Server) srv(resp *dns.Msg, svc *discovery.Service, port *discovery.Port, name, svcName string) {
	if !svc.Headless {
		if !svc.ClusterIP.Is4() {
			return
		}
		resp.Answer = append(resp.Answer, &dns.SRV{Hdr: s.hdr(name, dns.TypeSRV), Priority: 0, Weight: 100,
			Port: uint16(port.Port), Target: svcName})
		resp.Extra = append(resp.Extra, s.a(svcName, svc.ClusterIP))
		return
	}
	byAddr := map[netip.Addr]discovery.Endpoint{}
	for _, ep := range svc.Endpoints {
		byAddr[ep.Addr] = ep
	}
	for _, ap := range port.Ready {
		ep, ok := byAddr[ap.Addr()]
		if !ok || !ap.Addr().Is4() {
			continue
		}
		target := endpointLabel(ep) + "." + svcName
		resp.Answer = append(resp.Answer, &dns.SRV{Hdr: s.hdr(name, dns.TypeSRV), Priority: 0, Weight: 100,
			Port: ap.Port(), Target: target})
		resp.Extra = append(resp.Extra, s.a(target, ap.Addr()))
	}
}

// endpointLabel names an endpoint of a headless Service: its hostname, or
// its address with dashes.
func endpointLabel(ep discovery.Endpoint) string {
	if ep.Hostname != "" {
		return strings.ToLower(ep.Hostname)
	}
	return strings.ReplaceAll(strings.ReplaceAll(ep.Addr.String(), ".", "-"), ":", "-")
}

func (s *Server) hdr(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: s.cfg.TTL}
}

func (s *Server) a(name string, ip netip.Addr) dns.RR {
	return &dns.A{Hdr: s.hdr(name, dns.TypeA), A: net.IP(ip.AsSlice())}
}

// soa is the cluster domain's SOA, for negative answers.
func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr:     s.hdr(s.domain, dns.TypeSOA),
		Ns:      "ns.dns." + s.domain,
		Mbox:    "hostmaster." + s.domain,
		Serial:  1,
		Refresh: 7200,
		Retry:   1800,
		Expire:  86400,
		Minttl:  s.cfg.TTL,
	}
}

var _ dns.Handler = (*Server)(nil)
