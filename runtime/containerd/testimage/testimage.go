// Package testimage builds a small container image from a static busybox
// binary on the local machine, as an OCI image layout archive or a
// docker-archive tarball, so that tests, examples and benchmarks can run
// real containers without a registry.
//
// The image has one uncompressed layer holding /bin/busybox, a symlink per
// applet in /bin, and the directories a shell script expects (/tmp, /etc,
// /root, /var/www). Everything is timestamped at the Unix epoch and written
// in a fixed order, so the same binary always gives the same digests.
package testimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"slices"
	"time"
)

// DefaultBusybox is where Debian's busybox-static package installs its
// binary.
const DefaultBusybox = "/usr/bin/busybox"

// DefaultApplets are the applets linked into /bin unless Image.Applets says
// otherwise: enough for shell scripts, an HTTP server and exec probes.
var DefaultApplets = []string{
	"cat", "echo", "env", "false", "head", "hostname", "httpd", "id", "ip",
	"kill", "ls", "mkdir", "printf", "ps", "rm", "sh", "sleep", "tail",
	"test", "touch", "true", "wc", "wget", "yes",
}

// Media types of what the archives hold.
const (
	mediaTypeOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mediaTypeOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeOCILayer    = "application/vnd.oci.image.layer.v1.tar"
)

// Annotations naming an image in an OCI layout's index: containerd's, which
// it imports the image under, and the OCI one.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationOCIRefName     = "org.opencontainers.image.ref.name"
)

// Image describes the image to build. The zero value builds nothing; set
// at least Ref.
type Image struct {
	// Ref is the name the image is imported under, such as
	// "localhost/busybox:test".
	Ref string
	// Busybox is the path of a statically linked busybox; empty means
	// DefaultBusybox.
	Busybox string
	// Applets are linked to busybox in /bin; nil means DefaultApplets.
	// "sh" should be among them for Cmd to work.
	Applets []string
	// Cmd is the image's default command; nil means ["sh"].
	Cmd []string
	// Env is the image's default environment; nil means a PATH only.
	Env []string
	// Labels are the image config's labels.
	Labels map[string]string
}

// Available returns nil if the busybox binary of img exists, and otherwise
// an error saying what to install.
func (img Image) Available() error {
	path := img.busybox()
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("testimage: %w (install Debian's busybox-static package, or set Image.Busybox)", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("testimage: %s is not a regular file; want a static busybox binary", path)
	}
	return nil
}

func (img Image) busybox() string {
	if img.Busybox == "" {
		return DefaultBusybox
	}
	return img.Busybox
}

// blob is content addressed by its digest.
type blob struct {
	data      []byte
	digest    string // "sha256:…"
	mediaType string
}

func newBlob(mediaType string, data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{data: data, digest: "sha256:" + hex.EncodeToString(sum[:]), mediaType: mediaType}
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

func (b blob) descriptor() descriptor {
	return descriptor{MediaType: b.mediaType, Digest: b.digest, Size: int64(len(b.data))}
}

// built is the content of an image: its layer, config and manifest.
type built struct {
	layer, config, manifest blob
}

func (img Image) build() (built, error) {
	if img.Ref == "" {
		return built{}, fmt.Errorf("testimage: Image.Ref is empty; name the image")
	}
	layer, err := img.layer()
	if err != nil {
		return built{}, err
	}
	cmd := img.Cmd
	if cmd == nil {
		cmd = []string{"sh"}
	}
	env := img.Env
	if env == nil {
		env = []string{"PATH=/bin"}
	}
	diffID := layer.digest // the layer is not compressed
	cfg := map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC(),
		"config": map[string]any{
			"Cmd":        cmd,
			"Env":        env,
			"WorkingDir": "/",
			"Labels":     img.Labels,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"history": []map[string]any{{
			"created":    time.Unix(0, 0).UTC(),
			"created_by": "baton testimage: busybox and its applet links",
		}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return built{}, fmt.Errorf("testimage: encode config: %w", err)
	}
	config := newBlob(mediaTypeOCIConfig, cfgJSON)
	manifestJSON, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeOCIManifest,
		"config":        config.descriptor(),
		"layers":        []descriptor{layer.descriptor()},
	})
	if err != nil {
		return built{}, fmt.Errorf("testimage: encode manifest: %w", err)
	}
	return built{layer: layer, config: config, manifest: newBlob(mediaTypeOCIManifest, manifestJSON)}, nil
}

// layer returns the image's only layer, an uncompressed tar.
func (img Image) layer() (blob, error) {
	bin, err := os.ReadFile(img.busybox())
	if err != nil {
		return blob{}, fmt.Errorf("testimage: read busybox: %w (install Debian's busybox-static package, or set Image.Busybox)", err)
	}
	applets := img.Applets
	if applets == nil {
		applets = DefaultApplets
	}
	applets = slices.Clone(applets)
	slices.Sort(applets)
	applets = slices.Compact(applets)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: epoch})
	}
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"proc", 0o555}, {"root", 0o700}, {"sys", 0o555}, {"tmp", 0o1777}, {"var", 0o755}, {"var/www", 0o755}} {
		if err := dir(d.name, d.mode); err != nil {
			return blob{}, fmt.Errorf("testimage: write layer: %w", err)
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bin},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return blob{}, fmt.Errorf("testimage: write layer: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return blob{}, fmt.Errorf("testimage: write layer: %w", err)
		}
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch}); err != nil {
			return blob{}, fmt.Errorf("testimage: write layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return blob{}, fmt.Errorf("testimage: write layer: %w", err)
	}
	return newBlob(mediaTypeOCILayer, buf.Bytes()), nil
}

// WriteOCI writes the image to w as a tar of an OCI image layout whose index
// names the image Ref (containerd imports it under that name).
func (img Image) WriteOCI(w io.Writer) error {
	b, err := img.build()
	if err != nil {
		return err
	}
	mdesc := b.manifest.descriptor()
	mdesc.Annotations = map[string]string{
		annotationContainerdName: img.Ref,
		annotationOCIRefName:     img.Ref,
	}
	mdesc.Platform = &platform{Architecture: goruntime.GOARCH, OS: "linux"}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     mediaTypeOCIIndex,
		"manifests":     []descriptor{mdesc},
	})
	if err != nil {
		return fmt.Errorf("testimage: encode index: %w", err)
	}
	entries := []tarEntry{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
	}
	for _, bl := range []blob{b.layer, b.config, b.manifest} {
		entries = append(entries, tarEntry{"blobs/sha256/" + bl.digest[len("sha256:"):], bl.data})
	}
	return writeTar(w, []string{"blobs/", "blobs/sha256/"}, entries)
}

// WriteDockerArchive writes the image to w in the format of `docker save`:
// a manifest.json naming the config, the layer and the tag Ref.
func (img Image) WriteDockerArchive(w io.Writer) error {
	b, err := img.build()
	if err != nil {
		return err
	}
	layerName := b.layer.digest[len("sha256:"):] + "/layer.tar"
	configName := b.config.digest[len("sha256:"):] + ".json"
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{img.Ref},
		"Layers":   []string{layerName},
	}})
	if err != nil {
		return fmt.Errorf("testimage: encode manifest.json: %w", err)
	}
	return writeTar(w, []string{b.layer.digest[len("sha256:"):] + "/"}, []tarEntry{
		{"manifest.json", manifest},
		{configName, b.config.data},
		{layerName, b.layer.data},
	})
}

// Bytes returns the OCI archive of WriteOCI.
func (img Image) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := img.WriteOCI(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Content returns the image's blobs by digest ("sha256:…") and the digest
// of its manifest, as a registry would serve them.
func (img Image) Content() (blobs map[string][]byte, manifest string, err error) {
	b, err := img.build()
	if err != nil {
		return nil, "", err
	}
	blobs = make(map[string][]byte, 3)
	for _, bl := range []blob{b.layer, b.config, b.manifest} {
		blobs[bl.digest] = bl.data
	}
	return blobs, b.manifest.digest, nil
}

type tarEntry struct {
	name string
	data []byte
}

// writeTar writes dirs then entries as a tar to w.
func writeTar(w io.Writer, dirs []string, entries []tarEntry) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return fmt.Errorf("testimage: write archive: %w", err)
		}
	}
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch}); err != nil {
			return fmt.Errorf("testimage: write archive: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("testimage: write archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("testimage: write archive: %w", err)
	}
	return nil
}
