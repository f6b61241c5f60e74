package baton

import "github.com/batonhq/baton/api"

// The closed set of error classes Baton returns, wrapped with detail. Test
// for them with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = api.ErrNotFound
	// ErrAlreadyExists: an object of that kind and name exists.
	ErrAlreadyExists = api.ErrAlreadyExists
	// ErrConflict: the object changed since it was read; read it again,
	// reapply the change and retry.
	ErrConflict = api.ErrConflict
	// ErrInvalid: the object or manifest is malformed; the error is a
	// *ValidationError listing every bad field by path.
	ErrInvalid = api.ErrInvalid
	// ErrFailedPrecondition: the request is valid but the state forbids
	// it, such as creating in a namespace that is being deleted.
	ErrFailedPrecondition = api.ErrFailedPrecondition
	// ErrUnavailable: a component the request needs is not running.
	ErrUnavailable = api.ErrUnavailable
	// ErrExpired: a watch asked to resume from a revision no longer kept.
	ErrExpired = api.ErrExpired
)

// ValidationError lists every problem found in an object or manifest; it
// matches ErrInvalid.
type ValidationError = api.ValidationError

// FieldError is one problem with one field, located by its path such as
// "spec.template.spec.containers[0].image".
type FieldError = api.FieldError
