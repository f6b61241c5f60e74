package containerd

import (
	"path/filepath"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"go.uber.org/zap"

	"github.com/batonhq/baton/clock"
)

// Defaults of the options.
const (
	// DefaultNamespace is the containerd namespace Baton keeps its
	// containers in, apart from those of other containerd users.
	DefaultNamespace = "baton"
	// DefaultStateDir holds logs, network namespaces, CNI state and the
	// files mounted into containers.
	DefaultStateDir = "/var/lib/baton"
	// DefaultBridge and DefaultSubnet describe the CNI network Baton writes
	// for itself when no CNI config dir is given.
	DefaultBridge = "baton0"
	DefaultSubnet = "10.88.0.0/16"
	// DefaultLogMaxSize and DefaultLogMaxFiles bound each container's log:
	// the current file is rotated once it would grow past the size, and
	// that many files are kept (the current one included), as the kubelet's
	// containerLogMaxSize and containerLogMaxFiles do.
	DefaultLogMaxSize  = 10 << 20
	DefaultLogMaxFiles = 5
	// DefaultSnapshotter unpacks images into overlayfs.
	DefaultSnapshotter = "overlayfs"
	// DefaultRuntime is the containerd runtime (shim) tasks run with.
	DefaultRuntime = "io.containerd.runc.v2"
	// DefaultCgroupParent is the cgroup every container's cgroup is made
	// in.
	DefaultCgroupParent = "/baton"
)

// DefaultCNIPluginDirs are where CNI plugins are looked for: Debian's
// containernetworking-plugins package, then the upstream default.
var DefaultCNIPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// Option configures New.
type Option func(*options)

type options struct {
	namespace     string
	stateDir      string
	cniConfDir    string
	cniPluginDirs []string
	bridge        string
	subnet        string
	clock         clock.Clock
	log           *zap.Logger
	logMaxSize    int64
	logMaxFiles   int
	imageDirs     []string
	resolver      remotes.Resolver
	pullTimeout   time.Duration
	dialTimeout   time.Duration
	snapshotter   string
	runtime       string
	seccomp       bool
	cgroupParent  string
}

// WithNamespace sets the containerd namespace that holds everything this
// Runtime makes (default DefaultNamespace). Two Runtimes on one containerd
// see each other's containers only if they share a namespace.
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithStateDir sets the directory for container logs, network namespace
// mounts, host-local IPAM state, the default CNI config and the files
// mounted into containers (default DefaultStateDir). Keep it on a
// persistent filesystem: logs and IP reservations must survive a restart
// of Baton for containers that keep running.
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// WithCNIConfDir makes sandboxes join the first network configured in dir
// (a *.conflist or *.conf, in lexical order, as the kubelet reads
// /etc/cni/net.d) instead of the bridge network Baton writes for itself.
func WithCNIConfDir(dir string) Option { return func(o *options) { o.cniConfDir = dir } }

// WithCNIPluginDirs sets where CNI plugin binaries are looked for (default
// DefaultCNIPluginDirs).
func WithCNIPluginDirs(dirs ...string) Option {
	return func(o *options) { o.cniPluginDirs = append([]string(nil), dirs...) }
}

// WithBridgeNetwork sets the Linux bridge name (at most 15 bytes) and the
// IPv4 subnet of the default network Baton writes when WithCNIConfDir is
// not given (defaults DefaultBridge and DefaultSubnet). Runtimes with
// different state dirs on one host must use different bridges and subnets,
// as each keeps its own IP reservations.
func WithBridgeNetwork(bridge, subnet string) Option {
	return func(o *options) { o.bridge, o.subnet = bridge, subnet }
}

// WithClock sets the clock that timestamps and grace periods read (default
// clock.Real()). Exits and their times come from containerd, whatever the
// clock.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets the logger for what the Runtime does on its own, such as
// reconnecting to containerd (default: no logging).
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.log = l } }

// WithLogRotation bounds each container's log: the current file is rotated
// once a write would take it past maxSize bytes, and maxFiles files are kept
// in all (defaults DefaultLogMaxSize and DefaultLogMaxFiles). A maxFiles of 1
// truncates instead of keeping an old file.
func WithLogRotation(maxSize int64, maxFiles int) Option {
	return func(o *options) { o.logMaxSize, o.logMaxFiles = maxSize, maxFiles }
}

// WithImageDir makes New import every image archive in dir (files ending
// in .tar, .tar.gz or .tgz; OCI layouts or docker-archives, as ImportImage
// takes) once connected, like k3s's agent/images folder for air-gapped
// nodes. A missing dir is not an error; an archive that fails to import is
// logged and skipped. Repeated options add up.
func WithImageDir(dir string) Option {
	return func(o *options) { o.imageDirs = append(o.imageDirs, dir) }
}

// WithResolver sets how PullImage finds registries: use it for
// credentials, mirrors or TLS settings. The default resolves names as
// Docker does, speaks plain HTTP to registries on localhost only, and gives
// up connecting after the dial timeout of WithPullTimeouts.
func WithResolver(r remotes.Resolver) Option { return func(o *options) { o.resolver = r } }

// WithPullTimeouts bounds a pull: dial bounds connecting to a registry
// with the default resolver (default 5s), and total bounds the whole pull
// (default 0: only the caller's context).
func WithPullTimeouts(dial, total time.Duration) Option {
	return func(o *options) { o.dialTimeout, o.pullTimeout = dial, total }
}

// WithSnapshotter sets the containerd snapshotter images are unpacked
// into and container root filesystems are made by (default
// DefaultSnapshotter).
func WithSnapshotter(name string) Option { return func(o *options) { o.snapshotter = name } }

// WithContainerdRuntime sets the containerd runtime (shim) that runs tasks
// (default DefaultRuntime).
func WithContainerdRuntime(name string) Option { return func(o *options) { o.runtime = name } }

// WithSeccompDefault confines every container with containerd's default
// seccomp profile (Kubernetes' RuntimeDefault, Docker's default). Without
// it containers run Unconfined, as the kubelet runs them unless told
// otherwise. runc compiles the profile at every start, which costs about
// 20ms per container on a small machine; runc must be built with seccomp
// support.
func WithSeccompDefault() Option { return func(o *options) { o.seccomp = true } }

// WithCgroupParent sets the cgroup, relative to the cgroup root, that each
// container's cgroup (named by its ID) is made in (default
// DefaultCgroupParent). It is a cgroupfs path: runc's systemd cgroup driver
// is not supported.
func WithCgroupParent(parent string) Option { return func(o *options) { o.cgroupParent = parent } }

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.namespace == "" {
		o.namespace = DefaultNamespace
	}
	if o.stateDir == "" {
		o.stateDir = DefaultStateDir
	}
	o.stateDir = filepath.Clean(o.stateDir)
	if len(o.cniPluginDirs) == 0 {
		o.cniPluginDirs = DefaultCNIPluginDirs
	}
	if o.bridge == "" {
		o.bridge = DefaultBridge
	}
	if o.subnet == "" {
		o.subnet = DefaultSubnet
	}
	if o.clock == nil {
		o.clock = clock.Real()
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if o.logMaxSize <= 0 {
		o.logMaxSize = DefaultLogMaxSize
	}
	if o.logMaxFiles <= 0 {
		o.logMaxFiles = DefaultLogMaxFiles
	}
	if o.dialTimeout <= 0 {
		o.dialTimeout = 5 * time.Second
	}
	if o.snapshotter == "" {
		o.snapshotter = DefaultSnapshotter
	}
	if o.runtime == "" {
		o.runtime = DefaultRuntime
	}
	if o.cgroupParent == "" {
		o.cgroupParent = DefaultCgroupParent
	}
	return o
}

// Paths under the state dir.
func (o *options) logDir() string      { return filepath.Join(o.stateDir, "logs") }
func (o *options) fifoDir() string     { return filepath.Join(o.stateDir, "fifo") }
func (o *options) netnsDir() string    { return filepath.Join(o.stateDir, "netns", o.namespace) }
func (o *options) podDir() string      { return filepath.Join(o.stateDir, "pods") }
func (o *options) cniDir() string      { return filepath.Join(o.stateDir, "cni") }
func (o *options) cniConfPath() string { return filepath.Join(o.cniDir(), "net.d") }
