package deployment

import (
	"testing"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/store"
)

// A ReplicaSet scaled to zero before its controller ever reported its
// Pods still has them: the rollout is not complete while they are there,
// although the only ReplicaSet that wants Pods reports all of them
// available. (Trusting the statuses alone, the automatic rollback test saw
// a rollout "complete" with a Pod of the failed revision still running,
// about once in 75 runs.)
func TestAReplicaSetThatHasNotReportedStillCounts(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := &Reconciler{Store: s, Clock: fc}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{Replicas: &replicas, Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "web:good"}}}}},
	}
	rsOf := func(image, hash string, want int32, generation int64, status api.ReplicaSetStatus) *api.ReplicaSet {
		return &api.ReplicaSet{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-" + hash, Generation: generation,
				Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}, OwnerReferences: []api.OwnerReference{api.NewControllerRef(d, api.AppsV1)}},
			Spec: api.ReplicaSetSpec{Replicas: &want, Selector: &api.LabelSelector{MatchLabels: labels},
				Template: api.PodTemplateSpec{Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: image}}}}},
			Status: status,
		}
	}
	podOf := func(rs *api.ReplicaSet) *api.Pod {
		return &api.Pod{
			ObjectMeta: api.ObjectMeta{Namespace: "default", GenerateName: rs.Name + "-", Labels: rs.Labels,
				OwnerReferences: []api.OwnerReference{api.NewControllerRef(rs, api.AppsV1)}},
			Spec: rs.Spec.Template.Spec,
			Status: api.PodStatus{Phase: api.PodRunning, Conditions: []api.PodCondition{
				{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(fc.Now().Add(-time.Minute))}}},
		}
	}
	err = s.Update(func(tx store.Tx) error {
		if err := tx.Create(d); err != nil {
			return err
		}
		good := rsOf("web:good", TemplateHash(&d.Spec.Template), 3, 1,
			api.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, ObservedGeneration: 1})
		// Scaled from 1 to 0 (generation 2) before it ever reported.
		bad := rsOf("web:bad", "bad", 0, 2, api.ReplicaSetStatus{})
		for _, rs := range []*api.ReplicaSet{good, bad} {
			if err := tx.Create(rs); err != nil {
				return err
			}
		}
		for _, rs := range []*api.ReplicaSet{good, good, good, bad} {
			if err := tx.Create(podOf(rs)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := r.load(controller.Request{Namespace: "default", Name: "web"})
	if !ok {
		t.Fatal("deployment not loaded")
	}
	if r.complete(st) {
		t.Errorf("rollout complete with a Pod of the old revision running: %+v", st.counted())
	}
}

// Right after a rollout, the new ReplicaSet's status may lag behind its
// Pods: the Deployment's status, which showed them available, does not
// drop to what the lagging status says.
func TestALaggingReplicaSetStatusDoesNotLowerAvailability(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := &Reconciler{Store: s, Clock: fc}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &api.Deployment{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.DeploymentSpec{Replicas: &replicas, Selector: &api.LabelSelector{MatchLabels: labels},
			Template: api.PodTemplateSpec{ObjectMeta: api.ObjectMeta{Labels: labels},
				Spec: api.PodSpec{Containers: []api.Container{{Name: "app", Image: "web:2"}}}}},
		Status: api.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3},
	}
	err = s.Update(func(tx store.Tx) error {
		if err := tx.Create(d); err != nil {
			return err
		}
		hash := TemplateHash(&d.Spec.Template)
		rs := &api.ReplicaSet{
			ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-" + hash, Generation: 1,
				Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}, OwnerReferences: []api.OwnerReference{api.NewControllerRef(d, api.AppsV1)}},
			Spec: api.ReplicaSetSpec{Replicas: &replicas, Selector: &api.LabelSelector{MatchLabels: labels}, Template: d.Spec.Template},
			// Written when one of its three Pods was ready.
			Status: api.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1},
		}
		if err := tx.Create(rs); err != nil {
			return err
		}
		for range 3 {
			if err := tx.Create(&api.Pod{
				ObjectMeta: api.ObjectMeta{Namespace: "default", GenerateName: rs.Name + "-", Labels: rs.Labels,
					OwnerReferences: []api.OwnerReference{api.NewControllerRef(rs, api.AppsV1)}},
				Spec: rs.Spec.Template.Spec,
				Status: api.PodStatus{Phase: api.PodRunning, Conditions: []api.PodCondition{
					{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(fc.Now().Add(-time.Minute))}}},
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, ok := r.load(controller.Request{Namespace: "default", Name: "web"})
	if !ok {
		t.Fatal("deployment not loaded")
	}
	if got := st.counted().AvailableReplicas; got != 3 {
		t.Errorf("available %d from a lagging ReplicaSet status; want the 3 its Pods show", got)
	}
}
