package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// Every test shares one containerd daemon, started here (or skips, see the
// package doc); each works in a containerd namespace of its own.
func TestMain(m *testing.M) {
	if os.Getenv(cniLockProbeEnv) == "1" {
		probeCNILock()
		os.Exit(0)
	}
	cniLockBug = checkCNILock()
	code := containerdtest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitTimeout bounds every wait. Real containers on a small machine under
// the race detector start in a fraction of a second, but heartbeats come
// every 10s.
const waitTimeout = 40 * time.Second

// busyboxRef names the test image; Pods use it with imagePullPolicy Never.
const busyboxRef = "localhost/baton-e2e/busybox:1"

// busybox is the test image as an OCI archive, built once.
var busybox = sync.OnceValues(func() ([]byte, error) {
	return testimage.Image{Ref: busyboxRef}.Bytes()
})

// nsSeq makes containerd namespaces unique within the test binary.
var nsSeq atomic.Uint64

// newNamespace returns a containerd namespace no other test uses.
func newNamespace() string { return "e2e-" + strconv.FormatUint(nsSeq.Add(1), 10) }

// openRuntime returns a containerd Runtime on env in containerd namespace
// ns, in env's state dir and cgroup, with the options opts (its network:
// env's bridge network, or what the test gives). When the test ends,
// whatever the Runtime holds is torn down (unless it was closed first:
// another Runtime on ns then does it) and the Runtime is closed.
func openRuntime(t *testing.T, env *containerdtest.Env, ns string, opts ...containerd.Option) *containerd.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	rt, err := containerd.New(ctx, env.Address, append([]containerd.Option{
		containerd.WithNamespace(ns),
		containerd.WithStateDir(env.StateDir),
		containerd.WithCgroupParent(env.CgroupParent),
		containerd.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
	}, opts...)...)
	if err != nil {
		t.Fatalf("containerd.New: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close the runtime: %v", err)
		}
	})
	t.Cleanup(func() { tearDownAll(t, rt) })
	return rt
}

// tearDownAll removes every sandbox and container of rt at once: the node
// agent leaves containers running when Run stops.
func tearDownAll(t *testing.T, rt *containerd.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	sbs, err := rt.ListPodSandboxes(ctx, nil)
	if errors.Is(err, containerd.ErrClosed) {
		return
	}
	if err != nil {
		t.Errorf("cleanup: ListPodSandboxes: %v", err)
		return
	}
	for _, sb := range sbs {
		if err := runtime.TearDownSandbox(ctx, rt, sb.ID, 0); err != nil {
			t.Errorf("cleanup: TearDownSandbox(%s): %v", sb.ID, err)
		}
	}
}

// cluster is a running Orchestrator with one Node ("local") on a containerd
// Runtime.
type cluster struct {
	*baton.Orchestrator
	env  *containerdtest.Env
	ns   string // the containerd namespace
	rt   *containerd.Runtime
	stop func() // stops Run and waits for it; idempotent
}

// newCluster returns a running Orchestrator on the shared containerd, in a
// containerd namespace of its own holding the busybox image.
func newCluster(t *testing.T, opts ...baton.Option) *cluster {
	t.Helper()
	env := containerdtest.Shared(t)
	return newClusterOn(t, env, newNamespace(), nil, opts...)
}

// newClusterOn returns a running Orchestrator on env in containerd
// namespace ns (importing the busybox image into it), restored from
// snapshot when it is not nil.
func newClusterOn(t *testing.T, env *containerdtest.Env, ns string, snapshot io.Reader, opts ...baton.Option) *cluster {
	t.Helper()
	return newClusterWith(t, env, ns, nil, snapshot, opts...)
}

// newClusterWith is newClusterOn with a Runtime of its own network: the
// containerd options net, or env's bridge network when net is nil.
func newClusterWith(t *testing.T, env *containerdtest.Env, ns string, net []containerd.Option, snapshot io.Reader, opts ...baton.Option) *cluster {
	t.Helper()
	if cniLockBug != "" {
		t.Skip("skipping: " + cniLockBug)
	}
	archive, err := busybox()
	if err != nil {
		if containerdtest.Required() {
			t.Fatalf("build the busybox test image: %v", err)
		}
		t.Skipf("skipping: no busybox test image: %v", err)
	}
	if net == nil {
		net = []containerd.Option{containerd.WithBridgeNetwork(env.Bridge, env.Subnet)}
	}
	rt := openRuntime(t, env, ns, net...)
	all := []baton.Option{
		baton.WithRuntime(rt),
		baton.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
	}
	if snapshot != nil {
		all = append(all, baton.WithSnapshot(snapshot))
	}
	o, err := baton.New(append(all, opts...)...)
	if err != nil {
		t.Fatalf("baton.New: %v", err)
	}
	names, err := o.ImportImage(ctxFor(t), baton.DefaultNodeName, bytes.NewReader(archive))
	if err != nil || len(names) != 1 || names[0] != busyboxRef {
		t.Fatalf("ImportImage(busybox) = %v, %v; want [%s]", names, err, busyboxRef)
	}
	c := &cluster{Orchestrator: o, env: env, ns: ns, rt: rt}
	c.stop = run(t, o)
	return c
}

// run runs o until the test ends or the returned func is called, and
// checks that Run returns cleanly.
func run(t *testing.T, o *baton.Orchestrator) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ctxFor returns a context that ends with the test or after waitTimeout.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitPods waits until cond holds for the Pods in the default namespace,
// re-checking whenever one changes, and returns them.
func waitPods(t *testing.T, o *baton.Orchestrator, what string, cond func([]*baton.Pod) bool) []*baton.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.Pods("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pods []*baton.Pod
	for {
		pods, err = o.Pods("default").List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cond(pods) {
			return pods
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for %s; pods: %s", waitTimeout, what, describePods(pods))
		}
	}
}

// waitPod waits until cond holds for Pod name and returns it.
func waitPod(t *testing.T, o *baton.Orchestrator, name, what string, cond func(*baton.Pod) bool) *baton.Pod {
	t.Helper()
	var got *baton.Pod
	waitPods(t, o, fmt.Sprintf("pod %s: %s", name, what), func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == name && cond(p) {
				got = p
				return true
			}
		}
		return false
	})
	return got
}

// waitNode waits until cond holds for the Node and returns it.
func waitNode(t *testing.T, o *baton.Orchestrator, what string, cond func(*baton.Node) bool) *baton.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.Nodes().Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last *baton.Node
	for {
		select {
		case ev := <-changes:
			last = ev.Object
			if ev.Type != baton.Deleted && cond(last) {
				return last
			}
		case <-ctx.Done():
			t.Fatalf("timed out after %v waiting for the node: %s; last: %+v", waitTimeout, what, last)
		}
	}
}

// readyPods holds when exactly n Pods exist, all ready and none
// terminating.
func readyPods(n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		if len(pods) != n {
			return false
		}
		for _, p := range pods {
			if !p.IsReady() || p.DeletionTimestamp != nil {
				return false
			}
		}
		return true
	}
}

// gone holds when no Pod is called name.
func gone(name string) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == name {
				return false
			}
		}
		return true
	}
}

func describePods(pods []*baton.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s %s ip=%s ready=%v", p.Name, p.Status.Phase, p.Status.PodIP, p.IsReady())
		if p.DeletionTimestamp != nil {
			b.WriteString(" terminating")
		}
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " [%s restarts=%d", cs.Name, cs.RestartCount)
			switch s := cs.State; {
			case s.Waiting != nil:
				fmt.Fprintf(&b, " waiting:%s %q", s.Waiting.Reason, s.Waiting.Message)
			case s.Terminated != nil:
				fmt.Fprintf(&b, " terminated:%s(%d)", s.Terminated.Reason, s.Terminated.ExitCode)
			case s.Running != nil:
				b.WriteString(" running")
			}
			b.WriteString("]")
		}
	}
	return b.String()
}

// eventually polls cond every 100ms until it holds, failing t after
// waitTimeout with what cond last said.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	testutil.Eventually(t, what, waitTimeout, 100*time.Millisecond, cond)
}

// Pod templates.

// grace is the termination grace period of the tests' Pods, short so that
// Pods that ignore SIGTERM (busybox httpd as PID 1 does) go quickly.
const grace = 1

func ptr[T any](v T) *T { return &v }

// shContainer is a busybox container running script.
func shContainer(name, script string) baton.Container {
	return baton.Container{
		Name:            name,
		Image:           busyboxRef,
		ImagePullPolicy: baton.PullNever,
		Command:         []string{"/bin/sh", "-c", script},
	}
}

// httpdScript writes /www/index.html (page, expanded by sh) and serves
// /www on port 8080. httpd runs as the container's PID 1.
func httpdScript(page string) string {
	return `mkdir -p /www && echo "` + page + `" > /www/index.html && exec httpd -f -p 8080 -h /www`
}

// httpdContainer serves "hello from <hostname>" (the Pod's name) on
// port 8080, named "http".
func httpdContainer() baton.Container {
	c := shContainer("httpd", httpdScript("hello from $(hostname)"))
	c.Ports = []baton.ContainerPort{{Name: "http", ContainerPort: 8080}}
	return c
}

// podOf returns a Pod of containers with the tests' grace period.
func podOf(name string, containers ...baton.Container) *baton.Pod {
	return &baton.Pod{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.PodSpec{
			Containers:                    containers,
			TerminationGracePeriodSeconds: ptr[int64](grace),
		},
	}
}

// deploymentOf returns a Deployment of replicas Pods of the containers,
// labelled app=name, with the tests' grace period.
func deploymentOf(name string, replicas int32, containers ...baton.Container) *baton.Deployment {
	labels := map[string]string{"app": name}
	return &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec: baton.PodSpec{
					Containers:                    containers,
					TerminationGracePeriodSeconds: ptr[int64](grace),
				},
			},
		},
	}
}

// Containers.

// containerID strips the runtime prefix ("containerd://") from a status's
// container ID.
func containerID(cs baton.ContainerStatus) string {
	_, id, _ := strings.Cut(cs.ContainerID, "://")
	return id
}

// rawClient returns a plain containerd client on c's namespace, to look at
// containerd behind Baton's back.
func (c *cluster) rawClient(t *testing.T) *client.Client {
	t.Helper()
	raw, err := client.New(c.env.Address, client.WithDefaultNamespace(c.ns))
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// taskPid returns the host PID of container id's process, as containerd
// knows it.
func taskPid(t *testing.T, raw *client.Client, id string) uint32 {
	t.Helper()
	ctx := ctxFor(t)
	ctr, err := raw.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("load container %s: %v", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task of container %s: %v", id, err)
	}
	return task.Pid()
}

// kill9 kills container id's process from the host with SIGKILL, as the
// kernel's OOM killer or a crash would end it. (An exec of "kill -9 1"
// inside the container would do nothing: the kernel ignores signals sent
// to a PID namespace's init from inside it that init has no handler for,
// and SIGKILL cannot have one.)
func kill9(t *testing.T, raw *client.Client, id string) {
	t.Helper()
	pid := taskPid(t, raw, id)
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (container %s): %v", pid, id, err)
	}
}

// HTTP. Every URL the tests fetch is on loopback or on a Pod IP of the
// bridge network of the test's own containerd.

// httpClient returns a client that dials with dial (nil: net.Dialer) and
// keeps no idle connections, so nothing outlives the test.
func httpClient(dial func(ctx context.Context, network, addr string) (conn net.Conn, err error)) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true, Proxy: nil}, Timeout: 5 * time.Second}
}

// fetch GETs url once and returns the body of a 200 response.
func fetch(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// get GETs url until it answers 200 and returns the body.
func get(t *testing.T, url string) string {
	t.Helper()
	c := httpClient(nil)
	var body string
	eventually(t, "GET "+url, func() (bool, string) {
		var err error
		body, err = fetch(c, url)
		return err == nil, fmt.Sprint(err)
	})
	return body
}

// podURL is the URL of port 8080 of the Pod's IP.
func podURL(p *baton.Pod) string {
	return "http://" + net.JoinHostPort(p.Status.PodIP, "8080") + "/"
}

// execOut runs cmd in the Pod's only container and returns its exit code
// and output (stdout and stderr).
func execOut(t *testing.T, o *baton.Orchestrator, pod string, cmd ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code, err := o.Pods("default").Exec(ctxFor(t), pod, cmd, baton.ExecOptions{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %q in %s: %v", cmd, pod, err)
	}
	return code, out.String()
}

// mustExec runs cmd in the Pod and fails t unless it exits 0.
func mustExec(t *testing.T, o *baton.Orchestrator, pod string, cmd ...string) string {
	t.Helper()
	code, out := execOut(t, o, pod, cmd...)
	if code != 0 {
		t.Fatalf("exec %q in %s exited %d: %s", cmd, pod, code, out)
	}
	return out
}
