package baton_test

import (
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
)

// A ConfigMap deleted under a running Pod does not stop its container from
// restarting: as with kubelet, the volume keeps its last content, and a
// FailedMount event says why it is no longer updated.
func TestDeletedConfigMapKeepsTheVolumeAndRestarts(t *testing.T) {
	o, rt := newRunning(t)
	ctx := ctxFor(t)
	if _, err := o.ConfigMaps("default").Create(ctx, &baton.ConfigMap{
		ObjectMeta: baton.ObjectMeta{Name: "app"}, Data: map[string]string{"level": "debug"}}); err != nil {
		t.Fatal(err)
	}
	pod := podOf("p", "", baton.Container{Name: "app", Image: "app",
		VolumeMounts: []baton.VolumeMount{{Name: "cfg", MountPath: "/etc/app"}}})
	pod.Spec.Volumes = []baton.Volume{{Name: "cfg", VolumeSource: baton.VolumeSource{
		ConfigMap: &baton.ConfigMapVolumeSource{LocalObjectReference: baton.LocalObjectReference{Name: "app"}}}}}
	if _, err := o.Pods("default").Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	running := waitPods(t, o, "default", "the Pod running", readyPods(1))[0]
	if err := o.ConfigMaps("default").Delete(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Kill(containerID(running.Status.ContainerStatuses[0]), 1, runtime.ReasonError); err != nil {
		t.Fatal(err)
	}
	restarted := waitPods(t, o, "default", "the container restarted and running", func(pods []*baton.Pod) bool {
		cs := pods[0].Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount == 1 && cs[0].State.Running != nil
	})[0]
	files, err := rt.Files(containerID(restarted.Status.ContainerStatuses[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["/etc/app/level"].Data); got != "debug" {
		t.Errorf("the restarted container sees level %q; want the last content, debug", got)
	}
	poll(t, "a FailedMount event", func() bool {
		events, _ := o.Events("default").List(ctx)
		for _, e := range events {
			if e.Reason == "FailedMount" && e.InvolvedObject.Name == "p" {
				return true
			}
		}
		return false
	})
}
