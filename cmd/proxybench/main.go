// Command proxybench measures the TCP throughput of Baton's Service proxy
// against a direct loopback connection, side by side in one run.
//
// The proxy runs in this process, as in a host program that embeds Baton.
// The client and the sink it sends to run in child processes (this
// program again, with -role), as containers and other host programs do,
// so that they do not share the proxy's Go scheduler. Each round sends for
// -seconds straight to the sink and then through the proxy, and counts the
// time until the sink has every byte.
//
//	go run ./cmd/proxybench -rounds 5 -seconds 3
//
// With -backend it only runs the proxy, in front of that address, and
// prints the Service address to point another tool (such as iperf3) at.
// All traffic stays on loopback addresses.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/proxy"
)

// clusterIP is the Service address the proxy listens on: a loopback
// address, so nothing leaves the host.
const (
	clusterIP   = "127.77.0.1"
	servicePort = 18080
)

func main() {
	role := flag.String("role", "", "internal: run as the benchmark's sink or client child process")
	addr := flag.String("addr", "", "internal: the address the client sends to")
	rounds := flag.Int("rounds", 5, "rounds of direct then proxied transfers")
	seconds := flag.Float64("seconds", 3, "how long each transfer sends")
	chunk := flag.Int("chunk", 256<<10, "bytes per write")
	backend := flag.String("backend", "", "only run the proxy in front of this loopback host:port (such as an iperf3 server) until interrupted")
	flag.Parse()
	var err error
	switch *role {
	case "sink":
		err = sink()
	case "client":
		err = client(*addr, time.Duration(*seconds*float64(time.Second)), *chunk)
	case "":
		if *backend != "" {
			err = serveOnly(*backend)
		} else {
			err = compare(*rounds, *seconds, *chunk)
		}
	default:
		err = fmt.Errorf("unknown -role %q: use sink or client", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// compare runs the sink, the proxy in front of it, and rounds of direct and
// proxied transfers, and prints their throughput.
func compare(rounds int, seconds float64, chunk int) error {
	sinkCmd := exec.Command(os.Args[0], "-role", "sink")
	sinkCmd.Stderr = os.Stderr
	out, err := sinkCmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sinkCmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = sinkCmd.Process.Kill()
		_ = sinkCmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the sink's address: %w", err)
	}
	direct := strings.TrimSpace(line)
	ctx, stop := context.WithCancel(context.Background())
	viaProxy, done, err := startProxy(ctx, direct)
	if err != nil {
		stop()
		return err
	}
	defer func() {
		stop()
		<-done
	}()

	fmt.Printf("go %s, %s/%s, %d CPUs; %d KiB writes, %.1f s per transfer\n",
		goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), chunk>>10, seconds)
	fmt.Printf("%-6s %14s %14s %7s\n", "round", "direct MB/s", "proxy MB/s", "ratio")
	var directs, proxied, ratios []float64
	for i := range rounds {
		d, err := transfer(direct, seconds, chunk)
		if err != nil {
			return fmt.Errorf("direct: %w", err)
		}
		p, err := transfer(viaProxy, seconds, chunk)
		if err != nil {
			return fmt.Errorf("through the proxy: %w", err)
		}
		directs, proxied, ratios = append(directs, d), append(proxied, p), append(ratios, p/d)
		fmt.Printf("%-6d %14.0f %14.0f %6.2fx\n", i+1, d, p, p/d)
	}
	fmt.Printf("%-6s %14.0f %14.0f %6.2fx\n", "median", median(directs), median(proxied), median(ratios))
	return nil
}

// startProxy runs a proxy for one Service whose only endpoint is backend,
// and returns the Service's address once the proxy listens on it. done is
// closed when the proxy has stopped after ctx ends.
func startProxy(ctx context.Context, backend string) (service string, done <-chan struct{}, err error) {
	ap, err := parseLoopbackBackend(backend)
	if err != nil {
		return "", nil, err
	}
	r := discovery.NewResolver()
	svc := &api.Service{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "bench", UID: "bench"},
		Spec: api.ServiceSpec{ClusterIP: clusterIP, Selector: map[string]string{"app": "bench"},
			Ports: []api.ServicePort{{Name: "tcp", Port: servicePort}}},
	}
	api.SetDefaults(svc)
	r.SetService(svc)
	name, protocol, port, ready := "tcp", api.ProtocolTCP, int32(ap.port), true
	r.SetEndpointSlice(&api.EndpointSlice{
		ObjectMeta:  api.ObjectMeta{Namespace: "default", Name: "bench-a", Labels: map[string]string{api.LabelServiceName: "bench"}},
		AddressType: api.AddressTypeIPv4,
		Endpoints:   []api.Endpoint{{Addresses: []string{ap.host}, Conditions: api.EndpointConditions{Ready: &ready, Serving: &ready}}},
		Ports:       []api.EndpointPort{{Name: &name, Protocol: &protocol, Port: &port}},
	})
	p := proxy.New(proxy.Config{Resolver: r})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "proxybench: proxy:", err)
		}
	}()
	service = net.JoinHostPort(clusterIP, strconv.Itoa(servicePort))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", service)
		if err == nil {
			conn.Close()
			return service, stopped, nil
		}
		if time.Now().After(deadline) {
			return "", stopped, fmt.Errorf("the proxy did not listen on %s: %w", service, err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the listener, with a deadline
	}
}

type hostPort struct {
	host string
	port int
}

// parseLoopbackBackend splits a loopback host:port, refusing any other address.
func parseLoopbackBackend(s string) (hostPort, error) {
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return hostPort{}, fmt.Errorf("backend %q: %w", s, err)
	}
	ip := net.ParseIP(host)
	port, err := strconv.Atoi(portText)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() || err != nil || port <= 0 || port > 65535 {
		return hostPort{}, fmt.Errorf("backend %q: want an IPv4 loopback host:port such as 127.0.0.1:5201", s)
	}
	return hostPort{host: host, port: port}, nil
}

// serveOnly runs the proxy in front of backend until interrupted.
func serveOnly(backend string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	service, done, err := startProxy(ctx, backend)
	if err != nil {
		return err
	}
	fmt.Printf("proxying %s to %s; interrupt to stop\n", service, backend)
	<-done
	return nil
}

// transfer runs the client child against addr and returns MB/s.
func transfer(addr string, seconds float64, chunk int) (float64, error) {
	cmd := exec.Command(os.Args[0], "-role", "client", "-addr", addr,
		"-seconds", strconv.FormatFloat(seconds, 'f', -1, 64), "-chunk", strconv.Itoa(chunk))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	var bytes int64
	var elapsed float64
	if _, err := fmt.Sscan(string(out), &bytes, &elapsed); err != nil {
		return 0, fmt.Errorf("client printed %q: %w", out, err)
	}
	return float64(bytes) / elapsed / 1e6, nil
}

// client sends chunk-sized writes to addr for d, half-closes, waits for the
// sink to say it has everything, and prints the bytes and the seconds.
func client(addr string, d time.Duration, chunk int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, chunk)
	var sent int64
	start := time.Now()
	for time.Since(start) < d {
		n, err := conn.Write(buf)
		sent += int64(n)
		if err != nil {
			return err
		}
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if got := strings.TrimSpace(string(reply)); got != strconv.FormatInt(sent, 10) {
		return fmt.Errorf("the sink received %s bytes, want %d", got, sent)
	}
	fmt.Println(sent, elapsed.Seconds())
	return nil
}

// sink listens on a loopback port, prints its address, and for each
// connection reads until the client half-closes, then writes the byte
// count back.
func sink() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr())
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go func() {
			defer conn.Close()
			buf := make([]byte, 256<<10) // large reads, as a bulk receiver makes
			var n int64
			for {
				m, err := conn.Read(buf)
				n += int64(m)
				if err != nil {
					break
				}
			}
			fmt.Fprintln(conn, n)
		}()
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
