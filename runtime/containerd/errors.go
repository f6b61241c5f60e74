package containerd

import (
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"google.golang.org/grpc/status"

	"github.com/batonhq/baton/runtime"
)

// classified wraps a containerd error so that errors.Is matches the
// runtime package's error class as well as containerd's own.
type classified struct {
	class error // a runtime.Err*
	err   error
}

func (e *classified) Error() string   { return e.err.Error() }
func (e *classified) Unwrap() []error { return []error{e.class, e.err} }

// wrapErr describes a failed containerd call: "containerd runtime: <what>:
// <err>", matching runtime.ErrNotFound, runtime.ErrAlreadyExists,
// runtime.ErrFailedPrecondition or runtime.ErrUnavailable when containerd's
// error is of that class. It returns nil for a nil err.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	err = native(err)
	what := fmt.Sprintf(format, args...)
	var class error
	switch {
	case errors.Is(err, runtime.ErrNotFound), errors.Is(err, runtime.ErrAlreadyExists),
		errors.Is(err, runtime.ErrFailedPrecondition), errors.Is(err, runtime.ErrUnavailable),
		errors.Is(err, runtime.ErrImageNotFound):
		// Already classified.
	case errdefs.IsNotFound(err):
		class = runtime.ErrNotFound
	case errdefs.IsAlreadyExists(err):
		class = runtime.ErrAlreadyExists
	case errdefs.IsFailedPrecondition(err), errdefs.IsConflict(err):
		class = runtime.ErrFailedPrecondition
	case errdefs.IsUnavailable(err):
		return fmt.Errorf("containerd runtime: %s: %w: %w (containerd is not answering; is it running? Baton reconnects by itself)", what, runtime.ErrUnavailable, err)
	}
	if class != nil {
		return fmt.Errorf("containerd runtime: %s: %w", what, &classified{class: class, err: err})
	}
	return fmt.Errorf("containerd runtime: %s: %w", what, err)
}

// native converts an error of a raw containerd gRPC call to containerd's
// error classes, and returns other errors as they are.
func native(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return errgrpc.ToNative(err)
	}
	return err
}

// errorf returns a Runtime error that matches class.
func errorf(class error, format string, args ...any) error {
	return fmt.Errorf("containerd runtime: %s: %w", fmt.Sprintf(format, args...), class)
}
