// Package baton is an embeddable container orchestrator: a Go program
// imports it to run and supervise its own workloads the way Kubernetes
// does — Deployments kept at N replicas, Pods scheduled onto Nodes,
// containers restarted when they die — without a cluster, an API server or
// a daemon of its own.
//
// An Orchestrator holds the desired state (Namespaces, Deployments, Pods,
// Services) in an in-memory store and runs reconcile loops that make the
// observed state match it on one or more Nodes. Each Node is a container
// runtime: the in-memory fake (runtime/fake, the default, for tests and
// simulation) or containerd (runtime/containerd).
//
// The object types are shaped like Kubernetes' own (core v1 and apps/v1):
// field names and meanings match, so Kubernetes YAML manifests that use
// supported fields apply unchanged (Orchestrator.Apply), and unsupported
// fields are refused by name.
//
// # Using it
//
// Create an Orchestrator with New, start it with Run in a goroutine, and
// declare objects through the typed clients: Pods, Deployments, Services,
// Namespaces, Nodes and Events. Clients return copies: changing a returned
// object changes nothing until it is passed to Update. Writes are checked
// before anything is stored — a bad object gets an error naming every bad
// field (errors.Is(err, ErrInvalid)) and the store is left unchanged — and
// an Update carrying a stale resourceVersion fails with ErrConflict rather
// than overwrite a newer change.
//
// See examples/quickstart for a complete program, and docs/ARCHITECTURE.md
// for how the pieces fit.
package baton
