// Package deployment keeps each Deployment's Pods at spec.replicas: it
// creates Pods from the template, labelled with the template's hash and
// owned by the Deployment, deletes the surplus, and reports status.
//
// Rolling out a changed template (maxSurge, maxUnavailable, revisions) is
// not done here yet: Pods of every template count toward replicas, and
// status.updatedReplicas shows how many run the current one.
package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"reflect"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// PodTemplateHashLabel carries the hash of the template a Pod was made
// from, as in Kubernetes.
const PodTemplateHashLabel = "pod-template-hash"

// createChunk bounds the Pods created in one store transaction, so that a
// large scale-up does not hold the store's write lock for long.
const createChunk = 500

// Reconciler reconciles Deployments.
type Reconciler struct {
	Store  *store.Store
	Clock  clock.Clock
	Log    *zap.Logger
	Events events.Source
}

// Register makes c reconcile a Deployment when it or one of its Pods
// changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindDeployment, controller.Same)
	c.Watch(r.Store, api.KindPod, controller.ControllerOf(api.KindDeployment))
}

// Reconcile brings one Deployment's Pods to spec.replicas and updates its
// status.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	var d *api.Deployment
	var counts podCounts
	var hash string
	r.Store.View(func(tx store.ReadTx) {
		obj, err := store.Get[*api.Deployment](tx, req.Namespace, req.Name)
		if err != nil || obj.DeletionTimestamp != nil {
			return // the garbage collector takes its Pods
		}
		d, hash = obj, TemplateHash(&obj.Spec.Template)
		counts = countPods(tx, d, hash, r.Clock.Now())
	})
	if d == nil {
		return controller.Result{}, nil
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	diff := want - counts.active
	switch {
	case diff > 0:
		if err := r.createPods(d, hash, int(diff)); err != nil {
			return controller.Result{}, err
		}
		r.Events.Normal(d, "SuccessfulCreate", "Created %d pod(s) from template %s", diff, hash)
	case diff < 0:
		var active []*api.Pod
		r.Store.View(func(tx store.ReadTx) { active, _ = splitActive(ownedPods(tx, d)) })
		victims := rankForDeletion(active)[:min(int(-diff), len(active))]
		if err := r.deletePods(victims); err != nil {
			return controller.Result{}, err
		}
		r.Events.Normal(d, "SuccessfulDelete", "Deleted %d pod(s)", len(victims))
	}
	if want != d.Status.Replicas && d.Status.ObservedGeneration != d.Generation {
		verb := "up"
		if want < d.Status.Replicas {
			verb = "down"
		}
		r.Events.Normal(d, "ScalingReplicaSet", "Scaled %s replica set %s-%s to %d", verb, d.Name, hash, want)
	}
	if len(counts.finished) > 0 {
		// Pods that ran to completion no longer count; clear them away.
		if err := r.deletePods(counts.finished); err != nil {
			return controller.Result{}, err
		}
	}
	if diff != 0 || len(counts.finished) > 0 {
		// The Pods just changed; their changes bring the Deployment back
		// here to report status from what they became.
		return controller.Result{}, nil
	}
	return r.updateStatus(d, counts, want)
}

// podCounts summarises a Deployment's Pods for its status.
type podCounts struct {
	// active counts Pods neither terminating nor finished; updated,
	// ready and available count the active ones that run the current
	// template, are ready, and have been ready minReadySeconds.
	active, updated, ready, available int32
	// wait is how long until the next ready Pod becomes available.
	wait time.Duration
	// finished holds Pods that succeeded or failed.
	finished []*api.Pod
}

// countPods counts d's Pods in one pass, without gathering them, so that a
// Deployment of many thousands of Pods costs little to report on.
func countPods(tx store.ReadTx, d *api.Deployment, hash string, now time.Time) podCounts {
	var c podCounts
	minReady := time.Duration(d.Spec.MinReadySeconds) * time.Second
	tx.EachByOwner(api.KindPod, d.UID, func(obj api.Object) bool {
		p := obj.(*api.Pod)
		switch {
		case !p.IsControlledBy(d.UID), p.DeletionTimestamp != nil:
			return true
		case p.IsTerminal():
			c.finished = append(c.finished, p)
			return true
		}
		c.active++
		if p.Labels[PodTemplateHashLabel] == hash {
			c.updated++
		}
		if !p.IsReady() {
			return true
		}
		c.ready++
		readySince := p.Status.Condition(api.PodReady).LastTransitionTime.Time
		if left := readySince.Add(minReady).Sub(now); left > 0 {
			if c.wait == 0 || left < c.wait {
				c.wait = left
			}
			return true
		}
		c.available++
		return true
	})
	return c
}

// ownedPods returns the Pods controlled by d.
func ownedPods(tx store.ReadTx, d *api.Deployment) []*api.Pod {
	var out []*api.Pod
	tx.EachByOwner(api.KindPod, d.UID, func(obj api.Object) bool {
		if pod := obj.(*api.Pod); pod.IsControlledBy(d.UID) {
			out = append(out, pod)
		}
		return true
	})
	return out
}

// splitActive separates Pods that count toward replicas from those that
// have finished. Terminating Pods are in neither.
func splitActive(pods []*api.Pod) (active, finished []*api.Pod) {
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil:
		case p.IsTerminal():
			finished = append(finished, p)
		default:
			active = append(active, p)
		}
	}
	return active, finished
}

// createPods creates n Pods from d's template. The Pods share the
// template's spec, labels and owner reference: stored objects are
// immutable, so sharing is safe and saves memory.
func (r *Reconciler) createPods(d *api.Deployment, hash string, n int) error {
	labels := make(map[string]string, len(d.Spec.Template.Labels)+1)
	for k, v := range d.Spec.Template.Labels {
		labels[k] = v
	}
	labels[PodTemplateHashLabel] = hash
	owners := []api.OwnerReference{api.NewControllerRef(d, api.AppsV1)}
	spec := podSpecFor(&d.Spec.Template)
	for n > 0 {
		chunk := min(n, createChunk)
		err := r.Store.Update(func(tx store.Tx) error {
			// The Deployment may have gone or changed since it was read.
			cur, err := store.Get[*api.Deployment](tx, d.Namespace, d.Name)
			if err != nil || cur.UID != d.UID || cur.DeletionTimestamp != nil {
				return err
			}
			if ns, err := store.Get[*api.Namespace](tx, "", d.Namespace); err != nil || ns.DeletionTimestamp != nil {
				return err
			}
			for range chunk {
				pod := &api.Pod{
					TypeMeta: api.TypeMeta{APIVersion: api.CoreV1, Kind: api.KindPod},
					ObjectMeta: api.ObjectMeta{
						Namespace:       d.Namespace,
						GenerateName:    d.Name + "-" + hash + "-",
						Labels:          labels,
						Annotations:     d.Spec.Template.Annotations,
						OwnerReferences: owners,
					},
					Spec:   spec,
					Status: api.PodStatus{Phase: api.PodPending},
				}
				if err := tx.Create(pod); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		n -= chunk
	}
	return nil
}

// podSpecFor returns the spec of a Pod made from t, defaulted as a Pod
// (a container with only limits requests them). When defaulting changes
// nothing it is the template's own spec, shared.
func podSpecFor(t *api.PodTemplateSpec) api.PodSpec {
	pod := &api.Pod{Spec: *t.Spec.DeepCopy()}
	api.SetDefaults(pod)
	if reflect.DeepEqual(pod.Spec, t.Spec) {
		return t.Spec
	}
	return pod.Spec
}

func (r *Reconciler) deletePods(pods []*api.Pod) error {
	return r.Store.Update(func(tx store.Tx) error {
		for _, p := range pods {
			err := deletion.Delete(tx, api.KindPod, p.Namespace, p.Name, deletion.Options{
				Preconditions: store.Preconditions{UID: p.UID},
			})
			if err != nil && !store.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
}

// rankForDeletion orders Pods so that the ones to delete first come first,
// as Kubernetes' ReplicaSet controller does: unscheduled before scheduled,
// pending before running, not ready before ready, more restarts before
// fewer, newer before older.
func rankForDeletion(pods []*api.Pod) []*api.Pod {
	ranked := slices.Clone(pods)
	slices.SortStableFunc(ranked, func(a, b *api.Pod) int {
		if c := boolRank(a.Spec.NodeName != "", b.Spec.NodeName != ""); c != 0 {
			return c
		}
		if c := phaseRank(a.Status.Phase) - phaseRank(b.Status.Phase); c != 0 {
			return c
		}
		if c := boolRank(a.IsReady(), b.IsReady()); c != 0 {
			return c
		}
		if c := int(restarts(b) - restarts(a)); c != 0 {
			return c
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	return ranked
}

// boolRank orders false before true.
func boolRank(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func phaseRank(p api.PodPhase) int {
	switch p {
	case api.PodPending:
		return 0
	case api.PodUnknown:
		return 1
	}
	return 2
}

func restarts(p *api.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// updateStatus writes the status counts describe, if it changed, unless
// the Deployment changed meanwhile (its change brings it back here). It
// returns when to look again for a Pod that will become available once
// minReadySeconds pass.
func (r *Reconciler) updateStatus(d *api.Deployment, counts podCounts, want int32) (controller.Result, error) {
	now := r.Clock.Now()
	status := api.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            counts.active,
		UpdatedReplicas:     counts.updated,
		ReadyReplicas:       counts.ready,
		AvailableReplicas:   counts.available,
		UnavailableReplicas: max(want-counts.available, 0),
	}
	status.Conditions = conditions(d, status, want, now)
	result := controller.Result{RequeueAfter: counts.wait}
	if statusEqual(d.Status, status) {
		return result, nil
	}
	next := *d
	next.Status = status
	err := r.Store.Update(func(tx store.Tx) error { return tx.Update(&next) })
	if errors.Is(err, api.ErrConflict) || store.IsNotFound(err) {
		return result, nil
	}
	return result, err
}

// conditions sets Available and Progressing as Kubernetes does for a
// Deployment that is not rolling out.
func conditions(d *api.Deployment, s api.DeploymentStatus, want int32, now time.Time) []api.DeploymentCondition {
	maxUnavailable := int32(0)
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, err := ru.MaxUnavailable.ScaledValue(int(want), false)
		if err == nil {
			maxUnavailable = int32(v)
		}
	}
	available := api.DeploymentCondition{Type: api.DeploymentAvailable, Status: api.ConditionFalse,
		Reason: "MinimumReplicasUnavailable", Message: "Deployment does not have minimum availability."}
	if s.AvailableReplicas >= want-maxUnavailable {
		available.Status, available.Reason, available.Message = api.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability."
	}
	progressing := api.DeploymentCondition{Type: api.DeploymentProgressing, Status: api.ConditionTrue,
		Reason: "ReplicaSetUpdated", Message: "Deployment is progressing."}
	if s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want {
		progressing.Reason, progressing.Message = "NewReplicaSetAvailable", "Deployment has successfully progressed."
	}
	out := []api.DeploymentCondition{available, progressing}
	for i := range out {
		out[i].LastUpdateTime = api.NewTime(now)
		out[i].LastTransitionTime = api.NewTime(now)
		if old := d.Status.Condition(out[i].Type); old != nil {
			if old.Status == out[i].Status {
				out[i].LastTransitionTime = old.LastTransitionTime
			}
			if old.Status == out[i].Status && old.Reason == out[i].Reason && old.Message == out[i].Message {
				out[i].LastUpdateTime = old.LastUpdateTime
			}
		}
	}
	return out
}

// statusEqual compares statuses, ignoring condition timestamps that change
// only because time passed.
func statusEqual(a, b api.DeploymentStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.Replicas != b.Replicas ||
		a.UpdatedReplicas != b.UpdatedReplicas || a.ReadyReplicas != b.ReadyReplicas ||
		a.AvailableReplicas != b.AvailableReplicas || a.UnavailableReplicas != b.UnavailableReplicas ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}

// TemplateHash returns a short, stable hash of a Pod template, used in Pod
// names and the pod-template-hash label.
func TemplateHash(t *api.PodTemplateSpec) string {
	data, err := json.Marshal(t)
	if err != nil {
		panic("deployment: a pod template must encode as JSON: " + err.Error())
	}
	h := fnv.New32a()
	h.Write(data)
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// safeEncode maps digits onto consonants and digits that cannot spell
// words, as Kubernetes' rand.SafeEncodeString does.
func safeEncode(s string) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte(s)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}
