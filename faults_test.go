package baton_test

import (
	"errors"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

// The fake runtime's faults, as a test harness uses them: an image missing
// from every registry leaves its container waiting with ErrImagePull, its
// pull retried with back-off, and it starts once the image is back; a
// start that fails is retried with back-off and the container then runs.
func TestFakeFaultsMissingImageAndFailedStart(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	rt.SetImageMissing("gone:1", true)
	rt.SetBehavior(fake.ByImage("flaky:1"), fake.Behavior{FailStart: func(n int) error {
		if n == 1 {
			return errors.New("the first start fails")
		}
		return nil
	}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc), baton.WithCrashLoopJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	for _, p := range []*baton.Pod{
		podOf("missing", "", baton.Container{Name: "app", Image: "gone:1"}),
		podOf("flaky", "", baton.Container{Name: "app", Image: "flaky:1"}),
	} {
		if _, err := o.Pods("default").Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waiting := func(name, reason string) func([]*baton.Pod) bool {
		return func(pods []*baton.Pod) bool {
			for _, p := range pods {
				if cs := p.Status.ContainerStatuses; p.Name == name && len(cs) == 1 && cs[0].State.Waiting != nil {
					return cs[0].State.Waiting.Reason == reason
				}
			}
			return false
		}
	}
	running := func(name string) func([]*baton.Pod) bool {
		return func(pods []*baton.Pod) bool {
			for _, p := range pods {
				if cs := p.Status.ContainerStatuses; p.Name == name && len(cs) == 1 {
					return cs[0].State.Running != nil
				}
			}
			return false
		}
	}
	waitPods(t, o, "default", "missing: ErrImagePull", waiting("missing", "ErrImagePull"))
	waitPods(t, o, "default", "flaky: its first start failed", waiting("flaky", "RunContainerError"))
	fc.Advance(10 * time.Second) // the first retry of each
	poll(t, "a second pull of the missing image", func() bool { return rt.Pulls("gone:1") >= 2 })
	waitPods(t, o, "default", "flaky: running after its retry", running("flaky"))
	rt.SetImageMissing("gone:1", false)
	// The back-off has doubled: move the clock on, 10 s at a time, until
	// the pull is retried and the container runs.
	for i := 0; !running("missing")(mustList(t, o)); i++ {
		if i > 60 {
			t.Fatal("the image came back but the container never started")
		}
		fc.Advance(10 * time.Second)
		pulls := rt.Pulls("gone:1")
		for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline) && rt.Pulls("gone:1") == pulls; {
			time.Sleep(2 * time.Millisecond) // polling the fake runtime, which no watch reports
		}
	}
}
