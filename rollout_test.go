package baton_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/runtime/fake"
)

// setImage changes a Deployment's image the way a careful client does:
// read, change, write, and on a conflict (the controllers write the same
// object) read again.
func setImage(t *testing.T, o *baton.Orchestrator, name, image string) {
	t.Helper()
	ctx := ctxFor(t)
	for {
		d, err := o.Deployments("default").Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err = o.Deployments("default").Update(ctx, d)
		if err == nil {
			return
		}
		if !errors.Is(err, baton.ErrConflict) {
			t.Fatal(err)
		}
	}
}

func rollout(t *testing.T, o *baton.Orchestrator, name string) {
	t.Helper()
	if err := o.Deployments("default").RolloutStatus(ctxFor(t), name, nil); err != nil {
		t.Fatal(err)
	}
}

// images counts the images of an app's Pods that are not terminating.
func images(t *testing.T, o *baton.Orchestrator, app string) map[string]int {
	t.Helper()
	pods, err := o.Pods("default").List(ctxFor(t), baton.MatchLabels(map[string]string{"app": app}))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			out[p.Spec.Containers[0].Image]++
		}
	}
	return out
}

func TestRollbackRestoresThePreviousTemplate(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 3, "web:v1")); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	setImage(t, o, "web", "web:v2")
	rollout(t, o, "web")
	if got := images(t, o, "web"); got["web:v2"] != 3 || len(got) != 1 {
		t.Fatalf("after the update: %v", got)
	}
	d, err := o.Deployments("default").Rollback(ctx, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "web:v1" {
		t.Fatalf("rollback set image %s, want web:v1", img)
	}
	rollout(t, o, "web")
	if got := images(t, o, "web"); got["web:v1"] != 3 || len(got) != 1 {
		t.Fatalf("after the rollback: %v", got)
	}
	// As in Kubernetes, the restored template takes the next revision and
	// its old number leaves the history.
	history, err := o.Deployments("default").History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range history {
		got = append(got, fmt.Sprintf("%d:%s", h.Number, h.Template.Spec.Containers[0].Image))
	}
	if strings.Join(got, " ") != "2:web:v2 3:web:v1" {
		t.Errorf("history = %v, want [2:web:v2 3:web:v1]", got)
	}
	d, _ = o.Deployments("default").Get(ctx, "web")
	if d.Annotations[baton.AnnotationRevision] != "3" {
		t.Errorf("deployment revision annotation %q, want 3", d.Annotations[baton.AnnotationRevision])
	}
	// Rolling back to a named revision works too, and a missing one fails.
	if _, err := o.Deployments("default").Rollback(ctx, "web", 2); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	if got := images(t, o, "web"); got["web:v2"] != 3 {
		t.Errorf("after rolling back to revision 2: %v", got)
	}
	if _, err := o.Deployments("default").Rollback(ctx, "web", 42); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("rollback to revision 42: got %v, want ErrNotFound", err)
	}
}

func TestRevisionHistoryLimitPrunesOldReplicaSets(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	d := deploymentOf("web", 2, "web:v0")
	limit := int32(2)
	d.Spec.RevisionHistoryLimit = &limit
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	for i := 1; i <= 5; i++ {
		setImage(t, o, "web", fmt.Sprintf("web:v%d", i))
		rollout(t, o, "web")
	}
	// The pruning happens once the old Pods are gone; wait for it,
	// looking again whenever a ReplicaSet changes.
	changes, err := o.ReplicaSets("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int64
	for {
		history, _ := o.Deployments("default").History(ctx, "web")
		numbers = numbers[:0]
		for _, h := range history {
			numbers = append(numbers, h.Number)
		}
		if len(history) == 3 {
			break
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("history not pruned: revisions %v", numbers)
		}
	}
	if fmt.Sprint(numbers) != "[4 5 6]" {
		t.Errorf("revisions kept %v, want [4 5 6]", numbers)
	}
}

// Rollover: a template change in the middle of a rollout goes straight to
// the newest template. The new Pods of v2 and v3 never start (every start
// fails, and the crash-loop back-off is an hour), so each of their
// rollouts stalls with Pods of its own; only then does the next change
// come. The last, v4, converges, every older ReplicaSet ends at zero, and
// each template got the next revision, as in Kubernetes.
func TestTemplateChangesMidRolloutConvergeOnTheLast(t *testing.T) {
	rt := fake.New()
	for _, v := range []string{"web:v2", "web:v3"} {
		rt.SetBehavior(fake.ByImage(v), fake.Behavior{FailStart: func(int) error { return errors.New("injected start failure") }})
	}
	o, err := baton.New(baton.WithRuntime(rt), baton.WithCrashLoopBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 6, "web:v1")); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	for _, v := range []string{"web:v2", "web:v3"} {
		setImage(t, o, "web", v)
		// Mid-rollout: v's own ReplicaSet has Pods, and old Pods remain.
		waitPods(t, o, "default", v+" pods beside older ones", func(pods []*baton.Pod) bool {
			mine, others := 0, 0
			for _, p := range pods {
				switch {
				case p.DeletionTimestamp != nil:
				case p.Spec.Containers[0].Image == v:
					mine++
				default:
					others++
				}
			}
			return mine > 0 && others > 0
		})
	}
	setImage(t, o, "web", "web:v4")
	rollout(t, o, "web")
	if got := images(t, o, "web"); got["web:v4"] != 6 || len(got) != 1 {
		t.Errorf("after three changes: %v", got)
	}
	history, err := o.Deployments("default").History(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range history {
		got = append(got, fmt.Sprintf("%d:%s:%d", h.Number, h.Template.Spec.Containers[0].Image, h.Replicas))
	}
	if want := "1:web:v1:0 2:web:v2:0 3:web:v3:0 4:web:v4:6"; strings.Join(got, " ") != want {
		t.Errorf("revisions (number:image:replicas) %v, want %s", got, want)
	}
}

func TestPauseHoldsTheRolloutAndScalingStillWorks(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("web", 2, "web:v1")); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	if _, err := o.Deployments("default").Pause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	setImage(t, o, "web", "web:v2")
	if _, err := o.Deployments("default").Scale(ctx, "web", 4); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "4 ready v1 pods", readyPods(4))
	d := waitDeployment(t, o, "default", "web", "paused condition", func(d *baton.Deployment) bool {
		c := d.Status.Condition("Progressing")
		return c != nil && c.Reason == "DeploymentPaused"
	})
	if got := images(t, o, "web"); got["web:v1"] != 4 {
		t.Errorf("while paused: %v (status %+v)", got, d.Status)
	}
	if _, err := o.Deployments("default").Resume(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	if got := images(t, o, "web"); got["web:v2"] != 4 || len(got) != 1 {
		t.Errorf("after resuming: %v", got)
	}
}

// Scaling mid-rollout shares the change between the old and the new
// ReplicaSet in proportion to their sizes, as Kubernetes does.
func TestScalingMidRolloutIsProportional(t *testing.T) {
	rt := fake.New()
	// New Pods never become ready, so the rollout stalls half way.
	rt.SetBehavior(fake.ByImage("web:v2"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
	o, err := baton.New(baton.WithRuntime(rt), baton.WithCrashLoopBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	d := deploymentOf("web", 10, "web:v1")
	d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{MaxSurge: ptr(baton.FromInt(3)), MaxUnavailable: ptr(baton.FromInt(2))}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	setImage(t, o, "web", "web:v2")
	// Stalled: the new ReplicaSet holds 5 (3 surge + 2 unavailable), the
	// old one 8.
	sizes := func() map[string]int32 {
		rss, _ := o.ReplicaSets("default").List(ctx)
		out := map[string]int32{}
		for _, rs := range rss {
			out[rs.Spec.Template.Spec.Containers[0].Image] = *rs.Spec.Replicas
		}
		return out
	}
	waitDeployment(t, o, "default", "web", "stalled at 8+5", func(*baton.Deployment) bool {
		s := sizes()
		return s["web:v1"] == 8 && s["web:v2"] == 5
	})
	if _, err := o.Deployments("default").Scale(ctx, "web", 20); err != nil {
		t.Fatal(err)
	}
	// Kubernetes' numbers (sync.go scale, GetReplicaSetProportion): both
	// ReplicaSets were last scaled when replicas + maxSurge was 10+3 = 13
	// (their max-replicas annotation); now allowed = 20+3 = 23, so
	// 23-13 = 10 replicas to add. Largest first: the old one takes
	// round(8*23/13) - 8 = round(14.15) - 8 = 6, the new one
	// round(5*23/13) - 5 = round(8.85) - 5 = 4, and nothing is left over.
	waitDeployment(t, o, "default", "web", "scaled proportionally to 14+9", func(*baton.Deployment) bool {
		s := sizes()
		return s["web:v1"] == 14 && s["web:v2"] == 9
	})
	if _, err := o.Deployments("default").Scale(ctx, "web", 10); err != nil {
		t.Fatal(err)
	}
	// Back to 10: allowed = 13, 13-23 = -10 to remove. Largest first: the
	// old one gives round(14*13/23) - 14 = 8 - 14 = -6, the new one
	// round(9*13/23) - 9 = 5 - 9 = -4: the stalled shape again.
	waitDeployment(t, o, "default", "web", "scaled proportionally back to 8+5", func(*baton.Deployment) bool {
		s := sizes()
		return s["web:v1"] == 8 && s["web:v2"] == 5
	})
}

func ptr[T any](v T) *T { return &v }

// A rollout whose new Pods crash-loop exceeds its progress deadline; with
// the auto-rollback annotation Baton rolls back by itself.
func TestProgressDeadlineAndAutomaticRollback(t *testing.T) {
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprint("auto=", auto), func(t *testing.T) {
			fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			rt := fake.New(fake.WithClock(fc))
			rt.SetBehavior(fake.ByImage("web:bad"), fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
			o, err := baton.New(baton.WithRuntime(rt), baton.WithClock(fc))
			if err != nil {
				t.Fatal(err)
			}
			start(t, o)
			ctx := ctxFor(t)
			d := deploymentOf("web", 3, "web:good")
			deadline := int32(60)
			d.Spec.ProgressDeadlineSeconds = &deadline
			if auto {
				d.Annotations = map[string]string{baton.AnnotationAutoRollback: "true"}
			}
			if _, err := o.Deployments("default").Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			rollout(t, o, "web")
			setImage(t, o, "web", "web:bad")
			failed := make(chan error, 1)
			watching := make(chan struct{})
			var once sync.Once
			go func() {
				failed <- o.Deployments("default").RolloutStatus(ctx, "web", func(baton.RolloutProgress) {
					once.Do(func() { close(watching) })
				})
			}()
			<-watching // RolloutStatus is following before the clock moves
			waitDeployment(t, o, "default", "web", "rollout progressing", func(d *baton.Deployment) bool {
				c := d.Status.Condition("Progressing")
				return d.Status.UpdatedReplicas > 0 && c != nil && c.Reason == "ReplicaSetUpdated"
			})
			// Let the crash loop and the deadline play out on the clock.
			for i := 0; i < 12; i++ {
				fc.Advance(10 * time.Second)
			}
			if err := <-failed; !errors.Is(err, baton.ErrRolloutFailed) {
				t.Fatalf("RolloutStatus: got %v, want ErrRolloutFailed", err)
			}
			if !auto {
				got := waitDeployment(t, o, "default", "web", "deadline exceeded", func(d *baton.Deployment) bool {
					c := d.Status.Condition("Progressing")
					return c != nil && c.Status == baton.ConditionFalse && c.Reason == "ProgressDeadlineExceeded"
				})
				if img := got.Spec.Template.Spec.Containers[0].Image; img != "web:bad" {
					t.Errorf("without the annotation the template changed to %s", img)
				}
				return
			}
			waitDeployment(t, o, "default", "web", "rolled back", func(d *baton.Deployment) bool {
				return d.Spec.Template.Spec.Containers[0].Image == "web:good"
			})
			rollout(t, o, "web")
			if got := images(t, o, "web"); got["web:good"] != 3 || len(got) != 1 {
				t.Errorf("after the automatic rollback: %v", got)
			}
			events, _ := o.Events("default").Watch(ctx)
			for ev := range events {
				e := ev.Object
				if e.Reason == "RolledBack" && e.Type == baton.EventTypeWarning && strings.Contains(e.Message, "progress deadline") {
					break
				}
			}
			if ctx.Err() != nil {
				t.Error("no RolledBack warning event saying why")
			}
		})
	}
}

// RolloutStatus reports the rollout's progress as it goes. The Deployment
// is created paused, so that its rollout cannot finish before RolloutStatus
// follows it (on the fake runtime a rollout of 3 takes milliseconds); it
// resumes once RolloutStatus has reported where it starts.
func TestRolloutStatusReportsProgress(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	d := deploymentOf("web", 3, "web:v1")
	d.Spec.Paused = true
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	var messages []string
	following := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- o.Deployments("default").RolloutStatus(ctx, "web", func(p baton.RolloutProgress) {
			if len(messages) == 0 {
				close(following)
			}
			messages = append(messages, p.Message)
		})
	}()
	select {
	case <-following:
	case err := <-done:
		t.Fatalf("RolloutStatus of a paused deployment returned %v", err)
	}
	if _, err := o.Deployments("default").Resume(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(messages) < 2 || messages[len(messages)-1] != `deployment "web" successfully rolled out` {
		t.Errorf("progress messages %q", messages)
	}
	if !strings.HasPrefix(messages[0], "Waiting for ") {
		t.Errorf("first progress message %q, want one that waits", messages[0])
	}
}

func TestBadStrategyIsRefused(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	d := deploymentOf("web", 3, "nginx")
	d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{
		MaxSurge:       ptr(baton.FromString("150%")),
		MaxUnavailable: ptr(baton.FromString("120%")),
	}
	d.Spec.Strategy.Type = "BlueGreen"
	_, err = o.Deployments("default").Create(ctx, d)
	expectInvalid(t, err, "spec.strategy.type", "spec.strategy.rollingUpdate.maxUnavailable")
	d = deploymentOf("web", 3, "nginx")
	d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{MaxSurge: ptr(baton.FromInt(0)), MaxUnavailable: ptr(baton.FromInt(0))}
	_, err = o.Deployments("default").Create(ctx, d)
	expectInvalid(t, err, "spec.strategy.rollingUpdate.maxUnavailable")
	if _, err := o.Deployments("default").Rollback(ctx, "missing", 0); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("rollback of a missing deployment: %v", err)
	}
}
