package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/batonhq/baton/runtime"
)

// makeImage returns the image the fake has for ref. Its ID is the SHA-256 of
// the ref, so it is stable and differs between refs.
func makeImage(ref string) runtime.Image {
	sum := sha256.Sum256([]byte(ref))
	return runtime.Image{Ref: ref, ID: "sha256:" + hex.EncodeToString(sum[:])}
}

// ImageStatus returns the image if ref is present, or an error matching
// runtime.ErrNotFound.
func (r *Runtime) ImageStatus(ctx context.Context, ref string) (runtime.Image, error) {
	if err := r.enter(ctx, "image status"); err != nil {
		return runtime.Image{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	img, ok := r.images[ref]
	if !ok {
		return runtime.Image{}, fmt.Errorf("fake runtime: image %q: %w (pull it first)", ref, runtime.ErrNotFound)
	}
	return img, nil
}

// PullImage makes ref present and counts the pull (see Pulls). It fails with
// an error matching runtime.ErrImageNotFound for a ref marked by
// SetImageMissing.
func (r *Runtime) PullImage(ctx context.Context, ref string) (runtime.Image, error) {
	if err := r.enter(ctx, "pull image"); err != nil {
		return runtime.Image{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pulls[ref]++
	if r.missing[ref] {
		return runtime.Image{}, fmt.Errorf("fake runtime: pull image %q: %w (SetImageMissing marked it)", ref, runtime.ErrImageNotFound)
	}
	img, ok := r.images[ref]
	if !ok {
		img = makeImage(ref)
		r.images[ref] = img
	}
	return img, nil
}

// Pulls returns how many times PullImage was called for ref, whether or not
// the pull succeeded; calls refused by SetUnavailable or an ended context do
// not count.
func (r *Runtime) Pulls(ref string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls[ref]
}

// AddImage makes refs present, as if imported from an archive. It does not
// count as a pull and does not clear SetImageMissing.
func (r *Runtime) AddImage(refs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ref := range refs {
		if _, ok := r.images[ref]; !ok {
			r.images[ref] = makeImage(ref)
		}
	}
}

// RemoveImage makes ref absent. Containers already made from it are not
// affected. Removing an absent image does nothing.
func (r *Runtime) RemoveImage(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.images, ref)
}

// SetImageMissing marks ref as missing from every registry, or clears the
// mark. While marked, PullImage of ref fails with an error matching
// runtime.ErrImageNotFound; marking also removes ref if it is present, so
// that EnsureImage must pull it.
func (r *Runtime) SetImageMissing(ref string, missing bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if missing {
		r.missing[ref] = true
		delete(r.images, ref)
	} else {
		delete(r.missing, ref)
	}
}
