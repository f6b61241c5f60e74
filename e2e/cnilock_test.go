package e2e_test

// A guard against a bug of the race build that would kill this test
// binary, turning it into one named failure.

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"testing"

	gocni "github.com/containerd/go-cni"
)

// cniLockProbeEnv, set to "1", makes the test binary only run
// probeCNILock.
const cniLockProbeEnv = "BATON_E2E_PROBE_CNI_LOCK"

// probeCNILock holds go-cni's mutex type for reading in two goroutines at
// once, as two sandboxes set up side by side do.
func probeCNILock() {
	var mu gocni.RWMutex
	mu.RLock()
	locked := make(chan struct{})
	go func() {
		mu.RLock()
		close(locked)
	}()
	<-locked
	// Both read locks are held; a read lock belongs to no goroutine.
	mu.RUnlock()
	mu.RUnlock()
}

// checkCNILock runs probeCNILock in a child process and says why this
// test binary would die at the first two CNI calls that overlap, or
// returns "" when it would not.
//
// Under -race (build tag race) go-cni's RWMutex is
// github.com/sasha-s/go-deadlock's, which tells goroutines apart by
// github.com/petermattis/goid. A goid that does not know the Go release's
// goroutine layout (v0.0.0-20240813172612-4fcff4a6cae7 on Go 1.26) gives
// every goroutine ID 0: two goroutines holding the read lock at once — two
// Pods' sandboxes set up or torn down together, as every rollout does —
// look like one goroutine locking recursively, and go-deadlock ends the
// process ("POTENTIAL DEADLOCK: Recursive locking", exit status 2). Builds
// without -race use sync.RWMutex and are not affected.
func checkCNILock() string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cniLockProbeEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return fmt.Sprintf("BUG (go.mod): go-cni's mutex cannot be held by two goroutines at once in this build (%v: %s), "+
		"so two overlapping CNI calls would kill the test binary; under -race go-cni uses go-deadlock, whose "+
		"github.com/petermattis/goid gives every goroutine ID 0 on %s; "+
		"fix: go get github.com/petermattis/goid@v0.0.0-20261109124353-7cfa343ad0ab", err, first, goruntime.Version())
}

// cniLockBug is what checkCNILock said; TestMain sets it.
var cniLockBug string

// The test binary must be able to run CNI calls side by side; see
// checkCNILock.
func TestCNICallsCanOverlap(t *testing.T) {
	if cniLockBug != "" {
		t.Fatal(cniLockBug)
	}
}
