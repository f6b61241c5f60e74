package baton_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/batonhq/baton"
)

// A Deployment of three replicas on the default node, which runs on the
// in-memory fake runtime.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	o, err := baton.New()
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	_, err = o.Deployments("default").Create(ctx, &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec:       baton.PodSpec{Containers: []baton.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Watch the Deployment until its status counts three available Pods.
	changes, err := o.Deployments("default").Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for ev := range changes {
		if ev.Object.Status.AvailableReplicas == replicas {
			break
		}
	}
	pods, _ := o.Pods("default").List(ctx, baton.MatchLabels(labels))
	fmt.Println(len(pods), "pods on node", pods[0].Spec.NodeName)
	// Output: 3 pods on node local
}

// Apply takes Kubernetes YAML. A bad manifest changes nothing, and the error
// names every bad field.
func ExampleOrchestrator_Apply() {
	o, err := baton.New()
	if err != nil {
		log.Fatal(err)
	}
	_, err = o.Apply(context.Background(), strings.NewReader(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: -1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
`))
	fmt.Println(err)
	// Output: document 1: Deployment "web" is invalid: spec.replicas: must not be negative, not -1; spec.template.spec.containers[0].image: required: the image to run, such as "nginx:1.27"
}
