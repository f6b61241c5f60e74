package baton

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// invariantChecker follows every store revision and checks the rollout
// bounds of one Deployment's Pods at each: at most replicas+maxSurge Pods
// that are not terminating, and — once armed — at least
// replicas-maxUnavailable available ones.
type invariantChecker struct {
	t          *testing.T
	app        string
	maxTotal   int
	minAvail   int
	minReady   time.Duration
	mu         sync.Mutex // guards the fields below
	pods       map[string]*api.Pod
	armed      bool
	revision   uint64
	violations []string
	checks     int
	// mixed says whether two images ever had Pods at one revision.
	mixed bool
	// ready is set once the snapshot is in; changes that come before wait
	// in early.
	ready bool
	early []store.Change
}

func newChecker(t *testing.T, s *store.Store, app string, maxTotal, minAvail int, minReady time.Duration) (*invariantChecker, func()) {
	c := &invariantChecker{t: t, app: app, maxTotal: maxTotal, minAvail: minAvail, minReady: minReady, pods: map[string]*api.Pod{}}
	snap, cancel := s.Subscribe(func(ch store.Change) bool { return ch.Kind() == api.KindPod }, c.apply)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range store.List[*api.Pod](snap, "") {
		c.pods[p.Key()] = p
	}
	c.revision = snap.Revision()
	c.ready = true
	for _, ch := range c.early {
		c.applyLocked(ch)
	}
	c.early = nil
	return c, cancel
}

// apply runs under the store's write lock, once per change; a change of a
// new revision first checks the state the previous revision left.
func (c *invariantChecker) apply(ch store.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		c.early = append(c.early, ch)
		return
	}
	c.applyLocked(ch)
}

func (c *invariantChecker) applyLocked(ch store.Change) {
	if ch.Revision != c.revision {
		c.checkLocked()
		c.revision = ch.Revision
	}
	pod := ch.Object.(*api.Pod)
	if ch.Type == store.Deleted {
		delete(c.pods, pod.Key())
	} else {
		c.pods[pod.Key()] = pod
	}
}

func (c *invariantChecker) checkLocked() {
	total, available, ready := 0, 0, 0
	images := map[string]bool{}
	now := time.Now()
	for _, p := range c.pods {
		if p.Labels["app"] != c.app {
			continue
		}
		images[p.Spec.Containers[0].Image] = true
		if p.DeletionTimestamp != nil || p.IsTerminal() {
			continue
		}
		total++
		if p.IsReady() {
			ready++
		}
		if p.IsReady() && now.Sub(p.Status.Condition(api.PodReady).LastTransitionTime.Time) >= c.minReady {
			available++
		}
	}
	c.checks++
	if len(images) > 1 {
		c.mixed = true
	}
	if total > c.maxTotal {
		c.violations = append(c.violations, fmt.Sprintf("revision %d: %d pods, more than replicas+maxSurge = %d", c.revision, total, c.maxTotal))
	}
	if c.armed && available < c.minAvail {
		c.violations = append(c.violations, fmt.Sprintf("revision %d: %d available (%d ready, %d pods), fewer than replicas-maxUnavailable = %d", c.revision, available, ready, total, c.minAvail))
	}
}

func (c *invariantChecker) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = true
}

func (c *invariantChecker) report() (violations []string, checks int, mixed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.violations, c.checks, c.mixed
}

func runFor(t *testing.T, o *Orchestrator) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func rolloutDeployment(name string, replicas int32, image string) *Deployment {
	labels := map[string]string{"app": name}
	return &Deployment{
		ObjectMeta: ObjectMeta{Name: name},
		Spec: DeploymentSpec{
			Replicas: &replicas,
			Selector: &LabelSelector{MatchLabels: labels},
			Template: PodTemplateSpec{
				ObjectMeta: ObjectMeta{Labels: labels},
				Spec:       PodSpec{Containers: []Container{{Name: "app", Image: image}}},
			},
		},
	}
}

// A rolling update whose new Pods fail to start and crash at random, by a
// fixed seed, never breaks the surge and availability bounds at any store
// revision, and completes.
func TestRollingUpdateKeepsBoundsAtEveryRevision(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			var rngMu sync.Mutex
			chance := func(p float64) bool {
				rngMu.Lock()
				defer rngMu.Unlock()
				return rng.Float64() < p
			}
			rt := fake.New()
			rt.SetBehavior(fake.ByImage("app:v2"), fake.Behavior{FailStart: func(int) error {
				if chance(0.3) {
					return errors.New("injected start failure")
				}
				return nil
			}})
			o, err := New(WithRuntime(rt), WithCrashLoopBackoff(5*time.Millisecond, 20*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			runFor(t, o)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			// Crash new containers at random the moment they start: they
			// were never available, so the bounds must hold regardless.
			events, err := rt.Events(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var crashers sync.WaitGroup
			crashers.Add(1)
			go func() {
				defer crashers.Done()
				for ev := range events {
					if ev.Type == runtime.ContainerStartedEvent && chance(0.25) {
						if c, err := rt.ContainerStatus(ctx, ev.ContainerID); err == nil && c.Config.Image == "app:v2" {
							_ = rt.Kill(ev.ContainerID, 1, runtime.ReasonError)
						}
					}
				}
			}()
			defer crashers.Wait()
			defer cancel()

			const replicas, surge, unavailable = 10, 3, 2
			d := rolloutDeployment("web", replicas, "app:v1")
			d.Spec.MinReadySeconds = 1
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(FromInt(surge)), MaxUnavailable: ptr(FromInt(unavailable))}
			if _, err := o.Deployments("default").Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			checker, stop := newChecker(t, o.store, "web", replicas+surge, replicas-unavailable, time.Second)
			defer stop()
			if err := o.Deployments("default").RolloutStatus(ctx, "web", nil); err != nil {
				t.Fatal(err)
			}
			checker.arm()
			// Apply ignores resourceVersion, so the controllers' own writes
			// to the Deployment cannot make it conflict.
			next := rolloutDeployment("web", replicas, "app:v2")
			next.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			next.Spec.Strategy = d.Spec.Strategy
			if _, err := o.Deployments("default").Apply(ctx, next); err != nil {
				t.Fatal(err)
			}
			if err := o.Deployments("default").RolloutStatus(ctx, "web", nil); err != nil {
				t.Fatal(err)
			}
			violations, checks, mixed := checker.report()
			for _, v := range violations {
				t.Error(v)
			}
			if checks < 10 || !mixed {
				t.Errorf("checked %d revisions (mixed versions seen: %v); the rollout was not observed", checks, mixed)
			}
			pods, _ := o.Pods("default").List(ctx, MatchLabels(map[string]string{"app": "web"}))
			for _, p := range pods {
				if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image != "app:v2" {
					t.Errorf("pod %s runs %s after the rollout", p.Name, p.Spec.Containers[0].Image)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Recreate stops every old Pod before it starts a new one.
func TestRecreateNeverRunsTwoVersions(t *testing.T) {
	rt := fake.New()
	o, err := New(WithRuntime(rt))
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := rolloutDeployment("db", 4, "db:v1")
	d.Spec.Strategy = DeploymentStrategy{Type: RecreateDeploymentStrategyType}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := o.Deployments("default").RolloutStatus(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	checker, stop := newChecker(t, o.store, "db", 4, 0, 0)
	defer stop()
	next := rolloutDeployment("db", 4, "db:v2")
	next.Spec.Strategy = d.Spec.Strategy
	if _, err := o.Deployments("default").Apply(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := o.Deployments("default").RolloutStatus(ctx, "db", nil); err != nil {
		t.Fatal(err)
	}
	violations, checks, mixed := checker.report()
	for _, v := range violations {
		t.Error(v)
	}
	if mixed {
		t.Errorf("old and new Pods existed at the same revision (of %d checked)", checks)
	}
	if checks < 5 {
		t.Errorf("only %d revisions checked", checks)
	}
}
