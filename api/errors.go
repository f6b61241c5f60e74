package api

import (
	"errors"
	"fmt"
	"strings"
)

// The closed set of error classes Baton returns. Errors are wrapped with
// more detail; test for a class with errors.Is, never with ==.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: an object of that kind and name already exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the object changed since it was read (stale
	// resourceVersion). Read it again, reapply the change and retry.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the object or manifest is malformed; the error is a
	// *ValidationError listing every bad field. Retrying will not help.
	ErrInvalid = errors.New("invalid")
	// ErrFailedPrecondition: the request is well-formed but the system is
	// not in a state that allows it, such as creating in a namespace that is
	// being deleted.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: a component needed to serve the request is not
	// running; retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrExpired: a watch asked for changes older than the history Baton
	// keeps; list again and watch from the current state.
	ErrExpired = errors.New("expired")
)

// NotFoundError returns an ErrNotFound naming the object.
func NotFoundError(kind, namespace, name string) error {
	return fmt.Errorf("%s %s: %w", strings.ToLower(kind), quoteKey(namespace, name), ErrNotFound)
}

// AlreadyExistsError returns an ErrAlreadyExists naming the object.
func AlreadyExistsError(kind, namespace, name string) error {
	return fmt.Errorf("%s %s: %w", strings.ToLower(kind), quoteKey(namespace, name), ErrAlreadyExists)
}

// ConflictError returns an ErrConflict naming the object and both versions.
func ConflictError(kind, namespace, name, have, want string) error {
	return fmt.Errorf("%s %s: resourceVersion %s is stale, the stored object is at %s; read it again and retry: %w",
		strings.ToLower(kind), quoteKey(namespace, name), have, want, ErrConflict)
}

func quoteKey(namespace, name string) string {
	if namespace == "" {
		return fmt.Sprintf("%q", name)
	}
	return fmt.Sprintf("%q", namespace+"/"+name)
}

// FieldError is one problem with one field.
type FieldError struct {
	// Path locates the field, such as
	// "spec.template.spec.containers[0].image". It is empty for a problem
	// with the object or document as a whole, such as malformed YAML.
	Path string
	// Detail says what is wrong and, where it helps, what is allowed.
	// It never quotes the value of a secret.
	Detail string
}

// Error returns "path: detail", or the detail alone when Path is empty.
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Detail
	}
	return e.Path + ": " + e.Detail
}

// ValidationError lists every problem found in one object or manifest
// document. It matches ErrInvalid under errors.Is.
type ValidationError struct {
	// Kind and Name identify the object, when known.
	Kind string
	Name string
	// Fields holds the problems, in the order they were found.
	Fields []FieldError
}

// Error names the object, when known, and lists every problem.
func (e *ValidationError) Error() string {
	var b strings.Builder
	switch {
	case e.Kind != "" && e.Name != "":
		fmt.Fprintf(&b, "%s %q is invalid: ", e.Kind, e.Name)
	case e.Kind != "":
		fmt.Fprintf(&b, "%s is invalid: ", e.Kind)
	default:
		b.WriteString("invalid: ")
	}
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// FieldErrors collects field problems while an object is checked.
type FieldErrors []FieldError

// Add records a problem at path.
func (l *FieldErrors) Add(path, format string, args ...any) {
	*l = append(*l, FieldError{Path: path, Detail: fmt.Sprintf(format, args...)})
}

// Required records that the field at path must be set.
func (l *FieldErrors) Required(path string) { l.Add(path, "required") }

// Err returns nil when no problem was recorded, else a *ValidationError for
// the object of the given kind and name.
func (l FieldErrors) Err(kind, name string) error {
	if len(l) == 0 {
		return nil
	}
	return &ValidationError{Kind: kind, Name: name, Fields: l}
}
