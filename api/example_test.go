package api_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/batonhq/baton/api"
)

func ExampleDecodeManifests() {
	manifest := `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`
	objs, err := api.DecodeManifests(strings.NewReader(manifest))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, obj := range objs {
		api.SetDefaults(obj)
		if err := api.Validate(obj); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(obj.ObjectKind(), obj.GetObjectMeta().Key())
	}
	d := objs[1].(*api.Deployment)
	fmt.Println("replicas:", *d.Spec.Replicas, "pull:", d.Spec.Template.Spec.Containers[0].ImagePullPolicy)
	// Output:
	// Namespace shop
	// Deployment shop/web
	// replicas: 1 pull: IfNotPresent
}

func ExampleDecodeManifests_errors() {
	manifest := `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "2"
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicyy: Always
`
	_, err := api.DecodeManifests(strings.NewReader(manifest))
	fmt.Println(errors.Is(err, api.ErrInvalid))
	fmt.Println(strings.ReplaceAll(err.Error(), "; ", ";\n  "))
	// Output:
	// true
	// document 2 (Deployment "web") at line 7: apiVersion: Deployment is served as apps/v1, not v1;
	//   spec.replicas: must be an integer, not a string;
	//   spec.template.spec.containers[0].imagePullPolicyy: unknown field (did you mean "imagePullPolicy"?)
}

func ExampleValidate() {
	pod := &api.Pod{
		ObjectMeta: api.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: api.PodSpec{Containers: []api.Container{
			{Name: "web", Image: "nginx:1.27", Ports: []api.ContainerPort{{ContainerPort: 80}}},
			{Name: "web"},
		}},
	}
	api.SetDefaults(pod)
	err := api.Validate(pod)
	fmt.Println(errors.Is(err, api.ErrInvalid))
	var verr *api.ValidationError
	if errors.As(err, &verr) {
		for _, f := range verr.Fields {
			fmt.Println(f.Path)
		}
	}
	// Output:
	// true
	// spec.containers[1].name
	// spec.containers[1].image
}
