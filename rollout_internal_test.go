package baton

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// invariantChecker follows every store revision and checks the rollout
// bounds of one Deployment's Pods at each: at most replicas+maxSurge Pods
// that are not terminating, and — once armed — at least
// replicas-maxUnavailable available ones. Availability is read on the
// orchestrator's clock as of the moment the revision was committed: a
// revision's Pods only become more available as time passes, so that is
// when the bound is tightest.
type invariantChecker struct {
	t          *testing.T
	clock      clock.Clock
	app        string
	maxTotal   int
	minAvail   int
	minReady   time.Duration
	mu         sync.Mutex // guards the fields below
	pods       map[string]*api.Pod
	armed      bool
	armedAt    time.Time
	revision   uint64
	at         time.Time // when revision was committed
	violations []string
	checks     int
	// mixed says whether two images ever had Pods at one revision.
	mixed bool
	// ready is set once the snapshot is in; changes that come before wait
	// in early.
	ready bool
	early []store.Change
}

func newChecker(t *testing.T, s *store.Store, clk clock.Clock, app string, maxTotal, minAvail int, minReady time.Duration) (*invariantChecker, func()) {
	c := &invariantChecker{t: t, clock: clk, app: app, maxTotal: maxTotal, minAvail: minAvail, minReady: minReady, pods: map[string]*api.Pod{}}
	snap, cancel := s.Subscribe(func(ch store.Change) bool { return ch.Kind() == api.KindPod }, c.apply)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range store.List[*api.Pod](snap, "") {
		c.pods[p.Key()] = p
	}
	c.revision, c.at = snap.Revision(), clk.Now()
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
		c.revision, c.at = ch.Revision, c.clock.Now()
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
	// The revision's state held from c.at until now; the part of that
	// under the availability bound began at c.at or at arming, if later.
	now := c.at
	if c.armed && c.armedAt.After(now) {
		now = c.armedAt
	}
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
	c.armed, c.armedAt = true, c.clock.Now()
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

// clockStep is how far pumpClock moves the fake clock at a time: well
// under minReadySeconds, so that availability comes in several steps.
const clockStep = 250 * time.Millisecond

// pumpClock drives a fake-clock rollout of the Deployment name until done
// yields (RolloutStatus's result), and returns that. It moves the clock
// one step only once the store has caught up, so that time passes only
// while the orchestrator waits on it (a back-off, minReadySeconds), never
// while it is still acting on the last step:
//
//   - every Pod is scheduled and its node agent has reported its
//     containers, and no Pod is Ready while the runtime says one of its
//     containers is not running (a container that crashed on start may
//     look Ready until its exit is reported; time must not make it
//     available meanwhile);
//   - each ReplicaSet has as many Pods as it wants;
//   - the Deployment's status describes its generation and counts the
//     Pods the store holds.
//
// Availability is left out: Pods become available as the clock moves, and
// the controllers learn it from timers on the clock, which only moving it
// fires. pumpClock waits on store changes, never on real time. What it
// cannot see — a controller still acting on a change the store does not
// show yet — it may step past; the clock then runs ahead of the
// orchestrator, which only makes Pods available and back-offs expire
// sooner, and the invariants are checked at each commit on the clock all
// the same. The tests set the progress deadline out of reach for that
// reason: it has tests of its own.
func pumpClock(t *testing.T, o *Orchestrator, rt *fake.Runtime, fc *clock.Fake, name string, done <-chan error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	changed := make(chan struct{}, 1)
	_, stop := o.store.Subscribe(func(ch store.Change) bool {
		k := ch.Kind()
		return k == api.KindPod || k == api.KindReplicaSet || k == api.KindDeployment
	}, func(store.Change) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer stop()
	for {
		for {
			why := behind(ctx, o, rt, name)
			if why == "" {
				break
			}
			select {
			case <-changed:
			case err := <-done:
				return err
			case <-ctx.Done():
				next, _ := fc.NextDeadline()
				var rss []string
				o.store.View(func(tx store.ReadTx) {
					for _, rs := range store.List[*api.ReplicaSet](tx, "default") {
						rss = append(rss, fmt.Sprintf("%s %+v", rs.Name, rs.Status))
					}
				})
				return fmt.Errorf("the store never caught up at %s (%d timers, next %s): %s; %v", fc.Now().Format(time.TimeOnly), fc.Timers(), next.Format(time.TimeOnly), why, rss)
			}
		}
		select {
		case err := <-done:
			return err
		default:
		}
		fc.Advance(clockStep)
	}
}

// behind says how the store lags behind the runtime or itself for the
// Deployment name, or "" when it has caught up (see pumpClock).
func behind(ctx context.Context, o *Orchestrator, rt *fake.Runtime, name string) string {
	var why string
	o.store.View(func(tx store.ReadTx) {
		d, err := store.Get[*api.Deployment](tx, "default", name)
		if err != nil {
			why = err.Error()
			return
		}
		var active int32
		for _, p := range store.List[*api.Pod](tx, "default") {
			if !d.Spec.Selector.Matches(p.Labels) || p.DeletionTimestamp != nil || p.IsTerminal() {
				continue
			}
			active++
			switch {
			case p.Spec.NodeName == "":
				why = "pod " + p.Name + " is not scheduled"
				return
			case len(p.Status.ContainerStatuses) < len(p.Spec.Containers):
				why = "pod " + p.Name + " has no container status yet"
				return
			}
			if !p.IsReady() {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				_, id, _ := strings.Cut(cs.ContainerID, "://")
				if c, err := rt.ContainerStatus(ctx, id); err != nil || c.State != runtime.ContainerRunning {
					why = "pod " + p.Name + " is ready but its container " + cs.Name + " is not running"
					return
				}
			}
		}
		for _, rs := range store.List[*api.ReplicaSet](tx, "default") {
			if !rs.IsControlledBy(d.UID) {
				continue
			}
			var pods int32
			for _, p := range store.List[*api.Pod](tx, "default") {
				if p.IsControlledBy(rs.UID) && p.DeletionTimestamp == nil && !p.IsTerminal() {
					pods++
				}
			}
			if want := *rs.Spec.Replicas; pods != want {
				why = fmt.Sprintf("replica set %s has %d pods of %d", rs.Name, pods, want)
				return
			}
		}
		s := d.Status
		if s.ObservedGeneration != d.Generation || s.Replicas != active {
			why = fmt.Sprintf("deployment status (generation %d, %d pods) lags the store (generation %d, %d pods)",
				s.ObservedGeneration, s.Replicas, d.Generation, active)
		}
	})
	return why
}

// rolloutOnClock runs RolloutStatus for name while pumpClock drives the
// clock, and fails the test if the rollout does not complete.
func rolloutOnClock(t *testing.T, ctx context.Context, o *Orchestrator, rt *fake.Runtime, fc *clock.Fake, name string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- o.Deployments("default").RolloutStatus(ctx, name, nil) }()
	if err := pumpClock(t, o, rt, fc, name, done); err != nil {
		t.Fatal(err)
	}
}

// A rolling update whose new Pods fail to start and crash at random, by a
// fixed seed, never breaks the surge and availability bounds at any store
// revision, and completes. It runs on the fake runtime and a fake clock
// shared by the orchestrator, the runtime and the checker, so that
// minReadySeconds, the crash-loop back-off and availability are all
// measured on one clock that moves only when the store has caught up.
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
			fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			rt := fake.New(fake.WithClock(fc))
			rt.SetBehavior(fake.ByImage("app:v2"), fake.Behavior{FailStart: func(int) error {
				if chance(0.3) {
					return errors.New("injected start failure")
				}
				return nil
			}})
			// Newer rules come first: a quarter of the new containers that
			// start crash at once (exit code 1, after the ContainerStarted
			// event), the rest go on to the start failures above. Either
			// way they were never available, so the bounds must hold.
			rt.SetBehavior(func(c runtime.ContainerConfig) bool { return c.Image == "app:v2" && chance(0.25) },
				fake.Behavior{Exit: &fake.Exit{After: 0, Code: 1}})
			o, err := New(WithRuntime(rt), WithClock(fc), WithCrashLoopBackoff(time.Second, 4*time.Second), WithCrashLoopJitter(0))
			if err != nil {
				t.Fatal(err)
			}
			runFor(t, o)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			const replicas, surge, unavailable = 10, 3, 2
			d := rolloutDeployment("web", replicas, "app:v1")
			d.Spec.MinReadySeconds = 1
			d.Spec.ProgressDeadlineSeconds = ptr(int32(math.MaxInt32)) // see pumpClock
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(FromInt(surge)), MaxUnavailable: ptr(FromInt(unavailable))}
			if _, err := o.Deployments("default").Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			checker, stop := newChecker(t, o.store, fc, "web", replicas+surge, replicas-unavailable, time.Second)
			defer stop()
			rolloutOnClock(t, ctx, o, rt, fc, "web")
			checker.arm()
			// Apply ignores resourceVersion, so the controllers' own writes
			// to the Deployment cannot make it conflict.
			next := rolloutDeployment("web", replicas, "app:v2")
			next.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			next.Spec.ProgressDeadlineSeconds = d.Spec.ProgressDeadlineSeconds
			next.Spec.Strategy = d.Spec.Strategy
			if _, err := o.Deployments("default").Apply(ctx, next); err != nil {
				t.Fatal(err)
			}
			rolloutOnClock(t, ctx, o, rt, fc, "web")
			violations, checks, mixed := checker.report()
			for _, v := range violations {
				t.Error(v)
			}
			if checks < 10 || !mixed {
				t.Errorf("checked %d revisions (mixed versions seen: %v); the rollout was not observed", checks, mixed)
			}
			pods, _ := o.Pods("default").List(ctx, MatchLabels(map[string]string{"app": "web"}))
			restarts := 0
			for _, p := range pods {
				if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image != "app:v2" {
					t.Errorf("pod %s runs %s after the rollout", p.Name, p.Spec.Containers[0].Image)
				}
				for _, cs := range p.Status.ContainerStatuses {
					restarts += int(cs.RestartCount)
				}
			}
			t.Logf("%d revisions checked, %d restarts of new containers, %s of fake time", checks, restarts, fc.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
			if restarts == 0 {
				t.Error("no new container failed: the faults were not injected")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Recreate stops every old Pod before it starts a new one, on the fake
// clock like the test above.
func TestRecreateNeverRunsTwoVersions(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := fake.New(fake.WithClock(fc))
	o, err := New(WithRuntime(rt), WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := rolloutDeployment("db", 4, "db:v1")
	d.Spec.Strategy = DeploymentStrategy{Type: RecreateDeploymentStrategyType}
	d.Spec.ProgressDeadlineSeconds = ptr(int32(math.MaxInt32)) // see pumpClock
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rolloutOnClock(t, ctx, o, rt, fc, "db")
	checker, stop := newChecker(t, o.store, fc, "db", 4, 0, 0)
	defer stop()
	next := rolloutDeployment("db", 4, "db:v2")
	next.Spec.Strategy = d.Spec.Strategy
	next.Spec.ProgressDeadlineSeconds = d.Spec.ProgressDeadlineSeconds
	if _, err := o.Deployments("default").Apply(ctx, next); err != nil {
		t.Fatal(err)
	}
	rolloutOnClock(t, ctx, o, rt, fc, "db")
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
