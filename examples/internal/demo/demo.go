// Package demo holds what the example programs share to tell their
// story: numbered steps, a printed watch of a namespace's Pods that the
// program can wait on, and the read-change-write of a Deployment.
package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton"
)

var started = time.Now()

// Step prints a step's heading with the time since the program started.
func Step(format string, args ...any) {
	fmt.Printf("\n[%5.0fms] == %s\n", float64(time.Since(started).Microseconds())/1000, fmt.Sprintf(format, args...))
}

// Column is a column the Pod table adds after NAME, READY, STATUS,
// RESTARTS and IP.
type Column struct {
	Header string
	Value  func(*baton.Pod) string
}

// Watcher prints every change to a namespace's Pods, in order, and lets
// the program wait for a condition on them.
type Watcher struct {
	changes  <-chan baton.WatchEvent[*baton.Pod]
	describe func(*baton.Pod) string
	column   Column
	pods     map[string]*baton.Pod // the Pods as the watch has shown them
	last     map[string]string     // the last line printed per Pod
}

// WatchPods starts watching the Pods of namespace. describe gives the line
// printed when a Pod changes (a line equal to the last is not printed);
// column is the table's last column.
func WatchPods(ctx context.Context, o *baton.Orchestrator, namespace string, describe func(*baton.Pod) string, column Column) (*Watcher, error) {
	changes, err := o.Pods(namespace).Watch(ctx)
	if err != nil {
		return nil, err
	}
	return &Watcher{changes: changes, describe: describe, column: column, pods: map[string]*baton.Pod{}, last: map[string]string{}}, nil
}

// WaitReady waits until exactly n Pods exist and all are ready.
func (w *Watcher) WaitReady(ctx context.Context, n int) error {
	return w.WaitFor(ctx, fmt.Sprintf("%d ready pods", n), func(pods []*baton.Pod) bool { return AllReady(pods, n) })
}

// AllReady reports whether there are exactly n Pods, all ready and none
// terminating.
func AllReady(pods []*baton.Pod, n int) bool {
	if len(pods) != n {
		return false
	}
	for _, p := range pods {
		if !p.IsReady() || p.DeletionTimestamp != nil {
			return false
		}
	}
	return true
}

// WaitFor prints Pod changes until cond holds for the namespace's Pods
// (sorted by name), then prints them as a table.
func (w *Watcher) WaitFor(ctx context.Context, what string, cond func([]*baton.Pod) bool) error {
	for {
		pods := make([]*baton.Pod, 0, len(w.pods))
		for _, p := range w.pods {
			pods = append(pods, p)
		}
		slices.SortFunc(pods, func(a, b *baton.Pod) int { return strings.Compare(a.Name, b.Name) })
		if cond(pods) {
			w.printTable(pods)
			return nil
		}
		select {
		case ev := <-w.changes:
			if ev.Type == baton.Deleted {
				delete(w.pods, ev.Object.Name)
			} else {
				w.pods[ev.Object.Name] = ev.Object
			}
			w.print(ev)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// print shows a line when what describe says of a Pod changes.
func (w *Watcher) print(ev baton.WatchEvent[*baton.Pod]) {
	p := ev.Object
	line := w.describe(p)
	if ev.Type == baton.Deleted {
		line = "deleted"
	}
	if w.last[p.Name] == line {
		return
	}
	w.last[p.Name] = line
	fmt.Printf("  %-24s %s\n", p.Name, line)
}

func (w *Watcher) printTable(pods []*baton.Pod) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  NAME\tREADY\tSTATUS\tRESTARTS\tIP\t%s\n", w.column.Header)
	for _, p := range pods {
		ready, restarts := Readiness(p)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", p.Name, ready, p.Status.Phase, restarts, p.Status.PodIP, w.column.Value(p))
	}
	tw.Flush()
}

// Readiness returns "1/1" or "0/1", and the restart count of a Pod's
// first container.
func Readiness(p *baton.Pod) (ready string, restarts int32) {
	ready = "0/1"
	if p.IsReady() {
		ready = "1/1"
	}
	if len(p.Status.ContainerStatuses) > 0 {
		restarts = p.Status.ContainerStatuses[0].RestartCount
	}
	return ready, restarts
}

// UpdateDeployment applies change to Deployment namespace/name: read,
// change, write, and on a conflict (the controllers write the same object)
// read again.
func UpdateDeployment(ctx context.Context, o *baton.Orchestrator, namespace, name string, change func(*baton.Deployment)) error {
	for {
		d, err := o.Deployments(namespace).Get(ctx, name)
		if err != nil {
			return err
		}
		change(d)
		_, err = o.Deployments(namespace).Update(ctx, d)
		if !errors.Is(err, baton.ErrConflict) {
			return err
		}
	}
}

// RolloutStatus prints a Deployment's rollout progress until it is
// complete, like "kubectl rollout status".
func RolloutStatus(ctx context.Context, o *baton.Orchestrator, namespace, name string) error {
	last := ""
	return o.Deployments(namespace).RolloutStatus(ctx, name, func(p baton.RolloutProgress) {
		if p.Message != last {
			fmt.Println("  rollout:", p.Message)
			last = p.Message
		}
	})
}
