// Package fake is an in-memory runtime.Runtime for tests and simulation.
//
// A fake Runtime keeps sandboxes, containers, images, logs and events in
// memory and runs no processes. It is deterministic: IDs come from a counter,
// sandbox IPs from a pool walked in order, lists are sorted by ID, and all
// time is read from an injectable clock (WithClock), so a test on a
// clock.Fake decides exactly when a container exits or a grace period ends.
// It is fast: creating and starting a pod costs a few microseconds and no
// goroutine, so one process can simulate a cluster of many fake nodes and
// hundreds of thousands of pods.
//
// The verbs follow the runtime.Runtime docs, and the runtime/runtimetest
// conformance suite checks that they do (see conformance_test.go). On top of
// the interface the fake offers:
//
//   - Scripted behavior: SetBehavior attaches a Behavior to the containers a
//     Matcher chooses, to start slowly, fail the Nth start, exit by itself
//     after a delay, ignore SIGTERM, print log lines, answer exec probes or
//     report scripted resource usage.
//   - Direct controls: Kill (the process dies now), WriteLog, SetStats,
//     SetUnavailable (every verb fails as if the runtime were dead),
//     SetImageMissing, AddImage and RemoveImage.
//   - Inspection: Containers, Sandboxes, Running, Starts and Pulls.
//
// # What it does not simulate
//
//   - Processes. Nothing runs: a container is a record whose state changes
//     when a verb, a Behavior or a direct control says so. Exec runs
//     Behavior.Exec (default: exit 0, no output) and ignores stdin.
//   - Images. A ref is an opaque string: "busybox" and
//     "docker.io/library/busybox:latest" are different images. Pulls succeed
//     at once unless SetImageMissing says otherwise; there are no layers,
//     registries, credentials or image labels. RemoveImage succeeds even when
//     containers use the image.
//   - Networking. Sandbox IPs are bookkeeping from the pod CIDR (the network
//     address and the gateway, the first host address, are never handed out,
//     nor an IPv4 broadcast address); nothing routes, port mappings are
//     stored, not forwarded, and nothing listens unless a Behavior's Serve
//     runs real servers on a loopback sandbox IP (see serve.go). A
//     sandbox's DNS config is validated as the containerd runtime
//     validates it, stored and returned; no resolv.conf is written.
//   - Resources. Limits are stored, not enforced; a container is OOMKilled
//     only when a Behavior or Kill says so.
//   - Persistence. State lives as long as the Runtime value. To simulate a
//     restarted node agent adopting running containers, keep using the same
//     Runtime.
//   - Log rotation. A container's log lines are kept in memory until it is
//     removed.
//
// # IDs
//
// Sandbox and container IDs are 16 hex digits from one counter per Runtime,
// so they sort in creation order and repeat from run to run. They are unique
// within a Runtime, not across Runtimes: a harness that simulates many nodes
// should key containers by node and ID.
//
// # Concurrency
//
// A Runtime is safe for concurrent use. Every verb holds the Runtime's one
// mutex briefly: well under a microsecond, except that listing without a
// sandbox or ID filter visits (and sorts) every container. Only
// StartContainer (with Behavior.StartDelay), StopContainer (waiting out a
// grace period) and ContainerLogs (with Follow) block, and they wait without
// holding the mutex. Matchers and Behavior.FailStart run with it held and
// must not call the Runtime; Behavior.Exec and Behavior.Usage run without
// it. Events are queued under the mutex, so every subscriber sees them in
// the same order, and delivered by one goroutine per subscriber.
package fake
