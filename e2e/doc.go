// Package e2e holds Baton's end-to-end tests on real containers: each test
// runs an Orchestrator over the containerd runtime, on a containerd daemon
// private to the test binary (runtime/containerd/containerdtest), with the
// busybox image built from the local busybox-static
// (runtime/containerd/testimage) and imported, never pulled.
//
// Each test works in a containerd namespace of its own and talks only to
// loopback and to the Pod IPs of the CNI bridge network its daemon made.
// Where containerd cannot run (not root, binaries missing) the tests skip
// with the reason, unless BATON_REQUIRE_CONTAINERD=1 (as CI sets it), when
// they fail.
//
// The package has no code of its own; the tests are in package e2e_test.
// Package e2e/ctrbench holds the scenario of the Pod start and restart
// benchmarks (ctrbench_test.go), which cmd/ctrbench runs too.
package e2e
