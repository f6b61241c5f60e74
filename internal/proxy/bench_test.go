package proxy_test

import (
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/proxy"
)

// The benchmarks compare, in one run, a client talking to a backend
// directly with the same client going through the proxy (sub-benchmarks
// "direct" and "proxy"), all over loopback.

const chunk = 256 << 10

// sinkHandler reads everything with a large buffer, then answers "done"
// once the client half-closes.
func sinkHandler(host string, conn *net.TCPConn) {
	buf := make([]byte, chunk)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	_, _ = io.WriteString(conn, "done\n")
}

// echoHandler answers each 64-byte request with it.
func echoHandler(host string, conn *net.TCPConn) {
	buf := make([]byte, 64)
	for {
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		if _, err := conn.Write(buf); err != nil {
			return
		}
	}
}

// benchTargets starts one backend with h behind a Service and a proxy,
// and returns the backend's address and the Service's.
func benchTargets(b *testing.B, n int, h handler) (direct, viaProxy string) {
	be := newBackends(b, 1, h)
	r := discovery.NewResolver()
	r.SetService(service("bench", vip(100+n), api.ServicePort{Name: "tcp", Port: 18080}))
	r.SetEndpointSlice(slice("bench", []api.EndpointPort{eport("tcp", api.ProtocolTCP, be.port)}, be.endpoints()))
	runProxy(b, proxy.Config{Resolver: r})
	conn := dialWhenListening(b, vip(100+n)+":18080")
	conn.Close()
	return net.JoinHostPort(be.addrs[0], itoa(be.port)), vip(100+n) + ":18080"
}

func itoa(n int32) string { return string(appendInt(nil, int(n))) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// BenchmarkThroughput streams 256 KiB writes to a sink: MB/s direct and
// through the proxy.
func BenchmarkThroughput(b *testing.B) {
	direct, viaProxy := benchTargets(b, 1, sinkHandler)
	for _, tc := range []struct{ name, addr string }{{"direct", direct}, {"proxy", viaProxy}} {
		b.Run(tc.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for range b.N {
				if _, err := conn.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			// Count the time until the sink has it all.
			if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(conn); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkRequestLatency sends 64-byte requests on one connection and
// reports the 50th and 99th percentile round trips.
func BenchmarkRequestLatency(b *testing.B) {
	direct, viaProxy := benchTargets(b, 2, echoHandler)
	for _, tc := range []struct{ name, addr string }{{"direct", direct}, {"proxy", viaProxy}} {
		b.Run(tc.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			req, resp := make([]byte, 64), make([]byte, 64)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, resp); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
			}
			reportPercentiles(b, times)
		})
	}
}

// BenchmarkConnectLatency opens a connection per 64-byte request, as a
// client without keep-alive does, and reports the percentiles.
func BenchmarkConnectLatency(b *testing.B) {
	direct, viaProxy := benchTargets(b, 3, echoHandler)
	for _, tc := range []struct{ name, addr string }{{"direct", direct}, {"proxy", viaProxy}} {
		b.Run(tc.name, func(b *testing.B) {
			req, resp := make([]byte, 64), make([]byte, 64)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				conn, err := net.Dial("tcp", tc.addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(conn, resp); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(start))
				conn.Close()
			}
			reportPercentiles(b, times)
		})
	}
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	at := func(q float64) float64 {
		return float64(times[min(len(times)-1, int(q*float64(len(times))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
