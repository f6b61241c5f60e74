package containerd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/leases"
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
	unlock := r.locks.lock(sandboxID + "/" + cfg.Name)
	defer unlock()
	// The sandbox, the sandbox's containers and the image, asked for at
	// once: each is a round trip to containerd on the path of every start.
	var (
		sb       sandboxRecord
		existing []containerRecord
		img      client.Image
		sbErr    error
		listErr  error
		imgErr   error
		wg       sync.WaitGroup
	)
	wg.Go(func() { sb, sbErr = r.getSandbox(ctx, sandboxID) })
	wg.Go(func() { existing, listErr = r.listContainerRecords(ctx, sandboxID) })
	wg.Go(func() { img, imgErr = r.getImage(ctx, cfg.Image) })
	wg.Wait()
	if sbErr != nil {
		return runtime.Container{}, fmt.Errorf("%w (run the sandbox first)", sbErr)
	}
	if !r.sandboxReady(sb) {
		return runtime.Container{}, errorf(runtime.ErrFailedPrecondition, "create container %q: sandbox %s is not ready; run a new sandbox", cfg.Name, sandboxID)
	}
	if listErr != nil {
		return runtime.Container{}, listErr
	}
	for _, c := range existing {
		if c.config.Name == cfg.Name && c.config.Attempt == cfg.Attempt {
			return runtime.Container{}, errorf(runtime.ErrAlreadyExists, "create container %q attempt %d in sandbox %s: container %s has them; remove it or create the next attempt",
				cfg.Name, cfg.Attempt, sandboxID, c.id)
		}
	}
	if imgErr != nil {
		return runtime.Container{}, fmt.Errorf("%w (pull or import it first; see runtime.EnsureImage)", imgErr)
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
	cached := cachedImage{Image: img, info: info}
	opts := []client.NewContainerOpts{
		client.WithImage(cached),
		client.WithSnapshotter(r.opts.snapshotter),
		client.WithNewSnapshot(rec.id, cached),
		// After the snapshot: the spec reads the image's /etc/passwd.
		client.WithNewSpec(r.specOpts(rec.id, sb, cfg, cached)...),
		client.WithContainerLabels(rec.labels),
		client.WithContainerExtension(extContainerConfig, storedConfig(cfg)),
		client.WithRuntime(r.opts.runtime, nil),
	}
	c, err := r.newContainer(ctx, rec.id, opts)
	if errdefs.IsNotFound(err) {
		// The image is not unpacked into the snapshotter (it was pulled
		// or imported by someone else), or the creation lease is gone:
		// unpack and retry, under a new lease.
		if uerr := img.Unpack(ctx, r.opts.snapshotter); uerr != nil {
			return runtime.Container{}, wrapErr(uerr, "create container %q: unpack image %q", cfg.Name, cfg.Image)
		}
		c, err = r.newContainer(ctx, rec.id, opts)
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

// newContainer makes container id under the Runtime's creation lease (see
// withLease), which it gives up if that fails.
func (r *Runtime) newContainer(ctx context.Context, id string, opts []client.NewContainerOpts) (client.Container, error) {
	lctx, err := r.withLease(ctx)
	if err != nil {
		return nil, err
	}
	c, err := r.client.NewContainer(lctx, id, opts...)
	if err != nil {
		lease, _ := leases.FromContext(lctx)
		r.forgetLease(lease)
	}
	return c, err
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
	// The record and the task, asked for at once.
	var (
		c          containers.Container
		t          *task.Process
		cErr, tErr error
		wg         sync.WaitGroup
	)
	wg.Go(func() { c, cErr = r.client.ContainerService().Get(ctx, id) })
	wg.Go(func() { t, tErr = r.getTask(ctx, id) })
	wg.Wait()
	if cErr != nil {
		return wrapErr(cErr, "container %s", id)
	}
	rec, err := decodeContainer(c)
	if err != nil {
		return err
	}
	if tErr != nil {
		return tErr
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

// newTask makes and starts the task of rec, whose record is c, its output
// going to its log. It asks containerd for the snapshot's mounts and then
// for the task, as the client's Container.NewTask does, but without
// reading the container's record three more times on the way. (NewTask
// also labels the mounts with the spec's SELinux mount label; Baton's
// specs have none.)
func (r *Runtime) newTask(ctx context.Context, rec containerRecord, c containers.Container) error {
	req := &tasks.CreateTaskRequest{ContainerID: rec.id}
	if c.SnapshotKey != "" {
		mounts, err := r.client.SnapshotService(c.Snapshotter).Mounts(ctx, c.SnapshotKey)
		if err != nil {
			return err
		}
		for _, m := range mounts {
			req.Rootfs = append(req.Rootfs, &types.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
		}
	}
	tio, err := r.taskIOCreator(rec)(rec.id)
	if err != nil {
		return err
	}
	req.Stdout, req.Stderr = tio.Config().Stdout, tio.Config().Stderr
	if _, err = r.client.TaskService().Create(ctx, req); err == nil {
		_, err = r.client.TaskService().Start(ctx, &tasks.StartRequest{ContainerID: rec.id})
	}
	if err != nil {
		tio.Cancel()
		_ = tio.Close()
		return native(err)
	}
	return nil
}
