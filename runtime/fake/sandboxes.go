package fake

import (
	"context"
	"fmt"
	"slices"

	"github.com/batonhq/baton/runtime"
)

// podKey identifies the sandbox made for one attempt of one Pod.
type podKey struct {
	uid     string
	attempt uint32
}

// sandbox is a pod sandbox. Runtime.mu guards every field.
type sandbox struct {
	id string
	// config is the fake's own copy; its Labels is nil (see labels) and
	// its PortMappings and DNS are never mutated.
	config runtime.SandboxConfig
	labels labelSet
	ready  bool
	// ipSlot is 1 + the sandbox's IP offset in the pool, or 0 when it
	// has no IP (host network, or stopped).
	ipSlot  uint64
	created stamp
	// containers are the sandbox's containers in creation order.
	containers []*container
}

// RunPodSandbox creates a Ready sandbox with an IP from the pod CIDR (none
// for a host-network sandbox). If a Ready sandbox with the same UID and
// Attempt exists, it is returned instead. If a stopped one exists, the call
// fails with runtime.ErrAlreadyExists until it is removed. It fails when the
// pod CIDR has no free IP left, and with runtime.ErrInvalidArgument when
// config.DNS.Validate does. The DNS config is stored and returned, not
// written anywhere.
func (r *Runtime) RunPodSandbox(ctx context.Context, config runtime.SandboxConfig) (runtime.Sandbox, error) {
	if err := r.enter(ctx, "run pod sandbox"); err != nil {
		return runtime.Sandbox{}, err
	}
	if err := config.DNS.Validate(); err != nil {
		return runtime.Sandbox{}, fmt.Errorf("fake runtime: run pod sandbox for pod %s/%s: %w", config.Namespace, config.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := podKey{uid: config.UID, attempt: config.Attempt}
	if sb := r.byPod[key]; sb != nil {
		if sb.ready {
			return r.sandboxSnapshotLocked(sb), nil
		}
		return runtime.Sandbox{}, fmt.Errorf("fake runtime: run pod sandbox for pod %s/%s (UID %q) attempt %d: sandbox %s is stopped: %w; remove it or run the next attempt",
			config.Namespace, config.Name, config.UID, config.Attempt, sb.id, runtime.ErrAlreadyExists)
	}
	sb := &sandbox{ready: true, created: r.stamp(r.clock.Now())}
	if !config.HostNetwork {
		off, err := r.ipam.allocate()
		if err != nil {
			return runtime.Sandbox{}, fmt.Errorf("fake runtime: run pod sandbox for pod %s/%s: %w", config.Namespace, config.Name, err)
		}
		sb.ipSlot = off + 1
	}
	id, k := r.newIDLocked()
	sb.id = id
	sb.config = config
	sb.config.PortMappings = slices.Clone(config.PortMappings)
	sb.config.DNS = cloneDNS(config.DNS)
	sb.config.Labels = nil
	_, sb.labels = appendLabels(make([]string, 0, 2*len(config.Labels)), config.Labels)
	r.sandboxes[k] = sb
	r.byPod[key] = sb
	return r.sandboxSnapshotLocked(sb), nil
}

// StopPodSandbox kills the sandbox's running containers at once (exit code
// 137, reason Error, one ContainerExited event each), marks it NotReady and
// returns its IP to the pool. Stopping a stopped or missing sandbox
// succeeds.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	if err := r.enter(ctx, "stop pod sandbox"); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sb := r.sandboxLocked(id); sb != nil {
		r.stopSandboxLocked(sb)
	}
	return nil
}

func (r *Runtime) stopSandboxLocked(sb *sandbox) {
	if !sb.ready {
		return
	}
	now := r.clock.Now()
	for _, c := range sb.containers {
		if c.state == stateRunning {
			r.exitLocked(c, exitSIGKILL, runtime.ReasonError, "killed: pod sandbox stopped", now)
		}
	}
	sb.ready = false
	if sb.ipSlot != 0 {
		r.ipam.release(sb.ipSlot - 1)
		sb.ipSlot = 0
	}
}

// RemovePodSandbox stops the sandbox (see StopPodSandbox), removes its
// containers (one ContainerRemoved event each) and forgets it. Removing a
// missing sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	if err := r.enter(ctx, "remove pod sandbox"); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := r.sandboxLocked(id)
	if sb == nil {
		return nil
	}
	r.stopSandboxLocked(sb)
	now := r.clock.Now()
	for _, c := range sb.containers {
		r.removeContainerLocked(c, now, false)
	}
	sb.containers = nil
	delete(r.sandboxes, mustKey(id))
	key := podKey{uid: sb.config.UID, attempt: sb.config.Attempt}
	if r.byPod[key] == sb {
		delete(r.byPod, key)
	}
	return nil
}

// ListPodSandboxes returns the sandboxes whose labels include every label in
// filter, sorted by ID.
func (r *Runtime) ListPodSandboxes(ctx context.Context, filter map[string]string) ([]runtime.Sandbox, error) {
	if err := r.enter(ctx, "list pod sandboxes"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.listSandboxesLocked(filter), nil
}

func (r *Runtime) listSandboxesLocked(filter map[string]string) []runtime.Sandbox {
	var matched []*sandbox
	for _, sb := range r.sandboxes {
		if sb.labels.match(filter) {
			matched = append(matched, sb)
		}
	}
	sortByID(matched, func(sb *sandbox) string { return sb.id })
	out := make([]runtime.Sandbox, len(matched))
	for i, sb := range matched {
		out[i] = r.sandboxSnapshotLocked(sb)
	}
	return out
}

// sandboxSnapshotLocked returns a copy of sb that shares no memory with it.
func (r *Runtime) sandboxSnapshotLocked(sb *sandbox) runtime.Sandbox {
	out := runtime.Sandbox{
		ID:        sb.id,
		Config:    sb.config,
		State:     runtime.SandboxNotReady,
		CreatedAt: r.timeOf(sb.created),
	}
	out.Config.Labels = sb.labels.toMap()
	out.Config.PortMappings = slices.Clone(sb.config.PortMappings)
	out.Config.DNS = cloneDNS(sb.config.DNS)
	if sb.ready {
		out.State = runtime.SandboxReady
	}
	if sb.ipSlot != 0 {
		out.IP = r.ipam.addr(sb.ipSlot - 1).String()
	}
	return out
}

// cloneDNS returns a copy of dns that shares no memory with it; nil stays
// nil.
func cloneDNS(dns *runtime.DNSConfig) *runtime.DNSConfig {
	if dns == nil {
		return nil
	}
	return &runtime.DNSConfig{
		Servers:  slices.Clone(dns.Servers),
		Searches: slices.Clone(dns.Searches),
		Options:  slices.Clone(dns.Options),
	}
}
