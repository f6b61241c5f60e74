package containerd_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
)

// timeout bounds each wait of the tests below.
const timeout = 20 * time.Second

// testCtx returns a context that ends with the test or after timeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*timeout)
	t.Cleanup(cancel)
	return ctx
}

// sandbox runs a sandbox for a Pod named name.
func sandbox(t testing.TB, rt runtime.Runtime, name string, mutate ...func(*runtime.SandboxConfig)) runtime.Sandbox {
	t.Helper()
	cfg := runtime.SandboxConfig{
		Name:      name,
		Namespace: "test",
		UID:       name + "-" + t.Name(),
		Hostname:  name,
		Labels:    map[string]string{runtime.LabelPodName: name},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	sb, err := rt.RunPodSandbox(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("RunPodSandbox(%s): %v", name, err)
	}
	return sb
}

// start creates and starts a container from cfg in sandbox sb.
func start(t testing.TB, rt runtime.Runtime, sb runtime.Sandbox, cfg runtime.ContainerConfig) runtime.Container {
	t.Helper()
	c, err := runtime.StartContainer(testCtx(t), rt, sb.ID, cfg, runtime.PullNever)
	if err != nil {
		t.Fatalf("StartContainer(%s): %v", cfg.Name, err)
	}
	return c
}

// events subscribes to rt's events for the rest of the test.
func events(t testing.TB, rt runtime.Runtime) <-chan runtime.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := rt.Events(ctx)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return ch
}

// waitEvent waits for an event of type typ about container id.
func waitEvent(t testing.TB, ch <-chan runtime.Event, id string, typ runtime.EventType) runtime.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("events closed while waiting for %s of %s", typ, id)
			}
			if ev.ContainerID == id && ev.Type == typ {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("no %s event of container %s within %v", typ, id, timeout)
		}
	}
}

// eventually polls cond every 50ms until it holds, failing t after
// timeout with what cond last said.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	testutil.Eventually(t, what, timeout, 50*time.Millisecond, cond)
}

// status returns container id's status.
func status(t testing.TB, rt runtime.Runtime, id string) runtime.Container {
	t.Helper()
	c, err := rt.ContainerStatus(testCtx(t), id)
	if err != nil {
		t.Fatalf("ContainerStatus(%s): %v", id, err)
	}
	return c
}

// rawClient returns a plain containerd client on env in namespace ns.
func rawClient(t testing.TB, env *containerdtest.Env, ns string) *client.Client {
	t.Helper()
	c, err := client.New(env.Address, client.WithDefaultNamespace(ns))
	if err != nil {
		t.Fatalf("containerd client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// taskPid returns the host PID of container id's process.
func taskPid(t testing.TB, c *client.Client, id string) uint32 {
	t.Helper()
	ctx := testCtx(t)
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("load container %s: %v", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task of %s: %v", id, err)
	}
	return task.Pid()
}

// logs returns container id's whole log.
func logs(t testing.TB, rt runtime.Runtime, id string) []string {
	t.Helper()
	w := &lineCollector{}
	if err := rt.ContainerLogs(testCtx(t), id, runtime.LogOptions{}, w); err != nil {
		t.Fatalf("ContainerLogs(%s): %v", id, err)
	}
	return w.lines()
}

// lineCollector collects the lines written to it, one per Write.
type lineCollector struct {
	mu    sync.Mutex // guards got
	got   []string
	onAdd func(line string)
}

func (w *lineCollector) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	w.mu.Lock()
	w.got = append(w.got, line)
	f := w.onAdd
	w.mu.Unlock()
	if f != nil {
		f(line)
	}
	return len(p), nil
}

func (w *lineCollector) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

// follow follows container id's logs in the background; the returned
// func stops following and returns the error it ended with.
func follow(t testing.TB, rt runtime.Runtime, id string, opts runtime.LogOptions, w io.Writer) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts.Follow = true
	go func() { done <- rt.ContainerLogs(ctx, id, opts, w) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(timeout):
				cancel()
				err = <-done
				if err == nil {
					err = errors.New("follow did not end by itself")
				}
			}
			cancel()
		})
		return err
	}
	t.Cleanup(func() { cancel(); _ = stop() })
	return stop
}
