// Package containerd is a runtime.Runtime that runs real containers with
// containerd, through its Go client, and networks them with CNI plugins.
//
// An edge appliance points Baton at its containerd socket:
//
//	rt, err := containerd.New(ctx, "/run/containerd/containerd.sock")
//
// and the node agent supervises real workloads through it, offline and
// across restarts of Baton and of containerd. The runtime/runtimetest
// conformance suite passes against it, as against runtime/fake.
//
// # Requirements
//
//   - Root: the Runtime mounts network namespaces and runs CNI plugins, and
//     containerd needs root to run containers.
//   - containerd 1.6 or later with runc (tested with Debian bookworm's
//     containerd 1.6.20 and runc 1.1.5) and the overlayfs snapshotter
//     (WithSnapshotter to change it). The client is containerd's v2
//     client; the Runtime keeps to the paths a 1.6 daemon serves: images
//     are pulled with the classic client-side pull and imported with
//     client.Import and unpacked, never through the transfer service, and
//     pod sandboxes are the Runtime's own, not containerd's sandbox API.
//   - cgroups v1 or v2, as runc supports them; resource usage is read from
//     either.
//   - For Pod networking, the CNI plugins bridge, host-local, portmap and
//     loopback (Debian: containernetworking-plugins, which brings iptables)
//     in /usr/lib/cni or /opt/cni/bin (WithCNIPluginDirs). Host-network
//     Pods need no CNI at all.
//
// # What lives where
//
// containerd holds the truth. A pod sandbox is a containerd container
// record without a task, labelled as Baton's, holding its config, state,
// network namespace and IP; a container is a containerd container with its
// own snapshot, an OCI spec, its config in a record extension and its start
// and exit in labels; whether it runs is its task's status. The extension
// keeps the names of the container's environment variables but not their
// values, which can be Secrets': those are read back from the OCI spec,
// which must hold them for the process, as a Kubernetes container's spec
// does under containerd's CRI plugin (both live in containerd's metadata
// store, on the node's disk). Containers are made under one lease of the
// Runtime's own, which containerd expires after an hour (see withLease),
// rather than under a lease per container. So a restarted
// Baton (a new Runtime on the same namespace) lists exactly what there is,
// and adopts it: nothing is restarted or duplicated. Everything lives in
// one containerd namespace (WithNamespace, default "baton"); run one
// Runtime per namespace at a time, as one kubelet per node. Records that
// are not Baton's are never touched.
//
// The state dir (WithStateDir, default /var/lib/baton) holds what
// containerd does not: container logs (logs/<sandbox>/<container>.log),
// the FIFOs containers write their output to (fifo/), bind-mounted network
// namespaces (netns/<namespace>/), host-local's IP reservations and the
// default CNI config (cni/), and each Pod's /etc/hostname, /etc/hosts and
// /etc/resolv.conf (pods/<sandbox>/).
//
// # Pods and networking
//
// There is no pause container. A sandbox is a network namespace made by
// the Runtime and attached with go-cni to the first network of the CNI
// config dir (WithCNIConfDir), or, by default, to a bridge network the
// Runtime writes for itself (bridge "baton0", subnet 10.88.0.0/16,
// host-local IPAM, IP masquerading, portmap for host ports; see
// WithBridgeNetwork). Every container of the Pod joins that namespace
// through its OCI spec; HostNetwork sandboxes use the host's. Stopping a
// sandbox detaches it from the network, which releases its IP and host
// ports, and removes the namespace.
//
// A Pod's containers mount its /etc/hostname, /etc/hosts and
// /etc/resolv.conf from pods/<sandbox>/. The hosts file names the Pod's
// IP; HostNetwork sandboxes mount the host's /etc/hosts instead. The
// resolv.conf is written from SandboxConfig.DNS when it is set, as the
// kubelet writes one (nameserver lines, then one search line and one
// options line), for HostNetwork sandboxes too (Kubernetes'
// ClusterFirstWithHostNet); without DNS it is a copy of the host's
// /etc/resolv.conf made when the sandbox is run, and HostNetwork sandboxes
// mount the host's file itself. The DNS config is stored with the
// sandbox's record, so it survives restarts.
//
// # Containers
//
// A container's spec is containerd's default (default capabilities, masked
// and read-only paths, private PID, IPC, UTS and mount namespaces) plus
// no-new-privileges, the image's config (entrypoint, cmd, environment,
// working dir, user) under the container's command, args (as the kubelet
// reads them), env and working dir, the sandbox's network namespace and
// hostname, the config's mounts (recursive bind mounts of host files or
// directories, read-only or not, parents first; a mount at /etc/hosts,
// /etc/hostname or /etc/resolv.conf replaces the Pod's), and CPU shares
// (from the request), a CFS quota (from the limit) and a memory limit
// (without swap). Seccomp is opt-in
// (WithSeccompDefault), as with the kubelet. Labels from an image never set
// labels under runtime.LabelPrefix or containerd's reserved prefix.
//
// Stopping sends the image's stop signal (SIGTERM unless it says otherwise),
// waits the grace period on the Runtime's clock, then sends SIGKILL. Exits
// come from containerd's /tasks/exit events, never from polling; an exit
// is stored on the container's record (code, time, and OOMKilled when
// containerd reported an OOM kill or the cgroup counts one) before it is
// reported on Events, and the task is then deleted, so each container costs
// a shim process only while it runs.
//
// # Logs
//
// The Runtime copies each container's stdout and stderr from FIFOs into a
// log file per container, in the kubelet's CRI log format, rotated by size
// (WithLogRotation); ContainerLogs reads it back with TailLines and Follow.
// See logfile.go for why the Runtime copies rather than having containerd
// write the file. While no Runtime runs, a container's output waits in its
// pipe (about 64 KiB; a container that writes more blocks until a Runtime
// copies again); the next Runtime's New resumes copying into the same file.
//
// # Reconnection and health
//
// When containerd goes away the verbs fail with errors matching
// runtime.ErrUnavailable, and the Runtime resubscribes to containerd's
// events with exponential backoff (up to 2s between tries). After every
// (re)subscription it reconciles: exits that happened meanwhile are
// recorded and reported, stopped tasks are deleted, and output copying is
// resumed. Version is the health check: it fails until containerd answers
// and the Runtime has resubscribed.
//
// # Limits
//
//   - Containers of a Pod share its network namespace only, not IPC, UTS
//     or PID namespaces (there is no pause container to hold them).
//   - The CNI config is read at first use; restart Baton to change it. The
//     CNI library keeps its result cache in /var/lib/cni (go-cni has no
//     option to move it).
//   - No TTYs, attach, user namespaces, privileged containers or image
//     garbage collection: the runtime interface has no such verbs.
//   - Only the sandbox's first IPv4 address is reported (the first
//     address, if it has no IPv4 one).
//   - Times the Runtime stamps (StartedAt, event times, log timestamps, and
//     grace periods) use WithClock's clock; exit times are containerd's.
package containerd
