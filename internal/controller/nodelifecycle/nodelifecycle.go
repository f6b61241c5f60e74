// Package nodelifecycle watches Node health, as Kubernetes' node lifecycle
// controller does. Optionally, a Node whose agent stops posting status is
// marked Ready Unknown after a grace period; the Pods of a Node that is not
// Ready (its agent reports its runtime down, or it went silent) are
// marked not ready at once (so they leave Service endpoints and stop
// counting as available), and after a toleration (Kubernetes' not-ready
// and unreachable NoExecute tolerations, 300 s by default) they are
// deleted so that their controllers replace them on other Nodes. When the
// Node comes back, its agent finds those Pods deleted and stops their
// containers, so no second copy keeps running.
package nodelifecycle

import (
	"context"
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
	var evicted []*api.Pod
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
			ready = n.Status.Condition(api.NodeReady)
		}
		if ready.Status == api.ConditionTrue || ready.Reason == "AgentNotStarted" {
			return nil
		}
		pods := tx.PodsOnNode(node.Name)
		notReadyFor := now.Sub(ready.LastTransitionTime.Time)
		for _, pod := range pods {
			if err := markNotReady(tx, pod, now); err != nil {
				return err
			}
		}
		if notReadyFor < r.toleration() {
			next.RequeueAfter = min(MonitorPeriod, r.toleration()-notReadyFor)
			return nil
		}
		for _, pod := range pods {
			if pod.DeletionTimestamp != nil {
				continue
			}
			err := deletion.Delete(tx, api.KindPod, pod.Namespace, pod.Name, deletion.Options{
				Preconditions: store.Preconditions{UID: pod.UID},
			})
			if err != nil && !store.IsNotFound(err) {
				return err
			}
			evicted = append(evicted, pod)
		}
		return nil
	})
	for _, pod := range evicted {
		r.Events.Warning(pod, "TaintManagerEviction", "Marking for deletion Pod %s: node %s has not been ready for %s", pod.Key(), req.Name, r.toleration())
	}
	return next, err
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
