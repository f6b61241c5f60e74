package baton_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/encryption"
	"github.com/batonhq/baton/runtime/fake"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("secret and Memory emptyDir volumes need tmpfs, which needs root; run the tests as root")
	}
}

// poll waits until cond holds, checking every few milliseconds: for state
// outside the store (files on disk) that no watch reports.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ptrTo[T any](v T) *T { return &v }

func configPod(name string) *baton.Pod {
	return &baton.Pod{
		ObjectMeta: baton.ObjectMeta{Name: name},
		Spec: baton.PodSpec{
			Containers: []baton.Container{{
				Name: "app", Image: "app",
				Env: []baton.EnvVar{
					{Name: "LEVEL", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
						LocalObjectReference: baton.LocalObjectReference{Name: "app"}, Key: "level"}}},
					{Name: "DB_PASSWORD", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
						LocalObjectReference: baton.LocalObjectReference{Name: "db"}, Key: "password"}}},
					{Name: "PLAIN", Value: "x"},
				},
				EnvFrom: []baton.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &baton.ConfigMapEnvSource{
					LocalObjectReference: baton.LocalObjectReference{Name: "app"}}}},
				VolumeMounts: []baton.VolumeMount{
					{Name: "config", MountPath: "/etc/app"},
					{Name: "config", MountPath: "/etc/level", SubPath: "level"},
					{Name: "secret", MountPath: "/run/secrets/db"},
					{Name: "scratch", MountPath: "/tmp/scratch"},
				},
			}},
			Volumes: []baton.Volume{
				{Name: "config", VolumeSource: baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{
					LocalObjectReference: baton.LocalObjectReference{Name: "app"}, DefaultMode: ptrTo[int32](0o444)}}},
				{Name: "secret", VolumeSource: baton.VolumeSource{Secret: &baton.SecretVolumeSource{
					SecretName: "db", DefaultMode: ptrTo[int32](0o400),
					Items: []baton.KeyToPath{{Key: "password", Path: "password"}}}}},
				{Name: "scratch", VolumeSource: baton.VolumeSource{EmptyDir: &baton.EmptyDirVolumeSource{Medium: baton.StorageMediumMemory}}},
			},
		},
	}
}

func TestConfigAndSecretsReachContainers(t *testing.T) {
	needRoot(t)
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"},
		Data: map[string]string{"level": "debug", "app.yaml": "port: 80\n"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Pods("default").Create(ctx, configPod("p")); err != nil {
		t.Fatal(err)
	}
	pod := waitPods(t, o, "default", "a ready pod", readyPods(1))[0]
	id := containerID(pod.Status.ContainerStatuses[0])
	c, err := rt.ContainerStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	env := strings.Join(c.Config.Env, " ")
	for _, want := range []string{"LEVEL=debug", "DB_PASSWORD=s3cret", "PLAIN=x", "CFG_level=debug"} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %s", env, want)
		}
	}
	files, err := rt.Files(id)
	if err != nil {
		t.Fatal(err)
	}
	check := func(path, content string, mode os.FileMode) {
		t.Helper()
		f, ok := files[path]
		if !ok {
			t.Errorf("no file %s; files: %v", path, keys(files))
			return
		}
		if string(f.Data) != content || f.Mode != mode || !f.ReadOnly {
			t.Errorf("%s: %q mode %o read-only %v; want %q %o read-only", path, f.Data, f.Mode, f.ReadOnly, content, mode)
		}
	}
	check("/etc/app/level", "debug", 0o444)
	check("/etc/app/app.yaml", "port: 80\n", 0o444)
	check("/etc/level", "debug", 0o444)
	check("/run/secrets/db/password", "s3cret", 0o400)

	// A changed ConfigMap reaches the files, but not the subPath mount nor
	// the environment, which only a restart refreshes (as in Kubernetes).
	cm, _ := o.ConfigMaps("default").Get(ctx, "app")
	cm.Data["level"] = "info"
	if _, err := o.ConfigMaps("default").Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	poll(t, "the file updated", func() bool {
		files, _ = rt.Files(id)
		return string(files["/etc/app/level"].Data) == "info"
	})
	if f, ok := files["/etc/level"]; ok && string(f.Data) != "debug" {
		t.Errorf("the subPath mount changed to %q", f.Data)
	}
	// The subPath mount is bound to the file of the version it started
	// with, not to ..data: it does not follow updates.
	for _, m := range c.Config.Mounts {
		if m.ContainerPath == "/etc/level" && (!strings.Contains(m.HostPath, "/..2") || strings.Contains(m.HostPath, "..data")) {
			t.Errorf("the subPath mount's source %s follows updates", m.HostPath)
		}
	}
	c, _ = rt.ContainerStatus(ctx, id)
	if !strings.Contains(strings.Join(c.Config.Env, " "), "LEVEL=debug") {
		t.Error("the environment of a running container changed")
	}
}

func keys(m map[string]fake.FileInfo) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMissingConfigWaitsThenStarts(t *testing.T) {
	needRoot(t)
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, configPod("p")); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, o, "default", "CreateContainerConfigError", func(pods []*baton.Pod) bool {
		cs := pods[0].Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
	if msg := pods[0].Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, `configmap "app" not found`) {
		t.Errorf("waiting message %q does not name the missing ConfigMap", msg)
	}
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"}, Data: map[string]string{"level": "debug"}}); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "waiting on the secret", func(pods []*baton.Pod) bool {
		w := pods[0].Status.ContainerStatuses[0].State.Waiting
		return w != nil && strings.Contains(w.Message, `secret "db" not found`)
	})
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"}, Data: map[string][]byte{"password": []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "started", readyPods(1))
}

func TestConfigChangeRollsOutWhenAsked(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"}, Data: map[string]string{"level": "debug"}}); err != nil {
		t.Fatal(err)
	}
	d := deploymentOf("web", 2, "app")
	d.Annotations = map[string]string{"baton.dev/restart-on-config-change": "true"}
	d.Spec.Template.Spec.Containers[0].Env = []baton.EnvVar{{Name: "LEVEL", ValueFrom: &baton.EnvVarSource{
		ConfigMapKeyRef: &baton.ConfigMapKeySelector{LocalObjectReference: baton.LocalObjectReference{Name: "app"}, Key: "level"}}}}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	before := waitPods(t, o, "default", "2 ready pods", readyPods(2))
	cm, _ := o.ConfigMaps("default").Get(ctx, "app")
	cm.Data["level"] = "info"
	if _, err := o.ConfigMaps("default").Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	waitDeployment(t, o, "default", "web", "a new revision", func(d *baton.Deployment) bool {
		return d.Annotations[baton.AnnotationRevision] == "2"
	})
	rollout(t, o, "web")
	after := waitPods(t, o, "default", "2 ready pods", readyPods(2))
	for _, a := range after {
		for _, b := range before {
			if a.Name == b.Name {
				t.Errorf("pod %s survived the config change", a.Name)
			}
		}
	}
}

// A canary secret value never shows in logs (at every level), events,
// errors or the printed forms of a Secret, through a whole scenario.
func TestSecretValuesNeverLeak(t *testing.T) {
	needRoot(t)
	raw := make([]byte, 8)
	_, _ = rand.Read(raw)
	canary := "canary-" + hex.EncodeToString(raw)
	core, logs := observer.New(zap.DebugLevel)
	rt := fake.New()
	o, err := baton.New(baton.WithRuntime(rt), baton.WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	start(t, o)
	ctx := ctxFor(t)
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	sec := &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": canary}}
	created, err := o.Secrets("default").Create(ctx, sec)
	record(err)
	// Bad writes: an invalid key next to the value, a missing key.
	_, err = o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "bad"},
		StringData: map[string]string{"bad key!": canary}})
	record(err)
	p := configPod("p")
	p.Spec.Containers[0].Env[1].ValueFrom.SecretKeyRef.Key = "nope"
	_, err = o.Pods("default").Create(ctx, p)
	record(err)
	_, err = o.Apply(ctx, strings.NewReader("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {pw: "+canary+"}\n"))
	record(err)
	record(o.SaveSnapshot(&bytes.Buffer{}))
	// A working Pod, then a failing one that waits on a missing key.
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"}, Data: map[string]string{"level": "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Pods("default").Create(ctx, configPod("good")); err != nil {
		t.Fatal(err)
	}
	waitPods(t, o, "default", "the pod ready", readyPods(1))
	if len(errs) < 4 {
		t.Fatalf("only %d of the bad writes failed: %v", len(errs), errs)
	}
	printed := []string{
		fmt.Sprint(created), fmt.Sprintf("%v %+v %#v %s %q", created, created, created, created, created),
		fmt.Sprintf("%v %+v %#v", *created, *created, *created),
	}
	for _, s := range printed {
		if strings.Contains(s, canary) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(canary))) {
			t.Errorf("a printed Secret shows its value: %s", s)
		}
	}
	for _, err := range errs {
		if strings.Contains(err.Error(), canary) {
			t.Errorf("an error shows the value: %v", err)
		}
	}
	events, _ := o.Events("").List(ctx)
	for _, e := range events {
		if strings.Contains(e.Message, canary) {
			t.Errorf("event %s shows the value: %s", e.Reason, e.Message)
		}
	}
	for _, entry := range logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, canary) {
			t.Errorf("a log line shows the value: %s", line)
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged: the check saw nothing")
	}
	// With keys, the snapshot holds Secrets sealed.
	keys, _ := encryption.ParseKeys([]byte("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))))
	o2, err := baton.New(baton.WithEncryptionKeys(keys))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o2.Secrets("default").Create(ctx, sec.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := o2.SaveSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(snap.Bytes(), []byte(canary)) || bytes.Contains(snap.Bytes(), []byte(base64.StdEncoding.EncodeToString([]byte(canary)))) {
		t.Error("the snapshot holds the value in plaintext")
	}
	o3, err := baton.New(baton.WithEncryptionKeys(keys), baton.WithSnapshot(&snap))
	if err != nil {
		t.Fatal(err)
	}
	got, err := o3.Secrets("default").Get(ctx, "db")
	if err != nil || string(got.Data["password"]) != canary {
		t.Errorf("restored secret: %v", err)
	}
}

// Bad ConfigMaps, Secrets and Pods that use them are refused with
// ErrInvalid naming every field, and change nothing: the store stays at
// its revision and no watcher sees an event.
func TestConfigBadInput(t *testing.T) {
	o, err := baton.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	immutable := true
	for _, cm := range []*baton.ConfigMap{
		{ObjectMeta: baton.ObjectMeta{Name: "app"}, Data: map[string]string{"level": "x"}},
		{ObjectMeta: baton.ObjectMeta{Name: "frozen"}, Data: map[string]string{"a": "1"}, Immutable: &immutable},
	} {
		if _, err := o.ConfigMaps("default").Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "x"}}); err != nil {
		t.Fatal(err)
	}
	dotItems := []baton.KeyToPath{{Key: "level", Path: "..data"}, {Key: "level", Path: "..foo/x"}}
	cases := []struct {
		name  string
		write func() error
		paths []string
	}{
		{"configmap keys with bad characters", func() error {
			_, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "c"},
				Data: map[string]string{"ok": "1", "../escape": "2", "white space": "3"}})
			return err
		}, []string{"data[../escape]", "data[white space]"}},
		{"configmap key in data and binaryData", func() error {
			_, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "c"},
				Data: map[string]string{"k": "1"}, BinaryData: map[string][]byte{"k": {1}}})
			return err
		}, []string{"binaryData[k]"}},
		{"secret stringData keys, reported where written", func() error {
			_, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "s"},
				StringData: map[string]string{"fine": "1", "bad key!": "2", "..dots": "3"}})
			return err
		}, []string{"stringData[bad key!]", "stringData[..dots]"}},
		{"secret update with a bad stringData key", func() error {
			sec, err := o.Secrets("default").Get(ctx, "db")
			if err != nil {
				return err
			}
			sec.StringData = map[string]string{"bad/key": "x"}
			_, err = o.Secrets("default").Update(ctx, sec)
			return err
		}, []string{"stringData[bad/key]"}},
		{"pod: missing key, a path mounted twice, a subPath and item paths out of bounds", func() error {
			p := configPod("p")
			p.Spec.Containers[0].Env[0].ValueFrom.ConfigMapKeyRef.Key = "missing"
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
				baton.VolumeMount{Name: "config", MountPath: "/etc/app"},
				baton.VolumeMount{Name: "config", MountPath: "/x", SubPath: "../../etc/shadow"})
			p.Spec.Volumes[0].ConfigMap.Items = dotItems
			p.Spec.Volumes[1].Secret.Items = []baton.KeyToPath{{Key: "password", Path: "/abs"}, {Key: "password", Path: "..data"}}
			_, err := o.Pods("default").Create(ctx, p)
			return err
		}, []string{
			"spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
			"spec.containers[0].volumeMounts[4].mountPath",
			"spec.containers[0].volumeMounts[5].subPath",
			"spec.volumes[0].configMap.items[0].path",
			"spec.volumes[0].configMap.items[1].path",
			"spec.volumes[1].secret.items[0].path",
			"spec.volumes[1].secret.items[1].path",
		}},
		{"deployment template with an item path starting with '..'", func() error {
			d := deploymentOf("web", 1, "app")
			d.Spec.Template.Spec.Volumes = []baton.Volume{cfgVolume("config", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{
				LocalObjectReference: cfgRef("app"), Items: dotItems[:1]}})}
			_, err := o.Deployments("default").Create(ctx, d)
			return err
		}, []string{"spec.template.spec.volumes[0].configMap.items[0].path"}},
		{"immutable configmap changed", func() error {
			frozen, err := o.ConfigMaps("default").Get(ctx, "frozen")
			if err != nil {
				return err
			}
			frozen.Data["a"] = "2"
			_, err = o.ConfigMaps("default").Update(ctx, frozen)
			return err
		}, []string{"data"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := marker(t, o, "config-before-"+strconv.Itoa(i))
			events, cancel := cfgWatchAll(t, o)
			defer cancel()
			expectInvalid(t, c.write(), c.paths...)
			after := marker(t, o, "config-after-"+strconv.Itoa(i))
			if after != before+1 {
				t.Errorf("the refused write moved the store from revision %d to %d", before, after-1)
			}
			// The first change any watcher sees is the second marker.
			if ev := <-events; ev != "config-after-"+strconv.Itoa(i) {
				t.Errorf("a watcher saw %q before the marker", ev)
			}
		})
	}
	frozen, _ := o.ConfigMaps("default").Get(ctx, "frozen")
	sec, _ := o.Secrets("default").Get(ctx, "db")
	if frozen.Data["a"] != "1" || len(sec.Data) != 1 || string(sec.Data["password"]) != "x" {
		t.Errorf("a refused update changed the stored objects: %v, %v", frozen.Data, sec)
	}
}

// cfgWatchAll reports the name of every Namespace, ConfigMap, Secret,
// Pod or Deployment that changes after the state that exists now.
func cfgWatchAll(t *testing.T, o *baton.Orchestrator) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan string, 16)
	done := make(chan struct{}, 5)
	cfgForward(t, ctx, o.Namespaces(), out, done)
	cfgForward(t, ctx, o.ConfigMaps(""), out, done)
	cfgForward(t, ctx, o.Secrets(""), out, done)
	cfgForward(t, ctx, &o.Pods("").Client, out, done)
	cfgForward(t, ctx, &o.Deployments("").Client, out, done)
	return out, func() {
		cancel()
		for range 5 {
			<-done
		}
	}
}

// cfgForward sends to out the names of the objects of c that change after
// now, and to done when its watch ends.
func cfgForward[T baton.Object](t *testing.T, ctx context.Context, c *baton.Client[T], out chan<- string, done chan<- struct{}) {
	t.Helper()
	events, err := c.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go forwardNames(ctx, events, len(now), out, done)
}
