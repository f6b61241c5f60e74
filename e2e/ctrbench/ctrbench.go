// Package ctrbench is the scenario behind issue 3's speed targets, shared
// by the e2e package's go test benchmarks and cmd/ctrbench. On a real
// containerd it measures:
//
//   - Pod start: the time from Pods("default").Create until a Watch of the
//     Pods delivers the Pod with phase Running and its container running,
//     through an Orchestrator on the containerd runtime, against the same
//     container (same image, snapshotter, command and network) started
//     with the plain containerd client (NewContainer, NewTask, Start) in
//     the same run. The two alternate, so drift in the machine's speed hits
//     both alike; teardown is never timed.
//   - Restart: the time from a SIGKILL of a running container's process
//     until a Watch delivers its Pod with the restarted container running.
//     Every sample is a new Pod, so every restart is a first restart,
//     which the node agent makes at once (as kubelet does).
//
// Everything runs in one containerd namespace that the Bench uses alone,
// and, for CNI Pods, on a bridge network the caller names.
package ctrbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/netns"
	"github.com/containerd/containerd/v2/pkg/oci"
	gocni "github.com/containerd/go-cni"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"go.uber.org/zap"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// ImageRef names the busybox image the Bench imports and runs.
const ImageRef = "localhost/baton-bench/busybox:1"

// script runs until SIGTERM (busybox sh as PID 1 ignores signals it sets
// no trap for), so that teardown is quick.
const script = `trap 'exit 0' TERM; while :; do sleep 1 & wait; done`

// Env is where a Bench runs.
type Env struct {
	// Address is containerd's socket.
	Address string
	// Namespace is a containerd namespace for the Bench alone: it removes
	// whatever it made there, and nothing else.
	Namespace string
	// StateDir is the Runtime's state dir; the Bench writes its CNI config
	// under it too.
	StateDir string
	// Bridge and Subnet are the CNI bridge network of the CNI Pods, for
	// Baton's and the plain client's alike.
	Bridge, Subnet string
	// CgroupParent holds every container's cgroup, Baton's and the plain
	// client's.
	CgroupParent string
	// CNIPluginDirs are where the CNI plugins are; nil means
	// containerd.DefaultCNIPluginDirs.
	CNIPluginDirs []string
	// Log receives what the Runtime and the Orchestrator log; nil logs
	// nothing.
	Log *zap.Logger
}

// Bench is an Orchestrator on a containerd Runtime, and a plain containerd
// client beside it, ready to measure. Its methods run one at a time.
type Bench struct {
	env     Env
	rt      *containerd.Runtime
	o       *baton.Orchestrator
	raw     *client.Client
	img     client.Image
	confDir string
	cni     gocni.CNI // loaded at the first CNI sample

	cancel context.CancelFunc
	done   chan error // Run's result
	seq    int        // names Pods and raw containers
}

// Open imports the busybox image (built from the local busybox-static),
// and starts an Orchestrator with one Node on a containerd Runtime in
// env.Namespace, its CNI Pods on a bridge network whose config the Bench
// writes (WithCNIConfDir), so that the plain client's containers join the
// very same network. Close releases it all.
func Open(ctx context.Context, env Env) (b *Bench, err error) {
	if env.Log == nil {
		env.Log = zap.NewNop()
	}
	if len(env.CNIPluginDirs) == 0 {
		env.CNIPluginDirs = containerd.DefaultCNIPluginDirs
	}
	archive, err := testimage.Image{Ref: ImageRef}.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ctrbench: build the busybox image: %w", err)
	}
	b = &Bench{env: env, confDir: filepath.Join(env.StateDir, "ctrbench-net.d")}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()
	if err := b.writeCNIConfig(); err != nil {
		return nil, err
	}
	b.rt, err = containerd.New(ctx, env.Address,
		containerd.WithNamespace(env.Namespace),
		containerd.WithStateDir(env.StateDir),
		containerd.WithCNIConfDir(b.confDir),
		containerd.WithCNIPluginDirs(env.CNIPluginDirs...),
		containerd.WithCgroupParent(env.CgroupParent),
		containerd.WithLogger(env.Log),
	)
	if err != nil {
		return nil, fmt.Errorf("ctrbench: %w", err)
	}
	if _, err := b.rt.ImportImage(ctx, bytes.NewReader(archive)); err != nil {
		return nil, fmt.Errorf("ctrbench: import the busybox image: %w", err)
	}
	b.raw, err = client.New(env.Address, client.WithDefaultNamespace(env.Namespace))
	if err != nil {
		return nil, fmt.Errorf("ctrbench: containerd client: %w", err)
	}
	if b.img, err = b.raw.GetImage(ctx, ImageRef); err != nil {
		return nil, fmt.Errorf("ctrbench: %w", err)
	}
	if err := b.img.Unpack(ctx, containerd.DefaultSnapshotter); err != nil {
		return nil, fmt.Errorf("ctrbench: unpack the busybox image: %w", err)
	}
	b.o, err = baton.New(baton.WithRuntime(b.rt), baton.WithLogger(env.Log))
	if err != nil {
		return nil, fmt.Errorf("ctrbench: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel, b.done = cancel, make(chan error, 1)
	go func() { b.done <- b.o.Run(runCtx) }()
	if err := b.waitNodeReady(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops the Orchestrator, removes every Pod's containers and
// sandbox and every container of the plain client, and closes the Runtime
// and the client.
func (b *Bench) Close() error {
	var errs []error
	if b.cancel != nil {
		b.cancel()
		if err := <-b.done; err != nil {
			errs = append(errs, fmt.Errorf("ctrbench: Run: %w", err))
		}
		b.cancel = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b.rt != nil {
		sbs, err := b.rt.ListPodSandboxes(ctx, nil)
		errs = append(errs, err)
		for _, sb := range sbs {
			errs = append(errs, runtime.TearDownSandbox(ctx, b.rt, sb.ID, 0))
		}
		errs = append(errs, b.rt.Close())
		b.rt = nil
	}
	if b.raw != nil {
		errs = append(errs, b.raw.Close())
		b.raw = nil
	}
	return errors.Join(errs...)
}

// Network says how a Pod start sample is networked.
type Network int

const (
	// HostNetwork runs Baton's Pod with hostNetwork: true and the plain
	// client's container in the host's network namespace.
	HostNetwork Network = iota
	// CNI gives Baton's Pod its own network namespace on the bridge
	// network, and the plain client's container a network namespace the
	// Bench makes and attaches to the same network with go-cni, as Baton
	// does.
	CNI
)

func (n Network) String() string {
	if n == CNI {
		return "cni"
	}
	return "host-network"
}

// Samples are the durations of a run, in the order measured.
type Samples []time.Duration

// Quantile returns the q-quantile (0.5 for the median) by the nearest rank
// below, or 0 for no samples.
func (s Samples) Quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	return sorted[int(q*float64(len(sorted)-1))]
}

// StartResult is what PodStart measured.
type StartResult struct {
	Network Network
	// Baton is create → Running seen by a Watch; Raw is NewContainer →
	// Start returned.
	Baton, Raw Samples
}

// Ratio is Baton's median over the plain client's.
func (r StartResult) Ratio() float64 {
	return float64(r.Baton.Quantile(0.5)) / float64(r.Raw.Quantile(0.5))
}

// PodStart measures n Pod starts through Baton and n container starts with
// the plain client, alternating which goes first, after one untimed start
// of each.
func (b *Bench) PodStart(ctx context.Context, network Network, n int) (StartResult, error) {
	res := StartResult{Network: network}
	for i := -1; i < n; i++ {
		var took [2]time.Duration
		var errs [2]error
		batonFirst := i%2 != 0
		for j := range 2 {
			if (j == 0) == batonFirst {
				took[0], errs[0] = b.batonStart(ctx, network)
			} else {
				took[1], errs[1] = b.rawStart(ctx, network)
			}
		}
		if err := errors.Join(errs[:]...); err != nil {
			return res, err
		}
		if i >= 0 { // the first round warms up
			res.Baton = append(res.Baton, took[0])
			res.Raw = append(res.Raw, took[1])
		}
	}
	return res, nil
}

// RestartResult is what Restart measured.
type RestartResult struct {
	// RanFor is how long each container ran before it ended: zero when it
	// was killed as soon as a Watch saw it running.
	RanFor time.Duration
	// FromKill runs from just before the SIGKILL (when RanFor is zero);
	// FromExit from the exit time of containerd's TaskExit event, which
	// the Pod reports as lastState.terminated.finishedAt. Both end when a
	// Watch delivers the Pod with the new container running.
	FromKill, FromExit Samples
}

// Restart measures n restarts, each of the only container of a new
// host-network Pod. With ranFor zero the container is killed with SIGKILL
// from the host as soon as a Watch sees it running; otherwise it exits by
// itself (code 1) after running that long, whole seconds.
func (b *Bench) Restart(ctx context.Context, n int, ranFor time.Duration) (RestartResult, error) {
	res := RestartResult{RanFor: ranFor}
	for i := -1; i < n; i++ {
		fromKill, fromExit, err := b.restartOnce(ctx, ranFor)
		if err != nil {
			return res, err
		}
		if i >= 0 {
			if ranFor == 0 {
				res.FromKill = append(res.FromKill, fromKill)
			}
			res.FromExit = append(res.FromExit, fromExit)
		}
	}
	return res, nil
}

// Baton's side.

func (b *Bench) nextName(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s-%d", prefix, b.seq)
}

func (b *Bench) pod(name string, network Network, cmd string) *baton.Pod {
	grace := int64(1)
	return &baton.Pod{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.PodSpec{
			HostNetwork:                   network == HostNetwork,
			TerminationGracePeriodSeconds: &grace,
			Containers: []baton.Container{{
				Name:            "app",
				Image:           ImageRef,
				ImagePullPolicy: baton.PullNever,
				Command:         []string{"/bin/sh", "-c", cmd},
			}},
		},
	}
}

// running holds when p's phase is Running, its container running in its
// restarts-th restart.
func running(p *baton.Pod, restarts int32) bool {
	if p.Status.Phase != baton.PodRunning || len(p.Status.ContainerStatuses) != 1 {
		return false
	}
	cs := p.Status.ContainerStatuses[0]
	return cs.State.Running != nil && cs.RestartCount == restarts
}

// watchPods returns a watch of the default namespace's Pods, stopped by
// the returned func.
func (b *Bench) watchPods(ctx context.Context) (<-chan baton.WatchEvent[*baton.Pod], context.CancelFunc, error) {
	wctx, cancel := context.WithCancel(ctx)
	ch, err := b.o.Pods("default").Watch(wctx)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("ctrbench: watch pods: %w", err)
	}
	return ch, cancel, nil
}

// await reads ch until it delivers Pod name in a state cond accepts, and
// returns when it arrived.
func await(ctx context.Context, ch <-chan baton.WatchEvent[*baton.Pod], name, what string, cond func(baton.WatchEvent[*baton.Pod]) bool) (time.Time, error) {
	var last *baton.Pod
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return time.Time{}, fmt.Errorf("ctrbench: pod %s: the watch ended waiting for %s", name, what)
			}
			if ev.Object.Name != name {
				continue
			}
			if cond(ev) {
				return time.Now(), nil
			}
			last = ev.Object
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("ctrbench: pod %s: waiting for %s: %w; last seen: %s", name, what, ctx.Err(), describe(last))
		}
	}
}

func describe(p *baton.Pod) string {
	if p == nil {
		return "nothing"
	}
	s := fmt.Sprintf("phase %s", p.Status.Phase)
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			s += fmt.Sprintf(", waiting %s: %s", w.Reason, w.Message)
		}
		if t := cs.State.Terminated; t != nil {
			s += fmt.Sprintf(", terminated %s (%d)", t.Reason, t.ExitCode)
		}
	}
	return s
}

// batonStart creates a Pod and returns how long it took to be seen
// Running; it then deletes the Pod, untimed, and waits until it is gone.
func (b *Bench) batonStart(ctx context.Context, network Network) (time.Duration, error) {
	ch, stop, err := b.watchPods(ctx)
	if err != nil {
		return 0, err
	}
	defer stop()
	name := b.nextName("start-" + network.String())
	began := time.Now()
	if _, err := b.o.Pods("default").Create(ctx, b.pod(name, network, script)); err != nil {
		return 0, fmt.Errorf("ctrbench: create pod %s: %w", name, err)
	}
	at, err := await(ctx, ch, name, "Running", func(ev baton.WatchEvent[*baton.Pod]) bool {
		return ev.Type != baton.Deleted && running(ev.Object, 0)
	})
	if err != nil {
		return 0, err
	}
	return at.Sub(began), b.deletePod(ctx, ch, name)
}

// deletePod deletes Pod name and waits on ch until it is gone.
func (b *Bench) deletePod(ctx context.Context, ch <-chan baton.WatchEvent[*baton.Pod], name string) error {
	if err := b.o.Pods("default").Delete(ctx, name); err != nil {
		return fmt.Errorf("ctrbench: delete pod %s: %w", name, err)
	}
	_, err := await(ctx, ch, name, "its deletion", func(ev baton.WatchEvent[*baton.Pod]) bool { return ev.Type == baton.Deleted })
	return err
}

// restartOnce starts a Pod whose container ends, by a kill or by itself
// after ranFor, and measures its restart.
func (b *Bench) restartOnce(ctx context.Context, ranFor time.Duration) (fromKill, fromExit time.Duration, err error) {
	ch, stop, err := b.watchPods(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer stop()
	name := b.nextName("restart")
	run := script
	if ranFor > 0 {
		run = fmt.Sprintf("sleep %d; exit 1", int(ranFor.Round(time.Second)/time.Second))
	}
	if _, err := b.o.Pods("default").Create(ctx, b.pod(name, HostNetwork, run)); err != nil {
		return 0, 0, fmt.Errorf("ctrbench: create pod %s: %w", name, err)
	}
	var id string
	if _, err := await(ctx, ch, name, "Running", func(ev baton.WatchEvent[*baton.Pod]) bool {
		if ev.Type == baton.Deleted || !running(ev.Object, 0) {
			return false
		}
		id = strings.TrimPrefix(ev.Object.Status.ContainerStatuses[0].ContainerID, containerd.RuntimeName+"://")
		return true
	}); err != nil {
		return 0, 0, err
	}
	var killed time.Time
	if ranFor == 0 {
		ctr, err := b.raw.LoadContainer(ctx, id)
		if err != nil {
			return 0, 0, fmt.Errorf("ctrbench: load container %s: %w", id, err)
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			return 0, 0, fmt.Errorf("ctrbench: task of container %s: %w", id, err)
		}
		killed = time.Now()
		if err := syscall.Kill(int(task.Pid()), syscall.SIGKILL); err != nil {
			return 0, 0, fmt.Errorf("ctrbench: kill container %s (pid %d): %w", id, task.Pid(), err)
		}
	}
	var exited time.Time
	at, err := await(ctx, ch, name, "the restarted container running", func(ev baton.WatchEvent[*baton.Pod]) bool {
		if ev.Type == baton.Deleted || !running(ev.Object, 1) {
			return false
		}
		if last := ev.Object.Status.ContainerStatuses[0].LastTerminationState.Terminated; last != nil {
			exited = last.FinishedAt.Time
		}
		return true
	})
	if err != nil {
		return 0, 0, err
	}
	if exited.IsZero() {
		return 0, 0, fmt.Errorf("ctrbench: pod %s: the restarted container has no lastState.terminated.finishedAt", name)
	}
	if ranFor == 0 {
		fromKill = at.Sub(killed)
	}
	return fromKill, at.Sub(exited), b.deletePod(ctx, ch, name)
}

// waitNodeReady waits until the Node reports Ready.
func (b *Bench) waitNodeReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ch, err := b.o.Nodes().Watch(ctx)
	if err != nil {
		return fmt.Errorf("ctrbench: watch nodes: %w", err)
	}
	for {
		select {
		case ev := <-ch:
			if ev.Type != baton.Deleted && ev.Object.IsReady() {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("ctrbench: the node did not become Ready: %w", ctx.Err())
		}
	}
}

// The plain client's side.

// writeCNIConfig writes the bridge network both sides join: the network
// Baton writes for itself by default, on env's bridge and subnet.
func (b *Bench) writeCNIConfig() error {
	return containerd.WriteBridgeConfig(b.confDir, b.env.Bridge, b.env.Subnet, filepath.Join(b.env.StateDir, "ctrbench-ipam"))
}

// loadCNI loads the network config as Baton's Runtime does.
func (b *Bench) loadCNI() (gocni.CNI, error) {
	if b.cni != nil {
		return b.cni, nil
	}
	c, err := gocni.New(gocni.WithPluginDir(b.env.CNIPluginDirs), gocni.WithPluginConfDir(b.confDir), gocni.WithMinNetworkCount(2))
	if err != nil {
		return nil, fmt.Errorf("ctrbench: %w", err)
	}
	if err := c.Load(gocni.WithLoNetwork, gocni.WithDefaultConf); err != nil {
		return nil, fmt.Errorf("ctrbench: load the CNI config: %w", err)
	}
	b.cni = c
	return c, nil
}

// rawStart starts the container with the plain client and returns how
// long that took (for CNI, making and attaching its network namespace
// included); it then removes it all, untimed.
func (b *Bench) rawStart(ctx context.Context, network Network) (took time.Duration, err error) {
	id := b.nextName("raw")
	var cni gocni.CNI
	if network == CNI {
		if cni, err = b.loadCNI(); err != nil {
			return 0, err
		}
	}
	specOpts := []oci.SpecOpts{
		oci.WithImageConfig(b.img),
		oci.WithProcessArgs("/bin/sh", "-c", script),
		oci.WithCgroup(path.Join("/", b.env.CgroupParent, id)),
	}
	var ns *netns.NetNS
	defer func() {
		if ns != nil {
			rerr := cni.Remove(context.WithoutCancel(ctx), id, ns.GetPath())
			err = errors.Join(err, rerr, ns.Remove())
		}
	}()

	began := time.Now()
	if network == CNI {
		if ns, err = netns.NewNetNS(filepath.Join(b.env.StateDir, "ctrbench-netns")); err != nil {
			return 0, fmt.Errorf("ctrbench: make a network namespace: %w", err)
		}
		if _, err := cni.Setup(ctx, id, ns.GetPath()); err != nil {
			return 0, fmt.Errorf("ctrbench: attach %s to the network: %w", id, err)
		}
		specOpts = append(specOpts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: ns.GetPath()}))
	} else {
		specOpts = append(specOpts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	ctr, err := b.raw.NewContainer(ctx, id,
		client.WithImage(b.img),
		client.WithSnapshotter(containerd.DefaultSnapshotter),
		client.WithNewSnapshot(id, b.img),
		client.WithNewSpec(specOpts...),
		client.WithRuntime(containerd.DefaultRuntime, nil))
	if err != nil {
		return 0, fmt.Errorf("ctrbench: new container %s: %w", id, err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err == nil {
		err = task.Start(ctx)
	}
	took = time.Since(began)
	if err != nil {
		_ = ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup)
		return 0, fmt.Errorf("ctrbench: start container %s: %w", id, err)
	}

	exited, err := task.Wait(ctx)
	if err == nil {
		err = task.Kill(ctx, syscall.SIGKILL)
	}
	if err == nil {
		<-exited
		_, err = task.Delete(ctx)
	}
	return took, errors.Join(err, ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup))
}
