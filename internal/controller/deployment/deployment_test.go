package deployment

import (
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/store"
)

// fixture is a store holding a 3-replica Deployment "web", with builders
// for its ReplicaSets and their ready Pods.
type fixture struct {
	t      *testing.T
	s      *store.Store
	fc     *clock.Fake
	d      *api.Deployment
	labels map[string]string
}

func newFixture(t *testing.T, status api.DeploymentStatus) *fixture {
	t.Helper()
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{Replicas: &replicas, Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "web:good"}}}}},
		Status: status,
	}
	if err := s.Update(func(tx store.Tx) error { return tx.Create(d) }); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, s: s, fc: clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), d: d, labels: labels}
}

// rs returns a ReplicaSet of the Deployment for image, with hash, wanting
// want replicas at generation, with status.
func (f *fixture) rs(image, hash string, want int32, generation int64, status api.ReplicaSetStatus) *api.ReplicaSet {
	return &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-" + hash, Generation: generation,
			Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}, OwnerReferences: []api.OwnerReference{api.NewControllerRef(f.d, api.AppsV1)}},
		Spec: api.ReplicaSetSpec{Replicas: &want, Selector: &api.LabelSelector{MatchLabels: f.labels},
			Template: api.PodTemplateSpec{Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: image}}}}},
		Status: status,
	}
}

// create stores rss and, for each entry of podsOf, one Pod of that
// ReplicaSet, Ready for a minute.
func (f *fixture) create(rss []*api.ReplicaSet, podsOf ...*api.ReplicaSet) {
	f.t.Helper()
	err := f.s.Update(func(tx store.Tx) error {
		for _, rs := range rss {
			if err := tx.Create(rs); err != nil {
				return err
			}
		}
		for _, rs := range podsOf {
			if err := tx.Create(&api.Pod{
				ObjectMeta: api.ObjectMeta{Namespace: "default", GenerateName: rs.Name + "-", Labels: rs.Labels,
					OwnerReferences: []api.OwnerReference{api.NewControllerRef(rs, api.AppsV1)}},
				Spec: rs.Spec.Template.Spec,
				Status: api.PodStatus{Phase: api.PodRunning, Conditions: []api.PodCondition{
					{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(f.fc.Now().Add(-time.Minute))}}},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) load() (*Reconciler, *state) {
	f.t.Helper()
	r := &Reconciler{Store: f.s, Clock: f.fc}
	st, ok := r.load(controller.Request{Namespace: "default", Name: "web"})
	if !ok {
		f.t.Fatal("deployment not loaded")
	}
	return r, st
}

// A ReplicaSet scaled to zero before its controller ever reported its
// Pods still has them: the rollout is not complete while they are there,
// although the only ReplicaSet that wants Pods reports all of them
// available. (Trusting the statuses alone, the automatic rollback test saw
// a rollout "complete" with a Pod of the failed revision still running,
// about once in 75 runs.)
func TestAReplicaSetThatHasNotReportedStillCounts(t *testing.T) {
	f := newFixture(t, api.DeploymentStatus{})
	good := f.rs("web:good", TemplateHash(&f.d.Spec.Template), 3, 1,
		api.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, ObservedGeneration: 1})
	// Scaled from 1 to 0 (generation 2) before it ever reported.
	bad := f.rs("web:bad", "bad", 0, 2, api.ReplicaSetStatus{})
	f.create([]*api.ReplicaSet{good, bad}, good, good, good, bad)
	r, st := f.load()
	if r.complete(st) {
		t.Errorf("rollout complete with a Pod of the old revision running: %+v", st.counted())
	}
}

// Right after a rollout, the new ReplicaSet's status may lag behind its
// Pods: the Deployment's status, which showed them available, does not
// drop to what the lagging status says.
func TestALaggingReplicaSetStatusDoesNotLowerAvailability(t *testing.T) {
	f := newFixture(t, api.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3})
	// Written when one of its three Pods was ready.
	rs := f.rs("web:good", TemplateHash(&f.d.Spec.Template), 3, 1,
		api.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1})
	f.create([]*api.ReplicaSet{rs}, rs, rs, rs)
	_, st := f.load()
	if got := st.counted().AvailableReplicas; got != 3 {
		t.Errorf("available %d from a lagging ReplicaSet status; want the 3 its Pods show", got)
	}
}
