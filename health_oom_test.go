package baton_test

import (
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// A container the runtime reports OOMKilled shows it in its Pod's status:
// in lastState.terminated once restarted (restartPolicy Always), in
// state.terminated when it is not (Never, and the Pod Failed); reason
// OOMKilled and exit code 137 either way, whether the container exits by
// its Behavior or is killed by hand.
func TestOOMKilledReachesThePodStatus(t *testing.T) {
	fc := clock.NewFake(healthEpoch)
	rt := fake.New(fake.WithClock(fc))
	rt.SetBehavior(fake.ByImage("hog"), fake.Behavior{Exit: &fake.Exit{After: time.Minute, Code: 137, Reason: runtime.ReasonOOMKilled}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	for _, p := range []*baton.Pod{
		podOf("always", baton.RestartPolicyAlways, baton.Container{Name: "app", Image: "hog"}),
		podOf("never", baton.RestartPolicyNever, baton.Container{Name: "app", Image: "hog"}),
		podOf("killed", baton.RestartPolicyAlways, baton.Container{Name: "app", Image: "app"}),
	} {
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	pods := waitPods(t, o, "default", "three running pods", func(pods []*baton.Pod) bool {
		return len(pods) == 3 && runningWithIP(pods[0]) && runningWithIP(pods[1]) && runningWithIP(pods[2])
	})
	for _, p := range pods {
		if p.Name == "killed" {
			if err := rt.Kill(containerID(p.Status.ContainerStatuses[0]), 137, runtime.ReasonOOMKilled); err != nil {
				t.Fatal(err)
			}
		}
	}
	fc.Advance(time.Minute) // the hogs run out of memory

	oom := func(st baton.ContainerState) bool {
		term := st.Terminated
		return term != nil && term.Reason == runtime.ReasonOOMKilled && term.ExitCode == 137
	}
	for _, name := range []string{"always", "killed"} {
		p := waitPod(t, o, name, "restarted after an OOM kill", func(p *baton.Pod) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Running != nil
		})
		if last := p.Status.ContainerStatuses[0].LastTerminationState; !oom(last) {
			t.Errorf("%s: lastState.terminated = %+v; want reason OOMKilled, exit code 137", name, last.Terminated)
		}
	}
	p := waitPod(t, o, "never", "terminated", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Terminated != nil
	})
	if st := p.Status.ContainerStatuses[0].State; !oom(st) {
		t.Errorf("never: state.terminated = %+v; want reason OOMKilled, exit code 137", st.Terminated)
	}
	if p.Status.Phase != baton.PodFailed {
		t.Errorf("never: phase %s; want Failed", p.Status.Phase)
	}
}
