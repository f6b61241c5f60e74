package runtime

import (
	"context"
	"io"
)

// Optional capabilities: interfaces a Runtime may implement beyond
// Runtime. Callers find them by type assertion, as in
//
//	if imp, ok := rt.(runtime.ImageImporter); ok { … }
//
// so the core interface stays small and a runtime without the capability
// (the fake, say) still is a Runtime.

// ImageImporter loads images from archives, for nodes that cannot reach a
// registry (air-gapped or offline devices).
type ImageImporter interface {
	// ImportImage reads one image archive from r — an OCI image layout or
	// a docker-archive as `docker save` writes it, as a tar that may be
	// gzip- or zstd-compressed — stores every image it names, makes them
	// ready to run, and returns them by the names the archive gives them
	// (Image.Ref). An archive that names no image is an error. Importing
	// an image that is present again replaces its name's target.
	ImportImage(ctx context.Context, r io.Reader) ([]Image, error)
}

// VolumeHost is implemented by a runtime whose containers outlive the
// process that started them, as containerd's do. The node agent keeps the
// files it mounts into that runtime's containers (ConfigMap, Secret and
// emptyDir volumes) under VolumeDir when the Orchestrator is given no
// state directory of its own, instead of in a temporary directory removed
// when the Orchestrator stops: the containers it leaves running keep their
// files, and a later Orchestrator that adopts them keeps updating them.
type VolumeHost interface {
	// VolumeDir is a lasting directory of the runtime's, used by nothing
	// else.
	VolumeDir() string
}
