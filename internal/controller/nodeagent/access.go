package nodeagent

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/runtime"
)

// The functions below reach a Pod's containers on behalf of a user (logs,
// exec) or feed a node's runtime (images). They live here because the node
// agent package is the only one that calls the runtime.

// containerIDOf returns the runtime ID of a container of pod, from its
// status: the current run, or with previous the one before.
func containerIDOf(pod *api.Pod, container string, previous bool) (string, error) {
	if container == "" {
		if len(pod.Spec.Containers) != 1 {
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			return "", fmt.Errorf("pod %s has %d containers (%s); name one: %w", pod.Key(), len(names), strings.Join(names, ", "), api.ErrInvalid)
		}
		container = pod.Spec.Containers[0].Name
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		id := cs.ContainerID
		if previous {
			id = ""
			if t := cs.LastTerminationState.Terminated; t != nil {
				id = t.ContainerID
			}
		}
		if id == "" {
			what := "has not started"
			if previous {
				what = "has no previous run"
			}
			return "", fmt.Errorf("container %s of pod %s %s: %w", container, pod.Key(), what, api.ErrNotFound)
		}
		_, bare, _ := strings.Cut(id, "://")
		return bare, nil
	}
	return "", fmt.Errorf("pod %s has no container %q: %w", pod.Key(), container, api.ErrNotFound)
}

// Logs writes the log of one container of pod to w, like kubectl logs.
func Logs(ctx context.Context, rt runtime.Runtime, pod *api.Pod, container string, previous bool, opts runtime.LogOptions, w io.Writer) error {
	id, err := containerIDOf(pod, container, previous)
	if err != nil {
		return err
	}
	return rt.ContainerLogs(ctx, id, opts, w)
}

// Exec runs cmd in a running container of pod and returns its exit code.
func Exec(ctx context.Context, rt runtime.Runtime, pod *api.Pod, container string, cmd []string, opts runtime.ExecOptions) (int, error) {
	if len(cmd) == 0 {
		return 0, fmt.Errorf("exec in pod %s: no command given: %w", pod.Key(), api.ErrInvalid)
	}
	id, err := containerIDOf(pod, container, false)
	if err != nil {
		return 0, err
	}
	return rt.Exec(ctx, id, cmd, opts)
}

// ImportImage loads an image archive into rt, when the runtime can.
func ImportImage(ctx context.Context, rt runtime.Runtime, r io.Reader) ([]runtime.Image, error) {
	imp, ok := rt.(runtime.ImageImporter)
	if !ok {
		return nil, fmt.Errorf("the node's runtime cannot import image archives: %w", api.ErrFailedPrecondition)
	}
	return imp.ImportImage(ctx, r)
}
