package containerd

import (
	"path/filepath"

	"github.com/batonhq/baton/runtime"
)

var _ runtime.VolumeHost = (*Runtime)(nil)

// VolumeDir is where the node agent keeps the files of the Pods' volumes
// when the Orchestrator has no state directory: "volumes" under the
// runtime's state directory, which outlives Baton as the containers do.
func (r *Runtime) VolumeDir() string { return filepath.Join(r.opts.stateDir, "volumes") }
