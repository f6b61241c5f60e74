package fake_test

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
	"github.com/batonhq/baton/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the runtime conformance suite against the fake on
// the real clock, scripting the suite's container kinds with Behaviors.
func TestConformance(t *testing.T) {
	runtimetest.Run(t, newHarness)
}

// Labels by which the harness's Behaviors find their containers.
const (
	labelExitCode = "fake.test/exit-code"
	labelStubborn = "fake.test/ignores-sigterm"
	labelPrints   = "fake.test/prints"
)

const (
	testImage    = "registry.test/busybox:1.36"
	missingImage = "registry.test/missing:1"
)

func newHarness(t *testing.T) *runtimetest.Harness {
	rt := fake.New()
	rt.SetBehavior(nil, fake.Behavior{Exec: shellExec}) // every container
	rt.SetBehavior(fake.ByLabels(map[string]string{labelStubborn: "true"}), fake.Behavior{IgnoreSIGTERM: true, Exec: shellExec})
	rt.SetImageMissing(missingImage, true)
	var prints atomic.Int64
	config := func(name string, labels map[string]string) runtime.ContainerConfig {
		return runtime.ContainerConfig{Name: name, Image: testImage, Command: []string{"sleep", "infinity"}, Labels: labels}
	}
	return &runtimetest.Harness{
		Runtime:     rt,
		LongRunning: func(name string) runtime.ContainerConfig { return config(name, nil) },
		ExitsWith: func(name string, code int32) runtime.ContainerConfig {
			value := strconv.Itoa(int(code))
			rt.SetBehavior(fake.ByLabels(map[string]string{labelExitCode: value}),
				fake.Behavior{Exit: &fake.Exit{After: 10 * time.Millisecond, Code: code}, Exec: shellExec})
			return config(name, map[string]string{labelExitCode: value})
		},
		IgnoresSIGTERM: func(name string) runtime.ContainerConfig {
			return config(name, map[string]string{labelStubborn: "true"})
		},
		Prints: func(name string, lines []string) runtime.ContainerConfig {
			value := strconv.FormatInt(prints.Add(1), 10)
			rt.SetBehavior(fake.ByLabels(map[string]string{labelPrints: value}), fake.Behavior{Output: lines, Exec: shellExec})
			return config(name, map[string]string{labelPrints: value})
		},
		MissingImage: missingImage,
		PullPolicy:   runtime.PullIfNotPresent,
		ExecProbe: &runtimetest.ExecProbe{
			Succeed:  []string{"echo", "hello"},
			Stdout:   "hello\n",
			Fail:     []string{"sh", "-c", "exit 3"},
			FailCode: 3,
		},
	}
}

// shellExec answers the two commands a shell would: echo, and sh -c "exit N".
func shellExec(cmd []string, stdout, _ io.Writer) int {
	switch {
	case len(cmd) > 0 && cmd[0] == "echo":
		fmt.Fprintln(stdout, strings.Join(cmd[1:], " "))
	case len(cmd) == 3 && cmd[0] == "sh" && cmd[1] == "-c" && strings.HasPrefix(cmd[2], "exit "):
		code, err := strconv.Atoi(strings.TrimPrefix(cmd[2], "exit "))
		if err != nil {
			return 2
		}
		return code
	}
	return 0
}
