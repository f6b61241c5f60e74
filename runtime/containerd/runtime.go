package containerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	ctrdlog "github.com/containerd/log"
	"github.com/opencontainers/go-digest"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
)

// RuntimeName is the RuntimeName that Version reports.
const RuntimeName = "containerd"

// Runtime is a runtime.Runtime over containerd. Make one with New and
// release it with Close. It is safe for concurrent use.
//
// Every value it returns is the caller's to keep and mutate; every value it
// is given is copied before it is kept.
type Runtime struct {
	client *client.Client
	opts   options
	clock  clock.Clock
	log    *zap.Logger
	net    *network
	// ctrdLog is what containerd's client code logs to.
	ctrdLog *ctrdlog.Entry
	// resolver finds registries; transport, when not nil, is its HTTP
	// transport.
	resolver  remotes.Resolver
	transport *http.Transport

	// ctx is the Runtime's lifetime: Close cancels it. Background work
	// (the event watch, exit handling, log copying) runs under it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts every goroutine the Runtime starts; Close waits for them.
	wg sync.WaitGroup

	// locks serialises the verbs on one container or sandbox (by ID) and
	// RunPodSandbox on one Pod (by UID).
	locks keyedMutex

	// leaseMu guards lease and leaseMade: the lease every container is
	// created under (see withLease), and when it was made.
	leaseMu   sync.Mutex
	lease     leases.Lease
	leaseMade time.Time

	// netnsMu is held for reading by RunPodSandbox from making a network
	// namespace to storing the record naming it, and for writing by
	// collectNetNS, which removes the namespaces no record names.
	netnsMu sync.RWMutex

	// ready is set while the Runtime is subscribed to containerd's events
	// and has reconciled what happened while it was not.
	ready atomic.Bool

	mu sync.Mutex // guards every field below
	// closed is set by Close; no goroutine starts after it.
	closed bool
	// subs are the Events subscribers.
	subs []*subscriber
	// logs are the log files being written by this process, by
	// container ID.
	logs map[string]*logFile
	// oom holds the containers containerd reported an OOM kill in, until
	// their exit is recorded.
	oom map[string]bool
	// started holds the start times of the containers this Runtime
	// started, until they are removed: StartContainer stores them on the
	// records in the background.
	started map[string]time.Time
	// images caches the configs of images by the digest of their target:
	// content never changes under a digest.
	images map[digest.Digest]imageInfo
}

var (
	_ runtime.Runtime       = (*Runtime)(nil)
	_ runtime.ImageImporter = (*Runtime)(nil)
)

// New connects to the containerd listening at address (such as
// "/run/containerd/containerd.sock"), subscribes to its task events and
// adopts what an earlier Runtime left in the namespace: it resumes copying
// the logs of running containers and records the exits that happened
// meanwhile. It then imports the archives of WithImageDir. It waits for all
// that until ctx ends, and fails with an error matching
// runtime.ErrUnavailable if containerd has not answered by then.
//
// New needs root: it mounts network namespaces and runs CNI plugins.
func New(ctx context.Context, address string, opts ...Option) (*Runtime, error) {
	o := buildOptions(opts)
	for _, dir := range []string{o.stateDir, o.logDir(), o.fifoDir(), o.netnsDir(), o.podDir()} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("containerd runtime: make state dir: %w (is the process root? see WithStateDir)", err)
		}
	}
	c, err := client.New(address,
		client.WithDefaultNamespace(o.namespace),
		client.WithDefaultRuntime(o.runtime),
		// Bounds both connecting and the wait between reconnection
		// attempts after containerd restarts.
		client.WithTimeout(2*time.Second),
		// containerd's own dialer retries a missing socket until its
		// timeout, whatever the context; this one gives up when asked,
		// and grpc's backoff does the retrying.
		client.WithExtraDialOpts([]grpc.DialOption{grpc.WithContextDialer(dialUnix)}),
	)
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: connect to %s: %w", address, err)
	}
	r := &Runtime{
		client:  c,
		opts:    o,
		clock:   o.clock,
		log:     o.log,
		net:     newNetwork(o),
		ctrdLog: containerdLogger(o.log),
		logs:    make(map[string]*logFile),
		oom:     make(map[string]bool),
		started: make(map[string]time.Time),
		images:  make(map[digest.Digest]imageInfo),
	}
	r.resolver, r.transport = newResolver(o)
	r.ctx, r.cancel = context.WithCancel(ctrdlog.WithLogger(namespaces.WithNamespace(context.Background(), o.namespace), r.ctrdLog))

	synced := make(chan struct{})
	r.wg.Add(1)
	go r.watch(synced)
	select {
	case <-synced:
	case <-ctx.Done():
		_ = r.Close()
		return nil, fmt.Errorf("containerd runtime: containerd at %s did not answer before the context ended: %w: %w (start containerd, check the address, or give New a longer context)",
			address, runtime.ErrUnavailable, ctx.Err())
	}
	for _, dir := range o.imageDirs {
		if _, err := r.ImportDir(ctx, dir); err != nil {
			r.log.Warn("import image dir", zap.String("dir", dir), zap.Error(err))
		}
	}
	return r, nil
}

// Close stops watching containerd, stops copying logs (containers keep
// running; their output waits in their pipes for the next Runtime, up to
// the pipe's capacity), closes every Events channel and the connection, and
// waits for every goroutine the Runtime started. Verbs called after Close
// fail. Close is idempotent.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	logs := make([]*logFile, 0, len(r.logs))
	for _, l := range r.logs {
		logs = append(logs, l)
	}
	r.mu.Unlock()

	r.cancel()
	for _, l := range logs {
		l.detach()
	}
	r.wg.Wait()
	r.dropLease()
	if r.transport != nil {
		r.transport.CloseIdleConnections()
	}
	return r.client.Close()
}

// dialUnix connects to containerd's socket at addr ("unix:///path" or a
// path).
func dialUnix(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", strings.TrimPrefix(addr, "unix://"))
}

// goAsync runs f in a goroutine that Close waits for, unless the Runtime is
// closed.
func (r *Runtime) goAsync(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// Version reports containerd's version. It is the node agent's health
// check: it fails with an error matching runtime.ErrUnavailable while
// containerd does not answer, and also while the Runtime is resubscribing to
// containerd's events after containerd came back (exits could be missed
// until then).
func (r *Runtime) Version(ctx context.Context) (runtime.VersionInfo, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.VersionInfo{}, err
	}
	v, err := r.client.Version(ctx)
	if err != nil {
		return runtime.VersionInfo{}, wrapErr(err, "version")
	}
	if !r.ready.Load() {
		return runtime.VersionInfo{}, errorf(runtime.ErrUnavailable, "containerd %s answers, but the Runtime is still resubscribing to its events; retry shortly", v.Version)
	}
	return runtime.VersionInfo{RuntimeName: RuntimeName, RuntimeVersion: v.Version}, nil
}

// ErrClosed is returned by verbs called after Close.
var ErrClosed = errors.New("containerd runtime: the Runtime is closed; make a new one with New")

// enter starts every verb: it fails when the Runtime is closed or ctx has
// ended, and returns ctx with the Runtime's containerd namespace.
func (r *Runtime) enter(ctx context.Context) (context.Context, error) {
	if r.ctx.Err() != nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("containerd runtime: %w", err)
	}
	return ctrdlog.WithLogger(namespaces.WithNamespace(ctx, r.opts.namespace), r.ctrdLog), nil
}

// background returns a context for work that must finish even if the
// caller's ctx ends (such as recording an exit), bounded by d and by Close.
func (r *Runtime) background(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, d)
}
