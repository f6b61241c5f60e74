package runtime

import "errors"

// Errors runtimes return, wrapped with detail; test with errors.Is.
var (
	// ErrNotFound: no such container, sandbox or image.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a container or sandbox with that identity exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrFailedPrecondition: the object is in the wrong state for the
	// verb, such as starting a running container.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrImageNotFound: the image could not be pulled because no such
	// image exists where the runtime looks.
	ErrImageNotFound = errors.New("image not found")
	// ErrInvalidArgument: the config cannot be run as it is, such as a
	// sandbox's DNS server that is not an IP address. Retrying the same
	// call fails the same way.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnavailable: the runtime cannot be reached; retry later.
	ErrUnavailable = errors.New("runtime unavailable")
)
