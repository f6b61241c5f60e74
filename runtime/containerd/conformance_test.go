package containerd_test

import (
	"fmt"
	"testing"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/runtimetest"
)

// TestConformance runs the runtime conformance suite on real containers:
// busybox shell scripts in one Runtime, with a loopback registry that has
// no image for MissingImage.
func TestConformance(t *testing.T) {
	rt := newRuntime(t)
	reg := newRegistry(t, "baton-test/present", "1")
	h := &runtimetest.Harness{
		Runtime:     rt,
		LongRunning: func(name string) runtime.ContainerConfig { return sh(name, runUntilTERM) },
		ExitsWith: func(name string, code int32) runtime.ContainerConfig {
			return sh(name, fmt.Sprintf("sleep 0.1; exit %d", code))
		},
		IgnoresSIGTERM: func(name string) runtime.ContainerConfig { return sh(name, ignoreTERM) },
		Prints: func(name string, lines []string) runtime.ContainerConfig {
			return sh(name, printLines(lines))
		},
		MissingImage: reg.ref("baton-test/missing", "0"),
		PullPolicy:   runtime.PullNever, // imported, not pulled
		ExecProbe: &runtimetest.ExecProbe{
			Succeed:  []string{"echo", "hello"},
			Stdout:   "hello\n",
			Fail:     []string{"/bin/sh", "-c", "exit 3"},
			FailCode: 3,
		},
	}
	runtimetest.Run(t, func(*testing.T) *runtimetest.Harness { return h })
}
