package servicefeed_test

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/servicefeed"
	"github.com/batonhq/baton/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func write(t *testing.T, s *store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestFeed(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	port, name := int32(8080), "http"
	pod := func(uid string) *api.ObjectReference {
		return &api.ObjectReference{Kind: api.KindPod, Name: uid, UID: uid}
	}
	// Objects that exist before the feed starts are loaded.
	write(t, s, func(tx store.Tx) error {
		if err := tx.Create(&api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: api.ServiceSpec{ClusterIP: "127.64.0.1", Ports: []api.ServicePort{{Name: "http", Port: 80, Protocol: api.ProtocolTCP}}}}); err != nil {
			return err
		}
		return tx.Create(&api.EndpointSlice{
			ObjectMeta:  api.ObjectMeta{Namespace: "default", Name: "web-a", Labels: map[string]string{api.LabelServiceName: "web"}},
			AddressType: api.AddressTypeIPv4,
			Ports:       []api.EndpointPort{{Name: &name, Port: &port}},
			Endpoints: []api.Endpoint{
				{Addresses: []string{"127.88.0.2"}, Conditions: api.EndpointConditions{Ready: &yes}, TargetRef: pod("p1")},
				{Addresses: []string{"127.88.0.3"}, Conditions: api.EndpointConditions{Ready: &yes}, TargetRef: pod("p2")},
			},
		})
	})
	var p1UID string
	write(t, s, func(tx store.Tx) error {
		p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "p1"}}
		if err := tx.Create(p); err != nil {
			return err
		}
		p1UID = p.UID
		return nil
	})
	r := discovery.NewResolver()
	cancel := servicefeed.Feed(s, r)
	ready := func() int {
		p, err := r.Resolve("web.default", "http", "")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Ready)
	}
	if n := ready(); n != 2 {
		t.Fatalf("%d ready after the load, want 2", n)
	}
	// The slice's Pod references are by UID; point one at the stored Pod
	// and begin its deletion: the Resolver drops it in the same commit.
	write(t, s, func(tx store.Tx) error {
		obj, err := tx.Get(api.KindEndpointSlice, "default", "web-a")
		if err != nil {
			return err
		}
		next := obj.(*api.EndpointSlice).DeepCopy()
		next.Endpoints[0].TargetRef = pod(p1UID)
		return tx.Update(next)
	})
	write(t, s, func(tx store.Tx) error {
		obj, err := tx.Get(api.KindPod, "default", "p1")
		if err != nil {
			return err
		}
		next := obj.(*api.Pod).DeepCopy()
		next.DeletionTimestamp = api.NewTimePtr(tx.Now())
		return tx.Update(next)
	})
	if n := ready(); n != 1 {
		t.Errorf("%d ready once p1's deletion began, want 1", n)
	}
	// Service deletion follows too; after cancel, nothing does.
	write(t, s, func(tx store.Tx) error { return tx.Delete(api.KindService, "default", "web", store.Preconditions{}) })
	if _, err := r.Lookup("web.default"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("deleted Service still resolves: %v", err)
	}
	cancel()
	write(t, s, func(tx store.Tx) error {
		return tx.Create(&api.Service{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "late"},
			Spec: api.ServiceSpec{ClusterIP: "127.64.0.2", Ports: []api.ServicePort{{Port: 80}}}})
	})
	if _, err := r.Lookup("late.default"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("a Service created after cancel reached the Resolver: %v", err)
	}
}
