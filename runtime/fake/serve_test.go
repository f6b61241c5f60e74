package fake_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// serveCIDRs hands each test its own /24 of 127.90.0.0/16, so that tests
// (and test binaries of other packages, which use other ranges) never
// listen on the same address. It wraps after 255 tests (as with -count),
// by which time the first test's servers are long closed: none runs in
// parallel.
var serveCIDRs atomic.Int32

func newServingFake(t *testing.T) *fake.Runtime {
	t.Helper()
	cidr := fmt.Sprintf("127.90.%d.0/24", serveCIDRs.Add(1)%256)
	rt, _ := newFake(t, fake.WithPodCIDR(cidr))
	t.Cleanup(rt.CloseServers)
	return rt
}

// startServing starts a container serving servers in a new pod.
func startServing(t *testing.T, rt *fake.Runtime, name string, servers ...fake.Server) (runtime.Sandbox, runtime.Container) {
	t.Helper()
	rt.SetBehavior(fake.ByName(name), fake.Behavior{Serve: servers})
	sb := pod(t, rt, name)
	c := create(t, rt, sb, name)
	if err := rt.StartContainer(t.Context(), c.ID); err != nil {
		t.Fatalf("StartContainer(%s): %v", name, err)
	}
	return sb, c
}

func get(url string) (string, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: waitTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func hello(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }

func TestServeHTTPUntilStopped(t *testing.T) {
	rt := newServingFake(t)
	sb, c := startServing(t, rt, "web", fake.HTTP(8080, http.HandlerFunc(hello)))
	url := "http://" + net.JoinHostPort(sb.IP, "8080") + "/"
	if body, err := get(url); err != nil || body != "hello" {
		t.Fatalf("GET %s = %q, %v", url, body, err)
	}
	if err := rt.StopContainer(t.Context(), c.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
	if _, err := get(url); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET after stop = %v, want connection refused", err)
	}
}

func TestServeTCPKillResetsConnections(t *testing.T) {
	rt := newServingFake(t)
	echo := func(conn net.Conn) { _, _ = io.Copy(conn, conn) }
	sb, c := startServing(t, rt, "echo", fake.TCP(7, echo))
	addr := net.JoinHostPort(sb.IP, "7")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
	if err := rt.Kill(c.ID, 137, ""); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a killed container's connection succeeded")
	}
	if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after kill = %v, want connection refused", err)
	}
}

// TestServeGracefulStop: on SIGTERM a serving container refuses new
// connections at once, finishes the request in flight, then exits 143.
func TestServeGracefulStop(t *testing.T) {
	rt := newServingFake(t)
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		fmt.Fprint(w, "done")
	})
	sb, c := startServing(t, rt, "slow", fake.HTTP(80, slow))
	base := "http://" + sb.IP + "/"
	inFlight := make(chan string, 1)
	go func() {
		body, err := get(base + "slow")
		if err != nil {
			body = err.Error()
		}
		inFlight <- body
	}()
	result(t, entered, "the slow request")
	stopped := async(func() error { return rt.StopContainer(t.Context(), c.ID, time.Minute) })
	// New connections are refused while the request finishes.
	deadline := time.Now().Add(waitTimeout)
	for {
		_, err := get(base)
		if errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connections still accepted during the drain: %v", err)
		}
	}
	if st := status(t, rt, c.ID); st.State != runtime.ContainerRunning {
		t.Fatalf("container %s during the drain, want Running", st.State)
	}
	close(release)
	if body := result(t, inFlight, "the slow request"); body != "done" {
		t.Errorf("in-flight request got %q, want done", body)
	}
	if err := result(t, stopped, "StopContainer"); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
}

func TestServeUDP(t *testing.T) {
	rt := newServingFake(t)
	echo := func(pc net.PacketConn) {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}
	sb, c := startServing(t, rt, "dns", fake.UDP(53, echo))
	conn, err := net.Dial("udp", net.JoinHostPort(sb.IP, "53"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := conn.Read(buf); err != nil || string(buf[:n]) != "q" {
		t.Fatalf("echo = %q, %v", buf[:n], err)
	}
	if err := rt.StopContainer(t.Context(), c.ID, time.Second); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
}

func TestServeNeedsLoopback(t *testing.T) {
	rt, _ := newFake(t) // the default pod CIDR is not loopback
	rt.SetBehavior(nil, fake.Behavior{Serve: []fake.Server{fake.HTTP(80, http.HandlerFunc(hello))}})
	c := create(t, rt, pod(t, rt, "web"), "web")
	err := rt.StartContainer(t.Context(), c.ID)
	if err == nil || !strings.Contains(err.Error(), "LoopbackPodCIDR") {
		t.Fatalf("StartContainer = %v, want an error naming LoopbackPodCIDR", err)
	}
	got := wantState(t, rt, c.ID, runtime.ContainerExited, 128, runtime.ReasonError)
	if !strings.Contains(got.Message, "loopback") {
		t.Errorf("message %q does not say why", got.Message)
	}
}

func TestServePortCollisionFailsStart(t *testing.T) {
	rt := newServingFake(t)
	sb, first := startServing(t, rt, "a", fake.HTTP(80, http.HandlerFunc(hello)))
	rt.SetBehavior(fake.ByName("b"), fake.Behavior{Serve: []fake.Server{fake.HTTP(80, http.HandlerFunc(hello))}})
	second := create(t, rt, sb, "b")
	if err := rt.StartContainer(t.Context(), second.ID); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second server on the same port: %v, want address in use", err)
	}
	wantState(t, rt, second.ID, runtime.ContainerExited, 128, runtime.ReasonError)
	wantState(t, rt, first.ID, runtime.ContainerRunning, 0, "")
	if body, err := get("http://" + sb.IP + "/"); err != nil || body != "hello" {
		t.Fatalf("first server after the collision: %q, %v", body, err)
	}
}

func TestServeBadServer(t *testing.T) {
	rt := newServingFake(t)
	rt.SetBehavior(nil, fake.Behavior{Serve: []fake.Server{{Port: 80}}})
	c := create(t, rt, pod(t, rt, "web"), "web")
	if err := rt.StartContainer(t.Context(), c.ID); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("StartContainer with an empty server = %v", err)
	}
}

func TestCloseServers(t *testing.T) {
	rt := newServingFake(t)
	sb, c := startServing(t, rt, "web", fake.HTTP(80, http.HandlerFunc(hello)))
	rt.CloseServers()
	if _, err := get("http://" + sb.IP + "/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET after CloseServers = %v, want connection refused", err)
	}
	wantState(t, rt, c.ID, runtime.ContainerRunning, 0, "")
}

// TestServeAnswersRequestsOnOpenConnectionsWhileDraining: a client that
// connected before SIGTERM and sends its request after still gets an
// answer (http.Server.Shutdown would drop it), with Connection: close.
func TestServeAnswersRequestsOnOpenConnectionsWhileDraining(t *testing.T) {
	rt := newServingFake(t)
	sb, c := startServing(t, rt, "web", fake.HTTP(80, http.HandlerFunc(hello)))
	conn, err := net.Dial("tcp", sb.IP+":80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stopped := async(func() error { return rt.StopContainer(t.Context(), c.ID, time.Minute) })
	deadline := time.Now().Add(waitTimeout)
	for {
		probe, err := net.Dial("tcp", sb.IP+":80")
		if errors.Is(err, syscall.ECONNREFUSED) {
			break // the drain has begun
		}
		if err == nil {
			probe.Close() // else the drain would wait for it
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not close")
		}
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a request on an open connection during the drain: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" || !resp.Close {
		t.Errorf("answer %s %q close=%v", resp.Status, body, resp.Close)
	}
	if err := result(t, stopped, "StopContainer"); err != nil {
		t.Fatal(err)
	}
	wantState(t, rt, c.ID, runtime.ContainerExited, 143, runtime.ReasonError)
}
