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
	"text/tabwriter"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/batonhq/baton"
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
	step("Connect to containerd at %s (namespace %q)", f.address, f.namespace)
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
	w, err := watchPods(runCtx, o)
	if err != nil {
		return err
	}

	step("Create namespace %q and a Deployment of 3 busybox httpd replicas", ns)
	if _, err := o.Namespaces().Create(ctx, &baton.Namespace{ObjectMeta: baton.ObjectMeta{Name: ns}}); err != nil && !errors.Is(err, baton.ErrAlreadyExists) {
		return err
	}
	if _, err := o.Deployments(ns).Create(ctx, webDeployment(image, 3)); err != nil {
		return err
	}
	if err := w.waitReady(ctx, 3); err != nil {
		return err
	}

	pods, err := o.Pods(ns).List(ctx)
	if err != nil {
		return err
	}
	url := "http://" + net.JoinHostPort(pods[0].Status.PodIP, "8080") + "/"
	step("Fetch %s (the Pod IP of %s)", url, pods[0].Name)
	body, err := fetch(ctx, url)
	if err != nil {
		return err
	}
	fmt.Printf("  %s", body)

	victim := pods[1]
	step("Kill the process of %s's container with SIGKILL: the node agent restarts it", victim.Name)
	if err := kill9(ctx, f, victim); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "a restart", func(pods []*baton.Pod) bool {
		return slices.ContainsFunc(pods, func(p *baton.Pod) bool {
			return p.Name == victim.Name && p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1
		}) && allReady(pods, 3)
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

	step("Roll out version 2: Pods are replaced a few at a time (maxSurge and maxUnavailable 25%%)")
	if err := setVersion(ctx, o, "2"); err != nil {
		return err
	}
	if err := rolloutStatus(ctx, o); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "version 2 everywhere", versionEverywhere("2", 2)); err != nil {
		return err
	}
	if err := fetchEach(ctx, o); err != nil {
		return err
	}

	step("Roll back to the previous revision")
	if _, err := o.Deployments(ns).Rollback(ctx, "web", 0); err != nil {
		return err
	}
	if err := rolloutStatus(ctx, o); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "version 1 everywhere", versionEverywhere("1", 2)); err != nil {
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

	step("Delete the Deployment: its Pods and their containers go with it")
	if err := o.Deployments(ns).Delete(ctx, "web"); err != nil {
		return err
	}
	if err := w.waitFor(ctx, "no pods", func(pods []*baton.Pod) bool { return len(pods) == 0 }); err != nil {
		return err
	}
	left, err := rt.ListPodSandboxes(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("  sandboxes left in containerd namespace %q: %d\n", f.namespace, len(left))
	step("Done")
	return nil
}

// importImage loads the image to run into the node's runtime and returns
// its name.
func importImage(ctx context.Context, o *baton.Orchestrator, f flags) (string, error) {
	var archive io.Reader
	switch {
	case f.imageArchive != "":
		step("Import %s", f.imageArchive)
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
		step("Build a busybox image from %s and import it", f.busybox)
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

var started = time.Now()

func step(format string, args ...any) {
	fmt.Printf("\n[%6.2fs] == %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
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

// print shows a line when a Pod's phase, readiness, restart count or IP
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
		cs := p.Status.ContainerStatuses[0]
		restarts = cs.RestartCount
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
			state += " (" + cs.State.Waiting.Reason + ")"
		}
	}
	ip := p.Status.PodIP
	if ip == "" {
		ip = "-"
	}
	return fmt.Sprintf("%-12s ready %s  restarts %d  ip %s", state, ready, restarts, ip)
}

func printTable(pods []*baton.Pod) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  NAME\tREADY\tSTATUS\tRESTARTS\tIP\tVERSION")
	for _, p := range pods {
		ready, restarts := "0/1", int32(0)
		if p.IsReady() {
			ready = "1/1"
		}
		if len(p.Status.ContainerStatuses) > 0 {
			restarts = p.Status.ContainerStatuses[0].RestartCount
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Name, ready, p.Status.Phase, restarts, p.Status.PodIP, p.Spec.Containers[0].Env[0].Value)
	}
	w.Flush()
}

// setVersion changes the template's VERSION: read, change, write, and on a
// conflict (the controllers write the same object) read again.
func setVersion(ctx context.Context, o *baton.Orchestrator, version string) error {
	for {
		d, err := o.Deployments(ns).Get(ctx, "web")
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Env = []baton.EnvVar{{Name: "VERSION", Value: version}}
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

// versionEverywhere holds when exactly n Pods run version, all ready.
func versionEverywhere(version string, n int) func([]*baton.Pod) bool {
	return func(pods []*baton.Pod) bool {
		for _, p := range pods {
			if p.Spec.Containers[0].Env[0].Value != version {
				return false
			}
		}
		return allReady(pods, n)
	}
}
