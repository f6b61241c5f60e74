package e2e_test

// Issue 4: rolling updates of real containers.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/batonhq/baton"
)

// httpdReadiness is ready while httpd answers GET / on the Pod's IP.
func httpdReadiness() *baton.Probe {
	return &baton.Probe{
		ProbeHandler:  baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/", Port: baton.FromInt(8080)}},
		PeriodSeconds: 1,
	}
}

// versionedHTTPD is a 3-replica httpd Deployment whose Pods serve
// "<VERSION> <hostname>" and are ready once httpd answers, rolled with
// maxSurge 1 and maxUnavailable 1.
func versionedHTTPD(name, version string) *baton.Deployment {
	c := shContainer("httpd", httpdScript("$VERSION $(hostname)"))
	c.Ports = []baton.ContainerPort{{Name: "http", ContainerPort: 8080}}
	c.Env = []baton.EnvVar{{Name: "VERSION", Value: version}}
	c.ReadinessProbe = httpdReadiness()
	d := deploymentOf(name, 3, c)
	one := baton.FromInt(1)
	d.Spec.Strategy = baton.DeploymentStrategy{
		Type:          baton.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &baton.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &one},
	}
	return d
}

// setVersion changes the VERSION variable of a Deployment's template,
// reading again on a conflict with the controllers' writes.
func setVersion(t *testing.T, o *baton.Orchestrator, name, version string) {
	t.Helper()
	for {
		d, err := o.Deployments("default").Get(ctxFor(t), name)
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Env = []baton.EnvVar{{Name: "VERSION", Value: version}}
		_, err = o.Deployments("default").Update(ctxFor(t), d)
		if err == nil {
			return
		}
		if !errors.Is(err, baton.ErrConflict) {
			t.Fatal(err)
		}
	}
}

// rollout waits for a Deployment's rollout to complete.
func rollout(t *testing.T, o *baton.Orchestrator, name string) {
	t.Helper()
	var last baton.RolloutProgress
	if err := o.Deployments("default").RolloutStatus(ctxFor(t), name, func(p baton.RolloutProgress) { last = p }); err != nil {
		pods, _ := o.Pods("default").List(context.Background())
		evs, _ := o.Events("default").List(context.Background())
		var b strings.Builder
		for _, ev := range evs {
			fmt.Fprintf(&b, "\n  %s %s %s: %s (x%d)", ev.InvolvedObject.Name, ev.Type, ev.Reason, ev.Message, ev.Count)
		}
		t.Fatalf("rollout of %s: %v; last progress %+v; pods: %s\nevents:%s", name, err, last, describePods(pods), b.String())
	}
}

// boundsChecker watches a Deployment and its Pods during a rollout and
// records every moment the bounds are broken: availableReplicas in the
// Deployment's status below replicas − maxUnavailable, or, counted from
// the Pods at each change, fewer ready Pods not being deleted than that, or
// more Pods not being deleted than replicas + maxSurge.
type boundsChecker struct {
	minAvailable, maxTotal int

	wg sync.WaitGroup
	mu sync.Mutex // guards the fields below
	// violations says what broke a bound, and when.
	violations []string
	// deploymentChecks and podChecks count the states checked.
	deploymentChecks, podChecks int
	// mixed is set once Pods of two versions were ready at once.
	mixed bool
}

func checkBounds(t *testing.T, ctx context.Context, o *baton.Orchestrator, name string, minAvailable, maxTotal int) *boundsChecker {
	t.Helper()
	b := &boundsChecker{minAvailable: minAvailable, maxTotal: maxTotal}
	deployments, err := o.Deployments("default").Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	selector := baton.MatchLabels(map[string]string{"app": name})
	// The watch first replays the Pods one Added event at a time: the
	// checks start once it has replayed those that exist now.
	existing, err := o.Pods("default").List(ctx, selector)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := o.Pods("default").Watch(ctx, selector)
	if err != nil {
		t.Fatal(err)
	}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		for ev := range deployments {
			if ev.Object.Name != name || ev.Type == baton.Deleted {
				continue
			}
			s := ev.Object.Status
			b.mu.Lock()
			b.deploymentChecks++
			if int(s.AvailableReplicas) < b.minAvailable {
				b.violations = append(b.violations, fmt.Sprintf("deployment status: available %d < %d (updated %d, ready %d, total %d)",
					s.AvailableReplicas, b.minAvailable, s.UpdatedReplicas, s.ReadyReplicas, s.Replicas))
			}
			b.mu.Unlock()
		}
	}()
	go func() {
		defer b.wg.Done()
		current := map[string]*baton.Pod{}
		replaying := map[string]bool{}
		for _, p := range existing {
			replaying[p.Name] = true
		}
		for ev := range pods {
			if ev.Type == baton.Deleted {
				delete(current, ev.Object.Name)
			} else {
				current[ev.Object.Name] = ev.Object
			}
			delete(replaying, ev.Object.Name)
			if len(replaying) > 0 && ev.Type == baton.Added {
				continue
			}
			total, available := 0, 0
			versions := map[string]bool{}
			for _, p := range current {
				if p.DeletionTimestamp != nil {
					continue
				}
				total++
				if p.IsReady() {
					available++
					versions[p.Spec.Containers[0].Env[0].Value] = true
				}
			}
			b.mu.Lock()
			b.podChecks++
			if available < b.minAvailable || total > b.maxTotal {
				b.violations = append(b.violations, fmt.Sprintf("pods after %s of %s: %d available (min %d), %d in all (max %d)",
					ev.Type, ev.Object.Name, available, b.minAvailable, total, b.maxTotal))
			}
			if len(versions) > 1 {
				b.mixed = true
			}
			b.mu.Unlock()
		}
	}()
	return b
}

// report waits for the watches to end (their context must have ended) and
// returns what they saw.
func (b *boundsChecker) report() (violations []string, deploymentChecks, podChecks int, mixed bool) {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.violations, b.deploymentChecks, b.podChecks, b.mixed
}

// A rolling update of 3 busybox httpd replicas (maxSurge 1, maxUnavailable
// 1, readiness from an HTTP probe) completes, every Pod then serves the new
// version, and at every change of the Deployment's status and of its Pods
// during the rollout at least 2 Pods were available and at most 4 existed.
func TestRollingUpdateKeepsAvailabilityBounds(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if _, err := c.Deployments("default").Create(ctxFor(t), versionedHTTPD("web", "v1")); err != nil {
		t.Fatal(err)
	}
	rollout(t, c.Orchestrator, "web")
	waitPods(t, c.Orchestrator, "3 ready v1 pods", readyPods(3))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	checker := checkBounds(t, ctx, c.Orchestrator, "web", 3-1, 3+1)
	setVersion(t, c.Orchestrator, "web", "v2")
	rollout(t, c.Orchestrator, "web")
	pods := waitPods(t, c.Orchestrator, "3 ready v2 pods", func(pods []*baton.Pod) bool {
		if !readyPods(3)(pods) {
			return false
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Env[0].Value != "v2" {
				return false
			}
		}
		return true
	})
	for _, p := range pods {
		if body := get(t, podURL(p)); body != "v2 "+p.Name+"\n" {
			t.Errorf("GET %s = %q; want the v2 page", p.Name, body)
		}
	}
	d, err := c.Deployments("default").Get(ctxFor(t), "web")
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Status; s.Replicas != 3 || s.UpdatedReplicas != 3 || s.AvailableReplicas != 3 || d.Annotations[baton.AnnotationRevision] != "2" {
		t.Errorf("after the rollout: status %+v, revision %q; want 3 replicas, all updated and available, revision 2", s, d.Annotations[baton.AnnotationRevision])
	}

	cancel()
	violations, dchecks, pchecks, mixed := checker.report()
	if len(violations) > 0 {
		t.Errorf("%d states broke the bounds during the rollout:\n  %s", len(violations), strings.Join(violations, "\n  "))
	}
	if !mixed {
		t.Errorf("no moment had v1 and v2 Pods ready at once; want a rolling update, not a recreate")
	}
	t.Logf("checked %d deployment states and %d pod states", dchecks, pchecks)
}
