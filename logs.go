package baton

import (
	"context"
	"fmt"
	"io"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller/nodeagent"
	"github.com/batonhq/baton/runtime"
)

// PodClient manages Pods in one namespace: the Client methods, plus logs
// and exec.
type PodClient struct {
	Client[*Pod]
}

// LogOptions select the log lines of PodClient.Logs.
type LogOptions struct {
	// Container names the container; it may be empty when the Pod has
	// only one.
	Container string
	// TailLines, when positive, starts with the last that many lines.
	TailLines int
	// Follow keeps writing new lines until the container exits or ctx
	// ends.
	Follow bool
	// Previous reads the run before the current one, after a restart.
	Previous bool
}

// Logs writes a container's log to w, like "kubectl logs".
func (c *PodClient) Logs(ctx context.Context, name string, opts LogOptions, w io.Writer) error {
	pod, rt, err := c.podAndRuntime(ctx, name)
	if err != nil {
		return err
	}
	return nodeagent.Logs(ctx, rt, pod, opts.Container, opts.Previous, runtime.LogOptions{TailLines: opts.TailLines, Follow: opts.Follow}, w)
}

// ExecOptions wire an exec's standard streams; nil discards.
type ExecOptions struct {
	// Container names the container; it may be empty when the Pod has
	// only one.
	Container string
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
}

// Exec runs cmd in a running container of the Pod, like "kubectl exec",
// and returns its exit code; a non-zero exit is not an error.
func (c *PodClient) Exec(ctx context.Context, name string, cmd []string, opts ExecOptions) (int, error) {
	pod, rt, err := c.podAndRuntime(ctx, name)
	if err != nil {
		return 0, err
	}
	return nodeagent.Exec(ctx, rt, pod, opts.Container, cmd, runtime.ExecOptions{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr})
}

func (c *PodClient) podAndRuntime(ctx context.Context, name string) (*Pod, runtime.Runtime, error) {
	pod, err := c.Get(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	rt := c.o.runtimeOf(pod.Spec.NodeName)
	if rt == nil {
		return nil, nil, fmt.Errorf("pod %s is not running on a node of this orchestrator (node %q): %w", pod.Key(), pod.Spec.NodeName, ErrFailedPrecondition)
	}
	return pod, rt, nil
}

func (o *Orchestrator) runtimeOf(node string) runtime.Runtime {
	for _, n := range o.nodes {
		if n.Name == node && node != "" {
			return n.Runtime
		}
	}
	return nil
}

// ImportImage loads an image archive (OCI layout or docker-archive, as a
// tar) into a node's runtime, for devices that cannot reach a registry, and
// returns the names of the images it holds. The node's runtime must be able
// to import (the containerd runtime can; the fake cannot).
func (o *Orchestrator) ImportImage(ctx context.Context, node string, r io.Reader) ([]string, error) {
	rt := o.runtimeOf(node)
	if rt == nil {
		return nil, fmt.Errorf("no node %q: %w", node, api.ErrNotFound)
	}
	images, err := nodeagent.ImportImage(ctx, rt, r)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(images))
	for i, img := range images {
		names[i] = img.Ref
	}
	return names, nil
}
