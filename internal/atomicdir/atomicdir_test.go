package atomicdir

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteSwapsTheWholeSet(t *testing.T) {
	dir := t.TempDir()
	changed, err := Write(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o444}, "sub/b": {Data: []byte("2"), Mode: 0o400}})
	if err != nil || !changed {
		t.Fatalf("first write: %v, %v", changed, err)
	}
	if read(t, filepath.Join(dir, "a")) != "1" || read(t, filepath.Join(dir, "sub", "b")) != "2" {
		t.Fatal("files not readable through the links")
	}
	info, _ := os.Stat(filepath.Join(dir, "sub", "b"))
	if info.Mode().Perm() != 0o400 {
		t.Errorf("mode %o, want 0400", info.Mode().Perm())
	}
	if changed, _ := Write(dir, map[string]File{"a": {Data: []byte("1"), Mode: 0o444}, "sub/b": {Data: []byte("2"), Mode: 0o400}}); changed {
		t.Error("an identical write changed something")
	}
	if _, err := Write(dir, map[string]File{"a": {Data: []byte("3"), Mode: 0o444}}); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(dir, "a")) != "3" {
		t.Error("update not visible")
	}
	if _, err := os.Lstat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Error("the link of a removed key is still there")
	}
	entries, _ := os.ReadDir(dir)
	versions := 0
	for _, e := range entries {
		if e.IsDir() {
			versions++
		}
	}
	if versions != 1 {
		t.Errorf("%d version directories left, want 1", versions)
	}
}

// Readers running during many updates always see a consistent pair.
func TestReadersNeverSeeAMix(t *testing.T) {
	dir := t.TempDir()
	write := func(n int) {
		v := []byte{byte('a' + n%26)}
		if _, err := Write(dir, map[string]File{"x": {Data: v, Mode: 0o444}, "y": {Data: v, Mode: 0o444}}); err != nil {
			t.Error(err)
		}
	}
	write(0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			// Open the version once, as a reader holding ..data would.
			version, err := filepath.EvalSymlinks(filepath.Join(dir, "..data"))
			if err != nil {
				continue
			}
			x, errx := os.ReadFile(filepath.Join(version, "x"))
			y, erry := os.ReadFile(filepath.Join(version, "y"))
			if errx == nil && erry == nil && string(x) != string(y) {
				t.Errorf("mixed versions: x=%s y=%s", x, y)
				return
			}
		}
	}()
	for i := 1; i < 200; i++ {
		write(i)
	}
	stop.Store(true)
	wg.Wait()
}

func TestPathsAndForeignEntriesAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"../escape", "/abs", "a/../../b", "..data", ""} {
		if _, err := Write(dir, map[string]File{p: {Data: []byte("x"), Mode: 0o444}}); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	// A planted file (not a link) at a key's name is never replaced or
	// followed.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("planted"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "other")); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, map[string]File{"key": {Data: []byte("x"), Mode: 0o444}}); err == nil {
		t.Error("replaced a planted file")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Error("wrote through a planted symlink")
	}
}

func TestResolveStaysInside(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, map[string]File{"conf/app.yaml": {Data: []byte("a: 1"), Mode: 0o444}}); err != nil {
		t.Fatal(err)
	}
	p, err := Resolve(dir, "conf/app.yaml")
	if err != nil || read(t, p) != "a: 1" {
		t.Fatalf("Resolve: %q, %v", p, err)
	}
	if _, err := Resolve(dir, "../x"); err == nil {
		t.Error("resolved a path with ..")
	}
}
