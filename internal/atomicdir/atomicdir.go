// Package atomicdir writes a set of files into a directory so that readers
// see either the whole old set or the whole new one, never a mix, as
// kubelet's atomic writer does for ConfigMap and Secret volumes:
//
//	dir/..2026_11_27_18_00_00.123456789/  the files of one version
//	dir/..data -> ..2026_…                  swapped by one rename
//	dir/key    -> ..data/key                one link per top-level name
//
// A reader that opens dir/key follows ..data to exactly one version. The
// writer never follows a symlink it did not make: files are created
// exclusively in a directory it just made, and the links in dir are
// checked with Lstat before they are touched.
package atomicdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const dataLink = "..data"

// File is one file to write: its content and permission bits.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Write makes dir hold exactly files (relative path → file), swapping them
// in at once. It reports whether anything changed. Paths must be relative
// and free of ".." elements; their first elements must not start with "..".
func Write(dir string, files map[string]File) (bool, error) {
	for p := range files {
		if err := checkPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if same, err := unchanged(dir, files); err != nil || same {
		return false, err
	}
	version, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05.")+"")
	if err != nil {
		return false, err
	}
	if err := os.Chmod(version, 0o755); err != nil {
		return false, err
	}
	for p, f := range files {
		if err := writeFile(version, p, f); err != nil {
			os.RemoveAll(version)
			return false, err
		}
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	tmp := filepath.Join(dir, dataLink+"_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(version), tmp); err != nil {
		os.RemoveAll(version)
		return false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
		os.RemoveAll(version)
		return false, err
	}
	if err := syncLinks(dir, files); err != nil {
		return true, err
	}
	if old != "" && old != filepath.Base(version) && strings.HasPrefix(old, "..") && !strings.Contains(old, "/") {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			return true, err
		}
	}
	return true, nil
}

func checkPath(p string) error {
	switch {
	case p == "" || path.IsAbs(p):
		return fmt.Errorf("atomicdir: %q must be a relative path", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Errorf("atomicdir: %q must not contain '..'", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("atomicdir: %q must not start with '..', which the writer uses", p)
	}
	return nil
}

// writeFile creates p inside version, which the writer has just made, so
// nothing in it can be a symlink planted by someone else.
func writeFile(version, p string, f File) error {
	full := filepath.Join(version, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	fd, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, werr := fd.Write(f.Data)
	cerr := fd.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return err
	}
	return os.Chmod(full, f.Mode.Perm())
}

// unchanged reports whether the current version holds exactly files.
func unchanged(dir string, files map[string]File) (bool, error) {
	target, err := os.Readlink(filepath.Join(dir, dataLink))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	version := filepath.Join(dir, target)
	count := 0
	err = filepath.WalkDir(version, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		count++
		rel, _ := filepath.Rel(version, p)
		want, ok := files[filepath.ToSlash(rel)]
		info, ierr := d.Info()
		if !ok || ierr != nil || info.Mode().Perm() != want.Mode.Perm() || d.Type()&fs.ModeSymlink != 0 {
			return errDiffers
		}
		got, rerr := os.ReadFile(p)
		if rerr != nil || !bytes.Equal(got, want.Data) {
			return errDiffers
		}
		return nil
	})
	if errors.Is(err, errDiffers) {
		return false, nil
	}
	return err == nil && count == len(files), err
}

var errDiffers = errors.New("differs")

// syncLinks makes one link per top-level name of files, and removes the
// links of names that are gone. An entry of dir that is not a link it
// owns is an error, never followed.
func syncLinks(dir string, files map[string]File) error {
	want := map[string]bool{}
	for p := range files {
		want[strings.SplitN(p, "/", 2)[0]] = true
	}
	for name := range want {
		link := filepath.Join(dir, name)
		info, err := os.Lstat(link)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Symlink(path.Join(dataLink, name), link); err != nil {
				return err
			}
		case err != nil:
			return err
		case info.Mode()&fs.ModeSymlink == 0:
			return fmt.Errorf("atomicdir: %s exists and is not a link; refusing to replace it", link)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") || want[e.Name()] {
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Resolve returns the path of p inside the current version of dir, for a
// subPath mount of one file or directory. It refuses paths that would
// leave the version through a symlink.
func Resolve(dir, p string) (string, error) {
	if err := checkPath(p); err != nil {
		return "", err
	}
	target, err := os.Readlink(filepath.Join(dir, dataLink))
	if err != nil {
		return "", fmt.Errorf("atomicdir: %s has no current version: %w", dir, err)
	}
	version := filepath.Join(dir, target)
	full := filepath.Join(version, filepath.FromSlash(p))
	resolved, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	if resolved != version && !strings.HasPrefix(resolved, version+string(filepath.Separator)) {
		return "", fmt.Errorf("atomicdir: %q leaves the volume", p)
	}
	return resolved, nil
}
