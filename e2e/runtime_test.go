package e2e_test

// Issue 3, through the Orchestrator on containerd: spec changes, orphans and
// other users' containers, networks (the default one, a configured one,
// host ports, the host's), logs, labels and image names.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/controller/nodeagent"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// runningContainer returns the ID of the Pod's only container once it
// runs, and the Pod.
func runningContainer(t *testing.T, c *cluster, name string) (string, *baton.Pod) {
	t.Helper()
	p := waitPod(t, c.Orchestrator, name, "its container running", func(p *baton.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	return containerID(p.Status.ContainerStatuses[0]), p
}

// goneFromContainerd reports whether containerd has no container id.
func goneFromContainerd(t *testing.T, raw *client.Client, id string) bool {
	t.Helper()
	_, err := raw.LoadContainer(ctxFor(t), id)
	if err != nil && !errdefs.IsNotFound(err) {
		t.Fatalf("load container %s: %v", id, err)
	}
	return errdefs.IsNotFound(err)
}

// A running container whose spec no longer matches its Pod's is replaced
// (a Pod's image is the one part of its spec that may change, as in
// Kubernetes): while Baton runs, and when a restarted Baton adopts the
// container of a Pod whose image changed meanwhile. Each time a new
// container runs the new image, its hash label follows, and the old
// container is gone from containerd.
func TestChangedSpecReplacesTheContainer(t *testing.T) {
	t.Parallel()
	env := containerdtest.Shared(t)
	ns := newNamespace()
	first := newClusterOn(t, env, ns, nil)
	raw := first.rawClient(t)
	const otherRef = "localhost/baton-e2e/busybox:other"
	other, err := testimage.Image{Ref: otherRef}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.ImportImage(ctxFor(t), baton.DefaultNodeName, bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Pods("default").Create(ctxFor(t), podOf("web", httpdContainer())); err != nil {
		t.Fatal(err)
	}
	id, _ := runningContainer(t, first, "web")

	setImage := func(c *cluster, ref string) {
		t.Helper()
		p, err := c.Pods("default").Get(ctxFor(t), "web")
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.Containers[0].Image = ref
		if _, err := c.Pods("default").Update(ctxFor(t), p); err != nil {
			t.Fatalf("set the image to %s: %v", ref, err)
		}
	}
	// replaced waits until the Pod runs a container other than old, of
	// image ref, checks it and that old is gone, and returns its ID.
	replaced := func(c *cluster, old, ref string) string {
		t.Helper()
		p := waitPod(t, c.Orchestrator, "web", "a new container of "+ref, func(p *baton.Pod) bool {
			cs := p.Status.ContainerStatuses
			return p.IsReady() && len(cs) == 1 && cs[0].State.Running != nil && containerID(cs[0]) != old
		})
		id := containerID(p.Status.ContainerStatuses[0])
		ctr, err := raw.LoadContainer(ctxFor(t), id)
		if err != nil {
			t.Fatal(err)
		}
		info, err := ctr.Info(ctxFor(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.Image != ref {
			t.Errorf("the new container %s runs image %q; want %s", id, info.Image, ref)
		}
		if got, want := info.Labels[runtime.LabelContainerHash], nodeagent.ContainerHash(&p.Spec.Containers[0]); got != want {
			t.Errorf("the new container's hash label is %q; want the new spec's %q", got, want)
		}
		if body := get(t, podURL(p)); body != "hello from web\n" {
			t.Errorf("GET from the new container = %q", body)
		}
		eventually(t, "the old container gone from containerd", func() (bool, string) {
			return goneFromContainerd(t, raw, old), "container " + old + " is still there"
		})
		return id
	}

	setImage(first, otherRef)
	id = replaced(first, id, otherRef)

	// Baton stops, the image changes back while it is away, and the next
	// Baton, restored from the snapshot, finds the container of the old
	// spec.
	first.stop()
	setImage(first, busyboxRef)
	var snapshot bytes.Buffer
	if err := first.SaveSnapshot(&snapshot); err != nil {
		t.Fatal(err)
	}
	if err := first.rt.Close(); err != nil {
		t.Fatal(err)
	}
	if st := taskPid(t, raw, id); st == 0 {
		t.Fatalf("container %s is not running across the handover", id)
	}
	second := newClusterOn(t, env, ns, &snapshot)
	replaced(second, id, busyboxRef)
}

// startBystander starts a container in ns with the plain client, no
// Baton label on it, and removes it when the test ends.
func startBystander(t *testing.T, raw *client.Client, id string) client.Task {
	t.Helper()
	ctx := ctxFor(t)
	img, err := raw.GetImage(ctx, busyboxRef)
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := raw.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithSnapshotter(containerd.DefaultSnapshotter),
		client.WithNewSnapshot(id, img),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("/bin/sh", "-c", "while :; do sleep 1; done"),
			oci.WithHostNamespace(specs.NetworkNamespace)))
	if err != nil {
		t.Fatalf("raw NewContainer: %v", err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatalf("raw NewTask: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if exited, err := task.Wait(ctx); err == nil {
			if task.Kill(ctx, syscall.SIGKILL) == nil {
				<-exited
			}
		}
		_, _ = task.Delete(ctx)
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
			t.Errorf("remove the bystander: %v", err)
		}
	})
	if err := task.Start(ctx); err != nil {
		t.Fatalf("raw Start: %v", err)
	}
	return task
}

// A Baton that starts over a containerd namespace holding a labelled
// container whose Pod it does not know stops it, and leaves alone a
// container in the same namespace that someone else made with the plain
// client: same process, same record.
func TestOrphanStoppedOthersUntouched(t *testing.T) {
	t.Parallel()
	env := containerdtest.Shared(t)
	ns := newNamespace()
	first := newClusterOn(t, env, ns, nil)
	raw := first.rawClient(t)
	if _, err := first.Pods("default").Create(ctxFor(t), podOf("orphan", shContainer("app", "trap 'exit 0' TERM; while :; do sleep 1 & wait; done"))); err != nil {
		t.Fatal(err)
	}
	orphan, _ := runningContainer(t, first, "orphan")
	bystander := startBystander(t, raw, "bystander")
	before, err := raw.ContainerService().Get(ctxFor(t), "bystander")
	if err != nil {
		t.Fatal(err)
	}
	// Baton goes, its container does not; the next Baton has no Pods.
	first.stop()
	if err := first.rt.Close(); err != nil {
		t.Fatal(err)
	}
	second := newClusterOn(t, env, ns, nil)

	eventually(t, "the orphan stopped", func() (bool, string) {
		ctrs, err := second.rt.ListContainers(ctxFor(t), runtime.ContainerFilter{State: runtime.ContainerRunning})
		if err != nil {
			return false, err.Error()
		}
		return len(ctrs) == 0, fmt.Sprintf("running Baton containers: %+v", ctrs)
	})
	if ctr, err := second.rt.ContainerStatus(ctxFor(t), orphan); err == nil && ctr.State == runtime.ContainerRunning {
		t.Errorf("the orphan %s still runs", orphan)
	}
	st, err := bystander.Status(ctxFor(t))
	if err != nil || st.Status != client.Running {
		t.Errorf("the bystander's task: %+v, %v; want it running", st, err)
	}
	if pid := taskPid(t, raw, "bystander"); pid != bystander.Pid() {
		t.Errorf("the bystander's PID %d → %d; want the same process", bystander.Pid(), pid)
	}
	after, err := raw.ContainerService().Get(ctxFor(t), "bystander")
	if err != nil {
		t.Fatal(err)
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.Labels) != len(before.Labels) || len(after.Extensions) != 0 {
		t.Errorf("the bystander's record changed: labels %v → %v, updated %v → %v, extensions %v", before.Labels, after.Labels, before.UpdatedAt, after.UpdatedAt, after.Extensions)
	}
}

// Every container Baton makes carries the Pod's namespace, name and UID,
// the container's name and the hash of its spec as labels on its
// containerd record.
func TestContainersCarryBatonsLabels(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("labelled", shContainer("app", "while :; do sleep 1; done"))); err != nil {
		t.Fatal(err)
	}
	id, p := runningContainer(t, c, "labelled")
	ctr, err := c.rawClient(t).LoadContainer(ctxFor(t), id)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ctr.Labels(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		runtime.LabelPodNamespace:  "default",
		runtime.LabelPodName:       "labelled",
		runtime.LabelPodUID:        p.UID,
		runtime.LabelContainerName: "app",
		runtime.LabelContainerHash: nodeagent.ContainerHash(&p.Spec.Containers[0]),
	}
	for k, v := range want {
		if labels[k] != v || v == "" {
			t.Errorf("label %s = %q; want %q", k, labels[k], v)
		}
	}
}

// A hostNetwork Pod runs in the host's network namespace: its server
// answers on the host's loopback.
func TestHostNetworkPod(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	port := freePort(t)
	ctr := shContainer("httpd", `mkdir -p /www && echo "on the host" > /www/index.html && exec httpd -f -p 127.0.0.1:`+strconv.Itoa(port)+` -h /www`)
	ctr.Ports = []baton.ContainerPort{{ContainerPort: int32(port)}}
	pod := podOf("hostnet", ctr)
	pod.Spec.HostNetwork = true
	if _, err := c.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	id, _ := runningContainer(t, c, "hostnet")
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "on the host\n" {
		t.Errorf("GET on the host's loopback = %q", body)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	inside, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", taskPid(t, c.rawClient(t), id)))
	if err != nil || inside != host {
		t.Errorf("the container's network namespace is %s (%v); want the host's %s", inside, err, host)
	}
}

// freePort returns a TCP port nothing listens on at 127.0.0.1 just now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostPlugins returns the directory of the host's CNI plugins.
func hostPlugins(t *testing.T) string {
	t.Helper()
	for _, dir := range containerd.DefaultCNIPluginDirs {
		if _, err := os.Stat(filepath.Join(dir, "bridge")); err == nil {
			return dir
		}
	}
	t.Fatalf("no CNI bridge plugin in %v", containerd.DefaultCNIPluginDirs)
	return ""
}

// The network of WithCNIConfDir and the plugins of WithCNIPluginDirs are
// the ones used: a config the test writes names a plugin type that only
// the test's plugin dir has (a wrapper of the bridge plugin that notes each
// call), on a bridge and subnet of the test's own. A Pod gets an IP in
// that subnet, answers there, and answers on its hostPort (through
// portmap) on the host's loopback.
func TestConfiguredCNINetworkAndHostPort(t *testing.T) {
	t.Parallel()
	env := containerdtest.Shared(t)
	dir := t.TempDir()
	plugins, confDir := filepath.Join(dir, "bin"), filepath.Join(dir, "net.d")
	calls := filepath.Join(dir, "calls")
	for _, d := range []string{plugins, confDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host := hostPlugins(t)
	for _, p := range []string{"host-local", "loopback", "portmap"} {
		if err := os.Symlink(filepath.Join(host, p), filepath.Join(plugins, p)); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := "#!/bin/sh\necho \"$CNI_COMMAND\" >> " + calls + "\nexec " + filepath.Join(host, "bridge") + "\n"
	if err := os.WriteFile(filepath.Join(plugins, "e2e-bridge"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	// A /24 and a bridge next to the Env's, as openBench picks them.
	subnet := netip.MustParsePrefix(env.Subnet)
	a := subnet.Addr().As4()
	a[2] ^= 0x40
	subnet = netip.PrefixFrom(netip.AddrFrom4(a), 24)
	bridge := env.Bridge + "c"
	t.Cleanup(func() { _ = exec.Command("ip", "link", "delete", bridge).Run() })
	conf := fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "e2e-configured", "plugins": [
  {"type": "e2e-bridge", "bridge": %q, "isGateway": true, "ipMasq": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "dataDir": %q}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}`, bridge, subnet, filepath.Join(dir, "ipam"))
	if err := os.WriteFile(filepath.Join(confDir, "10-e2e.conflist"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ns := newNamespace()
	c := newClusterWith(t, env, ns, []containerd.Option{
		containerd.WithStateDir(filepath.Join(env.StateDir, ns)),
		containerd.WithCNIConfDir(confDir),
		containerd.WithCNIPluginDirs(plugins),
	}, nil)

	hostPort := freePort(t)
	ctr := httpdContainer()
	ctr.Ports[0].HostPort = int32(hostPort)
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("configured", ctr)); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c.Orchestrator, "configured", "ready", (*baton.Pod).IsReady)
	if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !subnet.Contains(ip) {
		t.Errorf("pod IP %q; want one in the configured subnet %s", p.Status.PodIP, subnet)
	}
	if body := get(t, podURL(p)); body != "hello from configured\n" {
		t.Errorf("GET on the Pod IP = %q", body)
	}
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", hostPort)); body != "hello from configured\n" {
		t.Errorf("GET on the host port, on loopback = %q", body)
	}
	if b, err := os.ReadFile(calls); err != nil || !strings.Contains(string(b), "ADD") {
		t.Errorf("the test's bridge plugin was called %q (%v); want an ADD", b, err)
	}
}

// defaultNetworkLock serialises, across processes, the tests that use
// Baton's default bridge network (baton0, 10.88.0.0/16): only one of them
// at a time may own the bridge on this host.
const defaultNetworkLock = "/tmp/baton-e2e-default-network.lock"

// defaultNetworkClash says why the host cannot lend Baton's default
// network to a test, or returns "".
func defaultNetworkClash(t *testing.T) string {
	t.Helper()
	prefix := netip.MustParsePrefix(containerd.DefaultSubnet)
	if _, err := net.InterfaceByName(containerd.DefaultBridge); err == nil {
		return "the host has an interface " + containerd.DefaultBridge
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && prefix.Contains(ip) {
			return "the host has the address " + a.IPNet.String()
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		if dst, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok {
			ones, _ := r.Dst.Mask.Size()
			if ones > 0 && netip.PrefixFrom(dst, ones).Overlaps(prefix) { // a default route is no clash
				return "the host routes " + r.Dst.String()
			}
		}
	}
	return ""
}

// Without WithCNIConfDir or WithBridgeNetwork, Pods join the bridge network
// Baton writes for itself: bridge baton0, subnet 10.88.0.0/16. The test
// runs only where nothing on the host uses either, and removes the bridge.
func TestDefaultBridgeNetwork(t *testing.T) {
	t.Parallel()
	env := containerdtest.Shared(t)
	lock, err := os.OpenFile(defaultNetworkLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // last: it unlocks
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if why := defaultNetworkClash(t); why != "" {
		t.Skipf("skipping: Baton's default network %s %s would clash: %s", containerd.DefaultBridge, containerd.DefaultSubnet, why)
	}
	t.Cleanup(func() { // after the runtime's teardown, registered below
		if err := exec.Command("ip", "link", "delete", containerd.DefaultBridge).Run(); err != nil {
			t.Errorf("delete the bridge %s: %v", containerd.DefaultBridge, err)
		}
	})
	ns := newNamespace()
	// A state dir of its own: the default config is written there.
	c := newClusterWith(t, env, ns, []containerd.Option{containerd.WithStateDir(filepath.Join(env.StateDir, ns))}, nil)
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("default-net", httpdContainer())); err != nil {
		t.Fatal(err)
	}
	p := waitPod(t, c.Orchestrator, "default-net", "ready", (*baton.Pod).IsReady)
	prefix := netip.MustParsePrefix("10.88.0.0/16")
	if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !prefix.Contains(ip) {
		t.Errorf("pod IP %q; want one in %s", p.Status.PodIP, prefix)
	}
	link, err := netlink.LinkByName("baton0")
	if err != nil {
		t.Fatalf("no bridge baton0 after a Pod joined the default network: %v", err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil || !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IPNet.String() == "10.88.0.1/16" }) {
		t.Errorf("baton0's addresses %v (%v); want the gateway 10.88.0.1/16", addrs, err)
	}
	if body := get(t, podURL(p)); body != "hello from default-net\n" {
		t.Errorf("GET on the Pod IP = %q", body)
	}
	// The Pod goes first, so that the bridge is removed with nothing on it.
	if err := c.Pods("default").Delete(ctxFor(t), "default-net"); err != nil {
		t.Fatal(err)
	}
	waitPods(t, c.Orchestrator, "the pod gone", gone("default-net"))
}

// lines collects what a log follower writes, safely for the test to read.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logs through the public API on containerd: the last N lines with
// TailLines, and with Follow the lines written after, until the container
// exits.
func TestLogsTailAndFollow(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	pod := podOf("logger", shContainer("app",
		`for i in 1 2 3 4 5; do echo "line $i"; done; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo after`))
	pod.Spec.RestartPolicy = baton.RestartPolicyNever
	if _, err := c.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	runningContainer(t, c, "logger")
	logs := func(opts baton.LogOptions) string {
		var out bytes.Buffer
		if err := c.Pods("default").Logs(ctxFor(t), "logger", opts, &out); err != nil {
			t.Fatalf("Logs(%+v): %v", opts, err)
		}
		return out.String()
	}
	eventually(t, "five lines logged", func() (bool, string) {
		got := logs(baton.LogOptions{})
		return got == "line 1\nline 2\nline 3\nline 4\nline 5\n", got
	})
	if got := logs(baton.LogOptions{TailLines: 2}); got != "line 4\nline 5\n" {
		t.Errorf("Logs with TailLines 2 = %q", got)
	}

	var followed lines
	done := make(chan error, 1)
	go func() {
		done <- c.Pods("default").Logs(ctxFor(t), "logger", baton.LogOptions{TailLines: 1, Follow: true}, &followed)
	}()
	eventually(t, "the follower has the last line", func() (bool, string) {
		return followed.String() == "line 5\n", followed.String()
	})
	mustExec(t, c.Orchestrator, "logger", "touch", "/tmp/go")
	if err := <-done; err != nil {
		t.Fatalf("Logs with Follow: %v", err)
	}
	if got := followed.String(); got != "line 5\nafter\n" {
		t.Errorf("Logs with Follow = %q; want the last line, then what came after until the exit", got)
	}
}
