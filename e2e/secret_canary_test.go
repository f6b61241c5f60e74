package e2e_test

// Issue 7: a Secret's value never leaves the container, on containerd.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
)

// A canary Secret value used as environment (valueFrom and envFrom) and as
// a file, by a container that starts, crashes once, restarts and is
// deleted, with a Pod waiting on a missing key meanwhile and a refused
// create, appears nowhere outside the container: not in any log entry of
// Baton or of containerd's client, at Debug level, nor in an event, a
// Pod's status, or an error.
func TestSecretValueNeverLeavesTheContainer(t *testing.T) {
	t.Parallel()
	const canary = "canary-7f3a9c-e2e-secret"
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	env := containerdtest.Shared(t)
	c := newClusterWith(t, env, newNamespace(),
		[]containerd.Option{containerd.WithBridgeNetwork(env.Bridge, env.Subnet), containerd.WithLogger(log)},
		nil, baton.WithLogger(log))
	ctx := ctxFor(t)
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}

	// Waits for a key the Secret lacks at first.
	waiting := shContainer("app", `trap 'exit 0' TERM; while :; do sleep 1 & wait; done`)
	waiting.Env = []baton.EnvVar{{Name: "LATER", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
		LocalObjectReference: baton.LocalObjectReference{Name: "canary"}, Key: "later"}}}}
	if _, err := c.Pods("default").Create(ctx, podOf("waiting", waiting)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "canary"},
		StringData: map[string]string{"token": canary}}); err != nil {
		t.Fatal(err)
	}
	// Crashes once (the file marks the second run), then runs.
	app := shContainer("app", `test -f /tmp/ran || { touch /tmp/ran; exit 1; }; echo started; trap 'exit 0' TERM; while :; do sleep 1 & wait; done`)
	app.Env = []baton.EnvVar{{Name: "TOKEN", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
		LocalObjectReference: baton.LocalObjectReference{Name: "canary"}, Key: "token"}}}}
	app.EnvFrom = []baton.EnvFromSource{{Prefix: "S_", SecretRef: &baton.SecretEnvSource{LocalObjectReference: baton.LocalObjectReference{Name: "canary"}}}}
	app.VolumeMounts = []baton.VolumeMount{{Name: "secret", MountPath: "/etc/secret"}, {Name: "scratch", MountPath: "/tmp"}}
	pod := podOf("app", app)
	pod.Spec.Volumes = []baton.Volume{
		{Name: "secret", VolumeSource: baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "canary"}}},
		{Name: "scratch", VolumeSource: baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{}}},
	}
	if _, err := c.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Orchestrator, "app", "running after a restart", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].State.Running != nil
	})
	if got := mustExec(t, c.Orchestrator, "app", "cat", "/etc/secret/token"); got != canary {
		t.Fatalf("the container reads %q from the Secret file; want the canary", got)
	}
	if out := mustExec(t, c.Orchestrator, "app", "sh", "-c", `echo "$TOKEN $S_token"`); out != canary+" "+canary+"\n" {
		t.Fatalf("the container's environment has %q; want the canary twice", out)
	}
	// A create refused for a key the Secret lacks.
	bad := shContainer("app", "true")
	bad.Env = []baton.EnvVar{{Name: "X", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
		LocalObjectReference: baton.LocalObjectReference{Name: "canary"}, Key: "missing"}}}}
	_, err := c.Pods("default").Create(ctx, podOf("bad", bad))
	if err == nil {
		t.Fatal("a Pod naming a missing Secret key was created")
	}
	note(err)
	waitPod(t, c.Orchestrator, "waiting", "waiting on the missing key", func(p *baton.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
	var statuses []string
	pods, err := c.Pods("default").List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		st, err := json.Marshal(p.Status)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, "status: "+p.Name+" "+string(st))
	}
	for _, name := range []string{"app", "waiting"} {
		note(c.Pods("default").Delete(ctx, name))
	}
	waitPods(t, c.Orchestrator, "the Pods gone", func(pods []*baton.Pod) bool { return len(pods) == 0 })

	var seen []string
	for _, e := range logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		seen = append(seen, "log: "+line)
	}
	events, err := c.Events("default").List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		seen = append(seen, "event: "+e.Reason+" "+e.Message)
	}
	for _, e := range errs {
		seen = append(seen, "error: "+e)
	}
	seen = append(seen, statuses...)
	if len(logs.All()) == 0 || len(events) == 0 {
		t.Fatalf("nothing to search: %d log entries, %d events", len(logs.All()), len(events))
	}
	for _, s := range seen {
		if strings.Contains(s, canary) {
			t.Errorf("the Secret's value leaked: %s", s)
		}
	}
}
