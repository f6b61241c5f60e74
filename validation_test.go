package baton_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// marker creates a throwaway Namespace and returns its resourceVersion:
// with no writes in between, two markers' versions differ by exactly one.
func marker(t *testing.T, o *baton.Orchestrator, name string) int {
	t.Helper()
	ns, err := o.Namespaces().Create(context.Background(), &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	rv, err := strconv.Atoi(ns.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

// expectInvalid checks that err is ErrInvalid and names every path.
func expectInvalid(t *testing.T, err error, paths ...string) {
	t.Helper()
	if !errors.Is(err, baton.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	for _, p := range paths {
		if !strings.Contains(err.Error(), p+":") {
			t.Errorf("error does not name %s: %v", p, err)
		}
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := o.Deployments("default").Create(ctx, deploymentOf("existing", 1, "nginx")); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(*baton.Deployment)) *baton.Deployment {
		d := deploymentOf("web", 2, "nginx")
		f(d)
		return d
	}
	cases := []struct {
		name  string
		write func() error
		paths []string
	}{
		{"invalid name", func() error {
			_, err := o.Deployments("default").Create(ctx, mutate(func(d *baton.Deployment) { d.Name = "Web_1" }))
			return err
		}, []string{"metadata.name"}},
		{"missing image and negative replicas together", func() error {
			_, err := o.Deployments("default").Create(ctx, mutate(func(d *baton.Deployment) {
				n := int32(-1)
				d.Spec.Replicas = &n
				d.Spec.Template.Spec.Containers[0].Image = ""
			}))
			return err
		}, []string{"spec.replicas", "spec.template.spec.containers[0].image"}},
		{"selector does not match the template", func() error {
			_, err := o.Deployments("default").Create(ctx, mutate(func(d *baton.Deployment) {
				d.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
			}))
			return err
		}, []string{"spec.template.metadata.labels"}},
		{"unknown namespace", func() error {
			_, err := o.Deployments("nowhere").Create(ctx, deploymentOf("web", 1, "nginx"))
			return err
		}, []string{"metadata.namespace"}},
		{"duplicate container names", func() error {
			_, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "a", Image: "x"}, baton.Container{Name: "a", Image: "y"}))
			return err
		}, []string{"spec.containers[1].name"}},
		{"bad update keeps the stored object", func() error {
			d, err := o.Deployments("default").Get(ctx, "existing")
			if err != nil {
				return err
			}
			d.Spec.Template.Spec.Containers[0].Name = "NOT A NAME"
			_, err = o.Deployments("default").Update(ctx, d)
			return err
		}, []string{"spec.template.spec.containers[0].name"}},
		{"probes with two handlers, none, a negative period, an unknown port name", func() error {
			c := baton.Container{Name: "c", Image: "x",
				LivenessProbe: &baton.Probe{ProbeHandler: baton.ProbeHandler{
					Exec:      &baton.ExecAction{Command: []string{"true"}},
					TCPSocket: &baton.TCPSocketAction{Port: baton.FromInt(80)},
				}},
				ReadinessProbe: &baton.Probe{PeriodSeconds: -1, ProbeHandler: baton.ProbeHandler{
					HTTPGet: &baton.HTTPGetAction{Port: baton.FromString("admin")},
				}},
				StartupProbe: &baton.Probe{},
			}
			_, err := o.Pods("default").Create(ctx, podOf("p", "", c))
			return err
		}, []string{"spec.containers[0].livenessProbe", "spec.containers[0].readinessProbe.periodSeconds",
			"spec.containers[0].readinessProbe.httpGet.port", "spec.containers[0].startupProbe"}},
		{"manifest with an unknown field", func() error {
			_, err := o.Apply(ctx, strings.NewReader(`
apiVersion: v1
kind: Namespace
metadata: {name: fine}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        imagePullPolicyy: Always
`))
			return err
		}, []string{"spec.template.spec.containers[0].imagePullPolicyy"}},
		{"manifest with the wrong apiVersion", func() error {
			_, err := o.Apply(ctx, strings.NewReader("apiVersion: v1\nkind: Deployment\nmetadata: {name: web}\n"))
			return err
		}, []string{"apiVersion"}},
		{"manifest with a wrong type", func() error {
			_, err := o.Apply(ctx, strings.NewReader("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: three}\n"))
			return err
		}, []string{"spec.replicas"}},
		{"manifest whose second document is invalid", func() error {
			_, err := o.Apply(ctx, strings.NewReader(`
apiVersion: v1
kind: Namespace
metadata: {name: also-fine}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c}]}
`))
			return err
		}, []string{"spec.containers[0].image"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := marker(t, o, "before-"+strconv.Itoa(i))
			events, cancel := watchAll(t, o)
			defer cancel()
			expectInvalid(t, c.write(), c.paths...)
			after := marker(t, o, "after-"+strconv.Itoa(i))
			if after != before+1 {
				t.Errorf("the refused write moved the store from revision %d to %d", before, after-1)
			}
			// The first change any watcher sees is the second marker.
			ev := <-events
			if ev != "after-"+strconv.Itoa(i) {
				t.Errorf("a watcher saw %q before the marker", ev)
			}
		})
	}
	for _, name := range []string{"fine", "also-fine"} {
		if _, err := o.Namespaces().Get(ctx, name); !errors.Is(err, baton.ErrNotFound) {
			t.Errorf("namespace %s from a refused manifest exists (err %v)", name, err)
		}
	}
	d, _ := o.Deployments("default").Get(ctx, "existing")
	if d.Spec.Template.Spec.Containers[0].Name != "app" {
		t.Error("a refused update changed the stored deployment")
	}
}

// watchAll reports the name of every object that changes, of the kinds a
// bad write could touch, after the state that exists now.
func watchAll(t *testing.T, o *baton.Orchestrator) (<-chan string, func()) {
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
	pods, _ := o.Pods("").Watch(ctx)
	podsNow, _ := o.Pods("").List(ctx)
	go forwardNames(ctx, pods, len(podsNow), out, done)
	return out, func() {
		cancel()
		for range 3 {
			<-done
		}
	}
}

// forwardNames sends the names of watched objects to out, skipping the
// first skip events (the state that existed when the watch began).
func forwardNames[T baton.Object](ctx context.Context, events <-chan baton.WatchEvent[T], skip int, out chan<- string, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	for ev := range events {
		if skip > 0 {
			skip--
			continue
		}
		select {
		case out <- ev.Object.GetObjectMeta().Name:
		case <-ctx.Done():
			return
		}
	}
}

func TestApplyManifests(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	manifest := `# a typical application
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
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - {name: http, containerPort: 80}
        env:
        - {name: MODE, value: prod}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: http}
`
	objs, err := o.Apply(ctx, strings.NewReader(manifest))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[1].GetObjectMeta().UID == "" {
		t.Fatalf("applied %d objects: %+v", len(objs), objs)
	}
	waitPods(t, o, "shop", "2 ready pods", readyPods(2))
	svc, err := o.Services("shop").Get(ctx, "web")
	if err != nil || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("service %+v, %v", svc, err)
	}
	// Applying again with a change updates in place.
	changed := strings.Replace(manifest, "replicas: 2", "replicas: 3", 1)
	if _, err := o.Apply(ctx, strings.NewReader(changed)); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "shop", "3 ready pods", readyPods(3))
	d, _ := o.Deployments("shop").Get(ctx, "web")
	if d.Generation != 2 {
		t.Errorf("generation %d after one spec change, want 2", d.Generation)
	}
}
