package containerd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"go.uber.org/zap"

	"github.com/batonhq/baton/runtime"
)

// Exit codes the Runtime records itself, as a shell reports them.
const (
	exitStartFailed = 128 // the task could not be made or started
	exitVanished    = 255 // the task is gone without a recorded exit
)

// maxMessage bounds the messages kept in labels (containerd allows 4 KiB
// per label).
const maxMessage = 1024

// CreateContainer creates a Created container in the sandbox from config:
// a containerd container with its own snapshot of the image and an OCI spec
// (see the package doc for what the spec holds). It reports
// ContainerCreated. It fails with an error matching runtime.ErrNotFound if
// the sandbox or the image is missing, runtime.ErrFailedPrecondition if the
// sandbox is not ready, and runtime.ErrAlreadyExists if the sandbox has a
// container of the same name and attempt; and without a class if a mount's
// host path is missing or a path is relative.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, config runtime.ContainerConfig) (runtime.Container, error) {
	ctx, err := r.enter(ctx)
	if err != nil {
		return runtime.Container{}, err
	}
	cfg := copyContainerConfig(config)
	if err := checkMounts(cfg); err != nil {
		return runtime.Container{}, fmt.Errorf("containerd runtime: create container %q: %w", cfg.Name, err)
	}
	sb, err := r.getSandbox(ctx, sandboxID)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("%w (run the sandbox first)", err)
	}
	if !r.sandboxReady(sb) {
		return runtime.Container{}, errorf(runtime.ErrFailedPrecondition, "create container %q: sandbox %s is not ready; run a new sandbox", cfg.Name, sandboxID)
	}
	unlock := r.locks.lock(sandboxID + "/" + cfg.Name)
	defer unlock()
	existing, err := r.listContainerRecords(ctx, sandboxID)
	if err != nil {
		return runtime.Container{}, err
	}
	for _, c := range existing {
		if c.config.Name == cfg.Name && c.config.Attempt == cfg.Attempt {
			return runtime.Container{}, errorf(runtime.ErrAlreadyExists, "create container %q attempt %d in sandbox %s: container %s has them; remove it or create the next attempt",
				cfg.Name, cfg.Attempt, sandboxID, c.id)
		}
	}
	img, err := r.getImage(ctx, cfg.Image)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("%w (pull or import it first; see runtime.EnsureImage)", err)
	}
	info, err := r.imageInfo(ctx, img)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("create container %q: %w", cfg.Name, err)
	}
	if len(cfg.Command) == 0 && len(info.config.Entrypoint) == 0 && len(info.config.Cmd) == 0 {
		return runtime.Container{}, fmt.Errorf("containerd runtime: create container %q: image %q has no entrypoint or cmd; set the container's command", cfg.Name, cfg.Image)
	}

	rec := containerRecord{
		id:         newID(),
		sandboxID:  sandboxID,
		config:     cfg,
		imageID:    info.id,
		stopSignal: info.config.StopSignal,
	}
	own := map[string]string{
		labelKind:    kindContainer,
		labelSandbox: sandboxID,
		labelName:    cfg.Name,
		labelAttempt: strconv.FormatUint(uint64(cfg.Attempt), 10),
		labelImageID: rec.imageID,
	}
	if rec.stopSignal != "" {
		own[labelStopSignal] = rec.stopSignal
	}
	rec.labels = containerLabels(info.config.Labels, cfg.Labels, own)
	opts := []client.NewContainerOpts{
		client.WithImage(img),
		client.WithSnapshotter(r.opts.snapshotter),
		client.WithNewSnapshot(rec.id, img),
		// After the snapshot: the spec reads the image's /etc/passwd.
		client.WithNewSpec(r.specOpts(rec.id, sb, cfg, img)...),
		client.WithContainerLabels(rec.labels),
		client.WithContainerExtension(extContainerConfig, storedConfig(cfg)),
		client.WithRuntime(r.opts.runtime, nil),
	}
	c, err := r.client.NewContainer(ctx, rec.id, opts...)
	if errdefs.IsNotFound(err) {
		// The image is not unpacked into the snapshotter (it was
		// pulled or imported by someone else): unpack and retry.
		if uerr := img.Unpack(ctx, r.opts.snapshotter); uerr != nil {
			return runtime.Container{}, wrapErr(uerr, "create container %q: unpack image %q", cfg.Name, cfg.Image)
		}
		c, err = r.client.NewContainer(ctx, rec.id, opts...)
	}
	if err != nil {
		return runtime.Container{}, wrapErr(err, "create container %q", cfg.Name)
	}
	made, err := c.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return runtime.Container{}, wrapErr(err, "create container %q", cfg.Name)
	}
	rec.createdAt = made.CreatedAt
	r.publish(rec, runtime.ContainerCreatedEvent, r.clock.Now())
	out := r.describe(rec, nil)
	out.Config = copyContainerConfig(cfg)
	return out, nil
}

// StartContainer starts a Created container's task, its output copied to
// its log, and reports ContainerStarted. A task that cannot be made or
// started (no such executable, say) leaves the container Exited with code
// 128 and the error as its message, reported as ContainerExited, and the
// error is returned. It fails with an error matching runtime.ErrNotFound for
// an unknown container and runtime.ErrFailedPrecondition for one that is
// not Created or whose sandbox is not ready.
func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx, err := r.enter(ctx)
	if err != nil {
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	rec, c, err := r.loadContainer(ctx, id)
	if err != nil {
		return err
	}
	t, err := r.getTask(ctx, id)
	if err != nil {
		return err
	}
	if st := r.describe(rec, t).State; st != runtime.ContainerCreated {
		return errorf(runtime.ErrFailedPrecondition, "start container %s: it is %s, not Created; create a new container to run again", id, st)
	}
	sb, err := r.getSandbox(ctx, rec.sandboxID)
	if err != nil {
		return err
	}
	if !r.sandboxReady(sb) {
		return errorf(runtime.ErrFailedPrecondition, "start container %s: its sandbox %s is not ready", id, sb.id)
	}

	startedAt := r.clock.Now()
	if t != nil {
		// Made by a Runtime that stopped before starting it.
		_, err = r.client.TaskService().Start(ctx, &tasks.StartRequest{ContainerID: id})
	} else {
		err = r.newTask(ctx, rec, c)
	}
	if err != nil {
		if errdefs.IsUnavailable(native(err)) || ctx.Err() != nil {
			// Not the container's fault: leave it Created for a retry.
			return wrapErr(err, "start container %s", id)
		}
		cctx, cancel := r.background(time.Minute)
		defer cancel()
		_, _ = r.client.TaskService().Delete(cctx, &tasks.DeleteTaskRequest{ContainerID: id})
		msg := fmt.Sprintf("start failed: %v", err)
		if ferr := r.finishLocked(cctx, rec, exitStartFailed, r.clock.Now(), msg); ferr != nil {
			return errors.Join(wrapErr(err, "start container %s", id), ferr)
		}
		return wrapErr(err, "start container %s", id)
	}
	// Store the start time in the background: the verb is on the path of
	// every Pod start. describe reads it from r.started until the
	// container is removed (a status read may race the store). Should
	// Baton die first, the next reconciliation stores one.
	r.mu.Lock()
	r.started[id] = startedAt
	r.mu.Unlock()
	r.goAsync(func() {
		// Not cancelled by Close, which waits for it.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
		defer cancel()
		if err := r.updateLabels(sctx, id, map[string]string{labelStartedAt: timeLabel(startedAt)}); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			r.log.Warn("record a container's start", zap.String("container", id), zap.Error(err))
		}
	})
	rec.startedAt = startedAt
	r.publish(rec, runtime.ContainerStartedEvent, startedAt)
	return nil
}

// newTask makes and starts the task of rec, whose handle is c.
func (r *Runtime) newTask(ctx context.Context, rec containerRecord, c client.Container) error {
	t, err := c.NewTask(ctx, r.taskIOCreator(rec))
	if err != nil {
		return err
	}
	return t.Start(ctx)
}
