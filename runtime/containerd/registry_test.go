package containerd_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// registry is a read-only OCI distribution registry on loopback serving
// one image, repo:tag, built by testimage. Anything else is 404, as a real
// registry answers for an image it does not have.
type registry struct {
	host     string // "127.0.0.1:port"
	repo     string
	tag      string
	blobs    map[string][]byte
	manifest string // digest
}

func newRegistry(t testing.TB, repo, tag string) *registry {
	t.Helper()
	blobs, manifest, err := testimage.Image{Ref: "unused"}.Content()
	if err != nil {
		skipOrFail(t, err)
	}
	reg := &registry{repo: repo, tag: tag, blobs: blobs, manifest: manifest}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

// ref returns the reference of repo:tag on the registry.
func (reg *registry) ref(repo, tag string) string { return reg.host + "/" + repo + ":" + tag }

func (reg *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	if path == "/v2/" || path == "/v2" {
		w.WriteHeader(http.StatusOK)
		return
	}
	prefix := "/v2/" + reg.repo + "/"
	if !strings.HasPrefix(path, prefix) {
		reg.notFound(w, "NAME_UNKNOWN")
		return
	}
	kind, ref, ok := strings.Cut(strings.TrimPrefix(path, prefix), "/")
	if !ok {
		reg.notFound(w, "NAME_UNKNOWN")
		return
	}
	var (
		data      []byte
		mediaType = "application/octet-stream"
	)
	switch kind {
	case "manifests":
		if ref != reg.tag && ref != reg.manifest {
			reg.notFound(w, "MANIFEST_UNKNOWN")
			return
		}
		data, mediaType = reg.blobs[reg.manifest], "application/vnd.oci.image.manifest.v1+json"
		ref = reg.manifest
	case "blobs":
		var found bool
		if data, found = reg.blobs[ref]; !found {
			reg.notFound(w, "BLOB_UNKNOWN")
			return
		}
	default:
		reg.notFound(w, "UNSUPPORTED")
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", ref)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if req.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

func (reg *registry) notFound(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"not here"}]}`))
}
