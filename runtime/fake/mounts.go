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
		err = walkMount(root, root, m.ContainerPath, 0, func(at string, data []byte, mode fs.FileMode) {
			out[at] = FileInfo{Data: data, Mode: mode, ReadOnly: m.ReadOnly}
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fake runtime: mount %s of container %s: %w", m.ContainerPath, id, err)
		}
	}
	return out, nil
}

// maxLinkDepth bounds how many directory links walkMount follows in a row,
// against link cycles.
const maxLinkDepth = 8

// walkMount calls found for every regular file under dir, a directory (or
// file) inside the mount whose source is root, by its path in the
// container (dir shows at at). Links are followed, into directories too,
// as long as they stay inside the mount; names starting with ".." (the
// atomic writer's versions, seen through links) are skipped.
func walkMount(root, dir, at string, depth int, found func(at string, data []byte, mode fs.FileMode)) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir && d.IsDir() {
			return nil
		}
		if strings.HasPrefix(filepath.Base(p), "..") {
			if d.IsDir() {
				return filepath.SkipDir
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
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		inContainer := path.Join(at, filepath.ToSlash(rel))
		if info.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 && depth < maxLinkDepth {
				return walkMount(root, target, inContainer, depth+1, found)
			}
			return nil // a directory WalkDir enters by itself, or a link too deep
		}
		data, err := os.ReadFile(target)
		if err != nil {
			return err
		}
		found(inContainer, data, info.Mode().Perm())
		return nil
	})
}

// FileInfo is a file as a container sees it.
type FileInfo struct {
	Data     []byte
	Mode     fs.FileMode
	ReadOnly bool
}
