package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"

	"github.com/batonhq/baton/runtime"
)

// normalizeRef returns the full name of an image reference as Docker and
// the kubelet read it: "busybox" is the "latest" tag of the "library"
// repository on Docker's registry.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// getImage returns the image named ref, or an error matching
// runtime.ErrNotFound.
func (r *Runtime) getImage(ctx context.Context, ref string) (client.Image, error) {
	name, err := normalizeRef(ref)
	if err != nil {
		return nil, errorf(runtime.ErrNotFound, "%v", err)
	}
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		return nil, wrapErr(err, "image %q", ref)
	}
	return img, nil
}

// imageInfo is what the Runtime needs of an image, read once per image
// content: containers need its config, ImageStatus its ID and size.
type imageInfo struct {
	// config is the image's config: entrypoint, cmd, labels, stop signal.
	config ocispec.ImageConfig
	// id is the digest of the config blob, the image's ID.
	id string
	// configDesc and configBlob are the config blob, and diffIDs the
	// layers' digests, as containers are made from them (see cachedImage).
	configDesc ocispec.Descriptor
	configBlob []byte
	diffIDs    []digest.Digest
	// size is the size of the image's content.
	size int64
}

// maxCachedImages bounds Runtime.images.
const maxCachedImages = 256

// imageInfo returns img's config, ID and size, read once per image content
// (its target's digest: content never changes under a digest).
func (r *Runtime) imageInfo(ctx context.Context, img client.Image) (imageInfo, error) {
	r.mu.Lock()
	info, ok := r.images[img.Target().Digest]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	return r.readImageInfo(ctx, img)
}

// readImageInfo reads img's config, ID and size from containerd and caches
// them; a pull or an import calls it to see new content.
func (r *Runtime) readImageInfo(ctx context.Context, img client.Image) (imageInfo, error) {
	desc, err := img.Config(ctx)
	if err != nil {
		return imageInfo{}, wrapErr(err, "read the config of image %q", img.Name())
	}
	blob, err := content.ReadBlob(ctx, img.ContentStore(), desc)
	if err != nil {
		return imageInfo{}, wrapErr(err, "read the config of image %q", img.Name())
	}
	var spec ocispec.Image
	if err := json.Unmarshal(blob, &spec); err != nil {
		return imageInfo{}, fmt.Errorf("containerd runtime: decode the config of image %q: %w", img.Name(), err)
	}
	size, err := img.Size(ctx)
	if err != nil {
		return imageInfo{}, wrapErr(err, "image %q: size", img.Name())
	}
	info := imageInfo{
		config:     spec.Config,
		id:         desc.Digest.String(),
		configDesc: desc,
		configBlob: blob,
		diffIDs:    spec.RootFS.DiffIDs,
		size:       size,
	}
	r.mu.Lock()
	if len(r.images) >= maxCachedImages {
		clear(r.images)
	}
	r.images[img.Target().Digest] = info
	r.mu.Unlock()
	return info, nil
}

// describe returns the image as the runtime package names images, asked
// for by ref. Its ID is the digest of its config, as the kubelet reports
// image IDs; its Size is the size of its content.
func (info imageInfo) describe(ref string) runtime.Image {
	return runtime.Image{Ref: ref, ID: info.id, Size: info.size}
}

// cachedImage is an image whose config and layers are served from its
// imageInfo, so that making a container reads no image content from
// containerd: the snapshot's parent (RootFS) and the spec's image config
// (Config, and the config blob from ContentStore) come from memory.
type cachedImage struct {
	client.Image
	info imageInfo
}

func (i cachedImage) RootFS(context.Context) ([]digest.Digest, error) { return i.info.diffIDs, nil }

func (i cachedImage) Config(context.Context) (ocispec.Descriptor, error) {
	return i.info.configDesc, nil
}

func (i cachedImage) ContentStore() content.Store {
	return configStore{Store: i.Image.ContentStore(), desc: i.info.configDesc, blob: i.info.configBlob}
}

// configStore serves one blob, an image's config, from memory.
type configStore struct {
	content.Store
	desc ocispec.Descriptor
	blob []byte
}

func (s configStore) ReaderAt(ctx context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	if desc.Digest != s.desc.Digest {
		return s.Store.ReaderAt(ctx, desc)
	}
	return blobReader{bytes.NewReader(s.blob)}, nil
}

// blobReader is a content.ReaderAt over bytes in memory.
type blobReader struct{ *bytes.Reader }

func (blobReader) Close() error { return nil }

// ImageStatus returns the image named ref (normalized as Docker does, so
// "busybox" is the "latest" tag of the "library" repository on Docker's
// registry), or an error matching runtime.ErrNotFound.
func (r *Runtime) ImageStatus(ctx context.Context, ref string) (runtime.Image, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Image{}, err
	}
	img, err := r.getImage(ctx, ref)
	if err != nil {
		return runtime.Image{}, err
	}
	info, err := r.imageInfo(ctx, img)
	if err != nil {
		return runtime.Image{}, err
	}
	return info.describe(ref), nil
}

// PullImage pulls ref for this machine's platform and unpacks it into the
// snapshotter, so containers start from it without further work. Pulls of
// one ref at a time are serialised. It fails with an error matching
// runtime.ErrImageNotFound when the reference does not parse, when the
// registry says there is no such image, and when no registry for it can be
// reached at all (the image cannot be found where the Runtime looks; with
// no network, import images instead, see ImportImage and WithImageDir).
func (r *Runtime) PullImage(ctx context.Context, ref string) (runtime.Image, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Image{}, err
	}
	name, err := normalizeRef(ref)
	if err != nil {
		return runtime.Image{}, errorf(runtime.ErrImageNotFound, "pull: %v", err)
	}
	if r.opts.pullTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.opts.pullTimeout)
		defer cancel()
	}
	unlock := r.locks.lock("pull/" + name)
	defer unlock()
	img, err := r.client.Pull(ctx, name,
		client.WithPullUnpack,
		client.WithPullSnapshotter(r.opts.snapshotter),
		client.WithResolver(r.resolver),
	)
	if err != nil {
		return runtime.Image{}, pullErr(ref, err)
	}
	info, err := r.readImageInfo(ctx, img)
	if err != nil {
		return runtime.Image{}, err
	}
	return info.describe(ref), nil
}

// pullErr classifies a failed pull.
func pullErr(ref string, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errdefs.IsNotFound(err):
		return fmt.Errorf("containerd runtime: pull %q: %w: %w", ref, runtime.ErrImageNotFound, err)
	case errors.As(err, &dnsErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EHOSTUNREACH), errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("containerd runtime: pull %q: no registry for it could be reached: %w: %w (check the network, or import the image; see ImportImage)", ref, runtime.ErrImageNotFound, err)
	}
	return wrapErr(err, "pull %q", ref)
}

// newResolver returns the resolver of WithResolver, or the default one and
// its transport, whose idle connections Close closes.
func newResolver(o options) (remotes.Resolver, *http.Transport) {
	if o.resolver != nil {
		return o.resolver, nil
	}
	dialer := &net.Dialer{Timeout: o.dialTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.dialTimeout,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConns:          10,
	}
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(docker.MatchLocalhost),
			docker.WithClient(&http.Client{Transport: tr}),
		),
	}), tr
}

// ImportImage imports an image archive (see runtime.ImageImporter) and
// unpacks its images into the snapshotter. Images are imported for this
// machine's platform only.
func (r *Runtime) ImportImage(ctx context.Context, rd io.Reader) ([]runtime.Image, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := compression.DecompressStream(rd)
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: import image: read archive: %w", err)
	}
	defer ds.Close()
	imgs, err := r.client.Import(ctx, ds)
	if err != nil {
		return nil, wrapErr(err, "import image archive (want an OCI image layout or a docker-archive, as a tar)")
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("containerd runtime: import image: the archive names no image; name it with an io.containerd.image.name annotation or a full org.opencontainers.image.ref.name in its index.json, or a RepoTag in its manifest.json")
	}
	out := make([]runtime.Image, 0, len(imgs))
	for _, meta := range imgs {
		img := client.NewImage(r.client, meta)
		if err := img.Unpack(ctx, r.opts.snapshotter); err != nil {
			return nil, wrapErr(err, "unpack imported image %q", meta.Name)
		}
		info, err := r.readImageInfo(ctx, img)
		if err != nil {
			return nil, err
		}
		out = append(out, info.describe(meta.Name))
	}
	return out, nil
}

// ImportDir imports every image archive in dir (files ending in .tar,
// .tar.gz or .tgz, in lexical order) and returns the images imported. A
// missing dir imports nothing. An archive that fails to import is skipped
// and its error joined to the returned error; the others are imported.
func (r *Runtime) ImportDir(ctx context.Context, dir string) ([]runtime.Image, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("containerd runtime: import images from %s: %w", dir, err)
	}
	var (
		out  []runtime.Image
		errs []error
	)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !slices.ContainsFunc([]string{".tar", ".tar.gz", ".tgz"}, func(s string) bool { return strings.HasSuffix(name, s) }) {
			continue
		}
		path := filepath.Join(dir, name)
		imgs, err := r.importFile(ctx, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		r.log.Info("imported images", zap.String("archive", path), zap.Int("images", len(imgs)))
		out = append(out, imgs...)
	}
	return out, errors.Join(errs...)
}

func (r *Runtime) importFile(ctx context.Context, path string) ([]runtime.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return r.ImportImage(ctx, f)
}
