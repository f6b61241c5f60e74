package fake_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// A pod whose container runs a job for a simulated minute, on a fake clock.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends the Events subscription
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(clk), fake.WithImages("busybox:1.36"))

	// Containers named "migrate" print two lines and exit with code 0 a
	// minute after they start.
	rt.SetBehavior(fake.ByName("migrate"), fake.Behavior{
		Output: []string{"migrating", "done"},
		Exit:   &fake.Exit{After: time.Minute},
	})
	events, err := rt.Events(ctx)
	if err != nil {
		panic(err)
	}

	sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Name: "web-0", Namespace: "default", UID: "7f3c"})
	if err != nil {
		panic(err)
	}
	fmt.Println("sandbox", sb.ID, sb.State, sb.IP)
	c, err := runtime.StartContainer(ctx, rt, sb.ID, runtime.ContainerConfig{Name: "migrate", Image: "busybox:1.36"}, runtime.PullIfNotPresent)
	if err != nil {
		panic(err)
	}
	fmt.Println("container", c.ID, c.State)

	clk.Advance(time.Minute) // the exit is due: it happens in its own goroutine
	for ev := range events {
		fmt.Println("event", ev.Type, ev.ExitCode)
		if ev.Type == runtime.ContainerExitedEvent {
			break
		}
	}
	var logs strings.Builder
	if err := rt.ContainerLogs(ctx, c.ID, runtime.LogOptions{}, &logs); err != nil {
		panic(err)
	}
	fmt.Print(logs.String())
	st, err := rt.ContainerStatus(ctx, c.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.State, st.Reason, "after", st.FinishedAt.Sub(st.StartedAt))
	// Output:
	// sandbox 0000000000000001 Ready 10.88.0.2
	// container 0000000000000002 Running
	// event ContainerCreated 0
	// event ContainerStarted 0
	// event ContainerExited 0
	// migrating
	// done
	// Exited Completed after 1m0s
}

// Fault injection: the second start of a "db" container fails, a missing
// image cannot be pulled, and a running container is OOM-killed.
func ExampleRuntime_SetBehavior() {
	ctx := context.Background()
	rt := fake.New(fake.WithImages("postgres:16"))
	rt.SetBehavior(fake.ByName("db"), fake.Behavior{FailStart: func(n int) error {
		if n == 2 {
			return errors.New("cgroup setup failed")
		}
		return nil
	}})
	rt.SetImageMissing("postgres:99", true)

	sb, _ := rt.RunPodSandbox(ctx, runtime.SandboxConfig{Name: "db-0", Namespace: "default", UID: "a1"})
	for attempt := range uint32(3) {
		c, err := runtime.StartContainer(ctx, rt, sb.ID, runtime.ContainerConfig{Name: "db", Attempt: attempt, Image: "postgres:16"}, runtime.PullIfNotPresent)
		if err != nil {
			fmt.Println("attempt", attempt, "failed:", err)
			continue
		}
		fmt.Println("attempt", attempt, c.State)
		if err := rt.Kill(c.ID, 137, runtime.ReasonOOMKilled); err != nil {
			panic(err)
		}
	}
	_, err := runtime.EnsureImage(ctx, rt, "postgres:99", runtime.PullIfNotPresent)
	fmt.Println(errors.Is(err, runtime.ErrImageNotFound), err)
	fmt.Println("starts:", rt.Starts("db"), "running:", rt.Running())
	// Output:
	// attempt 0 Running
	// attempt 1 failed: RunContainerError: fake runtime: start container 0000000000000003: cgroup setup failed
	// attempt 2 Running
	// true ErrImagePull: fake runtime: pull image "postgres:99": image not found (SetImageMissing marked it)
	// starts: 2 running: 0
}
