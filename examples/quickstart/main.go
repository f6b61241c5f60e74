// Command quickstart shows Baton keeping a Deployment at N replicas on the
// in-memory fake runtime: it creates a namespace and a 3-replica
// Deployment, prints the Pods as they change, crashes a container and
// deletes a Pod to show both healed, scales to 5 and to 2, rolls out a new
// image and rolls it back, deletes the Deployment and exits. It runs
// anywhere, in about a second.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime/fake"
)

const ns = "demo"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	rt := fake.New() // an in-memory container runtime we can break on purpose
	o, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- o.Run(runCtx) }()
	defer func() {
		stop()
		<-done
	}()

	w, err := watchPods(runCtx, o)
	if err != nil {
		return err
	}

	step("Create namespace %q and a Deployment of 3 replicas", ns)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if _, err := o.Deployments(ns).Create(ctx, webDeployment(3)); err != nil {
		return err
	}
	if err := w.waitReady(ctx, 3); err != nil {
		return err
	}

	pods, err := o.Pods(ns).List(ctx)
	if err != nil {
		return err
	}
	victim := pods[0]
	step("Crash the container of %s (exit code 1): the node agent restarts it", victim.Name)
	id := strings.TrimPrefix(victim.Status.ContainerStatuses[0].ContainerID, "fake://")
	if err := rt.Kill(id, 1, "Error"); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "restart", func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Name == victim.Name && p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1 {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}

	deleted := pods[1].Name
	step("Delete pod %s: the Deployment replaces it", deleted)
	if err := o.Pods(ns).Delete(ctx, deleted); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "a replacement", func(pods []*baton.Pod) bool {
		return !slices.ContainsFunc(pods, func(p *baton.Pod) bool { return p.Name == deleted }) && allReady(pods, 3)
	}); err != nil {
		return err
	}

	for _, n := range []int32{5, 2} {
		step("Scale to %d", n)
		if _, err := o.Deployments(ns).Scale(ctx, "web", n); err != nil {
			return err
		}
		if err := w.waitReady(ctx, int(n)); err != nil {
			return err
		}
	}

	step("Roll out a new image: Pods are replaced a few at a time (maxSurge and maxUnavailable 25%%)")
	if err := setImage(ctx, o, "nginx:1.28"); err != nil {
		return err
	}
	if err := rolloutStatus(ctx, o); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "the new image everywhere", imageEverywhere("nginx:1.28", 2)); err != nil {
		return err
	}

	step("Roll back to the previous revision")
	if _, err := o.Deployments(ns).Rollback(ctx, "web", 0); err != nil {
		return err
	}
	if err := rolloutStatus(ctx, o); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "the old image everywhere", imageEverywhere("nginx:1.27", 2)); err != nil {
		return err
	}
	history, err := o.Deployments(ns).History(ctx, "web")
	if err != nil {
		return err
	}
	for _, h := range history {
		fmt.Printf("  revision %d  %s  replica set %s\n", h.Number, h.Template.Spec.Containers[0].Image, h.ReplicaSet)
	}

	step("Delete the Deployment: its Pods go with it")
	if err := o.Deployments(ns).Delete(ctx, "web"); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "no pods", func(pods []*baton.Pod) bool { return len(pods) == 0 }); err != nil {
		return err
	}
	step("Done")
	return nil
}

func webDeployment(replicas int32) *baton.Deployment {
	labels := map[string]string{"app": "web"}
	return &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec: baton.PodSpec{Containers: []baton.Container{{
					Name:  "web",
					Image: "nginx:1.27",
					Ports: []baton.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
}

var started = time.Now()

func step(format string, args ...any) {
	fmt.Printf("\n[%5.0fms] == %s\n", float64(time.Since(started).Microseconds())/1000, fmt.Sprintf(format, args...))
}

// podWatcher prints every change to the namespace's Pods, in order, and
// lets the program wait for a condition on them.
type podWatcher struct {
	changes <-chan baton.WatchEvent[*baton.Pod]
	pods    map[string]*baton.Pod // the Pods as the watch has shown them
	last    map[string]string     // the last line printed per Pod
}

func watchPods(ctx context.Context, o *baton.Orchestrator) (*podWatcher, error) {
	changes, err := o.Pods(ns).Watch(ctx)
	if err != nil {
		return nil, err
	}
	return &podWatcher{changes: changes, pods: map[string]*baton.Pod{}, last: map[string]string{}}, nil
}

// waitReady waits until exactly n Pods exist and all are ready.
func (w *podWatcher) waitReady(ctx context.Context, n int) error {
	return w.waitFor(ctx, fmt.Sprintf("%d ready pods", n), func(pods []*baton.Pod) bool { return allReady(pods, n) })
}

// allReady reports whether there are exactly n Pods, all ready and none
// terminating.
func allReady(pods []*baton.Pod, n int) bool {
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

// waitFor prints Pod changes until cond holds for the namespace's Pods,
// then prints them as a table.
func (w *podWatcher) waitFor(ctx context.Context, what string, cond func([]*baton.Pod) bool) error {
	for {
		pods := make([]*baton.Pod, 0, len(w.pods))
		for _, p := range w.pods {
			pods = append(pods, p)
		}
		slices.SortFunc(pods, func(a, b *baton.Pod) int { return strings.Compare(a.Name, b.Name) })
		if cond(pods) {
			printTable(pods)
			return nil
		}
		select {
		case ev := <-w.changes:
			if ev.Type == baton.Deleted {
				delete(w.pods, ev.Object.Name)
			} else {
				w.pods[ev.Object.Name] = ev.Object
			}
			w.print(ev)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// print shows a line when a Pod's phase, readiness or restart count
// changes.
func (w *podWatcher) print(ev baton.WatchEvent[*baton.Pod]) {
	p := ev.Object
	line := describe(p)
	if ev.Type == baton.Deleted {
		line = "deleted"
	}
	if w.last[p.Name] == line {
		return
	}
	w.last[p.Name] = line
	fmt.Printf("  %-24s %s\n", p.Name, line)
}

func describe(p *baton.Pod) string {
	state := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		state = "Terminating"
	}
	ready, restarts := "0/1", int32(0)
	if p.IsReady() {
		ready = "1/1"
	}
	if len(p.Status.ContainerStatuses) > 0 {
		restarts = p.Status.ContainerStatuses[0].RestartCount
	}
	return fmt.Sprintf("%-12s ready %s  restarts %d  node %s", state, ready, restarts, p.Spec.NodeName)
}

func printTable(pods []*baton.Pod) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  NAME\tREADY\tSTATUS\tRESTARTS\tIP\tNODE")
	for _, p := range pods {
		ready, restarts := "0/1", int32(0)
		if p.IsReady() {
			ready = "1/1"
		}
		if len(p.Status.ContainerStatuses) > 0 {
			restarts = p.Status.ContainerStatuses[0].RestartCount
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Name, ready, p.Status.Phase, restarts, p.Status.PodIP, p.Spec.NodeName)
	}
	w.Flush()
}

// setImage changes the Deployment's image: read, change, write, and on a
// conflict (the controllers write the same object) read again.
func setImage(ctx context.Context, o *baton.Orchestrator, image string) error {
	for {
		d, err := o.Deployments(ns).Get(ctx, "web")
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		_, err = o.Deployments(ns).Update(ctx, d)
		if !errors.Is(err, baton.ErrConflict) {
			return err
		}
	}
}

// rolloutStatus prints the rollout's progress until it is complete, like
// "kubectl rollout status".
func rolloutStatus(ctx context.Context, o *baton.Orchestrator) error {
	last := ""
	return o.Deployments(ns).RolloutStatus(ctx, "web", func(p baton.RolloutProgress) {
		if p.Message != last {
			fmt.Println("  rollout:", p.Message)
			last = p.Message
		}
	})
}

// imageEverywhere holds when exactly n Pods run image, all ready.
func imageEverywhere(image string, n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				return false
			}
		}
		return allReady(pods, n)
	}
}
