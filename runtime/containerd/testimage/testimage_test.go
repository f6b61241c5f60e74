package testimage

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fakeBusybox writes a stand-in binary, so these tests run anywhere.
func fakeBusybox(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(path, []byte("#!/bin/false\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// entries returns a tar's files by name.
func entries(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeSymlink {
			b = []byte("-> " + h.Linkname)
		}
		out[h.Name] = b
	}
}

func TestOCIArchive(t *testing.T) {
	img := Image{Ref: "localhost/test/busybox:1", Busybox: fakeBusybox(t), Applets: []string{"sh", "echo", "sh"}, Labels: map[string]string{"a": "b"}}
	if err := img.Available(); err != nil {
		t.Fatal(err)
	}
	first, err := img.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	second, err := img.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("two builds differ; want the same bytes")
	}
	files := entries(t, first)
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["io.containerd.image.name"] != img.Ref {
		t.Fatalf("index %+v; want one manifest named %s", index, img.Ref)
	}
	manifest := files["blobs/sha256/"+index.Manifests[0].Digest[len("sha256:"):]]
	var m struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(manifest, &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	layer := entries(t, files["blobs/sha256/"+m.Layers[0].Digest[len("sha256:"):]])
	if string(layer["bin/busybox"]) != "#!/bin/false\n" || string(layer["bin/sh"]) != "-> busybox" || string(layer["bin/echo"]) != "-> busybox" {
		t.Errorf("layer holds %v; want busybox and its links", slices.Sorted(maps.Keys(layer)))
	}
	var cfg struct {
		Config struct {
			Cmd    []string
			Labels map[string]string
		}
	}
	if err := json.Unmarshal(files["blobs/sha256/"+m.Config.Digest[len("sha256:"):]], &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"sh"}) || cfg.Config.Labels["a"] != "b" {
		t.Errorf("config %+v; want Cmd [sh] and the labels", cfg)
	}
	blobs, digest, err := img.Content()
	if err != nil || digest != index.Manifests[0].Digest || len(blobs) != 3 {
		t.Errorf("Content = %d blobs, %s, %v; want 3 and the manifest %s", len(blobs), digest, err, index.Manifests[0].Digest)
	}
}

func TestDockerArchive(t *testing.T) {
	img := Image{Ref: "localhost/test/busybox:2", Busybox: fakeBusybox(t)}
	var buf bytes.Buffer
	if err := img.WriteDockerArchive(&buf); err != nil {
		t.Fatal(err)
	}
	files := entries(t, buf.Bytes())
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{img.Ref}) || files[manifest[0].Config] == nil || files[manifest[0].Layers[0]] == nil {
		t.Errorf("manifest.json %+v does not name the tag, config and layer in the archive", manifest)
	}
}

func TestErrors(t *testing.T) {
	if err := (Image{Busybox: fakeBusybox(t)}).WriteOCI(io.Discard); err == nil {
		t.Errorf("an image without a Ref was built")
	}
	missing := Image{Ref: "x:1", Busybox: filepath.Join(t.TempDir(), "none")}
	if err := missing.Available(); err == nil {
		t.Errorf("Available with no busybox = nil")
	}
	if err := missing.WriteOCI(io.Discard); err == nil {
		t.Errorf("WriteOCI with no busybox succeeded")
	}
}
