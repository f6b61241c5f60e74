// Package api holds Baton's object types — Pod, Deployment, Service,
// Namespace, Node and Event — together with their validation, defaulting,
// deep copies and manifest decoding.
//
// The types are shaped like their Kubernetes counterparts (core v1 and
// apps/v1): JSON field names and meanings match, so a Kubernetes YAML
// manifest that uses supported fields decodes unchanged, and a manifest that
// uses an unsupported field is refused by name.
//
// This package is pure: it imports nothing of Baton's engine, so the store,
// the controllers and the public facade can all depend on it. Users normally
// reach these types through package baton, which re-exports them.
//
// # Ownership
//
// Objects are plain values. An object handed to or returned from Baton's
// clients is a copy the caller owns; inside the engine, objects read from the
// store are shared and must never be mutated — copy, change, then write.
package api
