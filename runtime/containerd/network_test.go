package containerd_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
)

// httpdScript serves "hello from <name>" on port 8080.
func httpdScript(name string) string {
	return `mkdir -p /tmp/www && echo "hello from ` + name + `" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`
}

// get fetches url, retrying until the server answers or timeout passes.
// Every URL these tests fetch is on the bridge network the test's own
// containerd made.
func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	var body string
	eventually(t, "GET "+url, func() (bool, string) {
		resp, err := c.Get(url)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			return false, fmt.Sprintf("%s: %v", resp.Status, err)
		}
		body = string(b)
		return true, ""
	})
	return body
}

// A busybox httpd Pod answers on its Pod IP, and on its host port through
// portmap; its IP goes back to the pool when the Pod goes.
func TestHTTPOnPodIP(t *testing.T) {
	rt := newRuntime(t)
	subnet := netip.MustParsePrefix(rt.env.Subnet)
	sb := sandbox(t, rt, "web", func(c *runtime.SandboxConfig) {
		c.PortMappings = []runtime.PortMapping{{Protocol: "TCP", ContainerPort: 8080, HostPort: freePort(t)}}
	})
	ip, err := netip.ParseAddr(sb.IP)
	if err != nil || !subnet.Contains(ip) {
		t.Fatalf("sandbox IP %q is not in the test network %s", sb.IP, subnet)
	}
	start(t, rt, sb, sh("httpd", httpdScript("web")))
	if body := get(t, "http://"+net.JoinHostPort(sb.IP, "8080")+"/"); body != "hello from web\n" {
		t.Errorf("GET on the Pod IP = %q", body)
	}
	// The host port, on the bridge's own address (the gateway).
	gw := subnet.Masked().Addr().Next()
	url := "http://" + net.JoinHostPort(gw.String(), fmt.Sprint(sb.Config.PortMappings[0].HostPort)) + "/"
	if body := get(t, url); body != "hello from web\n" {
		t.Errorf("GET on the host port = %q", body)
	}

	// Two containers of a Pod share its network namespace.
	side := start(t, rt, sb, sh("sidecar", runUntilTERM))
	code, err := rt.Exec(testCtx(t), side.ID, []string{"wget", "-q", "-O", "-", "http://127.0.0.1:8080/"}, runtime.ExecOptions{})
	if err != nil || code != 0 {
		t.Errorf("wget from the sidecar over localhost = %d, %v; want 0", code, err)
	}

	if err := runtime.TearDownSandbox(testCtx(t), rt, sb.ID, 0); err != nil {
		t.Fatalf("TearDownSandbox: %v", err)
	}
	reserved, err := os.ReadDir(rt.env.StateDir + "/cni/networks/baton-" + rt.env.Bridge)
	if err != nil {
		t.Fatalf("read host-local's reservations: %v", err)
	}
	for _, e := range reserved {
		if e.Name() == sb.IP {
			t.Errorf("IP %s is still reserved after the Pod went", sb.IP)
		}
	}
	entries, _ := os.ReadDir(rt.env.StateDir + "/netns/" + rt.ns)
	if len(entries) != 0 {
		t.Errorf("network namespaces left after the Pod went: %d", len(entries))
	}
}

// freePort returns a TCP port nothing on the host listens on.
func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// A host-network sandbox has no IP of its own: its containers see the
// host's network namespace.
func TestHostNetwork(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "host", func(c *runtime.SandboxConfig) { c.HostNetwork = true })
	if sb.IP != "" {
		t.Errorf("host-network sandbox IP = %q; want none", sb.IP)
	}
	c := start(t, rt, sb, sh("app", runUntilTERM))
	pid := taskPid(t, rawClient(t, rt.env, rt.ns), c.ID)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	if host != ctr {
		t.Errorf("container network namespace %s; want the host's %s", ctr, host)
	}
	if got := strings.Join(logs(t, rt, c.ID), "\n"); got != "" {
		t.Errorf("unexpected output %q", got)
	}
}
