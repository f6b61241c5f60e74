package baton

import (
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/encryption"
	"github.com/batonhq/baton/runtime"
)

// Option configures an Orchestrator; see New.
type Option func(*config)

type config struct {
	runtime        runtime.Runtime
	nodes          []NodeConfig
	log            *zap.Logger
	clock          clock.Clock
	snapshot       io.Reader
	crashInitial   time.Duration
	crashMax       time.Duration
	crashJitter    float64
	crashReset     time.Duration
	workers        int
	autoscaleSync  time.Duration
	nodeToleration time.Duration
	nodeGrace      time.Duration
	keys           encryption.KeySource
	stateDir       string
	services       serviceConfig
}

// NodeConfig describes a Node: a runtime plus the capacity and labels the
// scheduler places Pods by.
type NodeConfig struct {
	// Name is the Node's name, a DNS-1123 subdomain.
	Name string
	// Runtime runs the Node's containers.
	Runtime runtime.Runtime
	// Capacity is the Node's resources (cpu, memory, pods). Missing
	// entries are measured from the host: its CPUs, its memory, and 110
	// pods as in Kubernetes.
	Capacity ResourceList
	// Labels are the Node's labels, for Pods' nodeSelector.
	Labels map[string]string
	// Address is the Node's IP address, reported as hostIP; default
	// 127.0.0.1.
	Address string
}

// WithRuntime sets the runtime of the default Node, "local". The default
// is a new in-memory fake runtime (runtime/fake). It cannot be combined
// with WithNode.
func WithRuntime(rt runtime.Runtime) Option {
	return func(c *config) { c.runtime = rt }
}

// WithNode adds a Node. Without any, the Orchestrator has one Node called
// "local" running on the runtime of WithRuntime.
func WithNode(n NodeConfig) Option {
	return func(c *config) { c.nodes = append(c.nodes, n) }
}

// WithLogger sets the logger; the default logs nothing. Every Event is
// mirrored to it at Debug level. Baton never logs the values of Secrets or
// environment variables.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) { c.log = l }
}

// WithClock sets the clock every timer and timestamp reads, so tests can
// run on a clock.Fake.
func WithClock(clk clock.Clock) Option {
	return func(c *config) { c.clock = clk }
}

// WithSnapshot restores the state saved by Orchestrator.SaveSnapshot: the
// new Orchestrator starts with the same objects, and its node agents adopt
// the containers still running for them rather than start new ones.
func WithSnapshot(r io.Reader) Option {
	return func(c *config) { c.snapshot = r }
}

// WithCrashLoopBackoff sets the delays between restarts of a container
// that keeps exiting: the first restart is immediate, then initial,
// doubling up to max. The defaults are Kubernetes': 10s and 5m.
func WithCrashLoopBackoff(initial, max time.Duration) Option {
	return func(c *config) { c.crashInitial, c.crashMax = initial, max }
}

// DefaultCrashLoopJitter is the restart delays' default jitter: each is
// lengthened by up to 10%.
const DefaultCrashLoopJitter = 0.1

// WithCrashLoopJitter lengthens each restart delay by a random fraction up
// to jitter (0.1 adds up to 10%), never past the maximum delay, so that
// containers that crash together do not restart in lockstep. The default
// is DefaultCrashLoopJitter; 0 gives Kubernetes' exact delays.
func WithCrashLoopJitter(jitter float64) Option {
	return func(c *config) { c.crashJitter = jitter }
}

// WithCrashLoopReset sets how long a container must run before its next
// crash counts as a first one again, restarting at once and then after the
// initial delay. The default is twice the maximum delay: 10 minutes with
// Kubernetes' 5-minute maximum.
func WithCrashLoopReset(d time.Duration) Option {
	return func(c *config) { c.crashReset = d }
}

// WithNodeWorkers sets how many Pods each node agent syncs at once; the
// default is 4. Raise it for runtimes whose calls take long.
func WithNodeWorkers(n int) Option {
	return func(c *config) { c.workers = n }
}

// WithAutoscalerSyncPeriod sets how often HorizontalPodAutoscalers measure
// their targets and decide; the default is Kubernetes' 15s.
func WithAutoscalerSyncPeriod(d time.Duration) Option {
	return func(c *config) { c.autoscaleSync = d }
}

// WithNodeToleration sets how long a Node may be not Ready before its Pods
// are evicted and replaced elsewhere; the default is Kubernetes' 300s.
func WithNodeToleration(d time.Duration) Option {
	return func(c *config) { c.nodeToleration = d }
}

// WithNodeGracePeriod makes a Node whose agent goes that long without
// posting status Ready Unknown (Kubernetes uses 40s). It is off by default:
// agents run in the Orchestrator's own process, and a test clock that
// jumps ahead faster than they heartbeat would make healthy Nodes look
// lost. A Node whose runtime stops answering is NotReady either way.
func WithNodeGracePeriod(d time.Duration) Option {
	return func(c *config) { c.nodeGrace = d }
}

// WithEncryptionKeys gives the keys Secrets are sealed with wherever Baton
// writes them to disk: SaveSnapshot refuses to write Secrets without them,
// and WithSnapshot needs them to read Secrets back. See the encryption
// package for a key file KeySource.
func WithEncryptionKeys(keys encryption.KeySource) Option {
	return func(c *config) { c.keys = keys }
}

// WithStateDir sets where Baton keeps the Pods' volumes (ConfigMap, Secret
// and emptyDir files; Secrets and Memory emptyDirs on tmpfs). Without it, a
// Node whose runtime's containers outlive Baton (containerd: see
// runtime.VolumeHost) keeps them in the runtime's own lasting directory, so
// that the containers Run leaves running keep their files and a later
// Orchestrator that adopts them keeps updating them; other Nodes (the fake
// runtime) use a temporary directory removed when Run returns.
func WithStateDir(dir string) Option {
	return func(c *config) { c.stateDir = dir }
}
