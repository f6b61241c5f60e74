package containerd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
)

// ticker prints tick-1, tick-2, … every 100ms until SIGTERM.
const ticker = `trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.1 & wait; done`

// A new Runtime over the same containerd (Baton restarted) adopts what
// runs: the same sandboxes and containers, not restarted, their logs
// continued, their exits reported.
func TestAdoption(t *testing.T) {
	first := newRuntime(t)
	sb := sandbox(t, first, "adopted")
	c := start(t, first, sb, sh("ticker", ticker))
	raw := rawClient(t, first.env, first.ns)
	pid := taskPid(t, raw, c.ID)
	eventually(t, "the ticker ticks", func() (bool, string) {
		return len(logs(t, first, c.ID)) >= 2, ""
	})
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := openRuntime(t, first.env, first.ns)
	evs := events(t, second)
	sbs, err := second.ListPodSandboxes(testCtx(t), nil)
	if err != nil || len(sbs) != 1 || sbs[0].ID != sb.ID || sbs[0].State != runtime.SandboxReady || sbs[0].IP != sb.IP {
		t.Fatalf("ListPodSandboxes after a restart = %+v, %v; want %s Ready with IP %s", sbs, err, sb.ID, sb.IP)
	}
	cs, err := second.ListContainers(testCtx(t), runtime.ContainerFilter{SandboxID: sb.ID})
	if err != nil || len(cs) != 1 || cs[0].ID != c.ID || cs[0].State != runtime.ContainerRunning || !cs[0].StartedAt.Equal(status(t, second, c.ID).StartedAt) {
		t.Fatalf("ListContainers after a restart = %+v, %v; want %s Running", cs, err, c.ID)
	}
	if got := taskPid(t, raw, c.ID); got != pid {
		t.Errorf("the container's PID went from %d to %d; want it not restarted", pid, got)
	}

	// Its output, written meanwhile and from now on, reaches the same log.
	before := len(logs(t, second, c.ID))
	eventually(t, "the adopted container's log grows", func() (bool, string) {
		got := logs(t, second, c.ID)
		return len(got) > before+2, strings.Join(got, "|")
	})
	got := logs(t, second, c.ID)
	for i, line := range got {
		if line != fmt.Sprintf("tick-%d", i+1) {
			t.Fatalf("log line %d = %q; want tick-%d: lines were lost or broken across the restart (%q)", i, line, i+1, got)
		}
	}

	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent); ev.ExitCode != 137 {
		t.Errorf("exit of the adopted container: code %d; want 137", ev.ExitCode)
	}
}

// An exit while no Runtime listens is recorded and reported by the next.
func TestExitWhileAway(t *testing.T) {
	first := newRuntime(t)
	sb := sandbox(t, first, "away")
	c := start(t, first, sb, sh("app", runUntilTERM))
	pid := taskPid(t, rawClient(t, first.env, first.ns), c.ID)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the process is gone", func() (bool, string) {
		return syscall.Kill(int(pid), 0) != nil, ""
	})
	second := openRuntime(t, first.env, first.ns)
	st := status(t, second, c.ID)
	if st.State != runtime.ContainerExited || st.ExitCode != 137 {
		t.Errorf("status after an exit while away = %s, code %d; want Exited, 137", st.State, st.ExitCode)
	}
}

// containerd restarts under a running Runtime: verbs fail with
// ErrUnavailable meanwhile, the Runtime reconnects by itself, containers
// keep running, and exits that happened while containerd was down are
// reported once it is back.
func TestContainerdRestart(t *testing.T) {
	rt := newRuntime(t)
	env := rt.env
	evs := events(t, rt)
	sb := sandbox(t, rt, "survivor")
	keeps := start(t, rt, sb, sh("keeps", runUntilTERM))
	dies := start(t, rt, sb, sh("dies", runUntilTERM))
	raw := rawClient(t, env, rt.ns)
	keepsPid, diesPid := taskPid(t, raw, keeps.ID), taskPid(t, raw, dies.ID)

	if err := env.StopDaemon(); err != nil {
		t.Fatalf("stop containerd: %v", err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := env.StartDaemon(); err != nil {
				t.Errorf("start containerd again: %v", err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := rt.Version(ctx)
	cancel()
	if !errors.Is(err, runtime.ErrUnavailable) {
		t.Errorf("Version with containerd down = %v; want ErrUnavailable", err)
	}
	if _, err := rt.ListContainers(testCtx(t), runtime.ContainerFilter{}); !errors.Is(err, runtime.ErrUnavailable) {
		t.Errorf("ListContainers with containerd down = %v; want ErrUnavailable", err)
	}
	// A container dies while containerd is down.
	if err := syscall.Kill(int(diesPid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := env.StartDaemon(); err != nil {
		t.Fatalf("start containerd again: %v", err)
	}
	restarted = true

	eventually(t, "the Runtime is healthy again", func() (bool, string) {
		v, err := rt.Version(testCtx(t))
		return err == nil && v.RuntimeName == "containerd", fmt.Sprint(err)
	})
	if ev := waitEvent(t, evs, dies.ID, runtime.ContainerExitedEvent); ev.ExitCode != 137 {
		t.Errorf("exit during the outage reported with code %d; want 137", ev.ExitCode)
	}
	st := status(t, rt, keeps.ID)
	if st.State != runtime.ContainerRunning || taskPid(t, raw, keeps.ID) != keepsPid {
		t.Errorf("after the restart the survivor is %s with PID %d; want Running with PID %d", st.State, taskPid(t, raw, keeps.ID), keepsPid)
	}
	var out strings.Builder
	if code, err := rt.Exec(testCtx(t), keeps.ID, []string{"echo", "still here"}, runtime.ExecOptions{Stdout: &out}); err != nil || code != 0 || out.String() != "still here\n" {
		t.Errorf("Exec after the restart = %d, %v, %q", code, err, out.String())
	}
	if err := rt.StopContainer(testCtx(t), keeps.ID, 10*time.Second); err != nil {
		t.Fatalf("StopContainer after the restart: %v", err)
	}
	if ev := waitEvent(t, evs, keeps.ID, runtime.ContainerExitedEvent); ev.ExitCode != 0 {
		t.Errorf("exit after the restart: code %d; want 0", ev.ExitCode)
	}
	cs, err := rt.ListContainers(testCtx(t), runtime.ContainerFilter{SandboxID: sb.ID, State: runtime.ContainerRunning})
	if err != nil || len(cs) != 0 {
		t.Errorf("running containers at the end = %v, %v; want none", cs, err)
	}
}
