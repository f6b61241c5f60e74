package containerd_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
)

// New fails with ErrUnavailable once its context ends if nothing answers
// at the address. This test needs no containerd.
func TestNewWithoutContainerd(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	began := time.Now()
	rt, err := containerd.New(ctx, filepath.Join(dir, "nothing.sock"), containerd.WithStateDir(filepath.Join(dir, "state")))
	if err == nil {
		rt.Close()
		t.Fatalf("New with nothing at the address succeeded")
	}
	if !errors.Is(err, runtime.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("New = %v; want an error matching ErrUnavailable and the context's", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("New took %v to give up; want about the context's 500ms", took)
	}
}

// A closed Runtime refuses its verbs.
func TestClosedRuntime(t *testing.T) {
	rt := newRuntime(t)
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(); err != nil {
		t.Errorf("second Close = %v; want nil", err)
	}
	if _, err := rt.Version(context.Background()); !errors.Is(err, containerd.ErrClosed) {
		t.Errorf("Version after Close = %v; want ErrClosed", err)
	}
	if _, err := rt.Events(context.Background()); !errors.Is(err, containerd.ErrClosed) {
		t.Errorf("Events after Close = %v; want ErrClosed", err)
	}
}
