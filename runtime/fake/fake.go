package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
)

// DefaultPodCIDR is the range sandbox IPs come from unless WithPodCIDR says
// otherwise; it is the default network of containerd's and Podman's CNI
// configurations.
const DefaultPodCIDR = "10.88.0.0/16"

// DefaultName is the RuntimeName Version reports unless WithName says
// otherwise.
const DefaultName = "fake"

// runtimeVersion is the RuntimeVersion Version reports.
const runtimeVersion = "0.1.0"

// Runtime is an in-memory runtime.Runtime; see the package doc for what it
// simulates and what it does not. Make one with New. It is safe for
// concurrent use. Every value it returns is a copy that the caller may
// mutate, and every value it is given is copied, so the caller may reuse it.
type Runtime struct {
	clock clock.Clock
	name  string
	// epoch is the clock's time at New; records keep times as stamps
	// relative to it.
	epoch time.Time

	// unavailable is set by SetUnavailable; every verb reads it first.
	unavailable atomic.Bool

	mu sync.Mutex // guards every field below, and every field of every sandbox, container, rule and subscriber list
	// nextID numbers sandboxes and containers.
	nextID uint64
	// ipam hands out sandbox IPs.
	ipam *ipam
	// sandboxes and containers are keyed by the number in their ID
	// (see idKey); byPod keys sandboxes by pod UID and attempt for
	// RunPodSandbox's idempotence.
	sandboxes  map[uint64]*sandbox
	byPod      map[podKey]*sandbox
	containers map[uint64]*container
	// images holds the present images by ref; missing the refs that
	// SetImageMissing made unpullable; pulls counts PullImage calls by ref.
	images  map[string]runtime.Image
	missing map[string]bool
	pulls   map[string]int
	// running counts Running containers; starts counts successful starts
	// by container name.
	running int
	starts  map[string]int
	// rules are SetBehavior's rules, oldest first; rulesGen counts
	// SetBehavior calls so containers know when to look their rule up again.
	rules    []*rule
	rulesGen uint64
	// subs are the Events subscribers.
	subs []*subscriber
}

var _ runtime.Runtime = (*Runtime)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	clock   clock.Clock
	images  []string
	podCIDR string
	name    string
}

// WithClock sets the clock that timestamps, start delays, exit delays and
// grace periods read. The default is clock.Real(). With a clock.Fake,
// nothing that waits on time happens until the test advances the clock.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithImages makes refs present from the start, as if pulled. Repeated
// options add up.
func WithImages(refs ...string) Option {
	return func(o *options) { o.images = append(o.images, refs...) }
}

// WithPodCIDR sets the IPv4 or IPv6 range that sandbox IPs are allocated
// from (default DefaultPodCIDR). The range's network address and first host
// address (the gateway) are never allocated, nor an IPv4 broadcast address;
// at most 1<<24 addresses of a larger range are used. New panics if cidr
// does not parse or leaves no address to allocate.
func WithPodCIDR(cidr string) Option { return func(o *options) { o.podCIDR = cidr } }

// WithName sets the RuntimeName that Version reports (default DefaultName),
// which helps tell many fake nodes apart.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// New returns an empty fake runtime configured by opts.
func New(opts ...Option) *Runtime {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = clock.Real()
	}
	if o.podCIDR == "" {
		o.podCIDR = DefaultPodCIDR
	}
	if o.name == "" {
		o.name = DefaultName
	}
	pool, err := newIPAM(o.podCIDR)
	if err != nil {
		panic(fmt.Sprintf("fake.New: WithPodCIDR: %v", err))
	}
	r := &Runtime{
		clock:      o.clock,
		name:       o.name,
		epoch:      o.clock.Now(),
		ipam:       pool,
		sandboxes:  make(map[uint64]*sandbox),
		byPod:      make(map[podKey]*sandbox),
		containers: make(map[uint64]*container),
		images:     make(map[string]runtime.Image),
		missing:    make(map[string]bool),
		pulls:      make(map[string]int),
		starts:     make(map[string]int),
	}
	for _, ref := range o.images {
		r.images[ref] = makeImage(ref)
	}
	return r
}

// Version reports the name set by WithName.
func (r *Runtime) Version(ctx context.Context) (runtime.VersionInfo, error) {
	if err := r.enter(ctx, "version"); err != nil {
		return runtime.VersionInfo{}, err
	}
	return runtime.VersionInfo{RuntimeName: r.name, RuntimeVersion: runtimeVersion}, nil
}

// SetUnavailable makes every runtime.Runtime method fail with an error
// wrapping runtime.ErrUnavailable while unavailable is true, as if the
// runtime's daemon had died. Containers keep their state meanwhile (their
// scripted exits still happen) and open Events channels stay open, as
// containers outlive a restarted containerd. The fake's own controls and
// inspection methods keep working.
func (r *Runtime) SetUnavailable(unavailable bool) { r.unavailable.Store(unavailable) }

// Running returns how many containers are Running.
func (r *Runtime) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// Starts returns how many times containers named containerName (in any
// sandbox) have been started successfully. A restarted Pod's container is a
// new container with the same name, so this counts restarts plus one.
func (r *Runtime) Starts(containerName string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[containerName]
}

// Containers returns a snapshot of every container, sorted by ID (creation
// order). It is ListContainers without a context, filter or failure mode.
func (r *Runtime) Containers() []runtime.Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listContainersLocked(runtime.ContainerFilter{})
}

// Sandboxes returns a snapshot of every sandbox, sorted by ID (creation
// order). It is ListPodSandboxes without a context, filter or failure mode.
func (r *Runtime) Sandboxes() []runtime.Sandbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listSandboxesLocked(nil)
}

// enter is the first step of every runtime.Runtime method: it fails when
// ctx has ended or SetUnavailable is in effect.
func (r *Runtime) enter(ctx context.Context, verb string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake runtime: %s: %w", verb, err)
	}
	if r.unavailable.Load() {
		return fmt.Errorf("fake runtime: %s: %w (SetUnavailable(true) is in effect; retry after SetUnavailable(false))", verb, runtime.ErrUnavailable)
	}
	return nil
}

// newIDLocked returns the next ID, 16 lowercase hex digits, and the number
// it spells, which keys the maps: a uint64 key makes map entries smaller
// and faster to hash than a string one.
func (r *Runtime) newIDLocked() (string, uint64) {
	r.nextID++
	const digits = "0123456789abcdef"
	var b [16]byte
	n := r.nextID
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:]), r.nextID
}

// idKey returns the number an ID spells, and false for a string that is no
// ID of the fake's.
func idKey(id string) (uint64, bool) {
	if len(id) != 16 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

// mustKey returns the number of an ID the fake made.
func mustKey(id string) uint64 {
	n, ok := idKey(id)
	if !ok {
		panic("fake: malformed internal ID " + id)
	}
	return n
}

// containerLocked returns container id, or nil.
func (r *Runtime) containerLocked(id string) *container {
	if n, ok := idKey(id); ok {
		return r.containers[n]
	}
	return nil
}

// sandboxLocked returns sandbox id, or nil.
func (r *Runtime) sandboxLocked(id string) *sandbox {
	if n, ok := idKey(id); ok {
		return r.sandboxes[n]
	}
	return nil
}

// stamp is a time kept as 8 bytes instead of a time.Time's 24: the
// nanoseconds since the Runtime's epoch, plus one for times not before it,
// so that zero means "not yet".
type stamp int64

// stamp returns t as a stamp.
func (r *Runtime) stamp(t time.Time) stamp {
	d := t.Sub(r.epoch)
	if d >= 0 {
		d++
	}
	return stamp(d)
}

// timeOf returns the time s stands for, in the epoch's location (and with
// its monotonic reading, on the real clock); the zero time for zero.
func (r *Runtime) timeOf(s stamp) time.Time {
	switch {
	case s == 0:
		return time.Time{}
	case s > 0:
		s--
	}
	return r.epoch.Add(time.Duration(s))
}

// sortByID sorts records whose ID is returned by id; IDs are fixed-width,
// so this is creation order.
func sortByID[T any](s []T, id func(T) string) {
	slices.SortFunc(s, func(a, b T) int { return strings.Compare(id(a), id(b)) })
}
