// Command containerd tells the quickstart's story on real containers: Baton
// drives a containerd daemon, and busybox httpd Pods serve HTTP on their
// own IPs. It creates a namespace and a 3-replica Deployment, prints the
// Pods as they start with their IPs, fetches a page from one, kills one
// container's process to show it restarted, scales to 5 and to 2, rolls out
// a new version and rolls it back, deletes the Deployment and exits.
//
// It needs root and a running containerd (1.6 or later, with runc and the
// CNI plugins bridge, host-local, portmap and loopback). No registry is
// needed: by default it builds a busybox image from the static busybox at
// /usr/bin/busybox (Debian's busybox-static) and imports it; -image-archive
// imports an OCI or docker-archive tarball instead.
//
//	sudo go run ./examples/containerd -address /run/containerd/containerd.sock
//
// Everything lives in its own containerd namespace, state directory and
// CNI bridge (see the flags), apart from any other user of the daemon.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/examples/internal/demo"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

const ns = "demo"

type flags struct {
	address, namespace, stateDir string
	bridge, subnet               string
	imageArchive, busybox, image string
}

func main() {
	var f flags
	flag.StringVar(&f.address, "address", "/run/containerd/containerd.sock", "containerd's socket")
	flag.StringVar(&f.namespace, "namespace", "baton-example", "the containerd namespace to keep the containers in")
	flag.StringVar(&f.stateDir, "state-dir", "/var/lib/baton-example", "where the runtime keeps logs, network namespaces and CNI state")
	flag.StringVar(&f.bridge, "bridge", "baton-ex0", "the Linux bridge of the Pods' network")
	flag.StringVar(&f.subnet, "subnet", "10.89.0.0/24", "the Pods' subnet")
	flag.StringVar(&f.imageArchive, "image-archive", "", "an image tarball (OCI layout or docker-archive) to import and run; it must have sh and busybox's httpd")
	flag.StringVar(&f.busybox, "busybox", testimage.DefaultBusybox, "a static busybox to build the image from when -image-archive is not given (empty: build none)")
	flag.StringVar(&f.image, "image", "", "the image to run (default: the one imported)")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "containerd example:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	// The CNI bridge plugin makes the bridge for the first Pod and never
	// deletes it: remove it at the end, unless it was there before.
	if _, err := net.InterfaceByName(f.bridge); err != nil {
		defer func() { _ = exec.Command("ip", "link", "delete", f.bridge).Run() }()
	}
	demo.Step("Connect to containerd at %s (namespace %q)", f.address, f.namespace)
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rt, err := containerd.New(connectCtx, f.address,
		containerd.WithNamespace(f.namespace),
		containerd.WithStateDir(f.stateDir),
		containerd.WithBridgeNetwork(f.bridge, f.subnet),
	)
	if err != nil {
		return err
	}
	defer rt.Close()
	o, err := baton.New(baton.WithRuntime(rt))
	if err != nil {
		return err
	}
	image, err := importImage(ctx, o, f)
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
	w, err := demo.WatchPods(runCtx, o, ns, describe, demo.Column{Header: "VERSION", Value: version})
	if err != nil {
		return err
	}

	demo.Step("Create namespace %q and a Deployment of 3 busybox httpd replicas", ns)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: ns}}); err != nil && !errors.Is(err, baton.ErrAlreadyExists) {
		return err
	}
	if _, err := o.Deployments(ns).Create(ctx, webDeployment(image, 3)); err != nil {
		return err
	}
	if err := w.WaitReady(ctx, 3); err != nil {
		return err
	}

	pods, err := o.Pods(ns).List(ctx)
	if err != nil {
		return err
	}
	url := "http://" + net.JoinHostPort(pods[0].Status.PodIP, "8080") + "/"
	demo.Step("Fetch %s (the Pod IP of %s)", url, pods[0].Name)
	body, err := fetch(ctx, url)
	if err != nil {
		return err
	}
	fmt.Printf("  %s", body)

	victim := pods[1]
	demo.Step("Kill the process of %s's container with SIGKILL: the node agent restarts it", victim.Name)
	if err := kill9(ctx, f, victim); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "a restart", func(pods []*baton.Pod) bool {
		return slices.ContainsFunc(pods, func(p *baton.Pod) bool {
			return p.Name == victim.Name && p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1
		}) && demo.AllReady(pods, 3)
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

	demo.Step("Roll out version 2: Pods are replaced a few at a time (maxSurge and maxUnavailable 25%%)")
	if err := setVersion(ctx, o, "2"); err != nil {
		return err
	}
	if err := demo.RolloutStatus(ctx, o, ns, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "version 2 everywhere", versionEverywhere("2", 2)); err != nil {
		return err
	}
	if err := fetchEach(ctx, o); err != nil {
		return err
	}

	demo.Step("Roll back to the previous revision")
	if _, err := o.Deployments(ns).Rollback(ctx, "web", 0); err != nil {
		return err
	}
	if err := demo.RolloutStatus(ctx, o, ns, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "version 1 everywhere", versionEverywhere("1", 2)); err != nil {
		return err
	}
	if err := fetchEach(ctx, o); err != nil {
		return err
	}
	history, err := o.Deployments(ns).History(ctx, "web")
	if err != nil {
		return err
	}
	for _, h := range history {
		fmt.Printf("  revision %d  VERSION=%s  replica set %s\n", h.Number, h.Template.Spec.Containers[0].Env[0].Value, h.ReplicaSet)
	}

	demo.Step("Delete the Deployment: its Pods and their containers go with it")
	if err := o.Deployments(ns).Delete(ctx, "web"); err != nil {
		return err
	}
	if err := w.WaitFor(ctx, "no pods", func(pods []*baton.Pod) bool { return len(pods) == 0 }); err != nil {
		return err
	}
	left, err := rt.ListPodSandboxes(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("  sandboxes left in containerd namespace %q: %d\n", f.namespace, len(left))
	demo.Step("Done")
	return nil
}

// importImage loads the image to run into the node's runtime and returns
// its name.
func importImage(ctx context.Context, o *baton.Orchestrator, f flags) (string, error) {
	var archive io.Reader
	switch {
	case f.imageArchive != "":
		demo.Step("Import %s", f.imageArchive)
		file, err := os.Open(f.imageArchive)
		if err != nil {
			return "", err
		}
		defer file.Close()
		archive = file
	case f.busybox != "":
		img := testimage.Image{Ref: "localhost/baton-example/busybox:1", Busybox: f.busybox}
		if err := img.Available(); err != nil {
			return "", fmt.Errorf("%w; or give -image-archive, or -busybox \"\" with -image naming an image containerd has", err)
		}
		demo.Step("Build a busybox image from %s and import it", f.busybox)
		data, err := img.Bytes()
		if err != nil {
			return "", err
		}
		archive = bytes.NewReader(data)
	default:
		if f.image == "" {
			return "", errors.New("nothing to run: give -image-archive, -busybox or -image")
		}
		return f.image, nil
	}
	names, err := o.ImportImage(ctx, baton.DefaultNodeName, archive)
	if err != nil {
		return "", err
	}
	fmt.Printf("  imported %s\n", strings.Join(names, ", "))
	if f.image != "" {
		return f.image, nil
	}
	if len(names) == 0 {
		return "", errors.New("the archive names no image; give -image")
	}
	return names[0], nil
}

// webDeployment runs busybox httpd on port 8080, serving a page that names
// the Pod and the VERSION of the template.
func webDeployment(image string, replicas int32) *baton.Deployment {
	labels := map[string]string{"app": "web"}
	grace := int64(2) // httpd, as PID 1, ignores SIGTERM: do not wait 30s for it
	return &baton.Deployment{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.DeploymentSpec{
			Replicas: &replicas,
			Selector: &baton.LabelSelector{MatchLabels: labels},
			Template: baton.PodTemplateSpec{
				ObjectMeta: baton.ObjectMeta{Labels: labels},
				Spec: baton.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []baton.Container{{
						Name:            "httpd",
						Image:           image,
						ImagePullPolicy: baton.PullIfNotPresent,
						Command: []string{"sh", "-c",
							`mkdir -p /www && echo "hello from $(hostname), version $VERSION" > /www/index.html && exec httpd -f -p 8080 -h /www`},
						Env:   []baton.EnvVar{{Name: "VERSION", Value: "1"}},
						Ports: []baton.ContainerPort{{Name: "http", ContainerPort: 8080}},
						Resources: baton.ResourceRequirements{Limits: baton.ResourceList{
							baton.ResourceMemory: baton.MustParseQuantity("32Mi"),
						}},
					}},
				},
			},
		},
	}
}

// kill9 kills the process of the Pod's container from the host, as a crash
// would end it, finding its PID through containerd.
func kill9(ctx context.Context, f flags, pod *baton.Pod) error {
	c, err := client.New(f.address, client.WithDefaultNamespace(f.namespace))
	if err != nil {
		return err
	}
	defer c.Close()
	_, id, _ := strings.Cut(pod.Status.ContainerStatuses[0].ContainerID, "://")
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		return err
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("  kill -9 %d (container %.12s)\n", task.Pid(), id)
	return syscall.Kill(int(task.Pid()), syscall.SIGKILL)
}

var httpClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// fetch GETs url, retrying for a few seconds while the server starts.
func fetch(ctx context.Context, url string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		resp, err := httpClient.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body), nil
			}
			err = fmt.Errorf("GET %s: %s %v", url, resp.Status, rerr)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fetchEach fetches the page of every Pod and prints it.
func fetchEach(ctx context.Context, o *baton.Orchestrator) error {
	pods, err := o.Pods(ns).List(ctx)
	if err != nil {
		return err
	}
	for _, p := range pods {
		body, err := fetch(ctx, "http://"+net.JoinHostPort(p.Status.PodIP, "8080")+"/")
		if err != nil {
			return err
		}
		fmt.Printf("  %-15s %s", p.Status.PodIP, body)
	}
	return nil
}

// versionEverywhere holds when exactly n Pods run version want, all ready.
func versionEverywhere(want string, n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if version(p) != want {
				return false
			}
		}
		return demo.AllReady(pods, n)
	}
}

// version is the VERSION a Pod's template set.
func version(p *baton.Pod) string { return p.Spec.Containers[0].Env[0].Value }

// setVersion changes the template's VERSION.
func setVersion(ctx context.Context, o *baton.Orchestrator, version string) error {
	return demo.UpdateDeployment(ctx, o, ns, "web", func(d *baton.Deployment) {
		d.Spec.Template.Spec.Containers[0].Env = []baton.EnvVar{{Name: "VERSION", Value: version}}
	})
}

// describe is the line printed when a Pod changes.
func describe(p *baton.Pod) string {
	state := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		state = "Terminating"
	}
	ready, restarts := demo.Readiness(p)
	if len(p.Status.ContainerStatuses) > 0 {
		if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil && w.Reason != "" {
			state += " (" + w.Reason + ")"
		}
	}
	ip := p.Status.PodIP
	if ip == "" {
		ip = "-"
	}
	return fmt.Sprintf("%-12s ready %s  restarts %d  ip %s", state, ready, restarts, ip)
}
