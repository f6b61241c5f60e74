// Command proxybench measures the TCP throughput of Baton's Service proxy
// against a direct loopback connection, side by side in one run.
//
// The proxy runs in this process, as in a host program that embeds Baton.
// The client and the sink it sends to run in child processes (this
// program again, with -role), as containers and other host programs do,
// so that they do not share the proxy's Go scheduler. Each round sends for
// -seconds straight to the sink and then through the proxy (and, with
// -nat, through the kernel's translation of a cluster IP, as
// baton.WithServiceNAT sets up; that needs root), and counts the time until
// the sink has every byte.
//
//	go run ./cmd/proxybench -rounds 5 -seconds 3 [-nat]
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
	"github.com/batonhq/baton/internal/kernelproxy"
	"github.com/batonhq/baton/internal/proxy"
)

// The Services' addresses: loopback ones, so nothing leaves the host.
// The proxy listens on the first; the kernel translates the second.
const (
	proxyClusterIP = "127.77.0.1"
	natClusterIP   = "127.77.0.2"
	servicePort    = 18080
)

func main() {
	role := flag.String("role", "", "internal: run as the benchmark's sink or client child process")
	addr := flag.String("addr", "", "internal: the address the client sends to")
	rounds := flag.Int("rounds", 5, "rounds of direct then proxied transfers")
	seconds := flag.Float64("seconds", 3, "how long each transfer sends")
	chunk := flag.Int("chunk", 256<<10, "bytes per write")
	withNAT := flag.Bool("nat", false, "also measure the kernel's translation (baton.WithServiceNAT); needs root")
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
			err = compare(*rounds, *seconds, *chunk, *withNAT)
		}
	default:
		err = fmt.Errorf("unknown -role %q: use sink or client", *role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

// compare runs the sink, the proxy in front of it (and with withNAT the
// kernel's translation too), and rounds of direct and proxied transfers,
// and prints their throughput.
func compare(rounds int, seconds float64, chunk int, withNAT bool) error {
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
	var running []<-chan struct{}
	defer func() {
		stop()
		for _, done := range running {
			<-done
		}
	}()
	paths := []struct{ name, addr string }{{"direct", direct}}
	viaProxy, done, err := startProxy(ctx, direct)
	if err != nil {
		return err
	}
	running = append(running, done)
	paths = append(paths, struct{ name, addr string }{"proxy", viaProxy})
	if withNAT {
		viaNAT, done, err := startNAT(ctx, direct)
		if err != nil {
			return err
		}
		running = append(running, done)
		paths = append(paths, struct{ name, addr string }{"nat", viaNAT})
	}

	fmt.Printf("go %s, %s/%s, %d CPUs; %d KiB writes, %.1f s per transfer\n",
		goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), chunk>>10, seconds)
	fmt.Printf("%-6s", "round")
	for _, p := range paths {
		fmt.Printf(" %11s MB/s", p.name)
	}
	for _, p := range paths[1:] {
		fmt.Printf(" %7s", p.name+"/d")
	}
	fmt.Println()
	rates := make([][]float64, len(paths))  // by path, by round
	ratios := make([][]float64, len(paths)) // by path, by round; [0] unused
	for i := range rounds {
		fmt.Printf("%-6d", i+1)
		for j, p := range paths {
			r, err := transfer(p.addr, seconds, chunk)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			rates[j] = append(rates[j], r)
			ratios[j] = append(ratios[j], r/rates[0][i])
			fmt.Printf(" %16.0f", r)
		}
		for j := range paths[1:] {
			fmt.Printf(" %6.2fx", ratios[j+1][i])
		}
		fmt.Println()
	}
	fmt.Printf("%-6s", "median")
	for j := range paths {
		fmt.Printf(" %16.0f", median(rates[j]))
	}
	for j := range paths[1:] {
		fmt.Printf(" %6.2fx", median(ratios[j+1]))
	}
	fmt.Println()
	return nil
}

// startProxy runs a proxy for one Service whose only endpoint is backend,
// and returns the Service's address once the proxy listens on it. done is
// closed when the proxy has stopped after ctx ends.
func startProxy(ctx context.Context, backend string) (service string, done <-chan struct{}, err error) {
	r, err := serviceResolver(proxyClusterIP, backend)
	if err != nil {
		return "", nil, err
	}
	p := proxy.New(proxy.Config{Resolver: r})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "proxybench: proxy:", err)
		}
	}()
	service = net.JoinHostPort(proxyClusterIP, strconv.Itoa(servicePort))
	return service, stopped, waitAnswering(service)
}

// startNAT has the kernel translate connections for one Service whose only
// endpoint is backend (see baton.WithServiceNAT), and returns the
// Service's address once they are. It needs root.
func startNAT(ctx context.Context, backend string) (service string, done <-chan struct{}, err error) {
	r, err := serviceResolver(natClusterIP, backend)
	if err != nil {
		return "", nil, err
	}
	k, err := kernelproxy.Open(kernelproxy.Config{Resolver: r, Table: "baton-proxybench"})
	if err != nil {
		return "", nil, fmt.Errorf("-nat: %w", err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := k.Run(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "proxybench: kernel NAT:", err)
		}
	}()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := k.WaitSynced(wctx); err != nil {
		return "", stopped, fmt.Errorf("-nat: the rules were not written: %w", err)
	}
	service = net.JoinHostPort(natClusterIP, strconv.Itoa(servicePort))
	return service, stopped, waitAnswering(service)
}

// serviceResolver returns a Resolver holding one Service, at clusterIP,
// whose only endpoint is backend.
func serviceResolver(clusterIP, backend string) (*discovery.Resolver, error) {
	ap, err := parseLoopbackBackend(backend)
	if err != nil {
		return nil, err
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
	return r, nil
}

// waitAnswering waits until a connection to service succeeds.
func waitAnswering(service string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", service)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing answers on %s: %w", service, err)
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
