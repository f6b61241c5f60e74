package kernelproxy

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/batonhq/baton/api"
)

// BenchmarkThroughput streams 256 KiB writes to a sink, directly and
// through a cluster IP the kernel translates, side by side in one run (as
// internal/proxy's BenchmarkThroughput does for the userspace proxy). It
// needs root, and runs in the tests' own network namespace.
func BenchmarkThroughput(b *testing.B) {
	if privileged != "" {
		b.Skip(privileged)
	}
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				_, _ = io.WriteString(c, "done\n")
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	r := newRunning(b, "baton-bench")
	setService(r.r, "bench", "127.64.0.40", api.ServiceAffinityNone, []string{"127.0.0.2"},
		portSpec{name: "tcp", protocol: api.ProtocolTCP, port: 80, from: int32(port)})
	if err := r.k.WaitSynced(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, addr string }{{"direct", l.Addr().String()}, {"nat", "127.64.0.40:80"}} {
		b.Run(tc.name, func(b *testing.B) {
			conn, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			buf := make([]byte, 256<<10)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for range b.N {
				if _, err := conn.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAll(conn); err != nil {
				b.Fatal(err)
			}
		})
	}
}
