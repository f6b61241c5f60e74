package containerd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/netns"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sync/errgroup"

	"github.com/batonhq/baton/runtime"
)

// podPath is the directory of the files sandbox id's containers mount.
func (r *Runtime) podPath(id string) string { return filepath.Join(r.opts.podDir(), id) }

// sandboxLock is the key that serialises the verbs on sandbox id.
func sandboxLock(id string) string { return "sandbox/" + id }

// RunPodSandbox makes a sandbox: a new network namespace attached to the
// CNI network (its IP is Sandbox.IP; PortMappings become host ports through
// portmap), or the host's network namespace for HostNetwork; and the
// /etc/hostname, /etc/hosts and /etc/resolv.conf its containers mount. The
// resolv.conf is written from config.DNS when it is set, as the kubelet
// writes one, for HostNetwork too; without DNS it is a copy of the host's
// (for HostNetwork, the host's own file). HostNetwork sandboxes mount the
// host's hosts file. A config.DNS that DNS.Validate refuses fails the call
// with an error matching runtime.ErrInvalidArgument, before anything is
// made. If a Ready sandbox with the same UID and Attempt exists it is
// returned instead; if a NotReady one does, the call fails with an error
// matching runtime.ErrAlreadyExists until it is removed. The sandbox
// survives restarts of Baton and of containerd: it is a containerd
// container record without a task.
func (r *Runtime) RunPodSandbox(ctx context.Context, config runtime.SandboxConfig) (runtime.Sandbox, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Sandbox{}, err
	}
	if err := config.DNS.Validate(); err != nil {
		return runtime.Sandbox{}, fmt.Errorf("containerd runtime: run pod sandbox for pod %s/%s: %w", config.Namespace, config.Name, err)
	}
	cfg := copySandboxConfig(config)
	unlock := r.locks.lock("pod/" + cfg.UID)
	defer unlock()

	sbs, err := r.listSandboxes(ctx, cfg.UID)
	if err != nil {
		return runtime.Sandbox{}, err
	}
	for _, sb := range sbs {
		if sb.config.UID != cfg.UID || sb.config.Attempt != cfg.Attempt {
			continue
		}
		if r.sandboxReady(sb) {
			return r.describeSandbox(sb), nil
		}
		return runtime.Sandbox{}, errorf(runtime.ErrAlreadyExists, "run pod sandbox for pod %s/%s (UID %q) attempt %d: sandbox %s is not ready; remove it or run the next attempt",
			cfg.Namespace, cfg.Name, cfg.UID, cfg.Attempt, sb.id)
	}

	sb := sandboxRecord{id: newID(), config: cfg, state: stateReady}
	if err := r.writePodFiles(sb); err != nil {
		return runtime.Sandbox{}, err
	}
	if cfg.HostNetwork {
		if sb, err = r.createSandboxRecord(ctx, sb); err != nil {
			_ = os.RemoveAll(r.podPath(sb.id))
			return runtime.Sandbox{}, err
		}
		return r.describeSandbox(sb), nil
	}

	r.netnsMu.RLock()
	ns, err := netns.NewNetNS(r.opts.netnsDir())
	if err != nil {
		r.netnsMu.RUnlock()
		_ = os.RemoveAll(r.podPath(sb.id))
		return runtime.Sandbox{}, fmt.Errorf("containerd runtime: run pod sandbox: make a network namespace: %w (the Runtime needs root)", err)
	}
	sb.netns, sb.state = ns.GetPath(), stateNotReady
	sb, err = r.createSandboxRecord(ctx, sb)
	r.netnsMu.RUnlock()
	if err != nil {
		_ = ns.Remove()
		_ = os.RemoveAll(r.podPath(sb.id))
		return runtime.Sandbox{}, err
	}
	ip, err := r.net.setup(ctx, sb.id, sb.netns, cfg)
	if err == nil {
		sb.ip = ip
		err = r.writeHosts(sb)
	}
	if err == nil {
		sb.state = stateReady
		err = r.updateLabels(ctx, sb.id, map[string]string{labelIP: ip, labelState: stateReady})
	}
	if err != nil {
		cctx, cancel := r.background(time.Minute)
		defer cancel()
		if rerr := r.removeSandboxLocked(cctx, sb); rerr != nil {
			err = errors.Join(err, fmt.Errorf("and cleaning up: %w", rerr))
		}
		return runtime.Sandbox{}, err
	}
	return r.describeSandbox(sb), nil
}

// createSandboxRecord stores sb in containerd and returns it with its
// creation time.
func (r *Runtime) createSandboxRecord(ctx context.Context, sb sandboxRecord) (sandboxRecord, error) {
	spec, err := typeurl.MarshalAny(&specs.Spec{Version: specs.Version, Hostname: sb.config.Hostname})
	if err != nil {
		return sb, fmt.Errorf("containerd runtime: encode sandbox spec: %w", err)
	}
	ext, err := typeurl.MarshalAny(&sandboxConfig{sb.config})
	if err != nil {
		return sb, fmt.Errorf("containerd runtime: encode sandbox config: %w", err)
	}
	labels := make(map[string]string, len(sb.config.Labels)+6)
	for k, v := range sb.config.Labels {
		if !strings.HasPrefix(k, runtimeLabelPrefix) {
			labels[k] = v
		}
	}
	maps.Copy(labels, map[string]string{
		labelKind:    kindSandbox,
		labelPodUID:  sb.config.UID,
		labelAttempt: strconv.FormatUint(uint64(sb.config.Attempt), 10),
		labelState:   sb.state,
	})
	if sb.netns != "" {
		labels[labelNetNS] = sb.netns
	}
	c, err := r.client.ContainerService().Create(ctx, containers.Container{
		ID:         sb.id,
		Labels:     labels,
		Runtime:    containers.RuntimeInfo{Name: r.opts.runtime},
		Spec:       spec,
		Extensions: map[string]typeurl.Any{extSandboxConfig: ext},
	})
	if err != nil {
		return sb, wrapErr(err, "store sandbox for pod %s/%s", sb.config.Namespace, sb.config.Name)
	}
	sb.createdAt = c.CreatedAt
	return sb, nil
}

// updateLabels sets labels of record id; an empty value removes a label.
func (r *Runtime) updateLabels(ctx context.Context, id string, labels map[string]string) error {
	paths := make([]string, 0, len(labels))
	for k := range labels {
		paths = append(paths, "labels."+k)
	}
	_, err := r.client.ContainerService().Update(ctx, containers.Container{ID: id, Labels: labels}, paths...)
	return wrapErr(err, "update record %s", id)
}

// sandboxReady reports whether sb can run containers: it is marked ready,
// and its network namespace is still mounted (a reboot unmounts it).
func (r *Runtime) sandboxReady(sb sandboxRecord) bool {
	return sb.state == stateReady && (sb.config.HostNetwork || netnsMounted(sb.netns))
}

// describeSandbox returns sb as the runtime package names sandboxes.
func (r *Runtime) describeSandbox(sb sandboxRecord) runtime.Sandbox {
	out := runtime.Sandbox{
		ID:        sb.id,
		Config:    copySandboxConfig(sb.config),
		State:     runtime.SandboxNotReady,
		CreatedAt: sb.createdAt,
	}
	if r.sandboxReady(sb) {
		out.State = runtime.SandboxReady
		out.IP = sb.ip
	}
	return out
}

// getSandbox returns sandbox id, or an error matching runtime.ErrNotFound.
func (r *Runtime) getSandbox(ctx context.Context, id string) (sandboxRecord, error) {
	c, err := r.client.ContainerService().Get(ctx, id)
	if err != nil {
		return sandboxRecord{}, wrapErr(err, "sandbox %s", id)
	}
	return decodeSandbox(c)
}

// listSandboxes returns the sandboxes of the Pod with UID podUID, or every
// sandbox when it is empty, oldest first.
func (r *Runtime) listSandboxes(ctx context.Context, podUID string) ([]sandboxRecord, error) {
	filter := `labels."` + labelKind + `"==` + kindSandbox
	if podUID != "" && !strings.ContainsAny(podUID, `",\`) {
		// Otherwise the caller picks the Pod's from all of them.
		filter += `,labels."` + labelPodUID + `"=="` + podUID + `"`
	}
	cs, err := r.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, wrapErr(err, "list sandboxes")
	}
	out := make([]sandboxRecord, 0, len(cs))
	for _, c := range cs {
		sb, err := decodeSandbox(c)
		if err != nil {
			continue
		}
		out = append(out, sb)
	}
	slices.SortFunc(out, func(a, b sandboxRecord) int {
		if c := a.createdAt.Compare(b.createdAt); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out, nil
}

// ListPodSandboxes returns the sandboxes whose config's labels include
// every label in filter, oldest first.
func (r *Runtime) ListPodSandboxes(ctx context.Context, filter map[string]string) ([]runtime.Sandbox, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	sbs, err := r.listSandboxes(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []runtime.Sandbox
	for _, sb := range sbs {
		if runtime.MatchLabels(sb.config.Labels, filter) {
			out = append(out, r.describeSandbox(sb))
		}
	}
	return out, nil
}

// StopPodSandbox kills the sandbox's running containers with SIGKILL at
// once (each exit is recorded and reported, with the message "killed: pod
// sandbox stopped"), detaches it from the network (releasing its IP and
// host ports) and removes its network namespace. It is then NotReady for
// good. Stopping a stopped or missing sandbox succeeds.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	return r.withSandbox(ctx, id, r.stopSandboxLocked)
}

// withSandbox calls fn with sandbox id under its lock; a missing sandbox
// is no error and fn is not called.
func (r *Runtime) withSandbox(ctx context.Context, id string, fn func(context.Context, sandboxRecord) error) error {
	ctx, err := r.enter(ctx)
	if err != nil {
		return err
	}
	unlock := r.locks.lock(sandboxLock(id))
	defer unlock()
	sb, err := r.getSandbox(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return fn(ctx, sb)
}

func (r *Runtime) stopSandboxLocked(ctx context.Context, sb sandboxRecord) error {
	cs, err := r.listContainerRecords(ctx, sb.id)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range cs {
		g.Go(func() error {
			unlock := r.locks.lock(c.id)
			defer unlock()
			return r.stopLocked(gctx, c.id, 0, "killed: pod sandbox stopped")
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("containerd runtime: stop sandbox %s: %w", sb.id, err)
	}
	if sb.state == stateNotReady && sb.netns == "" {
		return nil
	}
	if sb.netns != "" {
		path := sb.netns
		if !netnsMounted(path) {
			path = "" // gone (a reboot): release the IP all the same
		}
		if !sb.config.HostNetwork {
			if err := r.net.teardown(ctx, sb.id, path, sb.config); err != nil {
				return err
			}
		}
		if err := netns.LoadNetNS(sb.netns).Remove(); err != nil {
			return fmt.Errorf("containerd runtime: stop sandbox %s: remove its network namespace: %w", sb.id, err)
		}
	}
	return r.updateLabels(ctx, sb.id, map[string]string{labelState: stateNotReady, labelIP: "", labelNetNS: ""})
}

// RemovePodSandbox stops the sandbox (see StopPodSandbox), removes its
// containers (reporting each removal), its logs and pod files, and forgets
// it. Removing a missing sandbox succeeds.
func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	return r.withSandbox(ctx, id, r.removeSandboxLocked)
}

func (r *Runtime) removeSandboxLocked(ctx context.Context, sb sandboxRecord) error {
	if err := r.stopSandboxLocked(ctx, sb); err != nil {
		return err
	}
	cs, err := r.listContainerRecords(ctx, sb.id)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := r.removeContainer(ctx, c.id); err != nil {
			return fmt.Errorf("containerd runtime: remove sandbox %s: %w", sb.id, err)
		}
	}
	if err := r.client.ContainerService().Delete(ctx, sb.id); err != nil && !errdefs.IsNotFound(err) {
		return wrapErr(err, "remove sandbox %s", sb.id)
	}
	if err := os.RemoveAll(r.podPath(sb.id)); err != nil {
		return fmt.Errorf("containerd runtime: remove sandbox %s: %w", sb.id, err)
	}
	if err := os.RemoveAll(filepath.Join(r.opts.logDir(), sb.id)); err != nil {
		return fmt.Errorf("containerd runtime: remove sandbox %s: its logs: %w", sb.id, err)
	}
	return nil
}

// writePodFiles writes sb's hostname, its resolv.conf (from its DNS config,
// or else a copy of the host's) and a hosts file without the Pod's IP. For
// a host-network sandbox, whose containers mount the host's hosts file and,
// without a DNS config, the host's resolv.conf, it writes only the hostname
// and the resolv.conf of a DNS config.
func (r *Runtime) writePodFiles(sb sandboxRecord) error {
	dir := r.podPath(sb.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("containerd runtime: make pod dir: %w", err)
	}
	hostname := sb.config.Hostname
	if hostname == "" {
		hostname = sb.config.Name
	}
	if err := os.WriteFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return fmt.Errorf("containerd runtime: write pod file: %w", err)
	}
	var resolv []byte
	switch {
	case sb.config.DNS != nil:
		resolv = resolvConf(sb.config.DNS)
	case sb.config.HostNetwork:
		return nil // the host's hosts and resolv.conf are mounted
	default:
		var err error
		resolv, err = os.ReadFile("/etc/resolv.conf")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("containerd runtime: read the host's resolv.conf: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), resolv, 0o644); err != nil {
		return fmt.Errorf("containerd runtime: write pod file: %w", err)
	}
	if sb.config.HostNetwork {
		return nil
	}
	return r.writeHosts(sb)
}

// resolvConf returns the resolv.conf of dns as the kubelet writes one: a
// "nameserver" line per server, then one "search" line and one "options"
// line, each only when there is something to put on it. dns has passed
// Validate, so no entry can split a line.
func resolvConf(dns *runtime.DNSConfig) []byte {
	var b strings.Builder
	for _, s := range dns.Servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(dns.Searches) > 0 {
		b.WriteString("search " + strings.Join(dns.Searches, " ") + "\n")
	}
	if len(dns.Options) > 0 {
		b.WriteString("options " + strings.Join(dns.Options, " ") + "\n")
	}
	return []byte(b.String())
}

// writeHosts writes sb's hosts file, naming its IP once it has one.
func (r *Runtime) writeHosts(sb sandboxRecord) error {
	hostname := sb.config.Hostname
	if hostname == "" {
		hostname = sb.config.Name
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if sb.ip != "" {
		hosts += sb.ip + "\t" + hostname + "\n"
	}
	if err := os.WriteFile(filepath.Join(r.podPath(sb.id), "hosts"), []byte(hosts), 0o644); err != nil {
		return fmt.Errorf("containerd runtime: write pod hosts file: %w", err)
	}
	return nil
}
