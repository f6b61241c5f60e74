package runtimetest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/runtimetest"
)

// newRuntime stands for the constructor of the implementation under test.
var newRuntime func(t *testing.T) runtime.Runtime

// How a runtime that runs real processes wires the suite: every kind of
// container is a shell script in a busybox image imported beforehand.
// Scripts run as PID 1, which ignores signals it sets no trap for.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		runtimetest.Run(t, func(t *testing.T) *runtimetest.Harness {
			sh := func(name, script string) runtime.ContainerConfig {
				return runtime.ContainerConfig{
					Name:    name,
					Image:   "localhost/busybox:test",
					Command: []string{"/bin/sh", "-c", script},
				}
			}
			const runUntilTERM = `trap 'exit 0' TERM; while :; do sleep 1 & wait; done`
			return &runtimetest.Harness{
				Runtime:     newRuntime(t),
				LongRunning: func(name string) runtime.ContainerConfig { return sh(name, runUntilTERM) },
				ExitsWith: func(name string, code int32) runtime.ContainerConfig {
					return sh(name, fmt.Sprintf("sleep 0.1; exit %d", code))
				},
				IgnoresSIGTERM: func(name string) runtime.ContainerConfig {
					return sh(name, `trap '' TERM; while :; do sleep 1; done`)
				},
				Prints: func(name string, lines []string) runtime.ContainerConfig {
					return sh(name, "printf '%s\\n' '"+strings.Join(lines, "' '")+"'; "+runUntilTERM)
				},
				MissingImage: "localhost/no-such-image:0",
				PullPolicy:   runtime.PullNever, // imported, not pulled
				ExecProbe: &runtimetest.ExecProbe{
					Succeed:  []string{"echo", "hello"},
					Stdout:   "hello\n",
					Fail:     []string{"/bin/sh", "-c", "exit 3"},
					FailCode: 3,
				},
			}
		})
	}
	_ = testConformance // in a real _test.go file: func TestConformance(t *testing.T)
}
