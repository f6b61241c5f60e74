package baton_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// watchRolloutKinds reports the name of every Namespace, Deployment and
// HorizontalPodAutoscaler that changes after the state that exists now.
func watchRolloutKinds(t *testing.T, o *baton.Orchestrator) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan string, 16)
	done := make(chan struct{}, 3)
	ns, _ := o.Namespaces().Watch(ctx)
	nsNow, _ := o.Namespaces().List(ctx)
	go forwardNames(ctx, ns, len(nsNow), out, done)
	deps, _ := o.Deployments("").Watch(ctx)
	depsNow, _ := o.Deployments("").List(ctx)
	go forwardNames(ctx, deps, len(depsNow), out, done)
	hpas, _ := o.HorizontalPodAutoscalers("").Watch(ctx)
	hpasNow, _ := o.HorizontalPodAutoscalers("").List(ctx)
	go forwardNames(ctx, hpas, len(hpasNow), out, done)
	return out, func() {
		cancel()
		for range 3 {
			<-done
		}
	}
}

// expectRefused runs a write that must fail with ErrInvalid naming paths,
// and checks that it changed nothing: between two markers the store moved
// by exactly one revision, and the first change any watcher saw is the
// second marker.
func expectRefused(t *testing.T, o *baton.Orchestrator, tag string, write func() error, paths ...string) {
	t.Helper()
	before := marker(t, o, "before-"+tag)
	events, cancel := watchRolloutKinds(t, o)
	defer cancel()
	expectInvalid(t, write(), paths...)
	after := marker(t, o, "after-"+tag)
	if after != before+1 {
		t.Errorf("the refused write moved the store from revision %d to %d", before, after-1)
	}
	if ev := <-events; ev != "after-"+tag {
		t.Errorf("a watcher saw %q before the marker", ev)
	}
}

func TestBadRolloutInputIsRefusedAndChangesNothing(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("existing", 2, "nginx")); err != nil {
		t.Fatal(err)
	}
	if _, err := o.HorizontalPodAutoscalers("default").Create(ctx, hpaOf("existing", 1, 3)); err != nil {
		t.Fatal(err)
	}
	strategy := func(surge, unavailable *baton.IntOrString) func() error {
		return func() error {
			d := deploymentOf("web", 3, "nginx")
			d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}
			_, err := o.Deployments("default").Create(ctx, d)
			return err
		}
	}
	s := func(v string) *baton.IntOrString { x := baton.FromString(v); return &x }
	n := func(v int32) *baton.IntOrString { x := baton.FromInt(v); return &x }
	hpa := func(f func(*baton.HorizontalPodAutoscaler)) func() error {
		return func() error {
			h := hpaOf("web", 2, 5)
			f(h)
			_, err := o.HorizontalPodAutoscalers("default").Create(ctx, h)
			return err
		}
	}
	cases := []struct {
		name  string
		write func() error
		paths []string
	}{
		{"maxUnavailable over 100%", strategy(nil, s("101%")), []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"negative maxSurge and maxUnavailable", strategy(n(-1), n(-2)),
			[]string{"spec.strategy.rollingUpdate.maxSurge", "spec.strategy.rollingUpdate.maxUnavailable"}},
		{"malformed percentages", strategy(s("5.5%"), s("-5%")),
			[]string{"spec.strategy.rollingUpdate.maxSurge", "spec.strategy.rollingUpdate.maxUnavailable"}},
		{"a maxSurge percentage beyond int32", strategy(s("99999999999%"), nil), []string{"spec.strategy.rollingUpdate.maxSurge"}},
		{"a maxUnavailable percentage beyond int32", strategy(nil, s("99999999999%")), []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"both zero", strategy(n(0), s("0%")), []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"an unknown strategy and rollingUpdate with Recreate", func() error {
			d := deploymentOf("web", 3, "nginx")
			d.Spec.Strategy = baton.DeploymentStrategy{Type: "BlueGreen"}
			if _, err := o.Deployments("default").Create(ctx, d); err == nil {
				return errors.New("BlueGreen accepted")
			} else if !strings.Contains(err.Error(), "spec.strategy.type:") {
				return err
			}
			d.Spec.Strategy = baton.DeploymentStrategy{Type: baton.RecreateDeploymentStrategyType,
				RollingUpdate: &baton.RollingUpdateDeployment{MaxSurge: n(1)}}
			_, err := o.Deployments("default").Create(ctx, d)
			return err
		}, []string{"spec.strategy.rollingUpdate"}},
		{"negative counts and a deadline within minReadySeconds", func() error {
			d := deploymentOf("web", -1, "nginx")
			limit, deadline := int32(-1), int32(5)
			d.Spec.RevisionHistoryLimit = &limit
			d.Spec.MinReadySeconds = 10
			d.Spec.ProgressDeadlineSeconds = &deadline
			_, err := o.Deployments("default").Create(ctx, d)
			return err
		}, []string{"spec.replicas", "spec.revisionHistoryLimit", "spec.progressDeadlineSeconds"}},
		{"a bad strategy in an update keeps the stored deployment", func() error {
			d, err := o.Deployments("default").Get(ctx, "existing")
			if err != nil {
				return err
			}
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = s("200%")
			_, err = o.Deployments("default").Update(ctx, d)
			return err
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"a bad strategy in a manifest", func() error {
			_, err := o.Apply(ctx, strings.NewReader(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  strategy:
    rollingUpdate: {maxSurge: 0, maxUnavailable: "0%"}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`))
			return err
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable"}},
		{"scale to a negative count", func() error {
			_, err := o.Deployments("default").Scale(ctx, "existing", -1)
			return err
		}, []string{"spec.replicas"}},
		{"roll back to a negative revision", func() error {
			_, err := o.Deployments("default").Rollback(ctx, "existing", -1)
			return err
		}, []string{"toRevision"}},
		{"autoscaler with min above max", hpa(func(h *baton.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr(int32(6))
		}), []string{"spec.maxReplicas"}},
		{"autoscaler with zero and negative bounds", hpa(func(h *baton.HorizontalPodAutoscaler) {
			h.Spec.MinReplicas = ptr(int32(0))
			h.Spec.MaxReplicas = -3
		}), []string{"spec.minReplicas", "spec.maxReplicas"}},
		{"autoscaler of another kind, without a name", hpa(func(h *baton.HorizontalPodAutoscaler) {
			h.Spec.ScaleTargetRef = baton.CrossVersionObjectReference{Kind: "StatefulSet", APIVersion: "apps/v1"}
		}), []string{"spec.scaleTargetRef.kind", "spec.scaleTargetRef.name"}},
		{"autoscaler with bad metrics", hpa(func(h *baton.HorizontalPodAutoscaler) {
			zero := int32(0)
			h.Spec.Metrics = []baton.MetricSpec{
				{Type: baton.MetricSourceResource, Resource: &baton.ResourceMetricSource{Name: "gpu",
					Target: baton.MetricTarget{Type: baton.UtilizationMetricType, AverageUtilization: &zero}}},
				{Type: "Pods"},
				{Type: baton.MetricSourceResource, Resource: &baton.ResourceMetricSource{Name: baton.ResourceMemory,
					Target: baton.MetricTarget{Type: baton.AverageValueMetricType}}},
			}
		}), []string{"spec.metrics[0].resource.name", "spec.metrics[0].resource.target.averageUtilization",
			"spec.metrics[1].type", "spec.metrics[2].resource.target.averageValue"}},
		{"autoscaler with stabilization windows out of range", hpa(func(h *baton.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &baton.HorizontalPodAutoscalerBehavior{
				ScaleUp:   &baton.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(-1))},
				ScaleDown: &baton.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(3601))},
			}
		}), []string{"spec.behavior.scaleUp.stabilizationWindowSeconds", "spec.behavior.scaleDown.stabilizationWindowSeconds"}},
		{"autoscaler with bad policies in a manifest", func() error {
			_, err := o.Apply(ctx, strings.NewReader(`
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  behavior:
    scaleUp:
      selectPolicy: Sometimes
      policies:
      - {type: Seconds, value: 0, periodSeconds: 0}
      - {type: Pods, value: 4, periodSeconds: 1801}
    scaleDown:
      policies: []
`))
			return err
		}, []string{"spec.behavior.scaleUp.selectPolicy", "spec.behavior.scaleUp.policies[0].type",
			"spec.behavior.scaleUp.policies[0].value", "spec.behavior.scaleUp.policies[0].periodSeconds",
			"spec.behavior.scaleUp.policies[1].periodSeconds", "spec.behavior.scaleDown.policies"}},
		{"a bad update keeps the stored autoscaler", func() error {
			h, err := o.HorizontalPodAutoscalers("default").Get(ctx, "existing")
			if err != nil {
				return err
			}
			h.Spec.MaxReplicas = 0
			_, err = o.HorizontalPodAutoscalers("default").Update(ctx, h)
			return err
		}, []string{"spec.maxReplicas"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectRefused(t, o, strconv.Itoa(i), c.write, c.paths...)
		})
	}
	if _, err := o.Deployments("default").Get(ctx, "web"); !errors.Is(err, baton.ErrNotFound) {
		t.Errorf("a refused deployment exists (err %v)", err)
	}
	d, _ := o.Deployments("default").Get(ctx, "existing")
	if d.Spec.Strategy.RollingUpdate.MaxUnavailable.String() != "25%" || *d.Spec.Replicas != 2 {
		t.Errorf("a refused write changed the stored deployment: %+v", d.Spec)
	}
	h, _ := o.HorizontalPodAutoscalers("default").Get(ctx, "existing")
	if h.Spec.MaxReplicas != 3 {
		t.Errorf("a refused write changed the stored autoscaler: %+v", h.Spec)
	}
}

// Kubernetes accepts any maxSurge that fits its types, however large; so
// does Baton, and such a Deployment rolls out instead of wedging on an
// overflow of replicas + maxSurge.
func TestHugeMaxSurgeRollsOut(t *testing.T) {
	for _, surge := range []baton.IntOrString{baton.FromInt(math.MaxInt32), baton.FromString("2147483647%"), baton.FromString("300%")} {
		t.Run(surge.String(), func(t *testing.T) {
			o, _ := newRunning(t)
			ctx := ctxFor(t)
			d := deploymentOf("web", 4, "web:v1")
			d.Spec.Strategy.RollingUpdate = &baton.RollingUpdateDeployment{MaxSurge: &surge}
			if _, err := o.Deployments("default").Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			rollout(t, o, "web")
			setImage(t, o, "web", "web:v2")
			rollout(t, o, "web")
			if got := images(t, o, "web"); got["web:v2"] != 4 || len(got) != 1 {
				t.Errorf("after the update: %v", got)
			}
			rss, err := o.ReplicaSets("default").List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, rs := range rss {
				if n, err := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/max-replicas"]); err != nil || n < 4 {
					t.Errorf("replica set %s: max-replicas %q", rs.Name, rs.Annotations["deployment.kubernetes.io/max-replicas"])
				}
			}
		})
	}
}

func hpaOf(name string, minReplicas, maxReplicas int32) *baton.HorizontalPodAutoscaler {
	return &baton.HorizontalPodAutoscaler{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: baton.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MinReplicas:    &minReplicas,
			MaxReplicas:    maxReplicas,
		},
	}
}
