package e2e_test

// Issue 5: Services in front of real containers.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// serviceCIDR returns a loopback range for a test's cluster IPs, picked
// at random so that test binaries running at once (other packages use
// 127.64.0.0/16 and 127.160-199.x) seldom collide.
func serviceCIDR() string {
	return fmt.Sprintf("127.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(256))
}

// webService is a ClusterIP Service "web" on port 80 in front of the Pods
// labelled app=web, to their port named "http".
func webService() *baton.Service {
	return &baton.Service{
		ObjectMeta: baton.ObjectMeta{Name: "web"},
		Spec: baton.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []baton.ServicePort{{Name: "http", Port: 80, TargetPort: baton.FromString("http")}},
		},
	}
}

// waitResolvable waits until the Resolver has n ready endpoints for
// Service web's port http.
func waitResolvable(t *testing.T, o *baton.Orchestrator, n int) {
	t.Helper()
	ctx := ctxFor(t)
	for {
		changed := o.Resolver().Changed()
		port, err := o.Resolver().Resolve("web.default", "http", "")
		if err == nil && len(port.Ready) == n {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("the Resolver never had %d ready endpoints for web: %+v, %v", n, port, err)
		}
	}
}

// Clients send requests continuously to a Service — through the
// Orchestrator's in-process dialer (DialContext) and through the userspace
// proxy on the Service's cluster IP — while the 3 busybox httpd Pods behind
// it roll to a new template: not one request fails, and both versions
// answer.
func TestServiceZeroFailedRequestsDuringRollout(t *testing.T) {
	t.Parallel()
	c := newCluster(t, baton.WithServiceCIDR(serviceCIDR()), baton.WithServiceProxy("127.0.0.1"))
	svc := startWebV1(t, c)

	inProcess := httpClient(c.DialContext)
	viaProxy := httpClient((&net.Dialer{}).DialContext)
	urls := map[*http.Client]string{
		inProcess: "http://web.default/",
		viaProxy:  "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/",
	}
	// The proxy listens once it has seen the Service.
	get(t, urls[viaProxy])

	load := startRequests(urls, 2)
	load.waitCount(t, "requests served by v1", "v1", 50)
	setVersion(t, c.Orchestrator, "web", "v2")
	rollout(t, c.Orchestrator, "web")
	waitPods(t, c.Orchestrator, "only the 3 new pods", readyPods(3))
	load.waitCount(t, "requests served by v2 after the rollout", "v2", load.count("v2")+50)
	load.finish(t)
}

// A container started after a Service exists gets Kubernetes' service
// variables (WEB_SERVICE_HOST and friends) for it; one started before
// does not, as in Kubernetes.
func TestServiceEnvVarsReachNewContainers(t *testing.T) {
	t.Parallel()
	c := newCluster(t, baton.WithServiceCIDR(serviceCIDR()))
	if _, err := c.Deployments("default").Create(ctxFor(t), deploymentOf("web", 1, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	old := waitPods(t, c.Orchestrator, "a ready pod", readyPods(1))[0]
	svc, err := c.Services("default").Create(ctxFor(t), webService())
	if err != nil {
		t.Fatal(err)
	}
	if env := mustExec(t, c.Orchestrator, old.Name, "env"); strings.Contains(env, "WEB_SERVICE_HOST") {
		t.Errorf("a container started before the Service has its variables:\n%s", env)
	}

	if err := c.Pods("default").Delete(ctxFor(t), old.Name); err != nil {
		t.Fatal(err)
	}
	fresh := waitPods(t, c.Orchestrator, "a new ready pod", func(pods []*baton.Pod) bool {
		return readyPods(1)(pods) && pods[0].Name != old.Name
	})[0]
	env := strings.Split(mustExec(t, c.Orchestrator, fresh.Name, "env"), "\n")
	ip := svc.Spec.ClusterIP
	for _, want := range []string{
		"WEB_SERVICE_HOST=" + ip,
		"WEB_SERVICE_PORT=80",
		"WEB_SERVICE_PORT_HTTP=80",
		"WEB_PORT=tcp://" + ip + ":80",
		"WEB_PORT_80_TCP=tcp://" + ip + ":80",
		"WEB_PORT_80_TCP_PROTO=tcp",
		"WEB_PORT_80_TCP_PORT=80",
		"WEB_PORT_80_TCP_ADDR=" + ip,
	} {
		found := false
		for _, line := range env {
			found = found || line == want
		}
		if !found {
			t.Errorf("the new container's environment lacks %s:\n%s", want, strings.Join(env, "\n"))
		}
	}
}
