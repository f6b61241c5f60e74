package containerd_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime"
)

// clusterDNS is a Pod's resolver under ClusterFirst, and clusterResolv the
// resolv.conf the kubelet writes for it.
var clusterDNS = runtime.DNSConfig{
	Servers:  []string{"10.97.0.10"},
	Searches: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
	Options:  []string{"ndots:5"},
}

const clusterResolv = "nameserver 10.97.0.10\n" +
	"search default.svc.cluster.local svc.cluster.local cluster.local\n" +
	"options ndots:5\n"

// withDNS sets a sandbox's DNS config to a copy of dns.
func withDNS(dns runtime.DNSConfig) func(*runtime.SandboxConfig) {
	return func(c *runtime.SandboxConfig) {
		c.DNS = &runtime.DNSConfig{
			Servers:  append([]string(nil), dns.Servers...),
			Searches: append([]string(nil), dns.Searches...),
			Options:  append([]string(nil), dns.Options...),
		}
	}
}

// hostNetwork makes a sandbox use the host's network.
func hostNetwork(c *runtime.SandboxConfig) { c.HostNetwork = true }

// catFile returns the content of path as a new container of sb sees it:
// what `cat path` prints, byte for byte.
func catFile(t *testing.T, rt runtime.Runtime, sb runtime.Sandbox, path string) string {
	t.Helper()
	c := start(t, rt, sb, sh("cat", runUntilTERM))
	defer func() {
		if err := runtime.KillContainer(testCtx(t), rt, c.ID, 0); err != nil {
			t.Errorf("KillContainer(%s): %v", c.ID, err)
		}
	}()
	var out, errOut bytes.Buffer
	code, err := rt.Exec(testCtx(t), c.ID, []string{"cat", path}, runtime.ExecOptions{Stdout: &out, Stderr: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("Exec(cat %s) = %d, %v, stderr %q", path, code, err, errOut.String())
	}
	return out.String()
}

// hostFile returns the host's file at path.
func hostFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("the host's %s: %v", path, err)
	}
	return string(b)
}

// A sandbox with a DNS config gets it as its resolv.conf, written as the
// kubelet writes one.
func TestResolvConfFromDNS(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "dns", withDNS(clusterDNS))
	if sb.Config.DNS == nil || !reflect.DeepEqual(*sb.Config.DNS, clusterDNS) {
		t.Errorf("RunPodSandbox returned Config.DNS %+v; want %+v", sb.Config.DNS, clusterDNS)
	}
	// The container's command itself reads the file, from its first
	// instruction on.
	c := start(t, rt, sb, sh("reader", "cat /etc/resolv.conf"))
	eventually(t, "the reader exits", func() (bool, string) {
		st := status(t, rt, c.ID)
		return st.State == runtime.ContainerExited, string(st.State)
	})
	if st := status(t, rt, c.ID); st.ExitCode != 0 {
		t.Fatalf("cat /etc/resolv.conf exited with %d: %q", st.ExitCode, logs(t, rt, c.ID))
	}
	want := []string{
		"nameserver 10.97.0.10",
		"search default.svc.cluster.local svc.cluster.local cluster.local",
		"options ndots:5",
	}
	if got := logs(t, rt, c.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("the container printed %q; want %q", got, want)
	}
	if got := catFile(t, rt, sb, "/etc/resolv.conf"); got != clusterResolv {
		t.Errorf("/etc/resolv.conf = %q; want %q", got, clusterResolv)
	}
	// The rest of the Pod's files are as without DNS.
	if got := catFile(t, rt, sb, "/etc/hosts"); !strings.Contains(got, sb.IP+"\tdns\n") {
		t.Errorf("/etc/hosts = %q; want it to name the Pod's IP %s", got, sb.IP)
	}
}

// A host-network sandbox with a DNS config gets it as its resolv.conf
// (Kubernetes' ClusterFirstWithHostNet), and the host's hosts file and its
// own hostname as without.
func TestHostNetworkResolvConfFromDNS(t *testing.T) {
	rt := newRuntime(t)
	hosts := hostFile(t, "/etc/hosts")
	sb := sandbox(t, rt, "hostdns", hostNetwork, withDNS(clusterDNS))
	if sb.IP != "" {
		t.Errorf("host-network sandbox IP = %q; want none", sb.IP)
	}
	if got := catFile(t, rt, sb, "/etc/resolv.conf"); got != clusterResolv {
		t.Errorf("/etc/resolv.conf = %q; want %q", got, clusterResolv)
	}
	if got := catFile(t, rt, sb, "/etc/hosts"); got != hosts {
		t.Errorf("/etc/hosts = %q; want the host's %q", got, hosts)
	}
	if got := catFile(t, rt, sb, "/etc/hostname"); got != "hostdns\n" {
		t.Errorf("/etc/hostname = %q; want %q", got, "hostdns\n")
	}
}

// Without a DNS config a sandbox's containers see the host's resolv.conf,
// on the Pod network and on the host's.
func TestResolvConfWithoutDNSIsTheHosts(t *testing.T) {
	rt := newRuntime(t)
	resolv := hostFile(t, "/etc/resolv.conf")
	for _, sb := range []runtime.Sandbox{
		sandbox(t, rt, "pod"),
		sandbox(t, rt, "host", hostNetwork),
	} {
		if sb.Config.DNS != nil {
			t.Errorf("sandbox %s: Config.DNS = %+v; want nil", sb.Config.Name, sb.Config.DNS)
		}
		if got := catFile(t, rt, sb, "/etc/resolv.conf"); got != resolv {
			t.Errorf("sandbox %s: /etc/resolv.conf = %q; want the host's %q", sb.Config.Name, got, resolv)
		}
	}
}

// The DNS config is stored with the sandbox: a restarted Runtime lists it,
// and mounts the same resolv.conf into the sandbox's new containers.
func TestDNSSurvivesRestart(t *testing.T) {
	first := newRuntime(t)
	pod := sandbox(t, first, "pod", withDNS(clusterDNS))
	host := sandbox(t, first, "host", hostNetwork, withDNS(clusterDNS))
	plain := sandbox(t, first, "plain")
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := openRuntime(t, first.env, first.ns)
	sbs, err := second.ListPodSandboxes(testCtx(t), nil)
	if err != nil || len(sbs) != 3 {
		t.Fatalf("ListPodSandboxes after a restart = %+v, %v; want 3 sandboxes", sbs, err)
	}
	want := map[string]*runtime.DNSConfig{pod.ID: &clusterDNS, host.ID: &clusterDNS, plain.ID: nil}
	for _, sb := range sbs {
		if !reflect.DeepEqual(sb.Config.DNS, want[sb.ID]) {
			t.Errorf("after a restart sandbox %s (%s) has Config.DNS %+v; want %+v", sb.ID, sb.Config.Name, sb.Config.DNS, want[sb.ID])
		}
	}
	for _, sb := range []runtime.Sandbox{pod, host} {
		if got := catFile(t, second, sb, "/etc/resolv.conf"); got != clusterResolv {
			t.Errorf("sandbox %s after a restart: /etc/resolv.conf = %q; want %q", sb.Config.Name, got, clusterResolv)
		}
	}
}

// A DNS server that is not an IP address fails RunPodSandbox with
// ErrInvalidArgument, naming it, and makes nothing: no record, no network
// namespace, no pod files.
func TestInvalidDNSMakesNothing(t *testing.T) {
	rt := newRuntime(t)
	// The state dir is shared by every test's Runtime: compare what it
	// holds before and after.
	dirs := []string{rt.env.StateDir + "/pods", rt.env.StateDir + "/netns/" + rt.ns}
	before := make([][]string, len(dirs))
	for i, dir := range dirs {
		before[i] = dirNames(t, dir)
	}
	for _, hostNet := range []bool{false, true} {
		cfg := runtime.SandboxConfig{
			Name: "bad", Namespace: "test", UID: "bad", HostNetwork: hostNet,
			DNS: &runtime.DNSConfig{Servers: []string{"10.97.0.10", "kube-dns.kube-system"}},
		}
		_, err := rt.RunPodSandbox(testCtx(t), cfg)
		if !errors.Is(err, runtime.ErrInvalidArgument) || !strings.Contains(err.Error(), "DNS.Servers[1]") {
			t.Errorf("RunPodSandbox with a bad DNS server (host network %v) = %v; want ErrInvalidArgument naming DNS.Servers[1]", hostNet, err)
		}
	}
	if sbs, err := rt.ListPodSandboxes(testCtx(t), nil); err != nil || len(sbs) != 0 {
		t.Errorf("ListPodSandboxes after refusals = %+v, %v; want none", sbs, err)
	}
	for i, dir := range dirs {
		if after := dirNames(t, dir); !slices.Equal(after, before[i]) {
			t.Errorf("%s held %q before the refusals and %q after; want nothing made", dir, before[i], after)
		}
	}
}

// dirNames returns the names in dir, sorted; none if it does not exist.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
