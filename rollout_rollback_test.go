package baton_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

// Like "kubectl rollout undo", Rollback refuses a paused Deployment; it
// works again once resumed.
func TestRollbackOfAPausedDeploymentIsRefused(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 2, "web:v1")); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	setImage(t, o, "web", "web:v2")
	rollout(t, o, "web")
	if _, err := o.Deployments("default").Pause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	before, _ := o.Deployments("default").Get(ctx, "web")
	_, err := o.Deployments("default").Rollback(ctx, "web", 0)
	if !errors.Is(err, baton.ErrFailedPrecondition) || !strings.Contains(err.Error(), "paused") || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("rollback of a paused deployment: got %v, want ErrFailedPrecondition saying to resume first", err)
	}
	after, _ := o.Deployments("default").Get(ctx, "web")
	if img := after.Spec.Template.Spec.Containers[0].Image; img != "web:v2" || after.Generation != before.Generation {
		t.Errorf("the refused rollback changed the deployment: image %s, generation %d → %d", img, before.Generation, after.Generation)
	}
	if _, err := o.Deployments("default").Resume(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	d, err := o.Deployments("default").Rollback(ctx, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "web:v1" {
		t.Errorf("rollback after resuming set %s, want web:v1", img)
	}
}

// Automatic rollback never returns to a revision that was itself rolled
// back automatically: when the revision it rolled back to fails too, it
// gives up with a RollbackImpossible event instead of alternating between
// the two for ever. A revision that later rolls out completely is trusted
// again.
func TestAutoRollbackNeverAlternatesFailingRevisions(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	// Containers that fail to start never look ready, so no readiness
	// blip counts as progress and resets the deadline.
	crash := fake.Behavior{FailStart: func(int) error { return errors.New("injected start failure") }}
	rt.SetBehavior(fake.ByImage("web:bad"), crash)
	o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	d := deploymentOf("web", 3, "web:good")
	deadline := int32(60)
	d.Spec.ProgressDeadlineSeconds = &deadline
	d.Annotations = map[string]string{baton.AnnotationAutoRollback: "true"}
	// One old Pod at a time is replaced, so that a rollback needs a new
	// Pod of the revision it returns to.
	d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{MaxSurge: ptr(baton.FromInt(0)), MaxUnavailable: ptr(baton.FromInt(1))}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	// From now on web:good fails too, in new containers.
	rt.SetBehavior(fake.ByImage("web:good"), crash)
	setImage(t, o, "web", "web:bad")
	// passDeadline waits until the rollout has stalled with updated Pods
	// of the current template (so that nothing it does later counts as
	// progress and restarts the deadline), moves the clock two minutes on,
	// past the 60s deadline, and waits for cond.
	passDeadline := func(updated int32, what string, cond func(*baton.Deployment) bool) *baton.Deployment {
		t.Helper()
		waitDeployment(t, o, "default", "web", fmt.Sprintf("rollout stalled with %d updated", updated), func(d *baton.Deployment) bool {
			c := d.Status.Condition("Progressing")
			return d.Status.ObservedGeneration == d.Generation && c != nil && c.Reason == "ReplicaSetUpdated" &&
				d.Status.Replicas == 3 && d.Status.UpdatedReplicas == updated
		})
		for range 12 {
			fc.Advance(10 * time.Second)
		}
		return waitDeployment(t, o, "default", "web", what, cond)
	}
	// Stalled: 2 old Pods, 1 new that fails.
	passDeadline(1, "rolled back to web:good", func(d *baton.Deployment) bool {
		return d.Spec.Template.Spec.Containers[0].Image == "web:good"
	})
	// web:good now fails as well: stalled with its 2 old Pods and 1 new
	// that fails. Rolling back "to the previous revision" would return to
	// web:bad, which already failed.
	passDeadline(3, "deadline exceeded again", func(d *baton.Deployment) bool {
		c := d.Status.Condition("Progressing")
		return c != nil && c.Reason == "ProgressDeadlineExceeded"
	})
	waitRolloutEvent(t, o, "RollbackImpossible", "rolled back automatically themselves")
	history, err := o.Deployments("default").History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range history {
		got = append(got, fmt.Sprintf("%d:%s", h.Number, h.Template.Spec.Containers[0].Image))
	}
	if strings.Join(got, " ") != "2:web:bad 3:web:good" {
		t.Errorf("revisions %v, want [2:web:bad 3:web:good]: no rollback after the second failure", got)
	}
	cur, _ := o.Deployments("default").Get(ctx, "web")
	if img := cur.Spec.Template.Spec.Containers[0].Image; img != "web:good" {
		t.Errorf("template %s after the second failure, want web:good kept", img)
	}
	rss, _ := o.ReplicaSets("default").List(ctx)
	for _, rs := range rss {
		marked := rs.Annotations["baton.dev/auto-rolled-back"] == "true"
		if bad := rs.Spec.Template.Spec.Containers[0].Image == "web:bad"; marked != bad {
			t.Errorf("replica set %s (%s): auto-rolled-back mark %v", rs.Name, rs.Spec.Template.Spec.Containers[0].Image, marked)
		}
	}

	// web:bad is fixed and rolled out by hand: once complete, it is no
	// longer marked.
	rt.SetBehavior(fake.ByImage("web:bad"), fake.Behavior{})
	setImage(t, o, "web", "web:bad")
	rollout(t, o, "web")
	waitReplicaSets(t, o, "the mark cleared", func(rss []*baton.ReplicaSet) bool {
		for _, rs := range rss {
			if rs.Annotations["baton.dev/auto-rolled-back"] != "" {
				return false
			}
		}
		return true
	})
}

// waitRolloutEvent waits for an event of reason whose message contains text.
func waitRolloutEvent(t *testing.T, o *baton.Orchestrator, reason, text string) {
	t.Helper()
	ctx := ctxFor(t)
	events, err := o.Events("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.Object.Reason == reason && strings.Contains(ev.Object.Message, text) {
			return
		}
	}
	t.Fatalf("no %s event saying %q", reason, text)
}

// waitReplicaSets waits until cond holds for the ReplicaSets in default.
func waitReplicaSets(t *testing.T, o *baton.Orchestrator, what string, cond func([]*baton.ReplicaSet) bool) {
	t.Helper()
	ctx := ctxFor(t)
	changes, err := o.ReplicaSets("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		rss, err := o.ReplicaSets("default").List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cond(rss) {
			return
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
