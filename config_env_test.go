package baton_test

import (
	"context"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

func cfgOptional() *bool { return ptrTo(true) }

// cfgEnv returns the value of the variable name in env, and whether env
// sets it at all.
func cfgEnv(env []string, name string) (value string, set bool) {
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// With optional true, a missing ConfigMap, Secret or key leaves the
// variable unset, the envFrom empty and the volume (or item) empty, and
// the container starts.
func TestOptionalConfigStartsWithout(t *testing.T) {
	needRoot(t) // the optional Secret volume is a tmpfs all the same
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "present"},
		Data: map[string]string{"level": "debug"}}); err != nil {
		t.Fatal(err)
	}
	p := podOf("p", "", baton.Container{Name: "app", Image: "app",
		Env: []baton.EnvVar{
			{Name: "CM_MISSING", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
				LocalObjectReference: cfgRef("none"), Key: "k", Optional: cfgOptional()}}},
			{Name: "CM_KEY_MISSING", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
				LocalObjectReference: cfgRef("present"), Key: "absent", Optional: cfgOptional()}}},
			{Name: "SECRET_MISSING", ValueFrom: &baton.EnvVarSource{SecretKeyRef: &baton.SecretKeySelector{
				LocalObjectReference: cfgRef("none"), Key: "k", Optional: cfgOptional()}}},
			{Name: "LEVEL", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
				LocalObjectReference: cfgRef("present"), Key: "level"}}},
		},
		EnvFrom: []baton.EnvFromSource{
			{Prefix: "FROMCM_", ConfigMapRef: &baton.ConfigMapEnvSource{LocalObjectReference: cfgRef("none"), Optional: cfgOptional()}},
			{Prefix: "FROMSEC_", SecretRef: &baton.SecretEnvSource{LocalObjectReference: cfgRef("none"), Optional: cfgOptional()}},
		},
		VolumeMounts: []baton.VolumeMount{
			{Name: "cm", MountPath: "/etc/cm"},
			{Name: "secret", MountPath: "/run/secret"},
			{Name: "items", MountPath: "/etc/items"},
		}})
	p.Spec.Volumes = []baton.Volume{
		cfgVolume("cm", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: cfgRef("none"), Optional: cfgOptional()}}),
		cfgVolume("secret", baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "none", Optional: cfgOptional()}}),
		cfgVolume("items", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: cfgRef("present"), Optional: cfgOptional(),
			Items: []baton.KeyToPath{{Key: "absent", Path: "absent"}, {Key: "level", Path: "level"}}}}),
	}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, c, files := cfgStarted(t, o, rt, "p", "app")
	for _, name := range []string{"CM_MISSING", "CM_KEY_MISSING", "SECRET_MISSING"} {
		if _, set := cfgEnv(c.Config.Env, name); set {
			t.Errorf("%s is set: %v", name, c.Config.Env)
		}
	}
	for _, e := range c.Config.Env {
		if strings.HasPrefix(e, "FROMCM_") || strings.HasPrefix(e, "FROMSEC_") {
			t.Errorf("an optional envFrom that is missing set %s", e)
		}
	}
	if v, _ := cfgEnv(c.Config.Env, "LEVEL"); v != "debug" {
		t.Errorf("LEVEL=%q; env %v", v, c.Config.Env)
	}
	if len(files) != 1 || string(files["/etc/items/level"].Data) != "debug" {
		t.Errorf("the container sees %v; want only /etc/items/level", keys(files))
	}
}

// Without optional, a missing ConfigMap, Secret or key holds the container
// with CreateContainerConfigError naming what is missing, and the
// container starts once it exists: for env, envFrom and volume items.
func TestRequiredConfigWaitsThenStarts(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	app := func(env []baton.EnvVar, from []baton.EnvFromSource, mounts []baton.VolumeMount) baton.Container {
		return baton.Container{Name: "app", Image: "app", Env: env, EnvFrom: from, VolumeMounts: mounts}
	}
	// envFrom a Secret that does not exist yet.
	if _, err := o.Pods("default").Create(ctx, podOf("from", "", app(nil,
		[]baton.EnvFromSource{{SecretRef: &baton.SecretEnvSource{LocalObjectReference: cfgRef("creds")}}}, nil))); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "from", "app", `secret "creds" not found`)
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "creds"},
		StringData: map[string]string{"TOKEN": "t0k3n"}}); err != nil {
		t.Fatal(err)
	}
	if _, c, _ := cfgStarted(t, o, rt, "from", "app"); !strings.Contains(strings.Join(c.Config.Env, " "), "TOKEN=t0k3n") {
		t.Errorf("env %v lacks TOKEN", c.Config.Env)
	}

	// A key of a Secret made, later, without it.
	if _, err := o.Pods("default").Create(ctx, podOf("key", "", app([]baton.EnvVar{{Name: "PW", ValueFrom: &baton.EnvVarSource{
		SecretKeyRef: &baton.SecretKeySelector{LocalObjectReference: cfgRef("db"), Key: "password"}}}}, nil, nil))); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "key", "app", `secret "db" not found`)
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"user": "admin"}}); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "key", "app", "couldn't find key password in Secret default/db")
	sec, err := o.Secrets("default").Get(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("pw")
	if _, err := o.Secrets("default").Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if _, c, _ := cfgStarted(t, o, rt, "key", "app"); !strings.Contains(strings.Join(c.Config.Env, " "), "PW=pw") {
		t.Errorf("env %v lacks PW", c.Config.Env)
	}

	// A volume item whose key the ConfigMap lacks, then gains.
	p := podOf("item", "", app(nil, nil, []baton.VolumeMount{{Name: "cm", MountPath: "/etc/app"}}))
	p.Spec.Volumes = []baton.Volume{cfgVolume("cm", baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{
		LocalObjectReference: cfgRef("app"), Items: []baton.KeyToPath{{Key: "level", Path: "level"}}}})}
	if _, err := o.Pods("default").Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "item", "app", `configmap "app" not found`)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "app"},
		Data: map[string]string{"other": "x"}}); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "item", "app", `couldn't find key level in configmap "app"`)
	cm, err := o.ConfigMaps("default").Get(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["level"] = "info"
	if _, err := o.ConfigMaps("default").Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if _, _, files := cfgStarted(t, o, rt, "item", "app"); string(files["/etc/app/level"].Data) != "info" {
		t.Errorf("the container sees %v", keys(files))
	}
}

// A configMapKeyRef reads data only, as in Kubernetes; a key that is in
// binaryData holds the container with a reason that says so.
func TestConfigMapKeyRefToBinaryDataSaysWhy(t *testing.T) {
	o, _ := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "app", Image: "app",
		Env: []baton.EnvVar{{Name: "BLOB", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
			LocalObjectReference: cfgRef("bin"), Key: "blob"}}}}})); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "p", "app", `configmap "bin" not found`)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "bin"},
		BinaryData: map[string][]byte{"blob": {0, 1, 2}}}); err != nil {
		t.Fatal(err)
	}
	cfgWaitConfigError(t, o, "p", "app", "couldn't find key blob in ConfigMap default/bin: it is in binaryData, and a configMapKeyRef reads only data")

	// Once the ConfigMap exists, a new Pod with the same reference is
	// refused at create, naming the field and why.
	_, err := o.Pods("default").Create(ctx, podOf("q", "", baton.Container{Name: "app", Image: "app",
		Env: []baton.EnvVar{{Name: "BLOB", ValueFrom: &baton.EnvVarSource{ConfigMapKeyRef: &baton.ConfigMapKeySelector{
			LocalObjectReference: cfgRef("bin"), Key: "blob"}}}}}))
	expectInvalid(t, err, "spec.containers[0].env[0].valueFrom.configMapKeyRef.key")
	if !strings.Contains(err.Error(), "binaryData") {
		t.Errorf("the error does not say the key is in binaryData: %v", err)
	}
}

// Keys of an envFrom source that are not valid variable names are
// skipped, and a Warning event InvalidEnvironmentVariableNames names them
// (never their values), as kubelet does.
func TestEnvFromInvalidKeysRecordAnEvent(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{ObjectMeta: baton.ObjectMeta{Name: "env"},
		Data: map[string]string{"GOOD": "v", "1bad": "cm-value-1", "2alsobad": "cm-value-2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "sec"},
		StringData: map[string]string{"OK": "fine", "9lives": "canary-secret-value"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Pods("default").Create(ctx, podOf("p", "", baton.Container{Name: "app", Image: "app",
		EnvFrom: []baton.EnvFromSource{
			{ConfigMapRef: &baton.ConfigMapEnvSource{LocalObjectReference: cfgRef("env")}},
			{SecretRef: &baton.SecretEnvSource{LocalObjectReference: cfgRef("sec")}},
		}})); err != nil {
		t.Fatal(err)
	}
	pod, c, _ := cfgStarted(t, o, rt, "p", "app")
	env := strings.Join(c.Config.Env, " ")
	if !strings.Contains(env, "GOOD=v") || !strings.Contains(env, "OK=fine") || strings.Contains(env, "1bad") || strings.Contains(env, "9lives") {
		t.Errorf("env %v", c.Config.Env)
	}
	want := map[string]string{
		"configMap default/env": "Keys [1bad, 2alsobad] from the EnvFrom configMap default/env were skipped since they are considered invalid environment variable names.",
		"secret default/sec":    "Keys [9lives] from the EnvFrom secret default/sec were skipped since they are considered invalid environment variable names.",
	}
	var seen []*baton.Event
	poll(t, "the InvalidEnvironmentVariableNames events", func() bool {
		events, err := o.Events("default").List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen = seen[:0]
		for _, e := range events {
			if e.Reason == "InvalidEnvironmentVariableNames" && e.InvolvedObject.UID == pod.UID {
				seen = append(seen, e)
			}
		}
		return len(seen) == len(want)
	})
	for _, e := range seen {
		if e.Type != "Warning" {
			t.Errorf("event %q is %s, want Warning", e.Message, e.Type)
		}
		found := false
		for _, msg := range want {
			found = found || e.Message == msg
		}
		if !found {
			t.Errorf("unexpected message %q", e.Message)
		}
		if strings.Contains(e.Message, "cm-value") || strings.Contains(e.Message, "canary-secret-value") {
			t.Errorf("the event shows a value: %q", e.Message)
		}
	}
}

// With baton.dev/restart-on-config-change, a change of a Secret the
// Pods use rolls the Deployment out, and the new Pods see the new value;
// the config hash on the template is not a digest of the value.
func TestSecretChangeRollsOutWhenAsked(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.Secrets("default").Create(ctx, &baton.Secret{ObjectMeta: baton.ObjectMeta{Name: "db"},
		StringData: map[string]string{"password": "first"}}); err != nil {
		t.Fatal(err)
	}
	d := deploymentOf("web", 2, "app")
	d.Annotations = map[string]string{"baton.dev/restart-on-config-change": "true"}
	d.Spec.Template.Spec.Containers[0].Env = []baton.EnvVar{{Name: "PASSWORD", ValueFrom: &baton.EnvVarSource{
		SecretKeyRef: &baton.SecretKeySelector{LocalObjectReference: cfgRef("db"), Key: "password"}}}}
	if _, err := o.Deployments("default").Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rollout(t, o, "web")
	before := waitPods(t, o, "default", "2 ready pods", readyPods(2))
	first, err := o.Deployments("default").Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	hash := first.Spec.Template.Annotations["baton.dev/config-hash"]
	if hash == "" {
		t.Fatal("no config hash on the template")
	}
	sec, err := o.Secrets("default").Get(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	// A write that leaves the data as it was rolls nothing out: the
	// revision count at the end shows it.
	sec.Labels = map[string]string{"touched": "yes"}
	if sec, err = o.Secrets("default").Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte("second")
	if _, err := o.Secrets("default").Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	next := waitDeployment(t, o, "default", "web", "a new revision", func(d *baton.Deployment) bool {
		return d.Annotations[baton.AnnotationRevision] == "2"
	})
	if h := next.Spec.Template.Annotations["baton.dev/config-hash"]; h == hash || h == "" {
		t.Errorf("the config hash went from %q to %q", hash, h)
	}
	rollout(t, o, "web")
	if d, _ := o.Deployments("default").Get(ctx, "web"); d.Annotations[baton.AnnotationRevision] != "2" {
		t.Errorf("revision %s after one change of the Secret's data and one rewrite; want 2", d.Annotations[baton.AnnotationRevision])
	}
	after := waitPods(t, o, "default", "2 ready pods", readyPods(2))
	for _, a := range after {
		for _, b := range before {
			if a.Name == b.Name {
				t.Errorf("pod %s survived the Secret change", a.Name)
			}
		}
		c, err := rt.ContainerStatus(ctx, containerID(a.Status.ContainerStatuses[0]))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := cfgEnv(c.Config.Env, "PASSWORD"); v != "second" {
			t.Errorf("pod %s has PASSWORD=%q", a.Name, v)
		}
	}
}
