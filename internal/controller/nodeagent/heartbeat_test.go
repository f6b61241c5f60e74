package nodeagent

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// runManager runs a Manager of one Node, n1, until the test ends.
func runManager(t *testing.T, cfg Config, rt runtime.Runtime) {
	t.Helper()
	cfg.Log = zaptest.NewLogger(t)
	m := NewManager(cfg, []Node{{Name: "n1", Runtime: rt}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func nodeReady(s *store.Store) api.ConditionStatus {
	var status api.ConditionStatus
	s.View(func(tx store.ReadTx) {
		if n, err := store.Get[*api.Node](tx, "", "n1"); err == nil {
			if c := n.Status.Condition(api.NodeReady); c != nil {
				status = c.Status
			}
		}
	})
	return status
}

func podReady(s *store.Store, name string) bool {
	ready := false
	s.View(func(tx store.ReadTx) {
		if p, err := store.Get[*api.Pod](tx, "default", name); err == nil {
			ready = p.IsReady()
		}
	})
	return ready
}

// hangingRuntime is a fake whose Version never answers until its caller
// gives up, like a containerd that accepts connections but is stuck.
type hangingRuntime struct {
	*fake.Runtime
	hang chan struct{} // closed: Version hangs
}

func (r *hangingRuntime) Version(ctx context.Context) (runtime.VersionInfo, error) {
	select {
	case <-r.hang:
		<-ctx.Done()
		return runtime.VersionInfo{}, ctx.Err()
	default:
		return r.Runtime.Version(ctx)
	}
}

// A runtime that hangs rather than refusing makes the Node not Ready: the
// heartbeat's call to it has a deadline.
func TestHeartbeatMarksNodeNotReadyWhenTheRuntimeHangs(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx store.Tx) error { return tx.Create(&api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}) }); err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rt := &hangingRuntime{Runtime: fake.New(fake.WithClock(fc)), hang: make(chan struct{})}
	runManager(t, Config{Store: s, Clock: fc, HeartbeatPeriod: 50 * time.Millisecond}, rt)
	testutil.Eventually(t, "the Node Ready", 10*time.Second, time.Millisecond, func() (bool, string) {
		return nodeReady(s) == api.ConditionTrue, string(nodeReady(s))
	})
	close(rt.hang)
	testutil.Eventually(t, "the Node not Ready", 10*time.Second, time.Millisecond, func() (bool, string) {
		fc.Advance(50 * time.Millisecond) // the next heartbeats
		return nodeReady(s) == api.ConditionFalse, string(nodeReady(s))
	})
}

// When heartbeats resume after the node lifecycle controller marked the
// Node Unknown and its Pods not ready, the agent recomputes its Pods'
// status, so they are Ready again and back in their Services.
func TestReturningNodeMakesItsPodsReadyAgain(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx store.Tx) error { return tx.Create(&api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}) }); err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	runManager(t, Config{Store: s, Clock: fc}, fake.New(fake.WithClock(fc)))
	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "app", Image: "web:1"}}}}
	api.SetDefaults(pod)
	if err := s.Update(func(tx store.Tx) error { return tx.Create(pod) }); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the Pod Ready on a Ready Node", 10*time.Second, time.Millisecond, func() (bool, string) {
		return podReady(s, "web") && nodeReady(s) == api.ConditionTrue, "not yet"
	})

	// What the node lifecycle controller writes when heartbeats stop.
	if err := s.Update(func(tx store.Tx) error {
		n, err := store.Get[*api.Node](tx, "", "n1")
		if err != nil {
			return err
		}
		next := *n
		next.Status.Conditions = []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionUnknown, Reason: "NodeStatusUnknown"}}
		if err := tx.Update(&next); err != nil {
			return err
		}
		p, err := store.Get[*api.Pod](tx, "default", "web")
		if err != nil {
			return err
		}
		np := *p
		np.Status.Conditions = nil
		for _, c := range p.Status.Conditions {
			if c.Type == api.PodReady || c.Type == api.ContainersReady {
				c.Status, c.Reason = api.ConditionFalse, "NodeNotReady"
			}
			np.Status.Conditions = append(np.Status.Conditions, c)
		}
		return tx.Update(&np)
	}); err != nil {
		t.Fatal(err)
	}
	if podReady(s, "web") {
		t.Fatal("the Pod is still Ready after being marked not ready")
	}
	fc.Advance(DefaultHeartbeatPeriod) // the agent's next heartbeat
	testutil.Eventually(t, "the Pod Ready again", 10*time.Second, time.Millisecond, func() (bool, string) {
		return podReady(s, "web") && nodeReady(s) == api.ConditionTrue, "not yet"
	})
}
