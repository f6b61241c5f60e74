// Package autoscaler runs HorizontalPodAutoscalers with Kubernetes'
// algorithm: every sync period it measures the target Deployment's Pods
// (through the node agents, from the runtime's own statistics), computes
// desired = ceil(current × usage / target) for each metric, ignores ratios
// within a 10% tolerance, takes the highest metric, smooths the result with
// the scale-up and scale-down stabilization windows, clamps it to
// [minReplicas, maxReplicas] and scales the Deployment.
package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// Defaults, as in Kubernetes.
const (
	DefaultSyncPeriod = 15 * time.Second
	// Tolerance is how far the usage ratio may stray from 1 before the
	// autoscaler acts.
	Tolerance = 0.1
)

// Metrics measures Pods.
type Metrics interface {
	// PodUsage returns a Pod's CPU (millicores) and memory (bytes) use, or
	// an error when it has none to report yet.
	PodUsage(ctx context.Context, pod *api.Pod) (milliCPU, memoryBytes int64, err error)
}

// Reconciler reconciles HorizontalPodAutoscalers.
type Reconciler struct {
	Store      *store.Store
	Clock      clock.Clock
	Log        *zap.Logger
	Events     events.Source
	Metrics    Metrics
	SyncPeriod time.Duration

	// ctrl is the controller running this reconciler, set by Register.
	ctrl *controller.Controller

	mu sync.Mutex // guards history
	// history holds each autoscaler's recent recommendations, for the
	// stabilization windows, by namespace/name and UID.
	history map[string][]recommendation
}

type recommendation struct {
	at       time.Time
	replicas int32
}

// Register makes c reconcile an autoscaler when it changes, and every sync
// period.
func (r *Reconciler) Register(c *controller.Controller) {
	r.ctrl = c
	c.Watch(r.Store, api.KindHorizontalPodAutoscaler, func(ch store.Change) []controller.Request {
		// Its own status writes are no reason to measure again.
		if ch.Type == store.Modified && ch.Old.GetObjectMeta().Generation == ch.Object.GetObjectMeta().Generation {
			return nil
		}
		return controller.Same(ch)
	})
}

func (r *Reconciler) syncPeriod() time.Duration {
	if r.SyncPeriod > 0 {
		return r.SyncPeriod
	}
	return DefaultSyncPeriod
}

// Reconcile measures and scales one autoscaler's target.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	var hpa *api.HorizontalPodAutoscaler
	var target *api.Deployment
	var pods []*api.Pod
	r.Store.View(func(tx store.ReadTx) {
		h, err := store.Get[*api.HorizontalPodAutoscaler](tx, req.Namespace, req.Name)
		if err != nil {
			return
		}
		hpa = h
		d, err := store.Get[*api.Deployment](tx, h.Namespace, h.Spec.ScaleTargetRef.Name)
		if err != nil {
			return
		}
		target = d
		tx.Each(api.KindPod, d.Namespace, func(obj api.Object) bool {
			p := obj.(*api.Pod)
			if p.DeletionTimestamp == nil && p.Status.Phase != api.PodFailed && p.Status.Phase != api.PodSucceeded &&
				d.Spec.Selector.Matches(p.Labels) {
				pods = append(pods, p)
			}
			return true
		})
	})
	if hpa == nil {
		r.forget(req)
		return controller.Result{}, nil
	}
	// Arm the next sync before any status is written, so that whoever sees
	// this sync's status can count on the next one being due.
	r.ctrl.EnqueueAfter(req, r.syncPeriod())
	var next controller.Result
	now := r.Clock.Now()
	generation := hpa.Generation
	status := api.HorizontalPodAutoscalerStatus{
		ObservedGeneration: &generation,
		LastScaleTime:      hpa.Status.LastScaleTime,
		DesiredReplicas:    hpa.Status.DesiredReplicas,
	}
	if target == nil {
		msg := fmt.Sprintf("the HPA controller was unable to get the target's current scale: deployment %q not found", hpa.Spec.ScaleTargetRef.Name)
		r.Events.Warning(hpa, "FailedGetScale", "%s", msg)
		status.Conditions = conditions(hpa, now,
			condition(api.AbleToScale, api.ConditionFalse, "FailedGetScale", msg),
			condition(api.ScalingActive, api.ConditionFalse, "FailedGetScale", msg))
		return next, r.writeStatus(hpa, status)
	}
	current := int32(1)
	if target.Spec.Replicas != nil {
		current = *target.Spec.Replicas
	}
	status.CurrentReplicas = current
	if current == 0 {
		status.DesiredReplicas = 0
		status.Conditions = conditions(hpa, now,
			condition(api.AbleToScale, api.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
			condition(api.ScalingActive, api.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"))
		return next, r.writeStatus(hpa, status)
	}

	proposal, metrics, reason, err := r.propose(ctx, hpa, current, pods)
	status.CurrentMetrics = metrics
	if err != nil {
		r.Events.Warning(hpa, "FailedGetResourceMetric", "%v", err)
		status.Conditions = conditions(hpa, now,
			condition(api.AbleToScale, api.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
			condition(api.ScalingActive, api.ConditionFalse, "FailedGetResourceMetric", err.Error()))
		return next, r.writeStatus(hpa, status)
	}
	stabilized := r.stabilize(hpa, req, proposal, current, now)
	desired, limit := clamp(hpa, stabilized)
	status.DesiredReplicas = desired
	limited := condition(api.ScalingLimited, api.ConditionFalse, "DesiredWithinRange", "the desired count is within the acceptable range")
	switch limit {
	case tooMany:
		limited = condition(api.ScalingLimited, api.ConditionTrue, tooMany, "the desired replica count is more than the maximum replica count")
	case tooFew:
		limited = condition(api.ScalingLimited, api.ConditionTrue, tooFew, "the desired replica count is less than the minimum replica count")
	}
	able := condition(api.AbleToScale, api.ConditionTrue, "ReadyForNewScale", "recommended size matches current size")
	if desired != current {
		if err := r.scale(target, desired); err != nil {
			return next, err
		}
		status.CurrentReplicas = desired
		status.LastScaleTime = api.NewTimePtr(now)
		able = condition(api.AbleToScale, api.ConditionTrue, "SucceededRescale", fmt.Sprintf("the HPA controller was able to update the target scale to %d", desired))
		r.Events.Normal(hpa, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
	} else if stabilized != proposal {
		able = condition(api.AbleToScale, api.ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation")
		if proposal > stabilized {
			able = condition(api.AbleToScale, api.ConditionTrue, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation")
		}
	}
	status.Conditions = conditions(hpa, now, able,
		condition(api.ScalingActive, api.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count"),
		limited)
	return next, r.writeStatus(hpa, status)
}

// propose computes the replica count each metric asks for and returns the
// highest, with the measured values and a reason for the event.
func (r *Reconciler) propose(ctx context.Context, hpa *api.HorizontalPodAutoscaler, current int32, pods []*api.Pod) (int32, []api.MetricStatus, string, error) {
	usage := map[string][2]int64{} // pod key → cpu, memory
	for _, p := range pods {
		if !p.IsReady() {
			continue
		}
		cpu, mem, err := r.Metrics.PodUsage(ctx, p)
		if err == nil {
			usage[p.Key()] = [2]int64{cpu, mem}
		}
	}
	var best int32
	var reasons []string
	var statuses []api.MetricStatus
	for i, m := range hpa.Spec.Metrics {
		if m.Resource == nil {
			continue
		}
		replicas, st, err := proposeResource(m.Resource, current, pods, usage)
		if err != nil {
			return 0, statuses, "", fmt.Errorf("metrics[%d] (%s): %w", i, m.Resource.Name, err)
		}
		statuses = append(statuses, api.MetricStatus{Type: api.MetricSourceResource, Resource: st})
		if replicas > best {
			best = replicas
			reasons = []string{fmt.Sprintf("%s resource %s", m.Resource.Name, directionWord(replicas, current))}
		}
	}
	return best, statuses, strings.Join(reasons, "; "), nil
}

func directionWord(desired, current int32) string {
	switch {
	case desired > current:
		return "above target"
	case desired < current:
		return "below target"
	}
	return "within tolerance of target"
}

// proposeResource applies Kubernetes' replica calculation to one resource
// metric. Pods with no measurement are assumed to use nothing when scaling
// up and exactly the target when scaling down, so that missing data never
// pushes a decision further than the data at hand.
func proposeResource(m *api.ResourceMetricSource, current int32, pods []*api.Pod, usage map[string][2]int64) (int32, *api.ResourceMetricStatus, error) {
	idx := 0
	if m.Name == api.ResourceMemory {
		idx = 1
	}
	utilization := m.Target.Type == api.UtilizationMetricType
	var used, requested int64
	var measured, missing int
	for _, p := range pods {
		req := podRequest(p, m.Name)
		if utilization && req == 0 {
			return 0, nil, fmt.Errorf("pod %s has no %s request, so its utilization has no meaning; set resources.requests.%s on every container", p.Name, m.Name, m.Name)
		}
		u, ok := usage[p.Key()]
		if !ok {
			missing++
			continue
		}
		measured++
		used += u[idx]
		requested += req
	}
	if measured == 0 {
		return 0, nil, fmt.Errorf("no metrics yet for any of the %d pods of the target", len(pods))
	}
	targetPerPod := func() float64 {
		if utilization {
			return float64(*m.Target.AverageUtilization)
		}
		return float64(m.Target.AverageValue.MilliValue())
	}
	current64 := func(used, requested int64, n int) float64 {
		if utilization {
			return float64(used) * 100 / float64(requested)
		}
		milli := used
		if m.Name == api.ResourceMemory {
			milli = used * 1000
		}
		return float64(milli) / float64(n)
	}
	value := current64(used, requested, measured)
	ratio := value / targetPerPod()
	st := &api.ResourceMetricStatus{Name: m.Name}
	if utilization {
		pct := int32(math.Round(value))
		st.Current.AverageUtilization = &pct
		avg := api.NewMilliQuantity(used * 1000 / int64(measured))
		if m.Name == api.ResourceCPU {
			avg = api.NewMilliQuantity(used / int64(measured))
		}
		st.Current.AverageValue = &avg
	} else {
		avg := api.NewMilliQuantity(int64(value))
		st.Current.AverageValue = &avg
	}
	if missing > 0 {
		// Rebalance: pods without data count as 0 on the way up and as
		// the target on the way down.
		fill := int64(0)
		if ratio < 1 {
			fill = 1
		}
		for _, p := range pods {
			if _, ok := usage[p.Key()]; ok {
				continue
			}
			req := podRequest(p, m.Name)
			if utilization {
				used += fill * req * int64(*m.Target.AverageUtilization) / 100
				requested += req
			} else {
				used += fill * fromMilli(m.Name, m.Target.AverageValue.MilliValue())
			}
		}
		newRatio := current64(used, requested, measured+missing) / targetPerPod()
		if (ratio > 1 && newRatio < 1) || (ratio < 1 && newRatio > 1) || math.Abs(newRatio-1) <= Tolerance {
			return current, st, nil // the missing data would reverse or cancel the move
		}
		ratio = newRatio
		measured += missing
	}
	if math.Abs(ratio-1) <= Tolerance {
		return current, st, nil
	}
	return int32(math.Ceil(ratio * float64(measured))), st, nil
}

// fromMilli converts thousandths of a unit to the units usage is kept in:
// millicores for CPU, bytes for memory.
func fromMilli(name api.ResourceName, milli int64) int64 {
	if name == api.ResourceMemory {
		return milli / 1000
	}
	return milli
}

// podRequest sums a Pod's requests of resource, in milli-units for CPU and
// bytes for memory.
func podRequest(p *api.Pod, name api.ResourceName) int64 {
	var total int64
	for _, c := range p.Spec.Containers {
		q, ok := c.Resources.Requests[name]
		if !ok {
			continue
		}
		if name == api.ResourceCPU {
			total += q.MilliValue()
		} else {
			total += q.Value()
		}
	}
	return total
}

// stabilize records proposal and returns the count the windows allow: when
// scaling down, the highest recommendation of the scale-down window; when
// scaling up, the lowest of the scale-up window.
func (r *Reconciler) stabilize(hpa *api.HorizontalPodAutoscaler, req controller.Request, proposal, current int32, now time.Time) int32 {
	down := time.Duration(api.DefaultScaleDownStabilizationSeconds) * time.Second
	up := time.Duration(api.DefaultScaleUpStabilizationSeconds) * time.Second
	if b := hpa.Spec.Behavior; b != nil {
		if b.ScaleDown != nil && b.ScaleDown.StabilizationWindowSeconds != nil {
			down = time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
		}
		if b.ScaleUp != nil && b.ScaleUp.StabilizationWindowSeconds != nil {
			up = time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
		}
	}
	key := req.String() + "/" + hpa.UID
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.history == nil {
		r.history = map[string][]recommendation{}
	}
	keep := max(up, down)
	h := slices.DeleteFunc(r.history[key], func(rec recommendation) bool { return now.Sub(rec.at) > keep })
	h = append(h, recommendation{at: now, replicas: proposal})
	r.history[key] = h
	upLimit, downLimit := proposal, proposal
	for _, rec := range h {
		if now.Sub(rec.at) <= up {
			upLimit = min(upLimit, rec.replicas)
		}
		if now.Sub(rec.at) <= down {
			downLimit = max(downLimit, rec.replicas)
		}
	}
	switch {
	case proposal > current:
		return max(min(proposal, upLimit), current)
	case proposal < current:
		return min(max(proposal, downLimit), current)
	}
	return current
}

func (r *Reconciler) forget(req controller.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.history {
		if strings.HasPrefix(k, req.String()+"/") {
			delete(r.history, k)
		}
	}
}

// Reasons of the ScalingLimited condition.
const (
	tooMany = "TooManyReplicas"
	tooFew  = "TooFewReplicas"
)

// clamp bounds n to [minReplicas, maxReplicas] and says which bound it hit.
func clamp(hpa *api.HorizontalPodAutoscaler, n int32) (int32, string) {
	lo := int32(1)
	if hpa.Spec.MinReplicas != nil {
		lo = *hpa.Spec.MinReplicas
	}
	switch {
	case n > hpa.Spec.MaxReplicas:
		return hpa.Spec.MaxReplicas, tooMany
	case n < lo:
		return lo, tooFew
	}
	return n, ""
}

// scale sets the Deployment's replicas, retrying on conflict with the
// other writers of the Deployment.
func (r *Reconciler) scale(d *api.Deployment, replicas int32) error {
	for range 5 {
		err := r.Store.Update(func(tx store.Tx) error {
			cur, err := store.Get[*api.Deployment](tx, d.Namespace, d.Name)
			if err != nil {
				return err
			}
			if cur.Spec.Replicas != nil && *cur.Spec.Replicas == replicas {
				return nil
			}
			next := *cur
			next.Spec.Replicas = &replicas
			next.Generation++
			return tx.Update(&next)
		})
		if !errors.Is(err, api.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("scale deployment %s/%s: too many conflicting writes; will retry", d.Namespace, d.Name)
}

func condition(t api.HorizontalPodAutoscalerConditionType, s api.ConditionStatus, reason, message string) api.HorizontalPodAutoscalerCondition {
	return api.HorizontalPodAutoscalerCondition{Type: t, Status: s, Reason: reason, Message: message}
}

// conditions stamps transition times, keeping old ones where the status
// did not change.
func conditions(hpa *api.HorizontalPodAutoscaler, now time.Time, cs ...api.HorizontalPodAutoscalerCondition) []api.HorizontalPodAutoscalerCondition {
	for i := range cs {
		cs[i].LastTransitionTime = api.NewTime(now)
		if old := hpa.Status.Condition(cs[i].Type); old != nil && old.Status == cs[i].Status {
			cs[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return cs
}

func (r *Reconciler) writeStatus(hpa *api.HorizontalPodAutoscaler, status api.HorizontalPodAutoscalerStatus) error {
	if reflect.DeepEqual(hpa.Status, status) {
		return nil
	}
	next := *hpa
	next.Status = status
	next.ResourceVersion = "" // the status is the controller's alone
	err := r.Store.Update(func(tx store.Tx) error {
		cur, err := store.Get[*api.HorizontalPodAutoscaler](tx, hpa.Namespace, hpa.Name)
		if err != nil || cur.UID != hpa.UID {
			return nil
		}
		next.ObjectMeta, next.Spec = cur.ObjectMeta, cur.Spec
		return tx.Update(&next)
	})
	return err
}
