// Package nodelifecycle watches Node health, as Kubernetes' node lifecycle
// controller does. Optionally, a Node whose agent stops posting status is
// marked Ready Unknown after a grace period; the Pods of a Node that is not
// Ready (its agent reports its runtime down, or it went silent) are
// marked not ready at once (so they leave Service endpoints and stop
// counting as available). As in Kubernetes, such a Node is tainted
// node.kubernetes.io/not-ready (or unreachable, when its agent went
// silent) with effect NoExecute, and the taint is removed when the Node is
// Ready again. A Pod on a Node with a NoExecute taint it does not tolerate
// is evicted: deleted, so that its controller replaces it on another Node.
// A toleration's tolerationSeconds delays that; a Pod with no toleration of
// its own for the not-ready and unreachable taints gets the Orchestrator's
// (300 s by default). When the Node comes back, its agent finds those Pods
// deleted and stops their containers, so no second copy keeps running.
package nodelifecycle

import (
	"context"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// Defaults, as in Kubernetes.
const (
	DefaultToleration = 300 * time.Second
	// MonitorPeriod is how often a Node is looked at even when nothing
	// about it changes.
	MonitorPeriod = 5 * time.Second
)

// Reconciler watches Nodes.
type Reconciler struct {
	Store  *store.Store
	Clock  clock.Clock
	Log    *zap.Logger
	Events events.Source
	// GracePeriod, when positive, is how long a Node may go without a
	// heartbeat before it is Ready Unknown (Kubernetes uses 40s). It is
	// off by default: Baton's agents run in the Orchestrator's own
	// process, so an agent too stuck to heartbeat shares its fate with
	// this controller, and a test clock that jumps ahead faster than the
	// agents heartbeat would make healthy Nodes look lost.
	GracePeriod time.Duration
	// Toleration is how long a Node may be not Ready before its Pods are
	// evicted.
	Toleration time.Duration
}

// Register makes c look at a Node whenever it changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindNode, controller.Same)
}

func (r *Reconciler) toleration() time.Duration {
	if r.Toleration > 0 {
		return r.Toleration
	}
	return DefaultToleration
}

// Reconcile checks one Node and acts on its Pods.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	now := r.Clock.Now()
	next := controller.Result{RequeueAfter: MonitorPeriod}
	var evicted []eviction
	err := r.Store.Update(func(tx store.Tx) error {
		evicted = nil
		node, err := store.Get[*api.Node](tx, "", req.Name)
		if err != nil {
			next = controller.Result{}
			return nil
		}
		ready := node.Status.Condition(api.NodeReady)
		if ready == nil {
			return nil
		}
		if r.GracePeriod > 0 && ready.Status == api.ConditionTrue && !ready.LastHeartbeatTime.IsZero() &&
			now.Sub(ready.LastHeartbeatTime.Time) > r.GracePeriod {
			// The agent went silent: nobody knows what runs there.
			n := *node
			n.Status.Conditions = nil
			for _, c := range node.Status.Conditions {
				if c.Type == api.NodeReady {
					c.Status, c.Reason, c.Message = api.ConditionUnknown, "NodeStatusUnknown", "the node agent stopped posting node status"
					c.LastTransitionTime = api.NewTime(now)
				}
				n.Status.Conditions = append(n.Status.Conditions, c)
			}
			if err := tx.Update(&n); err != nil {
				return err
			}
			node, ready = &n, n.Status.Condition(api.NodeReady)
		}
		node, err = syncTaints(tx, node, ready, now)
		if err != nil {
			return err
		}
		notReady := ready.Status != api.ConditionTrue && ready.Reason != "AgentNotStarted"
		if !notReady && !slices.ContainsFunc(node.Spec.Taints, func(t api.Taint) bool { return t.Effect == api.TaintNoExecute }) {
			return nil // the common case, every heartbeat: nothing to look at Pods for
		}
		pods := tx.PodsOnNode(node.Name)
		if notReady {
			for _, pod := range pods {
				if err := markNotReady(tx, pod, now); err != nil {
					return err
				}
			}
		}
		for _, pod := range pods {
			if pod.DeletionTimestamp != nil {
				continue
			}
			at, taint, ok := r.evictionTime(pod, node.Spec.Taints, now)
			if !ok {
				continue
			}
			if wait := at.Sub(now); wait > 0 {
				next.RequeueAfter = min(next.RequeueAfter, wait)
				continue
			}
			err := deletion.Delete(tx, api.KindPod, pod.Namespace, pod.Name, deletion.Options{
				Preconditions: store.Preconditions{UID: pod.UID},
			})
			if err != nil && !store.IsNotFound(err) {
				return err
			}
			evicted = append(evicted, eviction{pod: pod, taint: taint})
		}
		return nil
	})
	for _, e := range evicted {
		r.Events.Warning(e.pod, "TaintManagerEviction", "Marking for deletion Pod %s: node %s has taint %s:%s, which the Pod does not tolerate or no longer tolerates",
			e.pod.Key(), req.Name, e.taint.Key, e.taint.Effect)
	}
	return next, err
}

// eviction is a Pod deleted for a taint of its Node.
type eviction struct {
	pod   *api.Pod
	taint api.Taint
}

// evictionTime returns when pod must leave a Node with these taints, and
// the taint that sends it away; ok is false when no NoExecute taint does.
// A taint the Pod does not tolerate evicts it at once; a toleration with
// tolerationSeconds keeps it that long after the taint was added; one
// without keeps it for ever. A Pod with no toleration of its own for the
// not-ready and unreachable taints gets the Orchestrator's toleration for
// them, as Kubernetes' DefaultTolerationSeconds admission gives every Pod.
func (r *Reconciler) evictionTime(pod *api.Pod, taints []api.Taint, now time.Time) (at time.Time, taint api.Taint, ok bool) {
	for i := range taints {
		t := &taints[i]
		if t.Effect != api.TaintNoExecute {
			continue
		}
		added := now
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		var due time.Time
		switch tol := api.TolerationFor(pod.Spec.Tolerations, t); {
		case tol == nil && (t.Key == api.TaintNodeNotReady || t.Key == api.TaintNodeUnreachable):
			due = added.Add(r.toleration())
		case tol == nil:
			due = added
		case tol.TolerationSeconds == nil:
			continue
		default:
			due = added.Add(time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second)
		}
		if !ok || due.Before(at) {
			at, taint, ok = due, *t, true
		}
	}
	return at, taint, ok
}

// syncTaints gives node the NoExecute taint its Ready condition calls for,
// as Kubernetes' node lifecycle controller does: not-ready while the agent
// reports the Node not Ready, unreachable while nobody knows, neither while
// it is Ready. A taint added is dated from the condition's transition.
// Other taints are left alone, except that a NoExecute taint without a
// date (one a user added) is dated now, the first time it is seen, so that
// tolerationSeconds count from then.
func syncTaints(tx store.Tx, node *api.Node, ready *api.NodeCondition, now time.Time) (*api.Node, error) {
	want := ""
	switch {
	case ready.Reason == "AgentNotStarted":
	case ready.Status == api.ConditionFalse:
		want = api.TaintNodeNotReady
	case ready.Status == api.ConditionUnknown:
		want = api.TaintNodeUnreachable
	}
	var taints []api.Taint
	has, dated := false, false
	for _, t := range node.Spec.Taints {
		ours := t.Effect == api.TaintNoExecute && (t.Key == api.TaintNodeNotReady || t.Key == api.TaintNodeUnreachable)
		switch {
		case ours && t.Key == want:
			has = true
		case ours:
			continue
		}
		if t.Effect == api.TaintNoExecute && t.TimeAdded == nil {
			t.TimeAdded, dated = api.NewTimePtr(now), true
		}
		taints = append(taints, t)
	}
	if want != "" && !has {
		taints = append(taints, api.Taint{Key: want, Effect: api.TaintNoExecute, TimeAdded: api.NewTimePtr(ready.LastTransitionTime.Time)})
	}
	if !dated && len(taints) == len(node.Spec.Taints) && has == (want != "") {
		return node, nil // unchanged
	}
	next := *node
	next.Spec.Taints = taints
	if err := tx.Update(&next); err != nil {
		return nil, err
	}
	return &next, nil
}

// markNotReady sets a Pod's Ready condition False, as the node lifecycle
// controller of Kubernetes does for the Pods of a Node that is not ready.
func markNotReady(tx store.Tx, pod *api.Pod, now time.Time) error {
	c := pod.Status.Condition(api.PodReady)
	if c == nil || c.Status == api.ConditionFalse {
		return nil
	}
	next := *pod
	next.Status.Conditions = make([]api.PodCondition, len(pod.Status.Conditions))
	copy(next.Status.Conditions, pod.Status.Conditions)
	for i := range next.Status.Conditions {
		if next.Status.Conditions[i].Type == api.PodReady {
			next.Status.Conditions[i].Status = api.ConditionFalse
			next.Status.Conditions[i].Reason = "NodeNotReady"
			next.Status.Conditions[i].Message = "the node is not ready"
			next.Status.Conditions[i].LastTransitionTime = api.NewTime(now)
		}
	}
	return tx.Update(&next)
}
