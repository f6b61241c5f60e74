package e2e_test

// Issue 7: ConfigMaps and Secrets seen by a real container.

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton"
)

// A busybox container sees a ConfigMap and a Secret as environment
// (valueFrom and envFrom with a prefix) and as files (a configMap volume,
// a secret volume, and one ConfigMap key through subPath) — in its log,
// printed at start, and through exec. An update of the ConfigMap reaches
// the mounted file; the subPath file and the environment keep what the
// container started with, as in Kubernetes.
func TestConfigMapAndSecretAsEnvAndFiles(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx := ctxFor(t)
	if _, err := c.ConfigMaps("default").Create(ctx, &baton.ConfigMap{
		ObjectMeta: baton.ObjectMeta{Name: "app-config"},
		Data:       map[string]string{"greeting": "hello", "app.conf": "level=v1"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Secrets("default").Create(ctx, &baton.Secret{
		ObjectMeta: baton.ObjectMeta{Name: "app-secret"},
		Data:       map[string][]byte{"password": []byte("s3cr3t-e2e")},
	}); err != nil {
		t.Fatal(err)
	}
	ctr := shContainer("app", `echo "GREETING=$GREETING SECRET_password=$SECRET_password"; cat /etc/config/app.conf; echo; `+
		`trap 'exit 0' TERM; while :; do sleep 1 & wait; done`)
	ctr.Env = []baton.EnvVar{{Name: "GREETING", ValueFrom: &baton.EnvVarSource{
		ConfigMapKeyRef: &baton.ConfigMapKeySelector{LocalObjectReference: baton.LocalObjectReference{Name: "app-config"}, Key: "greeting"},
	}}}
	ctr.EnvFrom = []baton.EnvFromSource{{Prefix: "SECRET_", SecretRef: &baton.SecretEnvSource{LocalObjectReference: baton.LocalObjectReference{Name: "app-secret"}}}}
	ctr.VolumeMounts = []baton.VolumeMount{
		{Name: "config", MountPath: "/etc/config"},
		{Name: "secret", MountPath: "/etc/secret"},
		{Name: "config", MountPath: "/etc/app.conf", SubPath: "app.conf"},
	}
	pod := podOf("configured", ctr)
	pod.Spec.Volumes = []baton.Volume{
		{Name: "config", VolumeSource: baton.VolumeSource{ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: baton.LocalObjectReference{Name: "app-config"}}}},
		{Name: "secret", VolumeSource: baton.VolumeSource{Secret: &baton.SecretVolumeSource{SecretName: "app-secret"}}},
	}
	if _, err := c.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Orchestrator, "configured", "ready", (*baton.Pod).IsReady)

	// What the container printed when it started.
	eventually(t, "the container's log shows its config", func() (bool, string) {
		var log strings.Builder
		if err := c.Pods("default").Logs(ctxFor(t), "configured", baton.LogOptions{}, &log); err != nil {
			return false, err.Error()
		}
		return log.String() == "GREETING=hello SECRET_password=s3cr3t-e2e\nlevel=v1\n", fmt.Sprintf("%q", log.String())
	})

	// What it sees now.
	env := mustExec(t, c.Orchestrator, "configured", "env")
	for _, want := range []string{"GREETING=hello", "SECRET_password=s3cr3t-e2e"} {
		if !strings.Contains("\n"+env, "\n"+want+"\n") {
			t.Errorf("env lacks %s:\n%s", want, env)
		}
	}
	for path, want := range map[string]string{
		"/etc/config/app.conf": "level=v1",
		"/etc/config/greeting": "hello",
		"/etc/secret/password": "s3cr3t-e2e",
		"/etc/app.conf":        "level=v1",
	} {
		if got := mustExec(t, c.Orchestrator, "configured", "cat", path); got != want {
			t.Errorf("cat %s = %q; want %q", path, got, want)
		}
	}
	// The Secret's files are on tmpfs, never on the node's disk.
	mounts := mustExec(t, c.Orchestrator, "configured", "cat", "/proc/mounts")
	onTmpfs := false
	for _, line := range strings.Split(mounts, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == "/etc/secret" {
			onTmpfs = f[2] == "tmpfs"
		}
	}
	if !onTmpfs {
		t.Errorf("/etc/secret is not a tmpfs mount:\n%s", mounts)
	}
	// Projected volumes are read-only to the container.
	if code, out := execOut(t, c.Orchestrator, "configured", "sh", "-c", "echo x > /etc/config/new"); code == 0 {
		t.Errorf("writing into the configMap volume succeeded (%s); want it read-only", out)
	}

	// The update reaches the mounted file, not the subPath one nor the
	// environment.
	for {
		cm, err := c.ConfigMaps("default").Get(ctx, "app-config")
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["app.conf"] = "level=v2"
		if _, err = c.ConfigMaps("default").Update(ctx, cm); err == nil {
			break
		} else if !errors.Is(err, baton.ErrConflict) {
			t.Fatal(err)
		}
	}
	eventually(t, "the mounted file follows the update", func() (bool, string) {
		code, got := execOut(t, c.Orchestrator, "configured", "cat", "/etc/config/app.conf")
		return code == 0 && got == "level=v2", got
	})
	if got := mustExec(t, c.Orchestrator, "configured", "cat", "/etc/app.conf"); got != "level=v1" {
		t.Errorf("the subPath file after the update = %q; want level=v1, as the container started", got)
	}
	if env := mustExec(t, c.Orchestrator, "configured", "sh", "-c", `echo "$GREETING"`); env != "hello\n" {
		t.Errorf("GREETING after the update = %q; want hello", env)
	}
	p, err := c.Pods("default").Get(ctx, "configured")
	if err != nil || restarts(p) != 0 {
		t.Errorf("the container restarted (%v, %v); an update of a mounted ConfigMap should not restart it", p, err)
	}
}
