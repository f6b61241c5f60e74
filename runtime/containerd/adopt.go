package containerd

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/pkg/netns"
	"github.com/moby/sys/signal"
	"go.uber.org/zap"
)

// reconcile brings the Runtime up to date with containerd after each
// (re)subscription to its events, so nothing that happened while no Runtime
// listened is lost and nothing running is restarted:
//
//   - a container whose task stopped without a recorded exit has its exit
//     recorded and reported now;
//   - a recorded exit whose task is still there has the task deleted;
//   - a running container whose output this process does not copy yet has
//     its FIFOs reopened (adoption after a restart of Baton);
//   - a running container without a start time gets one;
//   - network namespace mounts that no sandbox refers to are removed.
func (r *Runtime) reconcile(ctx context.Context) error {
	recs, err := r.listContainerRecords(ctx, "")
	if err != nil {
		return err
	}
	ts, err := r.listTasks(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		t := ts[rec.id]
		switch {
		case t == nil:
		case !rec.finishedAt.IsZero():
			id := rec.id
			r.goAsync(func() {
				cctx, cancel := r.background(time.Minute)
				defer cancel()
				_, _ = r.client.TaskService().Delete(cctx, &tasks.DeleteTaskRequest{ContainerID: id})
			})
		case t.Status == task.Status_STOPPED:
			id, code, at := rec.id, int32(t.ExitStatus), t.ExitedAt.AsTime()
			r.goAsync(func() { r.onExit(id, code, at) })
		case t.Status == task.Status_RUNNING || t.Status == task.Status_PAUSED || t.Status == task.Status_CREATED:
			if l := r.activeLog(rec.id); l == nil || l.ended() {
				if _, err := r.startLog(rec, t.Stdout, t.Stderr); err != nil {
					r.log.Warn("resume copying a container's output", zap.String("container", rec.id), zap.Error(err))
				}
			}
			if rec.startedAt.IsZero() && t.Status != task.Status_CREATED {
				if err := r.updateLabels(ctx, rec.id, map[string]string{labelStartedAt: timeLabel(r.clock.Now())}); err != nil {
					return err
				}
			}
		}
	}
	return r.collectNetNS(ctx)
}

// collectNetNS removes the network namespaces in the state dir that no
// sandbox refers to: left by a Runtime that died while making a sandbox.
func (r *Runtime) collectNetNS(ctx context.Context) error {
	r.netnsMu.Lock()
	defer r.netnsMu.Unlock()
	entries, err := os.ReadDir(r.opts.netnsDir())
	if err != nil || len(entries) == 0 {
		return nil
	}
	sbs, err := r.listSandboxes(ctx, "")
	if err != nil {
		return err
	}
	used := make(map[string]bool, len(sbs))
	for _, sb := range sbs {
		used[sb.netns] = true
	}
	for _, e := range entries {
		path := filepath.Join(r.opts.netnsDir(), e.Name())
		if used[path] {
			continue
		}
		if err := netns.LoadNetNS(path).Remove(); err != nil {
			r.log.Warn("remove an orphaned network namespace", zap.String("path", path), zap.Error(err))
		}
	}
	return nil
}

// signalNumber parses a stop signal such as "SIGTERM", "TERM" or "15";
// empty or unparsable means SIGTERM.
func signalNumber(s string) syscall.Signal {
	if s == "" {
		return syscall.SIGTERM
	}
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return syscall.SIGTERM
	}
	return sig
}
