package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// RunInOwnNetNS runs this test binary again, with the same arguments, in
// a new network namespace, and returns its exit code; ok is false if it
// could not start it (not root, say). The child's environment has
// childEnv set to the parent's network namespace; its TestMain calls
// CheckOwnNetNS with the same name.
//
// Tests that change a network namespace's state (interfaces, routes,
// nftables) run this way so that a bug sends its change to a namespace
// that ends with the tests, never to the host's.
func RunInOwnNetNS(childEnv string) (code int, ok bool) {
	// The child dies with this thread (Pdeathsig), so keep the thread.
	runtime.LockOSThread()
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		fmt.Fprintf(os.Stderr, "tests: %v\n", err)
		return 1, true
	}
	cmd.Env = append(os.Environ(), childEnv+"="+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: cannot start in a network namespace of their own (%v); running in this one\n", err)
		return 0, false
	}
	err = cmd.Wait()
	if err == nil {
		return 0, true
	}
	if exit, isExit := errors.AsType[*exec.ExitError](err); isExit && exit.ExitCode() > 0 {
		return exit.ExitCode(), true
	}
	fmt.Fprintf(os.Stderr, "tests: %v\n", err)
	return 1, true
}

// InChildNetNS reports whether this process is the child RunInOwnNetNS
// started; it fails (exits 1) if the child shares its parent's network
// namespace after all.
func InChildNetNS(childEnv string) bool {
	parent := os.Getenv(childEnv)
	if parent == "" {
		return false
	}
	if own, err := os.Readlink("/proc/self/ns/net"); err != nil || own == parent {
		fmt.Fprintf(os.Stderr, "tests: not in a network namespace of their own (%s, %v)\n", own, err)
		os.Exit(1)
	}
	return true
}
