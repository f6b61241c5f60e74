package fake

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/batonhq/baton/runtime"
)

// Files returns what a container would see through its mounts: every
// regular file under each mount, by its path in the container, with its
// content and permission bits, read now. Links are followed as the
// container would follow them, but only within the mount. It lets a test
// check the files Baton projects (ConfigMap and Secret volumes) without a
// real container. A mount whose source has been deleted since the
// container started (a subPath of an updated ConfigMap volume, say) shows
// nothing, where a real bind mount would keep showing the old file.
// Unknown containers fail with runtime.ErrNotFound.
func (r *Runtime) Files(id string) (map[string]FileInfo, error) {
	r.mu.Lock()
	c := r.containerLocked(id)
	r.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("fake runtime: files of container %s: %w", id, runtime.ErrNotFound)
	}
	out := map[string]FileInfo{}
	for _, m := range c.config.Mounts {
		root, err := filepath.EvalSymlinks(m.HostPath)
		if errors.Is(err, fs.ErrNotExist) {
			// A real bind mount would keep showing a source deleted since;
			// the fake cannot, and shows nothing for it.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fake runtime: mount %s of container %s: %w", m.ContainerPath, id, err)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if strings.HasPrefix(filepath.Base(p), "..") && p != root {
				if d.IsDir() {
					return filepath.SkipDir // the writer's versions, seen through links
				}
				return nil
			}
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return err
			}
			if target != root && !strings.HasPrefix(target, root+string(filepath.Separator)) {
				return nil // a link out of the mount: not the container's
			}
			info, err := os.Stat(target)
			if err != nil || info.IsDir() {
				return err
			}
			data, err := os.ReadFile(target)
			if err != nil {
				return err
			}
			out[path.Join(m.ContainerPath, filepath.ToSlash(rel))] = FileInfo{Data: data, Mode: info.Mode().Perm(), ReadOnly: m.ReadOnly}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fake runtime: mount %s of container %s: %w", m.ContainerPath, id, err)
		}
	}
	return out, nil
}

// FileInfo is a file as a container sees it.
type FileInfo struct {
	Data     []byte
	Mode     fs.FileMode
	ReadOnly bool
}
