package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distribution/reference"
	"golang.org/x/sync/errgroup"
)

// This file is the container lifecycle, written once for every runtime:
//
//	(absent) --CreateContainer--> Created --StartContainer--> Running
//	Running --exit or StopContainer--> Exited --RemoveContainer--> (absent)
//	Created --RemoveContainer--> (absent)
//
// Implementations provide the verbs; the helpers below decide the order.

// CanTransition reports whether a container may move from one state to
// another by a single verb or by exiting.
func CanTransition(from, to ContainerState) bool {
	switch from {
	case ContainerCreated:
		return to == ContainerRunning || to == ContainerExited
	case ContainerRunning:
		return to == ContainerExited
	}
	return false
}

// PullPolicy says when EnsureImage pulls.
type PullPolicy string

// Pull policies, as in a Pod spec.
const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// Waiting reasons for a container that could not be started, as Kubernetes
// reports them in a container's status.
const (
	ReasonErrImagePull         = "ErrImagePull"
	ReasonInvalidImageName     = "InvalidImageName"
	ReasonErrImageNeverPull    = "ErrImageNeverPull"
	ReasonCreateContainerError = "CreateContainerError"
	ReasonRunContainerError    = "RunContainerError"
)

// StartError says why StartContainer failed, with the Kubernetes waiting
// reason to report.
type StartError struct {
	// Reason is one of the Reason* waiting reasons above.
	Reason string
	Err    error
}

func (e *StartError) Error() string { return e.Reason + ": " + e.Err.Error() }

// Unwrap returns the runtime's error.
func (e *StartError) Unwrap() error { return e.Err }

// EnsureImage makes ref present according to policy: Always pulls,
// IfNotPresent pulls only when absent, Never fails with a StartError of
// reason ErrImageNeverPull when absent. A ref that is not an image
// reference at all fails with reason InvalidImageName, as in kubelet,
// before the runtime is asked.
func EnsureImage(ctx context.Context, images ImageService, ref string, policy PullPolicy) (Image, error) {
	if err := CheckImageRef(ref); err != nil {
		return Image{}, err
	}
	if policy != PullAlways {
		img, err := images.ImageStatus(ctx, ref)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Image{}, &StartError{Reason: ReasonErrImagePull, Err: err}
		}
		if policy == PullNever {
			return Image{}, &StartError{Reason: ReasonErrImageNeverPull,
				Err: fmt.Errorf("image %q is not present and the pull policy is Never; import it first", ref)}
		}
	}
	img, err := images.PullImage(ctx, ref)
	if err != nil {
		return Image{}, &StartError{Reason: ReasonErrImagePull, Err: err}
	}
	return img, nil
}

// CheckImageRef returns a *StartError of reason InvalidImageName when ref
// is not an image reference (a name with an optional tag or digest).
func CheckImageRef(ref string) error {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return &StartError{Reason: ReasonInvalidImageName,
			Err: fmt.Errorf("image %q is not a valid image reference (%v); use a name such as \"busybox:1.36\" or \"localhost/app:1\"", ref, err)}
	}
	return nil
}

// StartContainer makes the image present, creates the container in the
// sandbox and starts it. On failure it removes what it created and returns
// a *StartError.
func StartContainer(ctx context.Context, rt interface {
	ImageService
	ContainerService
}, sandboxID string, config ContainerConfig, policy PullPolicy) (Container, error) {
	if _, err := EnsureImage(ctx, rt, config.Image, policy); err != nil {
		return Container{}, err
	}
	c, err := rt.CreateContainer(ctx, sandboxID, config)
	if err != nil {
		return Container{}, &StartError{Reason: ReasonCreateContainerError, Err: err}
	}
	if err := rt.StartContainer(ctx, c.ID); err != nil {
		// Best effort: a container that never ran is of no use to anyone.
		_ = rt.RemoveContainer(context.WithoutCancel(ctx), c.ID)
		return Container{}, &StartError{Reason: ReasonRunContainerError, Err: err}
	}
	return rt.ContainerStatus(ctx, c.ID)
}

// KillContainer stops a container, giving it grace to exit after SIGTERM,
// then removes it.
func KillContainer(ctx context.Context, cs ContainerService, id string, grace time.Duration) error {
	if err := cs.StopContainer(ctx, id, grace); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	if err := cs.RemoveContainer(ctx, id); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// TearDownSandbox stops every container of a sandbox at once, each with the
// same grace, then stops and removes the sandbox.
func TearDownSandbox(ctx context.Context, rt interface {
	SandboxService
	ContainerService
}, sandboxID string, grace time.Duration) error {
	containers, err := rt.ListContainers(ctx, ContainerFilter{SandboxID: sandboxID})
	if err != nil {
		return fmt.Errorf("list containers of sandbox %s: %w", sandboxID, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range containers {
		g.Go(func() error { return KillContainer(gctx, rt, c.ID, grace) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := rt.StopPodSandbox(ctx, sandboxID); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", sandboxID, err)
	}
	if err := rt.RemovePodSandbox(ctx, sandboxID); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", sandboxID, err)
	}
	return nil
}
