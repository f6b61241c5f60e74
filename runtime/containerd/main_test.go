package containerd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// Every test that needs containerd shares one daemon, started here; each
// test works in a containerd namespace of its own.
func TestMain(m *testing.M) {
	code := containerdtest.Main(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// busyboxRef names the test image in every namespace.
const busyboxRef = "localhost/baton-test/busybox:latest"

// busybox is the test image as an OCI archive, built once.
var busybox = sync.OnceValues(func() ([]byte, error) {
	return testimage.Image{Ref: busyboxRef}.Bytes()
})

// nsSeq makes namespaces unique within the test binary.
var nsSeq atomic.Uint64

// testRuntime is a Runtime under test, with where it runs.
type testRuntime struct {
	*containerd.Runtime
	env *containerdtest.Env
	ns  string // its containerd namespace
}

// newRuntime returns a Runtime on the shared daemon, in a namespace of its
// own holding the busybox image, that tears down whatever it holds and
// closes when the test ends.
func newRuntime(t testing.TB, opts ...containerd.Option) *testRuntime {
	t.Helper()
	env := containerdtest.Shared(t)
	ns := "t" + strconv.FormatUint(nsSeq.Add(1), 10)
	rt := openRuntime(t, env, ns, opts...)
	archive, err := busybox()
	if err != nil {
		skipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := rt.ImportImage(ctx, bytes.NewReader(archive)); err != nil {
		t.Fatalf("ImportImage(busybox): %v", err)
	}
	return &testRuntime{Runtime: rt, env: env, ns: ns}
}

// skipOrFail skips t for want of the test image (busybox-static), or fails
// it when containerdtest.RequireEnv is set, as CI sets it.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if containerdtest.Required() {
		t.Fatalf("%s=1 but the busybox test image cannot be built: %v", containerdtest.RequireEnv, err)
	}
	t.Skipf("skipping: no test image: %v (set %s=1 to make this a failure)", err, containerdtest.RequireEnv)
}

// openRuntime returns a Runtime on env in namespace ns, closed when the
// test ends.
func openRuntime(t testing.TB, env *containerdtest.Env, ns string, opts ...containerd.Option) *containerd.Runtime {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := append([]containerd.Option{
		containerd.WithNamespace(ns),
		containerd.WithStateDir(env.StateDir),
		containerd.WithBridgeNetwork(env.Bridge, env.Subnet),
		containerd.WithCgroupParent(env.CgroupParent),
	}, opts...)
	rt, err := containerd.New(ctx, env.Address, all...)
	if err != nil {
		t.Fatalf("containerd.New: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Cleanup(func() { tearDownAll(t, rt) })
	return rt
}

// tearDownAll removes every sandbox of rt.
func tearDownAll(t testing.TB, rt *containerd.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sbs, err := rt.ListPodSandboxes(ctx, nil)
	if errors.Is(err, containerd.ErrClosed) {
		return // closed by the test; another Runtime on its namespace tears down
	}
	if err != nil {
		t.Errorf("cleanup: ListPodSandboxes: %v", err)
		return
	}
	for _, sb := range sbs {
		if err := runtime.TearDownSandbox(ctx, rt, sb.ID, 0); err != nil {
			t.Errorf("cleanup: TearDownSandbox(%s): %v", sb.ID, err)
		}
	}
}

// sh returns a busybox container running script.
func sh(name, script string) runtime.ContainerConfig {
	return runtime.ContainerConfig{
		Name:    name,
		Image:   busyboxRef,
		Command: []string{"/bin/sh", "-c", script},
	}
}

// Scripts. busybox sh as PID 1 ignores signals it sets no trap for.
const (
	runUntilTERM = `trap 'exit 0' TERM; while :; do sleep 1 & wait; done`
	ignoreTERM   = `trap '' TERM; while :; do sleep 1; done`
)

// printLines returns a script that prints lines, then runs until SIGTERM.
func printLines(lines []string) string {
	return "printf '%s\\n' '" + strings.Join(lines, "' '") + "'; " + runUntilTERM
}
