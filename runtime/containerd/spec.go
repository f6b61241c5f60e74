package containerd

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/batonhq/baton/runtime"
)

// CFS period and the least quota and shares the kernel takes, as the
// kubelet sets them.
const (
	cpuPeriod   = 100_000 // µs
	minCPUQuota = 1_000   // µs
	minShares   = 2
	maxShares   = 262_144
)

// specOpts returns how to build the OCI spec of a container from cfg in
// sandbox sb, on top of containerd's defaults (default capabilities,
// masked and read-only paths, private PID, IPC, UTS and mount namespaces)
// and the image's config (entrypoint, cmd, env, working dir, user).
func (r *Runtime) specOpts(id string, sb sandboxRecord, cfg runtime.ContainerConfig, img client.Image) []oci.SpecOpts {
	opts := []oci.SpecOpts{oci.WithCgroup(path.Join("/", r.opts.cgroupParent, id))}
	// Command and args as the kubelet reads them: command replaces the
	// entrypoint (and then the image's cmd is dropped); args replace cmd.
	switch {
	case len(cfg.Command) > 0:
		opts = append(opts, oci.WithImageConfig(img), oci.WithProcessArgs(append(append([]string{}, cfg.Command...), cfg.Args...)...))
	case len(cfg.Args) > 0:
		opts = append(opts, oci.WithImageConfigArgs(img, cfg.Args))
	default:
		opts = append(opts, oci.WithImageConfig(img))
	}
	if len(cfg.Env) > 0 {
		opts = append(opts, oci.WithEnv(cfg.Env))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if sb.config.Hostname != "" {
		opts = append(opts, oci.WithHostname(sb.config.Hostname))
	}

	// The Pod's network, and the files that name it, unless the config
	// mounts its own there.
	podDir := r.podPath(sb.id)
	podFiles := map[string]string{"/etc/hostname": filepath.Join(podDir, "hostname")}
	if sb.config.HostNetwork {
		podFiles["/etc/hosts"], podFiles["/etc/resolv.conf"] = "/etc/hosts", "/etc/resolv.conf"
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace))
	} else {
		podFiles["/etc/hosts"], podFiles["/etc/resolv.conf"] = filepath.Join(podDir, "hosts"), filepath.Join(podDir, "resolv.conf")
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: sb.netns}))
	}
	if sb.config.DNS != nil {
		// The sandbox's own resolver, on the host's network too (Kubernetes'
		// ClusterFirstWithHostNet).
		podFiles["/etc/resolv.conf"] = filepath.Join(podDir, "resolv.conf")
	}
	var mounts []specs.Mount
	for _, dst := range []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"} {
		if !slices.ContainsFunc(cfg.Mounts, func(m runtime.Mount) bool { return path.Clean(m.ContainerPath) == dst }) {
			mounts = append(mounts, bindMount(podFiles[dst], dst, true))
		}
	}
	// The config's mounts, parents before what they hold, as the kubelet
	// orders them.
	user := slices.Clone(cfg.Mounts)
	slices.SortStableFunc(user, func(a, b runtime.Mount) int {
		return strings.Count(path.Clean(a.ContainerPath), "/") - strings.Count(path.Clean(b.ContainerPath), "/")
	})
	for _, m := range user {
		mounts = append(mounts, bindMount(m.HostPath, path.Clean(m.ContainerPath), m.ReadOnly))
	}
	opts = append(opts, oci.WithMounts(mounts), oci.WithNoNewPrivileges)
	if r.opts.seccomp {
		opts = append(opts, seccomp.WithDefaultProfile())
	}

	res := cfg.Resources
	if res.CPURequestMilli > 0 {
		opts = append(opts, oci.WithCPUShares(milliCPUToShares(res.CPURequestMilli)))
	}
	if res.CPULimitMilli > 0 {
		opts = append(opts, oci.WithCPUCFS(milliCPUToQuota(res.CPULimitMilli), cpuPeriod))
	}
	if res.MemoryLimitBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(res.MemoryLimitBytes)))
		if swapAccounting() {
			// No swap beyond the limit, as the kubelet does.
			opts = append(opts, oci.WithMemorySwap(res.MemoryLimitBytes))
		}
	}
	return opts
}

// bindMount binds the host file or directory src (and what is mounted
// under it) at dst.
func bindMount(src, dst string, readOnly bool) specs.Mount {
	mode := "rw"
	if readOnly {
		mode = "ro"
	}
	return specs.Mount{Source: src, Destination: dst, Type: "bind", Options: []string{"rbind", "rprivate", mode}}
}

// checkMounts returns an error naming the first mount of cfg that cannot
// be made.
func checkMounts(cfg runtime.ContainerConfig) error {
	for _, m := range cfg.Mounts {
		if !path.IsAbs(m.HostPath) || !path.IsAbs(m.ContainerPath) {
			return fmt.Errorf("mount %q at %q: both paths must be absolute", m.HostPath, m.ContainerPath)
		}
		if _, err := os.Stat(m.HostPath); err != nil {
			return fmt.Errorf("mount %q at %q: %w", m.HostPath, m.ContainerPath, err)
		}
	}
	return nil
}

// milliCPUToShares converts a CPU request to cgroup CPU shares, as the
// kubelet does: 1000m is 1024 shares.
func milliCPUToShares(milli int64) uint64 {
	shares := milli * 1024 / 1000
	switch {
	case shares < minShares:
		return minShares
	case shares > maxShares:
		return maxShares
	}
	return uint64(shares)
}

// milliCPUToQuota converts a CPU limit to a CFS quota over cpuPeriod.
func milliCPUToQuota(milli int64) int64 {
	quota := milli * cpuPeriod / 1000
	if quota < minCPUQuota {
		return minCPUQuota
	}
	return quota
}

// swapAccounting reports whether the memory cgroup (v1) can limit swap.
func swapAccounting() bool {
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}
