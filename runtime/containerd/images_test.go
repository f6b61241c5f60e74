package containerd_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// importImage imports a busybox image named ref with labels into rt.
func importImage(t testing.TB, rt *testRuntime, ref string, labels map[string]string) runtime.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := (testimage.Image{Ref: ref, Labels: labels}).WriteOCI(&buf); err != nil {
		t.Fatal(err)
	}
	imgs, err := rt.ImportImage(testCtx(t), &buf)
	if err != nil || len(imgs) != 1 || imgs[0].Ref != ref {
		t.Fatalf("ImportImage(%s) = %v, %v", ref, imgs, err)
	}
	return imgs[0]
}

// OCI archives and docker-archives import, compressed or not, and run.
func TestImportArchives(t *testing.T) {
	rt := newRuntime(t)
	img := testimage.Image{Ref: "localhost/baton-test/docker:1", Cmd: []string{"sh", "-c", "echo from the image cmd"}}
	var docker, gz bytes.Buffer
	if err := img.WriteDockerArchive(&docker); err != nil {
		t.Fatal(err)
	}
	imgs, err := rt.ImportImage(testCtx(t), bytes.NewReader(docker.Bytes()))
	if err != nil || len(imgs) != 1 || imgs[0].Ref != img.Ref || imgs[0].ID == "" {
		t.Fatalf("ImportImage(docker-archive) = %+v, %v; want %s with an ID", imgs, err, img.Ref)
	}
	st, err := rt.ImageStatus(testCtx(t), img.Ref)
	if err != nil || st.ID != imgs[0].ID {
		t.Errorf("ImageStatus after import = %+v, %v; want ID %s", st, err, imgs[0].ID)
	}

	oci := testimage.Image{Ref: "localhost/baton-test/oci-gz:1"}
	zw := gzip.NewWriter(&gz)
	if err := oci.WriteOCI(zw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if imgs, err := rt.ImportImage(testCtx(t), &gz); err != nil || len(imgs) != 1 || imgs[0].Ref != oci.Ref {
		t.Fatalf("ImportImage(gzipped OCI) = %+v, %v", imgs, err)
	}

	// The image's own cmd runs when the config gives none.
	sb := sandbox(t, rt, "imported")
	c := start(t, rt, sb, runtime.ContainerConfig{Name: "cmd", Image: img.Ref})
	evs := events(t, rt)
	if st := status(t, rt, c.ID); st.State != runtime.ContainerExited {
		waitEvent(t, evs, c.ID, runtime.ContainerExitedEvent)
	}
	if got := logs(t, rt, c.ID); !slices.Equal(got, []string{"from the image cmd"}) {
		t.Errorf("logs of the image's cmd = %q", got)
	}

	_, err = rt.ImportImage(testCtx(t), bytes.NewReader([]byte("not a tar")))
	if err == nil {
		t.Errorf("ImportImage of garbage succeeded")
	}
}

// WithImageDir imports a directory of archives when the Runtime starts.
func TestImageDir(t *testing.T) {
	rt := newRuntime(t)
	dir := t.TempDir()
	for name, ref := range map[string]string{"a.tar": "localhost/baton-test/dir-a:1", "b.tar.gz": "localhost/baton-test/dir-b:1"} {
		var buf bytes.Buffer
		var w io.Writer = &buf
		zw := gzip.NewWriter(&buf)
		if filepath.Ext(name) == ".gz" {
			w = zw
		}
		if err := (testimage.Image{Ref: ref}).WriteOCI(w); err != nil {
			t.Fatal(err)
		}
		if w == zw {
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	again := openRuntime(t, rt.env, rt.ns, containerd.WithImageDir(dir))
	for _, ref := range []string{"localhost/baton-test/dir-a:1", "localhost/baton-test/dir-b:1"} {
		if _, err := again.ImageStatus(testCtx(t), ref); err != nil {
			t.Errorf("ImageStatus(%s) after WithImageDir: %v", ref, err)
		}
	}
}

// Pulls go to a registry (here one on loopback) and unpack; a missing
// image, a bad reference and an unreachable registry all fail fast with
// ErrImageNotFound, and other Pods carry on.
func TestPull(t *testing.T) {
	rt := newRuntime(t)
	reg := newRegistry(t, "baton-test/pulled", "1")
	ref := reg.ref("baton-test/pulled", "1")
	img, err := rt.PullImage(testCtx(t), ref)
	if err != nil || img.ID == "" {
		t.Fatalf("PullImage(%s) = %+v, %v", ref, img, err)
	}
	sb := sandbox(t, rt, "pulled")
	cfg := sh("app", runUntilTERM)
	cfg.Image = ref
	running := start(t, rt, sb, cfg)

	for _, bad := range []string{
		reg.ref("baton-test/pulled", "no-such-tag"),
		reg.ref("baton-test/nothing", "1"),
		"127.0.0.1:1/baton-test/unreachable:1",
		"Not A Valid Reference!",
	} {
		began := time.Now()
		_, err := rt.PullImage(testCtx(t), bad)
		if !errors.Is(err, runtime.ErrImageNotFound) {
			t.Errorf("PullImage(%q) = %v; want ErrImageNotFound", bad, err)
		}
		if took := time.Since(began); took > 10*time.Second {
			t.Errorf("PullImage(%q) took %v; want a quick failure", bad, took)
		}
		cfg := sh("bad", runUntilTERM)
		cfg.Image = bad
		_, err = runtime.StartContainer(testCtx(t), rt, sb.ID, cfg, runtime.PullIfNotPresent)
		want := runtime.ReasonErrImagePull
		if bad == "Not A Valid Reference!" {
			want = runtime.ReasonInvalidImageName // refused before the runtime is asked
		}
		var se *runtime.StartError
		if !errors.As(err, &se) || se.Reason != want {
			t.Errorf("runtime.StartContainer(%q) = %v; want a StartError with reason %s", bad, err, want)
		}
	}
	if st := status(t, rt, running.ID); st.State != runtime.ContainerRunning {
		t.Errorf("the good container is %s after the bad pulls; want Running", st.State)
	}
}
