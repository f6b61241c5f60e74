package baton_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

func TestLogsAndExec(t *testing.T) {
	rt := fake.New()
	rt.SetBehavior(fake.ByImage("app"), fake.Behavior{
		Output: []string{"starting", "listening on :80"},
		Exec: func(cmd []string, stdout, _ io.Writer) int {
			io.WriteString(stdout, "ran "+strings.Join(cmd, " ")+"\n")
			return 3
		},
	})
	o, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "app", Image: "app"})); err != nil {
		t.Fatal(err)
	}
	pod := waitPods(t, o, "default", "a ready pod", readyPods(1))[0]
	var out bytes.Buffer
	if err := o.Pods("default").Logs(ctx, "p", baton.LogOptions{TailLines: 1}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "listening on :80\n" {
		t.Errorf("tail -1 = %q", out.String())
	}
	out.Reset()
	code, err := o.Pods("default").Exec(ctx, "p", []string{"echo", "hi"}, baton.ExecOptions{Stdout: &out})
	if err != nil || code != 3 || out.String() != "ran echo hi\n" {
		t.Errorf("exec: code %d, %v, output %q", code, err, out.String())
	}
	// After a crash, the previous run's log is still there.
	if err := rt.Kill(containerID(pod.Status.ContainerStatuses[0]), 1, runtime.ReasonError); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "a restart", func(pods []*baton.Pod) bool {
		return pods[0].Status.ContainerStatuses[0].RestartCount == 1
	})
	out.Reset()
	if err := o.Pods("default").Logs(ctx, "p", baton.LogOptions{Previous: true}, &out); err != nil || !strings.Contains(out.String(), "starting") {
		t.Errorf("previous logs: %q, %v", out.String(), err)
	}
	if err := o.Pods("default").Logs(ctx, "p", baton.LogOptions{Container: "nope"}, &out); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("logs of a missing container: %v", err)
	}
	if _, err := o.ImportImage(ctx, "local", strings.NewReader("not a tar")); !errors.Is(err, baton.ErrFailedPrecondition) {
		t.Errorf("import into the fake: %v, want ErrFailedPrecondition", err)
	}
}
