#!/usr/bin/env bash
# Starts or stops a containerd of its own, for trying Baton's containerd
# runtime by hand without touching the host's containerd: root, state,
# socket and config live in one directory (default /tmp/baton-ctrd), as the
# Go test helper runtime/containerd/containerdtest does for the tests.
#
#   sudo hack/containerd-env.sh start [DIR]   # prints the socket to use
#   sudo hack/containerd-env.sh stop [DIR]    # stops it, its shims and
#                                             # containers, and removes DIR
#
# Needs root and Debian's containerd and runc (apt-get install containerd
# runc containernetworking-plugins busybox-static iproute2).
set -euo pipefail

cmd=${1:-}
dir=${2:-/tmp/baton-ctrd}
sock="$dir/c.sock"

case "$cmd" in
start)
	if [[ $EUID -ne 0 ]]; then
		echo "containerd-env: run as root" >&2
		exit 1
	fi
	command -v containerd >/dev/null || { echo "containerd-env: install containerd and runc" >&2; exit 1; }
	mkdir -p "$dir"
	cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
	setsid containerd --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 100); do
		[[ -S $sock ]] && break
		sleep 0.1
	done
	[[ -S $sock ]] || { echo "containerd-env: containerd did not start; see $dir/containerd.log" >&2; exit 1; }
	echo "$sock"
	;;
stop)
	if [[ -f $dir/containerd.pid ]]; then
		pid=$(cat "$dir/containerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		rm -f "$dir/containerd.pid"
	fi
	# Its shims and their containers outlive it: end them too.
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "containerd-shim.*-address $sock"; then
			pkill -KILL -P "${p#/proc/}" 2>/dev/null || true
			kill -KILL "${p#/proc/}" 2>/dev/null || true
		fi
	done
	{ grep -o " $dir/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start|stop [DIR]" >&2
	exit 2
	;;
esac
