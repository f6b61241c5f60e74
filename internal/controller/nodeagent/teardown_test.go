package nodeagent

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// TestDeletedPodWaitsForServiceTraffic: the containers of a deleted Pod
// are not stopped until Config.ServiceTrafficStopped has returned.
func TestDeletedPodWaitsForServiceTraffic(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	rt := fake.New()
	called := make(chan struct{})
	release := make(chan struct{})
	m := NewManager(Config{Store: s, Log: zaptest.NewLogger(t),
		ServiceTrafficStopped: func(ctx context.Context) error {
			close(called)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}, []Node{{Name: "n1", Runtime: rt}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "app", Image: "web:1"}}}}
	api.SetDefaults(pod)
	if err := s.Update(func(tx store.Tx) error { return tx.Create(pod) }); err != nil {
		t.Fatal(err)
	}
	running := func() int {
		n := 0
		for _, c := range rt.Containers() {
			if c.State == runtime.ContainerRunning {
				n++
			}
		}
		return n
	}
	testutil.Eventually(t, "the container runs", 10*time.Second, time.Millisecond, func() (bool, string) {
		return running() == 1, "not yet"
	})
	if err := s.Update(func(tx store.Tx) error {
		return deletion.Delete(tx, api.KindPod, "default", "web", deletion.Options{})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("ServiceTrafficStopped was not called for the deleted Pod")
	}
	if n := running(); n != 1 {
		t.Fatalf("%d containers running while ServiceTrafficStopped blocks, want the Pod's still running", n)
	}
	close(release)
	testutil.Eventually(t, "the container stops", 10*time.Second, time.Millisecond, func() (bool, string) {
		return running() == 0, "still running"
	})
}
