package containerd_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
)

// kill -9 of a container's process from outside is an exit with code 137,
// reported from containerd's event stream.
func TestKill9IsReported(t *testing.T) {
	rt := newRuntime(t)
	evs := events(t, rt)
	sb := sandbox(t, rt, "victim")
	c := start(t, rt, sb, sh("app", runUntilTERM))
	pid := taskPid(t, rawClient(t, rt.env, rt.ns), c.ID)
	if err := syscall.Kill(int(pid), syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	ev := waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	if ev.ExitCode != 137 || ev.Reason != runtime.ReasonError || ev.SandboxID != sb.ID {
		t.Errorf("exit event = code %d, reason %q, sandbox %s; want 137, %q, %s", ev.ExitCode, ev.Reason, ev.SandboxID, runtime.ReasonError, sb.ID)
	}
	if ev.Labels[runtime.LabelPodName] != "" {
		t.Errorf("exit event labels %v hold the sandbox's labels; want the container's", ev.Labels)
	}
	st := status(t, rt, c.ID)
	if st.State != runtime.ContainerExited || st.ExitCode != 137 || st.FinishedAt.IsZero() {
		t.Errorf("after kill -9: %s, code %d, finished %v; want Exited, 137 and a time", st.State, st.ExitCode, st.FinishedAt)
	}
}

// A container that traps SIGTERM gets it, and the grace period to act on
// it; one that outstays its grace is killed.
func TestStopGivesSIGTERMAndGrace(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "graceful")
	const cleanup = `trap 'echo got TERM; sleep 1; echo cleaned up; exit 0' TERM; echo ready; while :; do sleep 1 & wait; done`
	c := start(t, rt, sb, sh("app", cleanup))
	eventually(t, "the container is ready", func() (bool, string) {
		got := logs(t, rt, c.ID)
		return slices.Contains(got, "ready"), strings.Join(got, "|")
	})
	began := time.Now()
	if err := rt.StopContainer(testCtx(t), c.ID, 10*time.Second); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	took := time.Since(began)
	if took < time.Second || took > 8*time.Second {
		t.Errorf("StopContainer took %v; want the container's 1s of cleanup, well within the grace of 10s", took)
	}
	st := status(t, rt, c.ID)
	if st.ExitCode != 0 || st.Reason != runtime.ReasonCompleted {
		t.Errorf("after a graceful stop: code %d, reason %q; want 0, Completed", st.ExitCode, st.Reason)
	}
	if got := logs(t, rt, c.ID); !slices.Equal(got, []string{"ready", "got TERM", "cleaned up"}) {
		t.Errorf("logs = %q; want ready, got TERM, cleaned up", got)
	}

	slow := start(t, rt, sb, sh("slow", `trap 'echo got TERM; sleep 30' TERM; echo ready; while :; do sleep 1 & wait; done`))
	eventually(t, "the slow container is ready", func() (bool, string) {
		return slices.Contains(logs(t, rt, slow.ID), "ready"), ""
	})
	began = time.Now()
	if err := rt.StopContainer(testCtx(t), slow.ID, 500*time.Millisecond); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	if took := time.Since(began); took < 500*time.Millisecond || took > 8*time.Second {
		t.Errorf("StopContainer with grace 500ms took %v", took)
	}
	if st := status(t, rt, slow.ID); st.ExitCode != 137 {
		t.Errorf("a container that outstayed its grace exited with %d; want 137 (SIGKILL)", st.ExitCode)
	}
	if got := logs(t, rt, slow.ID); !slices.Contains(got, "got TERM") {
		t.Errorf("logs = %q; want the SIGTERM seen before the SIGKILL", got)
	}
}

// A container over its memory limit is OOMKilled.
func TestOOMKilled(t *testing.T) {
	rt := newRuntime(t)
	evs := events(t, rt)
	sb := sandbox(t, rt, "hog")
	cfg := sh("hog", `x=0123456789abcdef; while :; do x=$x$x; done`)
	cfg.Resources.MemoryLimitBytes = 16 << 20
	c := start(t, rt, sb, cfg)
	ev := waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	if ev.Reason != runtime.ReasonOOMKilled || ev.ExitCode != 137 {
		t.Errorf("exit event: code %d, reason %q; want 137, OOMKilled", ev.ExitCode, ev.Reason)
	}
	if st := status(t, rt, c.ID); st.Reason != runtime.ReasonOOMKilled {
		t.Errorf("status reason %q; want OOMKilled", st.Reason)
	}
}

// Command, args, env, working dir, hostname and resources reach the
// process; exec sees the container's environment; stats are reported.
func TestContainerConfigReachesTheProcess(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "configured")
	cfg := runtime.ContainerConfig{
		Name:       "app",
		Image:      busyboxRef,
		Command:    []string{"/bin/sh", "-c"},
		Args:       []string{`echo "$GREETING from $(pwd) on $(hostname)"; ` + runUntilTERM},
		Env:        []string{"GREETING=hello"},
		WorkingDir: "/tmp",
		Resources:  runtime.Resources{CPURequestMilli: 250, CPULimitMilli: 500, MemoryLimitBytes: 64 << 20},
	}
	c := start(t, rt, sb, cfg)
	eventually(t, "the greeting is logged", func() (bool, string) {
		got := logs(t, rt, c.ID)
		return slices.Contains(got, "hello from /tmp on configured"), strings.Join(got, "|")
	})

	var out bytes.Buffer
	code, err := rt.Exec(testCtx(t), c.ID, []string{"sh", "-c", `echo "$GREETING"; cat; exit 4`}, runtime.ExecOptions{
		Stdin: strings.NewReader("from stdin\n"), Stdout: &out,
	})
	if err != nil || code != 4 || out.String() != "hello\nfrom stdin\n" {
		t.Errorf("Exec = %d, %v, output %q; want 4, nil, hello and the stdin", code, err, out.String())
	}

	ctr, err := rawClient(t, rt.env, rt.ns).LoadContainer(testCtx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	res := spec.Linux.Resources
	if *res.CPU.Shares != 256 || *res.CPU.Quota != 50_000 || *res.CPU.Period != 100_000 || *res.Memory.Limit != 64<<20 {
		t.Errorf("spec resources: shares %d, quota %d/%d, memory %d; want 256, 50000/100000, 64Mi", *res.CPU.Shares, *res.CPU.Quota, *res.CPU.Period, *res.Memory.Limit)
	}
	if !spec.Process.NoNewPrivileges || len(spec.Linux.MaskedPaths) == 0 || len(spec.Linux.ReadonlyPaths) == 0 || len(spec.Process.Capabilities.Bounding) == 0 {
		t.Errorf("spec lacks the secure defaults: noNewPrivileges %v, masked paths %v, read-only paths %v, capabilities %v",
			spec.Process.NoNewPrivileges, spec.Linux.MaskedPaths, spec.Linux.ReadonlyPaths, spec.Process.Capabilities)
	}

	// Burn some CPU and memory so stats have something to show.
	if code, err := rt.Exec(testCtx(t), c.ID, []string{"sh", "-c", `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done`}, runtime.ExecOptions{}); err != nil || code != 0 {
		t.Fatalf("Exec of a loop = %d, %v", code, err)
	}
	st, err := rt.ContainerStats(testCtx(t), c.ID)
	if err != nil {
		t.Fatalf("ContainerStats: %v", err)
	}
	if st.CPUUsageNanos == 0 || st.MemoryWorkingSetBytes == 0 || st.Timestamp.IsZero() {
		t.Errorf("ContainerStats = %+v; want CPU time, a working set and a time", st)
	}
}

// A task that cannot start leaves the container Exited with code 128 and
// the reason in its message.
func TestStartFailureIsRecorded(t *testing.T) {
	rt := newRuntime(t)
	evs := events(t, rt)
	sb := sandbox(t, rt, "broken")
	cfg := runtime.ContainerConfig{Name: "app", Image: busyboxRef, Command: []string{"/no/such/binary"}}
	c, err := rt.CreateContainer(testCtx(t), sb.ID, cfg)
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if err := rt.StartContainer(testCtx(t), c.ID); err == nil {
		t.Fatalf("StartContainer of a missing binary succeeded")
	}
	ev := waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	st := status(t, rt, c.ID)
	if ev.ExitCode != 128 || st.State != runtime.ContainerExited || st.ExitCode != 128 || !strings.Contains(st.Message, "no/such/binary") {
		t.Errorf("after a failed start: event code %d, status %s code %d message %q; want Exited, 128, naming the binary", ev.ExitCode, st.State, st.ExitCode, st.Message)
	}
	if err := rt.StartContainer(testCtx(t), c.ID); !errors.Is(err, runtime.ErrFailedPrecondition) {
		t.Errorf("StartContainer again = %v; want ErrFailedPrecondition", err)
	}
}

// Labels from an image never set Baton's; the config's labels round-trip
// exactly.
func TestImageLabelsCannotSetBatonLabels(t *testing.T) {
	rt := newRuntime(t)
	const ref = "localhost/baton-test/labelled:1"
	importImage(t, rt, ref, map[string]string{
		runtime.LabelPodName:    "forged",
		"io.baton.runtime.kind": "sandbox",
		"containerd.io/gc.root": "forged",
		"org.example.vendor":    "acme",
	})
	sb := sandbox(t, rt, "labels")
	cfg := sh("app", runUntilTERM)
	cfg.Image = ref
	cfg.Labels = map[string]string{runtime.LabelPodName: "labels", runtime.LabelContainerName: "app"}
	c := start(t, rt, sb, cfg)
	ctr, err := rawClient(t, rt.env, rt.ns).LoadContainer(testCtx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := ctr.Labels(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if labels[runtime.LabelPodName] != "labels" || labels["io.baton.runtime.kind"] != "container" || labels["containerd.io/gc.root"] != "" || labels["org.example.vendor"] != "acme" {
		t.Errorf("container record labels %v: the image set Baton's or containerd's labels, or lost its own", labels)
	}
	if got := status(t, rt, c.ID).Config.Labels; len(got) != 2 || got[runtime.LabelPodName] != "labels" {
		t.Errorf("Config.Labels = %v; want exactly the config's", got)
	}
}

// WithSeccompDefault confines containers with containerd's default
// profile, and they still run.
func TestSeccompDefault(t *testing.T) {
	rt := newRuntime(t, containerd.WithSeccompDefault())
	sb := sandbox(t, rt, "confined")
	c := start(t, rt, sb, sh("app", runUntilTERM))
	ctr, err := rawClient(t, rt.env, rt.ns).LoadContainer(testCtx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ctr.Spec(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Linux.Seccomp == nil || len(spec.Linux.Seccomp.Syscalls) == 0 {
		t.Errorf("spec has no seccomp profile")
	}
	var out bytes.Buffer
	if code, err := rt.Exec(testCtx(t), c.ID, []string{"echo", "confined"}, runtime.ExecOptions{Stdout: &out}); err != nil || code != 0 || out.String() != "confined\n" {
		t.Errorf("Exec under seccomp = %d, %v, %q", code, err, out.String())
	}
}

// Mounts bind host paths in, read-only or not, over the Pod's own files
// if asked; a missing host path fails the create.
func TestMounts(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "mounts")
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "config.txt"), []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.1 custom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := sh("app", runUntilTERM)
	cfg.Mounts = []runtime.Mount{
		{HostPath: rw, ContainerPath: "/data"},
		{HostPath: ro, ContainerPath: "/etc/app", ReadOnly: true},
		{HostPath: hosts, ContainerPath: "/etc/hosts", ReadOnly: true},
	}
	c := start(t, rt, sb, cfg)
	run := func(script string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code, err := rt.Exec(testCtx(t), c.ID, []string{"sh", "-c", script}, runtime.ExecOptions{Stdout: &out, Stderr: &out})
		if err != nil {
			t.Fatalf("Exec(%q): %v", script, err)
		}
		return code, out.String()
	}
	if code, out := run("cat /etc/app/config.txt /etc/hosts"); code != 0 || out != "from the host\n10.0.0.1 custom\n" {
		t.Errorf("reading the mounts = %d, %q", code, out)
	}
	if code, _ := run("echo no > /etc/app/config.txt"); code == 0 {
		t.Errorf("writing a read-only mount succeeded")
	}
	if code, out := run("echo written > /data/out.txt"); code != 0 {
		t.Errorf("writing a read-write mount = %d, %q", code, out)
	}
	if got, err := os.ReadFile(filepath.Join(rw, "out.txt")); err != nil || string(got) != "written\n" {
		t.Errorf("the host sees %q, %v; want what the container wrote", got, err)
	}

	bad := sh("bad", runUntilTERM)
	bad.Mounts = []runtime.Mount{{HostPath: filepath.Join(ro, "missing"), ContainerPath: "/x"}}
	if _, err := rt.CreateContainer(testCtx(t), sb.ID, bad); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("CreateContainer with a missing host path = %v; want an error naming it", err)
	}
}
