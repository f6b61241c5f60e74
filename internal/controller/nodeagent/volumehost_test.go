package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/testutil"
	"github.com/batonhq/baton/runtime/fake"
)

// lastingRuntime is a fake whose containers, like containerd's, would
// outlive Baton: it offers a lasting volume directory.
type lastingRuntime struct {
	*fake.Runtime
	dir string
}

func (r lastingRuntime) VolumeDir() string { return r.dir }

// With no state directory of its own, an agent whose runtime offers a
// lasting volume directory keeps the Pods' volumes there, and they stay
// when the agent stops, for the containers left running.
func TestVolumesLiveInTheRuntimesLastingDirectory(t *testing.T) {
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rt := lastingRuntime{Runtime: fake.New(), dir: dir}
	m := NewManager(Config{Store: s, Log: zaptest.NewLogger(t)}, []Node{{Name: "n1", Runtime: rt}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	pod := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: api.PodSpec{NodeName: "n1",
			Containers: []api.Container{{Name: "app", Image: "web:1", VolumeMounts: []api.VolumeMount{{Name: "cfg", MountPath: "/etc/app"}}}},
			Volumes: []api.Volume{{Name: "cfg", VolumeSource: api.VolumeSource{
				ConfigMap: &api.ConfigMapVolumeSource{LocalObjectReference: api.LocalObjectReference{Name: "app"}}}}}}}
	api.SetDefaults(pod)
	if err := s.Update(func(tx store.Tx) error {
		if err := tx.Create(&api.ConfigMap{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "app"}, Data: map[string]string{"level": "debug"}}); err != nil {
			return err
		}
		return tx.Create(pod)
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "pods", pod.UID, "volumes", "cfg", "level")
	testutil.Eventually(t, "the volume written in the runtime's directory", 10*time.Second, time.Millisecond, func() (bool, string) {
		b, err := os.ReadFile(file)
		return string(b) == "debug", fmt.Sprintf("%q, %v", b, err)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "debug" {
		t.Errorf("after the agent stopped, the volume file reads %q, %v; want it kept", b, err)
	}
}
