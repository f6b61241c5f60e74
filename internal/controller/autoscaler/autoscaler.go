// Package autoscaler runs HorizontalPodAutoscalers with Kubernetes'
// algorithm (pkg/controller/podautoscaler): every sync period it measures
// the target Deployment's Pods (through the node agents, from the
// runtime's own statistics) and, for each metric, computes
// desired = ceil(ready Pods × usage / target), ignoring ratios within a 10%
// tolerance, with Kubernetes' handling of Pods that are not ready or not
// measured yet (see replicasForResource). It takes the highest metric,
// stabilizes it over the scale-up and scale-down windows, limits the
// change by the behavior's policies (by default at most 4 Pods or 100%
// more per 15 seconds up, anything down), bounds it to [minReplicas,
// maxReplicas] and scales the Deployment.
//
// Where Baton differs: an autoscaler without spec.behavior runs the
// default behavior, which Kubernetes' controller approximates on a legacy
// path of its own (a scale-up limit of max(2 × current, 4) per sync, and
// a down window whose highest recommendation may also raise a scale-up);
// and a CPU measurement covers the time since the previous one, normally a
// sync period, which stands in for the metrics server's window.
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
	// CPUInitializationPeriod is how long after a Pod starts its CPU use
	// is trusted only once it has been ready for a whole measurement.
	CPUInitializationPeriod = 5 * time.Minute
	// DelayOfInitialReadinessStatus is how long after a Pod starts a
	// not-ready Pod counts as never having been ready.
	DelayOfInitialReadinessStatus = 30 * time.Second
)

// Metrics measures Pods.
type Metrics interface {
	// PodUsage returns a Pod's CPU (millicores; -1 until it has been
	// measured twice, as a rate needs two readings) and memory (bytes)
	// use, or an error when it has none to report yet.
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

	mu sync.Mutex // guards the maps below
	// history holds each autoscaler's recent recommendations, for the
	// stabilization windows, and scaleUps and scaleDowns the changes it
	// made, for the policies; all by namespace/name and UID, in memory
	// as in Kubernetes.
	history    map[string][]recommendation
	scaleUps   map[string][]scaleEvent
	scaleDowns map[string][]scaleEvent
}

type recommendation struct {
	at       time.Time
	replicas int32
}

// scaleEvent is one change of the replicas, by how many (always
// positive).
type scaleEvent struct {
	at     time.Time
	change int32
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

// Condition reasons and messages, as in Kubernetes.
const (
	reasonTooMany    = "TooManyReplicas"
	reasonTooFew     = "TooFewReplicas"
	reasonUpLimit    = "ScaleUpLimit"
	reasonDownLimit  = "ScaleDownLimit"
	reasonInRange    = "DesiredWithinRange"
	msgTooMany       = "the desired replica count is more than the maximum replica count"
	msgTooFew        = "the desired replica count is less than the minimum replica count"
	msgUpLimit       = "the desired replica count is increasing faster than the maximum scale rate"
	msgDownLimit     = "the desired replica count is decreasing faster than the maximum scale rate"
	msgInRange       = "the desired count is within the acceptable range"
	msgReady         = "recommended size matches current size"
	msgUpStabilized  = "recent recommendations were lower than current one, applying the lowest recent recommendation"
	msgDownStabilize = "recent recommendations were higher than current one, applying the highest recent recommendation"
)

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
			// Deleted and failed Pods are ignored, as in Kubernetes.
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
	now := r.Clock.Now()
	generation := hpa.Generation
	status := api.HorizontalPodAutoscalerStatus{
		ObservedGeneration: &generation,
		LastScaleTime:      hpa.Status.LastScaleTime,
		DesiredReplicas:    hpa.Status.DesiredReplicas,
		CurrentMetrics:     hpa.Status.CurrentMetrics,
		Conditions:         slices.Clone(hpa.Status.Conditions),
	}
	set := func(t api.HorizontalPodAutoscalerConditionType, s api.ConditionStatus, reason, message string) {
		status.Conditions = setCondition(status.Conditions, now, t, s, reason, message)
	}
	if target == nil {
		msg := fmt.Sprintf("the HPA controller was unable to get the target's current scale: deployment %q not found", hpa.Spec.ScaleTargetRef.Name)
		r.Events.Warning(hpa, "FailedGetScale", "%s", msg)
		set(api.AbleToScale, api.ConditionFalse, "FailedGetScale", msg)
		return controller.Result{}, r.writeStatus(hpa, status)
	}
	set(api.AbleToScale, api.ConditionTrue, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
	current := int32(1)
	if target.Spec.Replicas != nil {
		current = *target.Spec.Replicas
	}
	status.CurrentReplicas = current
	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	key := req.String() + "/" + hpa.UID

	var desired int32
	var reason string
	switch {
	case current == 0:
		status.DesiredReplicas = 0
		set(api.ScalingActive, api.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
		return controller.Result{}, r.writeStatus(hpa, status)
	case current > hpa.Spec.MaxReplicas:
		desired, reason = hpa.Spec.MaxReplicas, "Current number of replicas above Spec.MaxReplicas"
	case current < minReplicas:
		desired, reason = minReplicas, "Current number of replicas below Spec.MinReplicas"
	default:
		proposal, metric, metrics, err := r.replicasForMetrics(ctx, hpa, current, pods, now)
		status.CurrentMetrics = metrics
		if err != nil {
			r.Events.Warning(hpa, "FailedComputeMetricsReplicas", "%v", err)
			set(api.ScalingActive, api.ConditionFalse, "FailedGetResourceMetric", "the HPA was unable to compute the replica count: "+err.Error())
			return controller.Result{}, r.writeStatus(hpa, status)
		}
		set(api.ScalingActive, api.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from "+metric)
		switch {
		case proposal > current:
			reason = metric + " above target"
		case proposal < current:
			reason = "All metrics below target"
		}
		up, down := behaviorOf(hpa)
		stabilized := r.stabilize(key, up.window, down.window, current, proposal, now)
		switch {
		case stabilized == proposal:
			set(api.AbleToScale, api.ConditionTrue, "ReadyForNewScale", msgReady)
		case proposal >= current:
			set(api.AbleToScale, api.ConditionTrue, "ScaleUpStabilized", msgUpStabilized)
		default:
			set(api.AbleToScale, api.ConditionTrue, "ScaleDownStabilized", msgDownStabilize)
		}
		var limitReason, limitMessage string
		desired, limitReason, limitMessage = r.limit(key, up, down, current, stabilized, minReplicas, hpa.Spec.MaxReplicas, now)
		limited := api.ConditionFalse
		if desired != stabilized {
			limited = api.ConditionTrue
		}
		set(api.ScalingLimited, limited, limitReason, limitMessage)
	}
	status.DesiredReplicas = desired
	if desired != current {
		if err := r.scale(target, desired); err != nil {
			set(api.AbleToScale, api.ConditionFalse, "FailedUpdateScale", "the HPA controller was unable to update the target scale: "+err.Error())
			r.Events.Warning(hpa, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err)
			if werr := r.writeStatus(hpa, status); werr != nil {
				return controller.Result{}, werr
			}
			return controller.Result{}, err
		}
		r.recordScale(key, current, desired, now)
		status.CurrentReplicas = desired
		status.LastScaleTime = api.NewTimePtr(now)
		set(api.AbleToScale, api.ConditionTrue, "SucceededRescale", fmt.Sprintf("the HPA controller was able to update the target scale to %d", desired))
		r.Events.Normal(hpa, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
	}
	return controller.Result{}, r.writeStatus(hpa, status)
}

// usage is one Pod's measurement, in thousandths of a unit: millicores
// and millibytes, as Kubernetes' metrics client keeps them.
type usage struct{ cpu, memory int64 }

// replicasForMetrics computes the replica count each metric asks for and
// returns the highest, with the name of the metric that asked for it and
// the measured values, as Kubernetes' computeReplicasForMetrics does: a
// metric that cannot be computed is skipped, unless all are, or the others
// would scale down (missing data must never shrink the target).
func (r *Reconciler) replicasForMetrics(ctx context.Context, hpa *api.HorizontalPodAutoscaler, current int32, pods []*api.Pod, now time.Time) (int32, string, []api.MetricStatus, error) {
	measured := map[string]usage{}
	for _, p := range pods {
		if p.Status.Phase == api.PodPending {
			continue // unready; nothing runs to measure
		}
		cpu, mem, err := r.Metrics.PodUsage(ctx, p)
		if err == nil {
			measured[p.Key()] = usage{cpu: cpu, memory: mem * 1000}
		}
	}
	var best int32
	var bestMetric string
	var statuses []api.MetricStatus
	var invalid int
	var firstErr error
	for i, m := range hpa.Spec.Metrics {
		if m.Resource == nil {
			continue
		}
		replicas, st, err := replicasForResource(m.Resource, current, pods, measured, now, r.syncPeriod())
		if err != nil {
			if invalid == 0 {
				firstErr = fmt.Errorf("metrics[%d] (%s): %w", i, m.Resource.Name, err)
			}
			invalid++
			continue
		}
		statuses = append(statuses, api.MetricStatus{Type: api.MetricSourceResource, Resource: st})
		if bestMetric == "" || replicas > best {
			best, bestMetric = replicas, metricName(m.Resource)
		}
	}
	if invalid > 0 && (invalid >= len(hpa.Spec.Metrics) || best < current) {
		return 0, "", statuses, fmt.Errorf("invalid metrics (%d invalid out of %d), first error is: %w", invalid, len(hpa.Spec.Metrics), firstErr)
	}
	return best, bestMetric, statuses, nil
}

// metricName names a metric as Kubernetes' events do.
func metricName(m *api.ResourceMetricSource) string {
	if m.Target.Type == api.UtilizationMetricType {
		return fmt.Sprintf("%s resource utilization (percentage of request)", m.Name)
	}
	return fmt.Sprintf("%s resource", m.Name)
}

// replicasForResource is Kubernetes' GetResourceReplicas (for a
// Utilization target) and GetRawResourceReplicas (for an AverageValue
// one). The Pods are grouped as groupPods does: Pending ones, and for CPU
// ones not yet trusted (see cpuUnready), are unready; running ones without
// a measurement are missing; the rest are ready. The ratio of usage to
// target over the ready ones decides, unless some were left out: then
// missing Pods count as using the target (Utilization: 100% of their
// request, or the target if higher) when scaling down and nothing when
// scaling up, unready ones as nothing when scaling up and not at all when
// scaling down, and the ratio is taken again; if that reverses or cancels
// the move, or the count that results moves the other way, nothing moves.
func replicasForResource(m *api.ResourceMetricSource, current int32, pods []*api.Pod, measured map[string]usage, now time.Time, window time.Duration) (int32, *api.ResourceMetricStatus, error) {
	if len(pods) == 0 {
		return 0, nil, errors.New("no pods returned by selector while calculating replica count")
	}
	utilization := m.Target.Type == api.UtilizationMetricType
	requests := map[string]int64{}
	if utilization {
		for _, p := range pods {
			req, err := podRequest(p, m.Name)
			if err != nil {
				return 0, nil, err
			}
			requests[p.Key()] = req
		}
	}
	metrics := map[string]int64{}
	var unready, missing []string
	for _, p := range pods {
		k := p.Key()
		u, ok := measured[k]
		switch {
		case p.Status.Phase == api.PodPending:
			unready = append(unready, k)
		case !ok, m.Name == api.ResourceCPU && u.cpu < 0:
			missing = append(missing, k)
		case m.Name == api.ResourceCPU && cpuUnready(p, now, window):
			unready = append(unready, k)
		case m.Name == api.ResourceCPU:
			metrics[k] = u.cpu
		default:
			metrics[k] = u.memory
		}
	}
	readyCount := len(metrics)
	if readyCount == 0 {
		return 0, nil, errors.New("did not receive metrics for targeted pods (pods might be unready)")
	}
	st := &api.ResourceMetricStatus{Name: m.Name}
	var target int64
	var ratio func() float64
	if utilization {
		targetPct := *m.Target.AverageUtilization
		ratio = func() float64 {
			var used, requested int64
			for k, v := range metrics {
				used += v
				requested += requests[k]
			}
			// Kubernetes takes the ratio of the whole percentage.
			return float64(used*100/requested) / float64(targetPct)
		}
		var used, requested int64
		for k, v := range metrics {
			used += v
			requested += requests[k]
		}
		if requested == 0 {
			return 0, nil, errors.New("the measured pods request none of the resource, so their utilization has no meaning")
		}
		pct := int32(used * 100 / requested)
		avg := api.NewMilliQuantity(used / int64(readyCount))
		st.Current.AverageUtilization, st.Current.AverageValue = &pct, &avg
	} else {
		target = m.Target.AverageValue.MilliValue()
		ratio = func() float64 {
			var used int64
			for _, v := range metrics {
				used += v
			}
			return float64(used/int64(len(metrics))) / float64(target)
		}
		var used int64
		for _, v := range metrics {
			used += v
		}
		avg := api.NewMilliQuantity(used / int64(readyCount))
		st.Current.AverageValue = &avg
	}
	usageRatio := ratio()
	scaleUpWithUnready := len(unready) > 0 && usageRatio > 1
	if !scaleUpWithUnready && len(missing) == 0 {
		if within(usageRatio) {
			return current, st, nil
		}
		return int32(math.Ceil(usageRatio * float64(readyCount))), st, nil
	}
	if len(missing) > 0 {
		for _, k := range missing {
			switch {
			case usageRatio < 1 && utilization:
				metrics[k] = requests[k] * int64(max(100, *m.Target.AverageUtilization)) / 100
			case usageRatio < 1:
				metrics[k] = target
			default: // scaling up, or at the target: as Kubernetes, count them at 0
				metrics[k] = 0
			}
		}
	}
	if scaleUpWithUnready {
		for _, k := range unready {
			metrics[k] = 0
		}
	}
	newRatio := ratio()
	if within(newRatio) || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1) {
		return current, st, nil // the move would be too small, or reversed
	}
	replicas := int32(math.Ceil(newRatio * float64(len(metrics))))
	if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) {
		return current, st, nil // counting more Pods would reverse the move
	}
	return replicas, st, nil
}

func within(ratio float64) bool { return math.Abs(1-ratio) <= Tolerance }

// cpuUnready reports whether a running Pod's CPU measurement is not yet
// to be trusted, as Kubernetes' groupPods decides: within
// CPUInitializationPeriod of its start, unless it is ready and has been
// for a whole measurement window (start-up bursts are not load); after
// that, only if it is not ready and never was (not ready since within
// DelayOfInitialReadinessStatus of its start).
func cpuUnready(p *api.Pod, now time.Time, window time.Duration) bool {
	cond := p.Status.Condition(api.PodReady)
	if cond == nil || p.Status.StartTime == nil {
		return true
	}
	started := p.Status.StartTime.Time
	if started.Add(CPUInitializationPeriod).After(now) {
		return cond.Status == api.ConditionFalse || now.Before(cond.LastTransitionTime.Add(window))
	}
	return cond.Status == api.ConditionFalse && started.Add(DelayOfInitialReadinessStatus).After(cond.LastTransitionTime.Time)
}

// podRequest sums a Pod's requests of resource in thousandths (millicores,
// millibytes), failing, as Kubernetes does, when a container has none:
// utilization has no meaning without it.
func podRequest(p *api.Pod, name api.ResourceName) (int64, error) {
	var total int64
	for _, c := range p.Spec.Containers {
		q, ok := c.Resources.Requests[name]
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s; set resources.requests.%s on every container", name, c.Name, p.Name, name)
		}
		total += q.MilliValue()
	}
	return total, nil
}

// rules is one direction of an autoscaler's behavior, with Kubernetes'
// defaults filled in.
type rules struct {
	window   time.Duration
	selected api.ScalingPolicySelect
	policies []api.HPAScalingPolicy
}

// Kubernetes' default policies.
var (
	defaultScaleUpPolicies = []api.HPAScalingPolicy{
		{Type: api.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
		{Type: api.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}
	defaultScaleDownPolicies = []api.HPAScalingPolicy{
		{Type: api.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
	}
)

// behaviorOf returns hpa's scale-up and scale-down rules, defaults filled.
func behaviorOf(hpa *api.HorizontalPodAutoscaler) (up, down rules) {
	up = rules{window: time.Duration(api.DefaultScaleUpStabilizationSeconds) * time.Second,
		selected: api.MaxChangePolicySelect, policies: defaultScaleUpPolicies}
	down = rules{window: time.Duration(api.DefaultScaleDownStabilizationSeconds) * time.Second,
		selected: api.MaxChangePolicySelect, policies: defaultScaleDownPolicies}
	if b := hpa.Spec.Behavior; b != nil {
		up.fill(b.ScaleUp)
		down.fill(b.ScaleDown)
	}
	return up, down
}

func (r *rules) fill(from *api.HPAScalingRules) {
	if from == nil {
		return
	}
	if from.StabilizationWindowSeconds != nil {
		r.window = time.Duration(*from.StabilizationWindowSeconds) * time.Second
	}
	if from.SelectPolicy != nil {
		r.selected = *from.SelectPolicy
	}
	if from.Policies != nil {
		r.policies = from.Policies
	}
}

// stabilize records proposal and returns the count the windows allow, as
// Kubernetes' stabilizeRecommendationWithBehaviors does: never above the
// highest recommendation of the scale-down window, never below the lowest
// of the scale-up window, and otherwise the current count.
func (r *Reconciler) stabilize(key string, upWindow, downWindow time.Duration, current, proposal int32, now time.Time) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.history == nil {
		r.history = map[string][]recommendation{}
	}
	upCutoff, downCutoff := now.Add(-upWindow), now.Add(-downWindow)
	upLimit, downLimit := proposal, proposal
	h := r.history[key]
	for _, rec := range h {
		if rec.at.After(upCutoff) {
			upLimit = min(upLimit, rec.replicas)
		}
		if rec.at.After(downCutoff) {
			downLimit = max(downLimit, rec.replicas)
		}
	}
	h = slices.DeleteFunc(h, func(rec recommendation) bool { return !rec.at.After(upCutoff) && !rec.at.After(downCutoff) })
	r.history[key] = append(h, recommendation{at: now, replicas: proposal})
	return min(max(current, upLimit), downLimit)
}

// limit bounds the stabilized count by the policies and by [lo, hi], as
// Kubernetes' convertDesiredReplicasWithBehaviorRate does, and returns the
// reason and message of the ScalingLimited condition.
func (r *Reconciler) limit(key string, up, down rules, current, stabilized, lo, hi int32, now time.Time) (int32, string, string) {
	r.mu.Lock()
	ups, downs := r.scaleUps[key], r.scaleDowns[key]
	r.mu.Unlock()
	switch {
	case stabilized > current:
		ceiling := max(scaleUpLimit(current, ups, downs, up, now), current)
		reason, message := reasonTooMany, msgTooMany
		if hi > ceiling {
			hi, reason, message = ceiling, reasonUpLimit, msgUpLimit
		}
		if stabilized > hi {
			return hi, reason, message
		}
	case stabilized < current:
		floor := min(scaleDownLimit(current, ups, downs, down, now), current)
		reason, message := reasonTooFew, msgTooFew
		if lo < floor {
			lo, reason, message = floor, reasonDownLimit, msgDownLimit
		}
		if stabilized < lo {
			return lo, reason, message
		}
	}
	return stabilized, reasonInRange, msgInRange
}

// scaleUpLimit is the most replicas up's policies allow now, as
// Kubernetes' calculateScaleUpLimitWithScalingRules: for each policy, the
// count at the start of its period plus its Pods or percent (rounded up);
// the largest of those (Max), the smallest (Min), or no change (Disabled).
func scaleUpLimit(current int32, ups, downs []scaleEvent, up rules, now time.Time) int32 {
	if up.selected == api.DisabledPolicySelect {
		return current
	}
	var result int64 = math.MinInt32
	pick := func(a, b int64) int64 { return max(a, b) }
	if up.selected == api.MinChangePolicySelect {
		result, pick = math.MaxInt32, func(a, b int64) int64 { return min(a, b) }
	}
	for _, p := range up.policies {
		start := int64(current) - changedWithin(ups, p.PeriodSeconds, now) + changedWithin(downs, p.PeriodSeconds, now)
		var proposed int64
		if p.Type == api.PodsScalingPolicy {
			proposed = start + int64(p.Value)
		} else {
			proposed = int64(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return int32(min(max(result, math.MinInt32), math.MaxInt32))
}

// scaleDownLimit is the fewest replicas down's policies allow now, as
// Kubernetes' calculateScaleDownLimitWithBehaviors: for each policy, the
// count at the start of its period less its Pods or percent (rounded
// down); the smallest of those (Max), the largest (Min), or no change
// (Disabled).
func scaleDownLimit(current int32, ups, downs []scaleEvent, down rules, now time.Time) int32 {
	if down.selected == api.DisabledPolicySelect {
		return current
	}
	var result int64 = math.MaxInt32
	pick := func(a, b int64) int64 { return min(a, b) }
	if down.selected == api.MinChangePolicySelect {
		result, pick = math.MinInt32, func(a, b int64) int64 { return max(a, b) }
	}
	for _, p := range down.policies {
		start := int64(current) - changedWithin(ups, p.PeriodSeconds, now) + changedWithin(downs, p.PeriodSeconds, now)
		var proposed int64
		if p.Type == api.PodsScalingPolicy {
			proposed = start - int64(p.Value)
		} else {
			proposed = int64(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return int32(min(max(result, math.MinInt32), math.MaxInt32))
}

// changedWithin sums the changes of events within the last period seconds.
func changedWithin(events []scaleEvent, period int32, now time.Time) int64 {
	cutoff := now.Add(-time.Duration(period) * time.Second)
	var n int64
	for _, e := range events {
		if e.at.After(cutoff) {
			n += int64(e.change)
		}
	}
	return n
}

// recordScale remembers a change from prev to next replicas for the
// policies, forgetting changes older than the longest period.
func (r *Reconciler) recordScale(key string, prev, next int32, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.scaleUps == nil {
		r.scaleUps, r.scaleDowns = map[string][]scaleEvent{}, map[string][]scaleEvent{}
	}
	events, change := r.scaleUps, next-prev
	if next < prev {
		events, change = r.scaleDowns, prev-next
	}
	// Events older than any period could use are dropped; 30 minutes is
	// the longest period a policy may have.
	cutoff := now.Add(-time.Duration(api.MaxScalingPolicyPeriodSeconds) * time.Second)
	kept := slices.DeleteFunc(events[key], func(e scaleEvent) bool { return !e.at.After(cutoff) })
	events[key] = append(kept, scaleEvent{at: now, change: change})
}

func (r *Reconciler) forget(req controller.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	prefix := req.String() + "/"
	for _, m := range []map[string][]scaleEvent{r.scaleUps, r.scaleDowns} {
		for k := range m {
			if strings.HasPrefix(k, prefix) {
				delete(m, k)
			}
		}
	}
	for k := range r.history {
		if strings.HasPrefix(k, prefix) {
			delete(r.history, k)
		}
	}
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

// setCondition sets the condition of type t in cs, keeping its transition
// time when its status does not change, as Kubernetes' setCondition does.
func setCondition(cs []api.HorizontalPodAutoscalerCondition, now time.Time, t api.HorizontalPodAutoscalerConditionType,
	s api.ConditionStatus, reason, message string) []api.HorizontalPodAutoscalerCondition {
	c := api.HorizontalPodAutoscalerCondition{Type: t, Status: s, Reason: reason, Message: message, LastTransitionTime: api.NewTime(now)}
	for i := range cs {
		if cs[i].Type == t {
			if cs[i].Status == s {
				c.LastTransitionTime = cs[i].LastTransitionTime
			}
			cs[i] = c
			return cs
		}
	}
	return append(cs, c)
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
