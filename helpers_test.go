package baton_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime/fake"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait; conditions normally hold in milliseconds.
const waitTimeout = 10 * time.Second

// start runs o until the test ends, and checks that Run returns cleanly.
func start(t *testing.T, o *baton.Orchestrator) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
}

// newRunning returns a running orchestrator on a fresh fake runtime.
func newRunning(t *testing.T, opts ...baton.Option) (*baton.Orchestrator, *fake.Runtime) {
	t.Helper()
	rt := fake.New()
	o, err := baton.New(append([]baton.Option{baton.WithRuntime(rt)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	return o, rt
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitPods waits until cond holds for the Pods in ns, re-checking whenever
// one changes, and returns them.
func waitPods(t *testing.T, o *baton.Orchestrator, ns, what string, cond func([]*baton.Pod) bool) []*baton.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.Pods(ns).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pods []*baton.Pod
	for {
		pods, err = o.Pods(ns).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cond(pods) {
			return pods
		}
		select {
		case <-changes:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; pods: %s", what, describePods(pods))
		}
	}
}

// waitDeployment waits until cond holds for a Deployment.
func waitDeployment(t *testing.T, o *baton.Orchestrator, ns, name, what string, cond func(*baton.Deployment) bool) *baton.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := o.Deployments(ns).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last *baton.Deployment
	for {
		select {
		case ev := <-changes:
			if ev.Object.Name != name {
				continue
			}
			last = ev.Object
			if ev.Type != baton.Deleted && cond(last) {
				return last
			}
		case <-ctx.Done():
			t.Fatalf("timed out waiting for deployment %s: %s; last status %+v", name, what, last)
		}
	}
}

func readyPods(n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		if len(pods) != n {
			return false
		}
		for _, p := range pods {
			if !p.IsReady() || p.DeletionTimestamp != nil {
				return false
			}
		}
		return true
	}
}

func describePods(pods []*baton.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		b.WriteString("\n  " + p.Name + " " + string(p.Status.Phase) + " node=" + p.Spec.NodeName)
		for _, cs := range p.Status.ContainerStatuses {
			switch {
			case cs.State.Waiting != nil:
				b.WriteString(" waiting:" + cs.State.Waiting.Reason)
			case cs.State.Terminated != nil:
				b.WriteString(" terminated:" + cs.State.Terminated.Reason)
			case cs.State.Running != nil:
				b.WriteString(" running")
			}
		}
	}
	return b.String()
}

func deploymentOf(name string, replicas int32, image string) *baton.Deployment {
	labels := map[string]string{"app": name}
	return &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec:       baton.PodSpec{Containers: []baton.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func podOf(name string, policy baton.RestartPolicy, containers ...baton.Container) *baton.Pod {
	return &baton.Pod{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec:       baton.PodSpec{RestartPolicy: policy, Containers: containers},
	}
}

// containerID strips the runtime prefix from a status's container ID.
func containerID(cs baton.ContainerStatus) string {
	_, id, _ := strings.Cut(cs.ContainerID, "://")
	return id
}
