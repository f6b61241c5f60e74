package autoscaler

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// podState is how a test Pod looks to the autoscaler.
type podState int

const (
	ready       podState = iota // running and ready for long
	pending                     // not running yet
	missing                     // running and ready, but not measured
	firstSample                 // measured once: its memory, but no CPU rate yet
)

// fixture builds Pods of one container requesting 100m CPU and 64Mi of
// memory, and their measurements (CPU in millicores, memory in Mi).
type fixture struct {
	pods     []*api.Pod
	measured map[string]usage
}

func (f *fixture) add(state podState, milliCPU, memMi int64) {
	name := fmt.Sprintf("p%d", len(f.pods))
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Resources: api.ResourceRequirements{
			Requests: api.ResourceList{api.ResourceCPU: api.MustParseQuantity("100m"), api.ResourceMemory: api.MustParseQuantity("64Mi")},
		}}}},
		Status: api.PodStatus{Phase: api.PodRunning, StartTime: api.NewTimePtr(t0.Add(-time.Hour)),
			Conditions: []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue, LastTransitionTime: api.NewTime(t0.Add(-time.Hour))}}},
	}
	if state == pending {
		p.Status = api.PodStatus{Phase: api.PodPending}
	}
	f.pods = append(f.pods, p)
	if state == ready || state == firstSample {
		if f.measured == nil {
			f.measured = map[string]usage{}
		}
		if state == firstSample {
			milliCPU = -1
		}
		f.measured[p.Key()] = usage{cpu: milliCPU, memory: memMi << 20 * 1000}
	}
}

func cpuTarget(pct int32) *api.ResourceMetricSource {
	return &api.ResourceMetricSource{Name: api.ResourceCPU, Target: api.MetricTarget{Type: api.UtilizationMetricType, AverageUtilization: &pct}}
}

// The counts are Kubernetes' (replica_calculator.go GetResourceReplicas
// and GetRawResourceReplicas), worked out by hand in each case.
func TestReplicasForResourceFollowsKubernetes(t *testing.T) {
	memMi := func(mi int64) *api.ResourceMetricSource {
		q := api.NewMilliQuantity(mi << 20 * 1000)
		return &api.ResourceMetricSource{Name: api.ResourceMemory, Target: api.MetricTarget{Type: api.AverageValueMetricType, AverageValue: &q}}
	}
	memPct := func(pct int32) *api.ResourceMetricSource {
		return &api.ResourceMetricSource{Name: api.ResourceMemory, Target: api.MetricTarget{Type: api.UtilizationMetricType, AverageUtilization: &pct}}
	}
	type pod struct {
		state podState
		cpu   int64
		memMi int64
	}
	cases := []struct {
		name    string
		metric  *api.ResourceMetricSource
		current int32
		pods    []pod
		want    int32
	}{
		// 80% of 50%: ceil(4 × 1.6) = 7.
		{"all ready, above target", cpuTarget(50), 4, []pod{{ready, 80, 0}, {ready, 80, 0}, {ready, 80, 0}, {ready, 80, 0}}, 7},
		// 54% of 50% is 1.08, within the tolerance.
		{"within tolerance", cpuTarget(50), 4, []pod{{ready, 54, 0}, {ready, 54, 0}, {ready, 54, 0}, {ready, 54, 0}}, 4},
		// The ratio is taken of the whole percentage: 199m of 400m is
		// 49.75%, which counts as 49%; 49/45 = 1.089 is within the
		// tolerance (49.75/45 = 1.106 would not be).
		{"whole percentages", cpuTarget(45), 4, []pod{{ready, 50, 0}, {ready, 50, 0}, {ready, 50, 0}, {ready, 49, 0}}, 4},
		// Scaling down, an unready Pod is left out altogether: 10% of
		// 50% over the 3 ready ones, ceil(3 × 0.2) = 1.
		{"unready pods are ignored on the way down", cpuTarget(50), 4, []pod{{ready, 10, 0}, {ready, 10, 0}, {ready, 10, 0}, {pending, 0, 0}}, 1},
		// Scaling up, unready Pods count as using nothing: 200% over 2
		// ready Pods becomes 200m of 400m = 50%, exactly the target.
		{"unready pods count as idle on the way up", cpuTarget(50), 4, []pod{{ready, 100, 0}, {ready, 100, 0}, {pending, 0, 0}, {pending, 0, 0}}, 4},
		// Scaling down, a missing Pod counts as using all of its request
		// (max(100%, target)): (30m + 100m) of 400m = 32%, ratio 0.64,
		// ceil(4 × 0.64) = 3.
		{"missing pods count as busy on the way down", cpuTarget(50), 4, []pod{{ready, 10, 0}, {ready, 10, 0}, {ready, 10, 0}, {missing, 0, 0}}, 3},
		// Scaling up, a missing Pod counts as using nothing: 90% over 3
		// becomes 270m of 400m = 67%, ratio 1.34, ceil(4 × 1.34) = 6.
		{"missing pods count as idle on the way up", cpuTarget(50), 4, []pod{{ready, 90, 0}, {ready, 90, 0}, {ready, 90, 0}, {missing, 0, 0}}, 6},
		// 40% of 50% over 4 ready Pods (ratio 0.8); the missing fifth
		// counts as 100%: 180m of 500m = 36%, ratio 0.72, and
		// ceil(5 × 0.72) = 4, more than the 2 replicas the target has —
		// a scale-down signal must not scale up: 2.
		{"the final guard keeps the direction", cpuTarget(50), 2, []pod{{ready, 20, 0}, {ready, 20, 0}, {ready, 20, 0}, {ready, 20, 0}, {missing, 0, 0}}, 2},
		// A Pod measured once has no CPU rate yet and counts as missing
		// for CPU: as above, 3.
		{"no CPU rate yet counts as missing", cpuTarget(50), 4, []pod{{ready, 10, 0}, {ready, 10, 0}, {ready, 10, 0}, {firstSample, 0, 0}}, 3},
		// At exactly the target (150m of 300m), Kubernetes counts a
		// missing Pod as idle: 150m of 400m = 37.5%, ratio 0.75,
		// ceil(4 × 0.75) = 3.
		{"at the target, missing pods count as idle", cpuTarget(50), 4, []pod{{ready, 50, 0}, {ready, 50, 0}, {ready, 50, 0}, {missing, 0, 0}}, 3},
		// Memory utilization: 48Mi of 64Mi = 75% of 50%, ceil(2 × 1.5) = 3.
		{"memory utilization", memPct(50), 2, []pod{{ready, 0, 48}, {ready, 0, 48}}, 3},
		// Memory is not subject to the CPU readiness rules, but a Pending
		// Pod is unready for every resource: 8Mi = 12.5% → 12% of 50%,
		// ceil(2 × 0.24) = 1.
		{"memory ignores pending pods on the way down", memPct(50), 3, []pod{{ready, 0, 8}, {ready, 0, 8}, {pending, 0, 0}}, 1},
		// AverageValue: 48Mi of 32Mi, ceil(2 × 1.5) = 3.
		{"memory average value", memMi(32), 2, []pod{{ready, 0, 48}, {ready, 0, 48}}, 3},
		// Memory counts from the first sample: (48 + 48)Mi over 2, of
		// 32Mi, ceil(2 × 1.5) = 3. Were the second Pod left out as
		// missing, it would count as idle on the way up, 24Mi, ratio
		// 0.75, and the direction guard would keep 2.
		{"memory counts from the first sample", memMi(32), 2, []pod{{ready, 0, 48}, {firstSample, 0, 48}}, 3},
		// AverageValue scaling down: a missing Pod counts as using the
		// target: (8 + 8 + 32)Mi / 3 = 16Mi of 32Mi, ceil(3 × 0.5) = 2.
		{"average value, missing on the way down", memMi(32), 3, []pod{{ready, 0, 8}, {ready, 0, 8}, {missing, 0, 0}}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f fixture
			for _, p := range c.pods {
				f.add(p.state, p.cpu, p.memMi)
			}
			got, _, err := replicasForResource(c.metric, c.current, f.pods, f.measured, t0, DefaultSyncPeriod)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %d replicas, want %d", got, c.want)
			}
		})
	}
}

func TestReplicasForResourceErrors(t *testing.T) {
	var f fixture
	f.add(pending, 0, 0)
	f.add(missing, 0, 0)
	if _, _, err := replicasForResource(cpuTarget(50), 2, f.pods, f.measured, t0, DefaultSyncPeriod); err == nil {
		t.Error("no error without a measured ready pod")
	}
	f.add(ready, 50, 0)
	f.pods[2].Spec.Containers = append(f.pods[2].Spec.Containers, api.Container{Name: "sidecar"})
	if _, _, err := replicasForResource(cpuTarget(50), 2, f.pods, f.measured, t0, DefaultSyncPeriod); err == nil {
		t.Error("no error for a container without a request")
	}
	if _, _, err := replicasForResource(cpuTarget(50), 2, nil, nil, t0, DefaultSyncPeriod); err == nil {
		t.Error("no error without pods")
	}
}

func TestCPUUnready(t *testing.T) {
	window := DefaultSyncPeriod
	pod := func(started, transitioned time.Duration, status api.ConditionStatus) *api.Pod {
		return &api.Pod{Status: api.PodStatus{StartTime: api.NewTimePtr(t0.Add(-started)),
			Conditions: []api.PodCondition{{Type: api.PodReady, Status: status, LastTransitionTime: api.NewTime(t0.Add(-transitioned))}}}}
	}
	cases := []struct {
		name string
		pod  *api.Pod
		want bool
	}{
		{"no readiness yet", &api.Pod{Status: api.PodStatus{StartTime: api.NewTimePtr(t0)}}, true},
		{"young, ready for less than a window", pod(time.Minute, 10*time.Second, api.ConditionTrue), true},
		{"young, ready for a window", pod(time.Minute, window, api.ConditionTrue), false},
		{"young, not ready", pod(time.Minute, time.Hour, api.ConditionFalse), true},
		{"old, ready", pod(time.Hour, time.Second, api.ConditionTrue), false},
		{"old, not ready since its start: never was", pod(time.Hour, time.Hour-10*time.Second, api.ConditionFalse), true},
		{"old, not ready after being ready", pod(time.Hour, time.Minute, api.ConditionFalse), false},
	}
	for _, c := range cases {
		if got := cpuUnready(c.pod, t0, window); got != c.want {
			t.Errorf("%s: cpuUnready = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestScaleLimitsFollowKubernetes(t *testing.T) {
	defaults := &api.HorizontalPodAutoscaler{}
	up, down := behaviorOf(defaults)
	at := func(ago time.Duration, change int32) scaleEvent { return scaleEvent{at: t0.Add(-ago), change: change} }
	pods := func(v, period int32) api.HPAScalingPolicy {
		return api.HPAScalingPolicy{Type: api.PodsScalingPolicy, Value: v, PeriodSeconds: period}
	}
	percent := func(v, period int32) api.HPAScalingPolicy {
		return api.HPAScalingPolicy{Type: api.PercentScalingPolicy, Value: v, PeriodSeconds: period}
	}
	cases := []struct {
		name      string
		up        bool
		rules     rules
		current   int32
		ups, dwns []scaleEvent
		want      int32
	}{
		// Default scale-up: max(current + 4, 2 × current) per 15s.
		{"default up from 1", true, up, 1, nil, nil, 5},
		{"default up from 10", true, up, 10, nil, nil, 20},
		// 4 were added 10s ago: the period started at 1, so 5 is the
		// limit until it passes.
		{"default up within a period", true, up, 5, []scaleEvent{at(10*time.Second, 4)}, nil, 5},
		// 15s ago is outside the period (it must be after the cutoff).
		{"default up after a period", true, up, 5, []scaleEvent{at(15*time.Second, 4)}, nil, 10},
		{"min of the default policies", true, rules{selected: api.MinChangePolicySelect, policies: up.policies}, 10, nil, nil, 14},
		{"disabled up", true, rules{selected: api.DisabledPolicySelect, policies: up.policies}, 10, nil, nil, 10},
		// Percentages round up on the way up: ceil(3 × 1.1) = 4.
		{"percent rounds up", true, rules{selected: api.MaxChangePolicySelect, policies: []api.HPAScalingPolicy{percent(10, 60)}}, 3, nil, nil, 4},
		// Default scale-down: 100% per 15s, to nothing.
		{"default down", false, down, 10, nil, nil, 0},
		// 1 Pod a minute, one removed 30s ago: the period started at 6.
		{"pods down within a period", false, rules{selected: api.MaxChangePolicySelect, policies: []api.HPAScalingPolicy{pods(1, 60)}}, 5, nil, []scaleEvent{at(30*time.Second, 1)}, 5},
		// Percentages round down on the way down: 10 × 0.75 = 7.5 → 7.
		{"percent down", false, rules{selected: api.MaxChangePolicySelect, policies: []api.HPAScalingPolicy{percent(25, 60)}}, 10, nil, nil, 7},
		// Min picks the smallest change: max(10-1, 10×0.5) = 9.
		{"min down", false, rules{selected: api.MinChangePolicySelect, policies: []api.HPAScalingPolicy{pods(1, 60), percent(50, 60)}}, 10, nil, nil, 9},
		{"disabled down", false, rules{selected: api.DisabledPolicySelect, policies: down.policies}, 10, nil, nil, 10},
	}
	for _, c := range cases {
		var got int32
		if c.up {
			got = scaleUpLimit(c.current, c.ups, c.dwns, c.rules, t0)
		} else {
			got = scaleDownLimit(c.current, c.ups, c.dwns, c.rules, t0)
		}
		if got != c.want {
			t.Errorf("%s: limit %d, want %d", c.name, got, c.want)
		}
	}
}

// The windows, as Kubernetes keeps them: a scale-down waits for the
// highest recommendation of the last 5 minutes; a scale-up is immediate.
func TestStabilize(t *testing.T) {
	var r Reconciler
	down, up := 5*time.Minute, time.Duration(0)
	steps := []struct {
		after             time.Duration
		current, proposal int32
		want              int32
	}{
		{0, 4, 4, 4},
		{15 * time.Second, 4, 8, 8}, // up at once
		{15 * time.Second, 8, 2, 8}, // 8 was recommended 15s ago
		{4 * time.Minute, 8, 3, 8},  // 4m15s ago: still in the window
		{45 * time.Second, 8, 3, 3}, // 5m ago exactly: out, as in Kubernetes
		{15 * time.Second, 3, 5, 5}, // up again at once
		{15 * time.Second, 5, 4, 5}, // held by the 5 of 15s ago
		{5*time.Minute + time.Second, 5, 4, 4},
	}
	now := t0
	for i, s := range steps {
		now = now.Add(s.after)
		if got := r.stabilize("k", up, down, s.current, s.proposal, now); got != s.want {
			t.Errorf("step %d: stabilized %d, want %d", i, got, s.want)
		}
	}
}
