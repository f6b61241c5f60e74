// Command quickstart shows Baton keeping a Deployment at N replicas on the
// in-memory fake runtime: it creates a namespace and a 3-replica
// Deployment, prints the Pods as they change, crashes a container and
// deletes a Pod to show both healed, scales to 5 and to 2, rolls out a new
// image and rolls it back, deletes the Deployment and exits. It runs
// anywhere, in about a second.
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/examples/internal/demo"
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

	w, err := demo.WatchPods(runCtx, o, ns, describe, demo.Column{Header: "NODE", Value: func(p *baton.Pod) string { return p.Spec.NodeName }})
	if err != nil {
		return err
	}

	demo.Step("Create namespace %q and a Deployment of 3 replicas", ns)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if _, err := o.Deployments(ns).Create(ctx, webDeployment(3)); err != nil {
		return err
	}
	if err := w.WaitReady(ctx, 3); err != nil {
		return err
	}

	pods, err := o.Pods(ns).List(ctx)
	if err != nil {
		return err
	}
	victim := pods[0]
	demo.Step("Crash the container of %s (exit code 1): the node agent restarts it", victim.Name)
	id := strings.TrimPrefix(victim.Status.ContainerStatuses[0].ContainerID, "fake://")
	if err := rt.Kill(id, 1, "Error"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "restart", func(pods []*baton.Pod) bool {
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
	demo.Step("Delete pod %s: the Deployment replaces it", deleted)
	if err := o.Pods(ns).Delete(ctx, deleted); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "a replacement", func(pods []*baton.Pod) bool {
		return !slices.ContainsFunc(pods, func(p *baton.Pod) bool { return p.Name == deleted }) && demo.AllReady(pods, 3)
	}); err != nil {
		return err
	}

	for _, n := range []int32{5, 2} {
		demo.Step("Scale to %d", n)
		if _, err := o.Deployments(ns).Scale(ctx, "web", n); err != nil {
			return err
		}
		if err := w.WaitReady(ctx, int(n)); err != nil {
			return err
		}
	}

	demo.Step("Roll out a new image: Pods are replaced a few at a time (maxSurge and maxUnavailable 25%%)")
	if err := setImage(ctx, o, "nginx:1.28"); err != nil {
		return err
	}
	if err := demo.RolloutStatus(ctx, o, ns, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "the new image everywhere", imageEverywhere("nginx:1.28", 2)); err != nil {
		return err
	}

	demo.Step("Roll back to the previous revision")
	if _, err := o.Deployments(ns).Rollback(ctx, "web", 0); err != nil {
		return err
	}
	if err := demo.RolloutStatus(ctx, o, ns, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "the old image everywhere", imageEverywhere("nginx:1.27", 2)); err != nil {
		return err
	}
	history, err := o.Deployments(ns).History(ctx, "web")
	if err != nil {
		return err
	}
	for _, h := range history {
		fmt.Printf("  revision %d  %s  replica set %s\n", h.Number, h.Template.Spec.Containers[0].Image, h.ReplicaSet)
	}

	demo.Step("Delete the Deployment: its Pods go with it")
	if err := o.Deployments(ns).Delete(ctx, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "no pods", func(pods []*baton.Pod) bool { return len(pods) == 0 }); err != nil {
		return err
	}
	demo.Step("Done")
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

// imageEverywhere holds when exactly n Pods run image, all ready.
func imageEverywhere(image string, n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				return false
			}
		}
		return demo.AllReady(pods, n)
	}
}

// setImage changes the Deployment's image.
func setImage(ctx context.Context, o *baton.Orchestrator, image string) error {
	return demo.UpdateDeployment(ctx, o, ns, "web", func(d *baton.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = image
	})
}

// describe is the line printed when a Pod changes.
func describe(p *baton.Pod) string {
	state := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		state = "Terminating"
	}
	ready, restarts := demo.Readiness(p)
	return fmt.Sprintf("%-12s ready %s  restarts %d  node %s", state, ready, restarts, p.Spec.NodeName)
}
