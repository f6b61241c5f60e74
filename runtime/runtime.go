// Package runtime is the boundary between Baton and the software that runs
// containers. It is shaped like Kubernetes' CRI: it knows pod sandboxes (a
// network namespace shared by a Pod's containers), containers, images,
// exits, exec, stats and logs — not Pods, Deployments or Services, which the
// node agent translates into the specs below.
//
// Baton's node agent is the only caller. Implementations live in
// runtime/fake (in memory, for tests and simulation) and runtime/containerd.
// A third party can write another against this package alone; the
// conformance suite in runtime/runtimetest says whether it behaves.
//
// Every verb is idempotent where the doc says so, and the lifecycle that
// strings the verbs together — pull policy, create then start, stop then
// remove, tearing a sandbox down — is written once, in lifecycle.go, so that
// implementations only implement verbs.
package runtime

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
	"unicode"
)

// Runtime runs pod sandboxes and containers. Implementations are safe for
// concurrent use.
type Runtime interface {
	// Version names the runtime; the node agent calls it as a health check.
	Version(ctx context.Context) (VersionInfo, error)

	ImageService
	SandboxService
	ContainerService
	EventSource
	Execer
	StatsProvider
	LogReader
}

// VersionInfo names a runtime and its version.
type VersionInfo struct {
	RuntimeName    string
	RuntimeVersion string
}

// ImageService manages images.
type ImageService interface {
	// ImageStatus returns the image ref names, or an error matching
	// ErrNotFound when it is not present.
	ImageStatus(ctx context.Context, ref string) (Image, error)
	// PullImage fetches ref. It returns an error matching ErrImageNotFound
	// when no such image can be found.
	PullImage(ctx context.Context, ref string) (Image, error)
}

// Image is an image present on the node.
type Image struct {
	// Ref is the reference it was asked for by.
	Ref string
	// ID identifies its content, such as "sha256:…".
	ID string
	// Size is its unpacked size in bytes, if known.
	Size int64
}

// SandboxService manages pod sandboxes: the network namespace and other
// state that a Pod's containers share.
type SandboxService interface {
	// RunPodSandbox creates and starts a sandbox. If a ready sandbox with
	// the same UID and Attempt exists, it is returned instead: the call is
	// idempotent. A config whose DNS.Validate fails is refused with that
	// error (it matches ErrInvalidArgument), and nothing is created.
	RunPodSandbox(ctx context.Context, config SandboxConfig) (Sandbox, error)
	// StopPodSandbox kills every container of the sandbox at once and
	// releases its network. Stopping a stopped or missing sandbox succeeds.
	// Callers wanting a graceful stop stop the containers first (see
	// TearDownSandbox).
	StopPodSandbox(ctx context.Context, id string) error
	// RemovePodSandbox removes a sandbox and its containers. Removing a
	// missing sandbox succeeds.
	RemovePodSandbox(ctx context.Context, id string) error
	// ListPodSandboxes returns the sandboxes whose labels include every
	// label in filter; a nil filter returns all.
	ListPodSandboxes(ctx context.Context, filter map[string]string) ([]Sandbox, error)
}

// SandboxConfig describes a pod sandbox.
type SandboxConfig struct {
	// Name, Namespace and UID identify the Pod.
	Name      string
	Namespace string
	UID       string
	// Attempt counts sandboxes made for this Pod, from 0.
	Attempt uint32
	// Hostname is the hostname the containers see.
	Hostname string
	// Labels are stored with the sandbox and returned by List.
	Labels map[string]string
	// HostNetwork runs the sandbox in the host's network namespace.
	HostNetwork bool
	// PortMappings forward host ports into the sandbox.
	PortMappings []PortMapping
	// DNS, when not nil, is the sandbox's resolv.conf; nil means the
	// host's. It applies to host-network sandboxes too (Kubernetes'
	// ClusterFirstWithHostNet).
	DNS *DNSConfig
}

// DNSConfig is the resolver configuration of a sandbox's containers: the
// lines of its /etc/resolv.conf.
type DNSConfig struct {
	// Servers are the nameserver addresses (IP addresses).
	Servers []string
	// Searches are the search domains, in order.
	Searches []string
	// Options are resolver options such as "ndots:5" or "edns0".
	Options []string
}

// Validate returns an error matching ErrInvalidArgument that names the
// first entry of c that a resolv.conf cannot hold: a server that is not an
// IP address (as net/netip parses it), or a search domain or option that
// is empty or holds white space (which would split it in two, or start a
// line of its own). A nil c, the host's resolv.conf, is valid; so is an
// empty one, which makes an empty resolv.conf.
func (c *DNSConfig) Validate() error {
	if c == nil {
		return nil
	}
	for i, s := range c.Servers {
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("DNS.Servers[%d] %q is not an IP address: %w", i, s, ErrInvalidArgument)
		}
	}
	for _, f := range []struct {
		name   string
		values []string
	}{{"Searches", c.Searches}, {"Options", c.Options}} {
		for i, v := range f.values {
			if v == "" || strings.ContainsFunc(v, unicode.IsSpace) {
				return fmt.Errorf("DNS.%s[%d] %q is empty or holds white space: %w", f.name, i, v, ErrInvalidArgument)
			}
		}
	}
	return nil
}

// PortMapping forwards a host port to a port of the sandbox.
type PortMapping struct {
	// Protocol is "TCP" or "UDP".
	Protocol      string
	ContainerPort int32
	HostPort      int32
	HostIP        string
}

// Sandbox is the observed state of a pod sandbox.
type Sandbox struct {
	ID     string
	Config SandboxConfig
	State  SandboxState
	// IP is the sandbox's address; empty for host-network sandboxes.
	IP        string
	CreatedAt time.Time
}

// SandboxState is Ready or NotReady.
type SandboxState string

// Sandbox states.
const (
	SandboxReady    SandboxState = "Ready"
	SandboxNotReady SandboxState = "NotReady"
)

// ContainerService manages containers. A container moves Created → Running
// → Exited and is then removed; see ContainerState.
type ContainerService interface {
	// CreateContainer creates a container in the sandbox from config.
	// The image must be present (see EnsureImage).
	CreateContainer(ctx context.Context, sandboxID string, config ContainerConfig) (Container, error)
	// StartContainer starts a Created container. Starting a container in
	// another state fails with ErrFailedPrecondition.
	StartContainer(ctx context.Context, id string) error
	// StopContainer asks a running container to stop with SIGTERM, then
	// kills it with SIGKILL once grace has passed, and returns after it has
	// exited. Stopping a container that is not running succeeds.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer removes a container, killing it first if it runs.
	// Removing a missing container succeeds.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerStatus returns a container's state, or ErrNotFound.
	ContainerStatus(ctx context.Context, id string) (Container, error)
	// ListContainers returns the containers matching filter.
	ListContainers(ctx context.Context, filter ContainerFilter) ([]Container, error)
}

// ContainerConfig describes a container.
type ContainerConfig struct {
	// Name is the container's name within its Pod.
	Name string
	// Attempt counts the containers made for this name in this sandbox,
	// from 0; it is the restart count.
	Attempt uint32
	// Image is the image reference.
	Image string
	// Command replaces the image's entrypoint when set; Args its cmd.
	Command []string
	Args    []string
	// Env holds "NAME=value" pairs, in order.
	Env []string
	// WorkingDir replaces the image's working directory when set.
	WorkingDir string
	// Labels are stored with the container and returned by List.
	Labels map[string]string
	// Resources limit the container.
	Resources Resources
	// Mounts bind host paths into the container.
	Mounts []Mount
}

// Mount binds a host path (a directory or a file) into a container.
type Mount struct {
	// HostPath is the absolute path on the host.
	HostPath string
	// ContainerPath is the absolute path in the container.
	ContainerPath string
	// ReadOnly mounts it read-only.
	ReadOnly bool
}

// Resources are a container's resource requests and limits. Zero means
// unset.
type Resources struct {
	CPURequestMilli  int64
	CPULimitMilli    int64
	MemoryLimitBytes int64
}

// ContainerFilter selects containers. Zero fields match everything.
type ContainerFilter struct {
	ID        string
	SandboxID string
	State     ContainerState
	// Labels must all be present with these values.
	Labels map[string]string
}

// Container is the observed state of a container.
type Container struct {
	ID        string
	SandboxID string
	// Config is the config the container was created from.
	Config ContainerConfig
	// ImageID identifies the image content the container runs.
	ImageID string
	State   ContainerState
	// CreatedAt, StartedAt and FinishedAt are zero until they happen.
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// ExitCode and Reason describe an Exited container. Reason is
	// "Completed", "Error" or "OOMKilled".
	ExitCode int32
	Reason   string
	Message  string
}

// ContainerState is a step of the container lifecycle.
type ContainerState string

// Container states.
const (
	ContainerCreated ContainerState = "Created"
	ContainerRunning ContainerState = "Running"
	ContainerExited  ContainerState = "Exited"
	ContainerUnknown ContainerState = "Unknown"
)

// Exit reasons of containers.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
)

// EventSource reports container lifecycle events.
type EventSource interface {
	// Events returns a channel of events that closes when ctx ends. Every
	// exit is reported; under pressure an implementation may drop events,
	// so callers also relist now and then.
	Events(ctx context.Context) (<-chan Event, error)
}

// Event is a change of a container's state.
type Event struct {
	Type        EventType
	ContainerID string
	SandboxID   string
	// Labels are the container's labels, so a subscriber can tell whose it
	// is without a lookup.
	Labels map[string]string
	// ExitCode and Reason are set for ContainerExited.
	ExitCode int32
	Reason   string
	At       time.Time
}

// EventType names a container event.
type EventType string

// Container event types.
const (
	ContainerCreatedEvent EventType = "ContainerCreated"
	ContainerStartedEvent EventType = "ContainerStarted"
	ContainerExitedEvent  EventType = "ContainerExited"
	ContainerRemovedEvent EventType = "ContainerRemoved"
)

// Execer runs commands in running containers.
type Execer interface {
	// Exec runs cmd in the container, copying its output to the writers in
	// opts, and returns its exit code. A non-zero exit is not an error.
	Exec(ctx context.Context, id string, cmd []string, opts ExecOptions) (exitCode int, err error)
}

// ExecOptions wires an exec's standard streams; nil discards.
type ExecOptions struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// StatsProvider reports resource usage.
type StatsProvider interface {
	// ContainerStats returns the current usage of a running container.
	ContainerStats(ctx context.Context, id string) (Stats, error)
}

// Stats is a container's resource usage at one moment.
type Stats struct {
	Timestamp time.Time
	// CPUUsageNanos is the cumulative CPU time used, in nanoseconds.
	CPUUsageNanos uint64
	// MemoryWorkingSetBytes is memory in use that cannot be reclaimed.
	MemoryWorkingSetBytes uint64
}

// LogReader reads container logs.
type LogReader interface {
	// ContainerLogs writes the container's output (stdout and stderr
	// interleaved, one line per write) to w. With Follow it keeps writing
	// until the container exits or ctx ends.
	ContainerLogs(ctx context.Context, id string, opts LogOptions, w io.Writer) error
}

// LogOptions select log lines.
type LogOptions struct {
	// TailLines, when positive, starts with the last that many lines.
	TailLines int
	// Follow keeps streaming new lines.
	Follow bool
}
