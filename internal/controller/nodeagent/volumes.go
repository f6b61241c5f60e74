package nodeagent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/atomicdir"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
)

// tmpfsMagic is the f_type statfs reports for tmpfs.
const tmpfsMagic = 0x01021994

// configError is a problem with a Pod's configuration that stops a
// container from starting until someone fixes it, reported as
// CreateContainerConfigError. Its message names objects and keys, never
// values.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// reasonConfigError is the waiting reason of a container whose
// configuration cannot be built.
const reasonConfigError = "CreateContainerConfigError"

// stateDir is where the agent keeps its Pods' volumes: the Orchestrator's
// state directory, or, without one, its runtime's lasting volume directory
// (runtime.VolumeHost), or else a temporary directory.
func (a *Agent) stateDir() string {
	if a.volumeHostDir != "" {
		return a.volumeHostDir
	}
	return a.manager.dir()
}

func (a *Agent) hasStateDir() bool { return a.volumeHostDir != "" || a.manager.hasDir() }

// podDir is where a Pod's volumes live on the node.
func (a *Agent) podDir(uid string) string {
	return filepath.Join(a.stateDir(), "pods", uid)
}

// privateDirMode is the mode of the directories that hold a Pod's
// volumes: their owner's only, so that nothing else on the host reaches
// what is in them. Containers run as root, who owns them, and their bind
// mounts are made by root and start below them, so they still see the
// files.
const privateDirMode = 0o700

// secretDirMode is the mode of the root of a Secret volume holding files:
// its owner's only (0700), as with the default file mode 0400, and opened
// to group or others only as far as a file's mode opens it to them, so
// that a defaultMode of 0444, for a container whose image runs it as
// another user than root, lets that user list and read the files. The
// Pod's directories above stay 0700, so the host gains nothing.
func secretDirMode(files map[string]atomicdir.File) fs.FileMode {
	mode := fs.FileMode(privateDirMode)
	for _, f := range files {
		if f.Mode&0o040 != 0 {
			mode |= 0o050
		}
		if f.Mode&0o004 != 0 {
			mode |= 0o005
		}
	}
	return mode
}

// volumesDir makes <pod dir>/volumes, and the Pod's directory, private to
// their owner, and returns it.
func (a *Agent) volumesDir(uid string) (string, error) {
	pod := a.podDir(uid)
	dir := filepath.Join(pod, "volumes")
	if err := os.MkdirAll(dir, privateDirMode); err != nil {
		return "", err
	}
	// MkdirAll leaves alone what exists, perhaps made by an older Baton
	// with a wider mode.
	for _, d := range []string{pod, dir} {
		if err := ensureMode(d, privateDirMode); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// ensureMode gives dir mode, unless it has it already: the agent looks at
// a Pod's volumes at every sync, and the mode is nearly always right.
func ensureMode(dir string, mode fs.FileMode) error {
	if info, err := os.Stat(dir); err == nil && info.Mode().Perm() == mode.Perm() {
		return nil
	}
	return os.Chmod(dir, mode)
}

// setupVolumes makes every volume of pod ready on the node and returns the
// host directory of each, by volume name. ConfigMap and Secret volumes are
// written atomically (and rewritten when their source changed); Secret
// and Memory emptyDir volumes live on tmpfs, so Secret values never touch
// the node's disk.
func (a *Agent) setupVolumes(pod *api.Pod) (map[string]string, error) {
	if len(pod.Spec.Volumes) == 0 {
		return nil, nil
	}
	root, err := a.volumesDir(pod.UID)
	if err != nil {
		return nil, fmt.Errorf("make the volumes directory: %w", err)
	}
	dirs := map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir := filepath.Join(root, v.Name)
		switch {
		case v.ConfigMap != nil:
			files, err := a.configMapFiles(pod.Namespace, v.ConfigMap)
			if err != nil {
				return nil, err
			}
			if _, err := atomicdir.Write(dir, files); err != nil {
				return nil, fmt.Errorf("write configMap volume %s: %w", v.Name, err)
			}
		case v.Secret != nil:
			files, err := a.secretFiles(pod.Namespace, v.Secret)
			if err != nil {
				return nil, err
			}
			if err := ensureTmpfs(dir, secretDirMode(files), defaultTmpfsSize); err != nil {
				return nil, configErrorf("secret volume %s: cannot keep Secret files off the disk: mounting tmpfs failed (%v); Baton needs root (CAP_SYS_ADMIN) for secret volumes", v.Name, err)
			}
			if _, err := atomicdir.Write(dir, files); err != nil {
				return nil, fmt.Errorf("write secret volume %s: %w", v.Name, err)
			}
		case v.EmptyDir != nil:
			if v.EmptyDir.Medium == api.StorageMediumMemory {
				size := int64(defaultTmpfsSize)
				if l := v.EmptyDir.SizeLimit; l != nil && l.Value() > 0 {
					size = l.Value()
				}
				if err := ensureTmpfs(dir, emptyDirMode, size); err != nil {
					return nil, configErrorf("emptyDir volume %s: mounting tmpfs failed (%v); Baton needs root for medium Memory", v.Name, err)
				}
			} else if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, err
			}
		case v.HostPath != nil:
			if err := checkHostPath(v.HostPath); err != nil {
				return nil, configErrorf("hostPath volume %s: %v", v.Name, err)
			}
			dir = v.HostPath.Path
		}
		dirs[v.Name] = dir
	}
	return dirs, nil
}

// mounts returns a container's mounts of its Pod's volumes. ConfigMap and
// Secret volumes are always read-only. A subPath is resolved inside the
// volume and may not leave it through a link.
func mounts(pod *api.Pod, c *api.Container, dirs map[string]string) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, m := range c.VolumeMounts {
		dir, ok := dirs[m.Name]
		if !ok {
			return nil, configErrorf("volume mount %s: no volume named %q", m.MountPath, m.Name)
		}
		v := volumeNamed(pod, m.Name)
		projected := v != nil && (v.ConfigMap != nil || v.Secret != nil)
		host := dir
		if m.SubPath != "" {
			var err error
			if projected {
				host, err = atomicdir.Resolve(dir, m.SubPath)
			} else {
				host, err = resolveInside(dir, m.SubPath)
			}
			if err != nil {
				return nil, configErrorf("volume mount %s: subPath %q: %v", m.MountPath, m.SubPath, err)
			}
		}
		out = append(out, runtime.Mount{HostPath: host, ContainerPath: m.MountPath, ReadOnly: m.ReadOnly || projected})
	}
	return out, nil
}

func volumeNamed(pod *api.Pod, name string) *api.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// resolveInside resolves p within dir, creating it as a directory if it
// does not exist, and refuses a result outside dir.
func resolveInside(dir, p string) (string, error) {
	full := filepath.Join(dir, filepath.FromSlash(p))
	if _, err := os.Lstat(full); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(full, 0o777); err != nil {
			return "", err
		}
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	if resolved != root && !strings.HasPrefix(resolved, root+string(filepath.Separator)) {
		return "", fmt.Errorf("it leaves the volume")
	}
	return resolved, nil
}

func checkHostPath(h *api.HostPathVolumeSource) error {
	info, err := os.Stat(h.Path)
	kind := api.HostPathUnset
	if h.Type != nil {
		kind = *h.Type
	}
	switch kind {
	case api.HostPathDirectoryOrCreate:
		if errors.Is(err, fs.ErrNotExist) {
			return os.MkdirAll(h.Path, 0o755)
		}
	case api.HostPathFileOrCreate:
		if errors.Is(err, fs.ErrNotExist) {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	case api.HostPathDirectory:
		if err != nil || !info.IsDir() {
			return fmt.Errorf("%s is not a directory", h.Path)
		}
	case api.HostPathFile:
		if err != nil || !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", h.Path)
		}
	}
	return nil
}

// configMapFiles reads the files a ConfigMap volume projects.
func (a *Agent) configMapFiles(namespace string, src *api.ConfigMapVolumeSource) (map[string]atomicdir.File, error) {
	var cm *api.ConfigMap
	var err error
	a.store.View(func(tx store.ReadTx) { cm, err = store.Get[*api.ConfigMap](tx, namespace, src.Name) })
	if err != nil {
		if optional(src.Optional) {
			return map[string]atomicdir.File{}, nil
		}
		return nil, configErrorf("configmap %q not found", src.Name)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, src.Items, mode(src.DefaultMode, api.DefaultConfigMapMode), "configmap", src.Name, optional(src.Optional))
}

// secretFiles reads the files a Secret volume projects.
func (a *Agent) secretFiles(namespace string, src *api.SecretVolumeSource) (map[string]atomicdir.File, error) {
	var sec *api.Secret
	var err error
	a.store.View(func(tx store.ReadTx) { sec, err = store.Get[*api.Secret](tx, namespace, src.SecretName) })
	if err != nil {
		if optional(src.Optional) {
			return map[string]atomicdir.File{}, nil
		}
		return nil, configErrorf("secret %q not found", src.SecretName)
	}
	return project(sec.Data, src.Items, mode(src.DefaultMode, api.DefaultSecretMode), "secret", src.SecretName, optional(src.Optional))
}

// project maps data to files: every key at its own name, or only items at
// their paths.
func project(data map[string][]byte, items []api.KeyToPath, defaultMode fs.FileMode, kind, name string, opt bool) (map[string]atomicdir.File, error) {
	files := map[string]atomicdir.File{}
	if len(items) == 0 {
		for k, v := range data {
			files[k] = atomicdir.File{Data: v, Mode: defaultMode}
		}
		return files, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return nil, configErrorf("couldn't find key %s in %s %q", it.Key, kind, name)
		}
		files[it.Path] = atomicdir.File{Data: v, Mode: mode(it.Mode, int32(defaultMode))}
	}
	return files, nil
}

func mode(m *int32, def int32) fs.FileMode {
	if m != nil {
		return fs.FileMode(*m)
	}
	return fs.FileMode(def)
}

func optional(p *bool) bool { return p != nil && *p }

// emptyDirMode is the mode of the root of a Memory emptyDir.
const emptyDirMode = 0o755

// defaultTmpfsSize bounds a Secret volume, and a Memory emptyDir without a
// sizeLimit: what it holds counts against the host's memory.
const defaultTmpfsSize = 64 << 20

// ensureTmpfs mounts a tmpfs of size bytes at dir, its root with mode,
// unless dir is on a tmpfs already (a state dir on tmpfs keeps everything
// off the disk), in which case dir is only given mode.
func ensureTmpfs(dir string, mode fs.FileMode, size int64) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Type == tmpfsMagic {
		return ensureMode(dir, mode)
	}
	return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC,
		fmt.Sprintf("mode=%#o,size=%d", mode.Perm(), size))
}

// isMountPoint reports whether dir is the root of a mount: its device
// differs from its parent's, as mountpoint(1) decides. Every mount Baton
// makes under the state dir is a tmpfs, a device of its own; a directory
// that is merely on a tmpfs (a state dir on tmpfs) is not one.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Lstat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// maxStackedMounts bounds how many mounts removePodDir takes off one
// volume directory.
const maxStackedMounts = 8

// removePodDir unmounts the tmpfs volumes of a Pod and removes its
// directory.
func (a *Agent) removePodDir(uid string) error {
	dir := a.podDir(uid)
	vols, _ := filepath.Glob(filepath.Join(dir, "volumes", "*"))
	sort.Strings(vols)
	for _, v := range vols {
		for range maxStackedMounts {
			mounted, err := isMountPoint(v)
			if err != nil || !mounted {
				break
			}
			if err := syscall.Unmount(v, syscall.MNT_DETACH); err != nil {
				if errors.Is(err, syscall.EINVAL) {
					break // not a mount point after all
				}
				return fmt.Errorf("unmount %s: %w", v, err)
			}
		}
		if mounted, _ := isMountPoint(v); mounted {
			// Removing what is in it would remove what is mounted there.
			return fmt.Errorf("unmount %s: still a mount point after %d unmounts", v, maxStackedMounts)
		}
	}
	return os.RemoveAll(dir)
}
