// Package nodeagent is Baton's kubelet: one agent per Node, and the only
// caller of the runtime. An agent starts the containers of the Pods bound
// to its node, restarts them per restartPolicy with crash-loop backoff,
// reports their status, stops and removes the containers of deleted Pods
// within their grace period, and heartbeats its Node.
//
// An agent trusts the runtime, not its memory: at start it lists the
// runtime's sandboxes and containers and adopts those labelled as Baton's
// (see runtime.LabelPodUID), so a restarted agent never starts duplicates;
// containers of Pods that no longer exist are stopped. Exits arrive as
// runtime events, and a periodic relist repairs any event that was missed.
package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
)

// LabelPodGracePeriod records a Pod's termination grace period (seconds)
// on its containers, so that an agent that finds them without their Pod
// still stops them gently.
const LabelPodGracePeriod = "io.baton.pod.termination-grace-period"

// defaultGrace is used when a container carries no grace period.
const defaultGrace = 30 * time.Second

// Agent runs the Pods of one Node.
type Agent struct {
	node   string
	hostIP string
	rt     runtime.Runtime
	store  *store.Store
	clock  clock.Clock
	log    *zap.Logger
	events events.Source
	writer *statusWriter
	cfg    Config

	manager *Manager
	// volumeHostDir, when set, holds the Pods' volumes in place of the
	// manager's state directory: see stateDir.
	volumeHostDir string
	ctrl          *controller.Controller
	cache         *cache
	backoff       *crashBackoff
	prober        *prober

	mu sync.Mutex // guards the fields below
	// runtimeName prefixes container IDs in status ("fake://abc").
	runtimeName string
	// killing holds the UIDs of Pods being torn down.
	killing map[string]bool
	// statuses holds the last status submitted per Pod UID, which may be
	// newer than the store's until the writer flushes.
	statuses map[string]*api.PodStatus
	// startFailures holds the last failed start per container and spec
	// hash (crashBackoffKey plus "/start").
	startFailures map[string]startFailure
	// volumeDirs holds, per Pod UID, the volume directories of the last
	// successful volume setup, which containers keep using while a
	// ConfigMap or Secret they came from is missing.
	volumeDirs map[string]map[string]string
	// cpuSamples holds the last CPU reading per container ID, for Pods
	// whose usage was asked for.
	cpuSamples map[string]cpuSample
	// runCtx is the context of Run, for teardown goroutines.
	runCtx context.Context
	// runtimeDown is set while the runtime does not answer; Pods are not
	// synced meanwhile, as kubelet skips them while its runtime is down.
	runtimeDown bool
	// teardowns tracks teardown goroutines.
	teardowns sync.WaitGroup
}

type startFailure struct {
	at      time.Time
	waiting *api.ContainerStateWaiting
}

var _ controller.Reconciler = (*Agent)(nil)

// Reconcile makes the runtime match the Pod at req.
func (a *Agent) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	a.mu.Lock()
	down := a.runtimeDown
	a.mu.Unlock()
	if down {
		// The heartbeat that finds the runtime back looks at every Pod.
		return controller.Result{}, nil
	}
	var pod *api.Pod
	a.store.View(func(tx store.ReadTx) {
		p, err := store.Get[*api.Pod](tx, req.Namespace, req.Name)
		if err == nil && p.Spec.NodeName == a.node {
			pod = p
		}
	})
	var rec *podRuntime
	for _, r := range a.cache.get(req) {
		if pod != nil && r.uid == pod.UID {
			rec = r
			continue
		}
		// Left over from a Pod that is gone or was replaced.
		a.teardown(r, r.grace, nil)
	}
	if pod == nil {
		return controller.Result{}, nil
	}
	if rec == nil {
		rec = &podRuntime{key: req, uid: pod.UID}
	}
	if pod.DeletionTimestamp != nil {
		grace := defaultGrace
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		a.teardown(rec, grace, pod)
		return controller.Result{}, nil
	}
	if a.isKilling(pod.UID) {
		return controller.Result{}, nil
	}
	return a.syncPod(ctx, pod, rec)
}

func (a *Agent) getRuntimeName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runtimeName
}

func (a *Agent) isKilling(uid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.killing[uid]
}

// lastStatus returns the newest status known for pod.
func (a *Agent) lastStatus(pod *api.Pod) *api.PodStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.statuses[pod.UID]; ok {
		return st
	}
	return &pod.Status
}

// syncPod starts what should run, restarts what exited, and reports status.
func (a *Agent) syncPod(ctx context.Context, pod *api.Pod, rec *podRuntime) (controller.Result, error) {
	key := controller.RequestFor(pod)
	prev := a.lastStatus(pod)
	now := a.clock.Now()
	sb, ok := rec.readySandbox()
	if prev.Phase == api.PodSucceeded || prev.Phase == api.PodFailed {
		// Finished for good: release the network, keep the containers for
		// their logs.
		if ok {
			return controller.Result{}, a.rt.StopPodSandbox(ctx, sb.id)
		}
		return controller.Result{}, nil
	}
	if !ok {
		created, err := a.rt.RunPodSandbox(ctx, a.sandboxConfig(pod, rec.nextSandboxAttempt()))
		if err != nil {
			a.events.Warning(pod, "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
			return controller.Result{}, fmt.Errorf("create sandbox for pod %s: %w", key, err)
		}
		sb = sandboxRecordOf(created)
		rec.setSandbox(sb)
		a.cache.putSandbox(key, pod.UID, sb)
	}

	waiting := map[string]*api.ContainerStateWaiting{}
	var requeue time.Duration
	wake := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}
	dirs, stale, verr := a.volumes(pod)
	if stale || verr != nil {
		wake(configRetry)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if verr != nil {
			// Nothing starts until the volumes can be made; a change of the
			// ConfigMap or Secret brings the Pod back, and so does time.
			waiting[c.Name] = configWaiting(verr)
			continue
		}
		w, after := a.syncContainer(ctx, pod, rec, sb, c, dirs, now)
		if w != nil {
			waiting[c.Name] = w
		}
		wake(after)
	}

	status := buildStatus(statusInput{
		pod: pod, prev: prev, sandbox: &sb, rt: rec, waiting: waiting,
		hostIP: a.hostIP, runtimeName: a.getRuntimeName(), now: now,
		probed: a.probed,
	})
	if status.Phase == api.PodSucceeded || status.Phase == api.PodFailed {
		if err := a.rt.StopPodSandbox(ctx, sb.id); err != nil {
			return controller.Result{}, fmt.Errorf("stop sandbox of finished pod %s: %w", key, err)
		}
	}
	// Arm the next look before publishing the status, so that whoever sees
	// a container waiting in back-off can count on its restart being due.
	if requeue > 0 {
		a.ctrl.EnqueueAfter(key, requeue)
	}
	if !reflect.DeepEqual(prev, status) {
		a.mu.Lock()
		a.statuses[pod.UID] = status
		a.mu.Unlock()
		uid := pod.UID
		a.writer.setStatus(key, uid, status, func() {
			// The store has it now; stop keeping a second copy.
			a.mu.Lock()
			if a.statuses[uid] == status {
				delete(a.statuses, uid)
			}
			a.mu.Unlock()
		})
	}
	return controller.Result{}, nil
}

// syncContainer brings one container of pod to where it should be. It
// returns why the container is waiting, if it is, and when to look again.
func (a *Agent) syncContainer(ctx context.Context, pod *api.Pod, rec *podRuntime, sb sandboxRecord, c *api.Container, dirs map[string]string, now time.Time) (*api.ContainerStateWaiting, time.Duration) {
	key := controller.RequestFor(pod)
	hash := ContainerHash(c)
	attempts := rec.attempts(sb.id, c.Name)
	var next uint32
	if len(attempts) > 0 {
		latest := attempts[0]
		next = latest.attempt + 1
		switch latest.state {
		case runtime.ContainerRunning:
			probes := probesOf(c)
			failed := ""
			switch {
			case a.prober.result(latest.id, liveness, probes[liveness] != nil) == failure:
				failed = "liveness"
			case a.prober.result(latest.id, startup, probes[startup] != nil) == failure:
				failed = "startup"
			}
			if failed != "" {
				// Stopped, it restarts per the restart policy, back-off
				// included.
				a.events.Normal(pod, "Killing", "Container %s failed %s probe, will be restarted", c.Name, failed)
				if err := a.stopContainer(ctx, pod, c, latest.id, podGrace(pod)); err != nil {
					return &api.ContainerStateWaiting{Reason: reasonContainerCreating, Message: err.Error()}, 0
				}
				if stopped, err := a.rt.ContainerStatus(ctx, latest.id); err == nil {
					rec.setContainer(containerRecordOf(stopped))
					a.cache.putContainer(key, pod.UID, containerRecordOf(stopped), podGrace(pod))
				}
				a.ctrl.Enqueue(key)
				return nil, 0
			}
			if latest.hash == hash {
				a.prober.ensure(a.runCtx, pod, c, latest)
				return nil, 0
			}
			a.events.Normal(pod, "Killing", "Container %s definition changed, will be restarted", c.Name)
			if err := a.stopContainer(ctx, pod, c, latest.id, podGrace(pod)); err != nil {
				return &api.ContainerStateWaiting{Reason: reasonContainerCreating, Message: err.Error()}, 0
			}
			if err := a.rt.RemoveContainer(ctx, latest.id); err != nil {
				return &api.ContainerStateWaiting{Reason: reasonContainerCreating, Message: err.Error()}, 0
			}
			a.backoff.forget(pod.UID + "/" + c.Name + "/")
			a.cache.removeContainer(key, pod.UID, latest.id)
			rec.removeContainer(latest.id)
		case runtime.ContainerExited:
			a.prober.forget(latest.id)
			if !shouldRestart(pod.Spec.RestartPolicy, latest.exitCode) {
				return nil, 0
			}
			bkey := crashBackoffKey(pod.UID, c.Name, hash)
			if wait := a.backoff.wait(bkey, latest.finishedAt.time(), now); wait > 0 {
				a.events.Warning(pod, "BackOff", "Back-off restarting failed container %s", c.Name)
				return &api.ContainerStateWaiting{
					Reason:  reasonCrashLoopBackOff,
					Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", a.backoff.current(bkey), c.Name, pod.Name),
				}, wait
			}
			a.backoff.next(bkey, now)
		default:
			// Created but never started (the agent stopped midway):
			// discard it and start afresh.
			if err := a.rt.RemoveContainer(ctx, latest.id); err != nil {
				return &api.ContainerStateWaiting{Reason: reasonContainerCreating, Message: err.Error()}, 0
			}
			a.cache.removeContainer(key, pod.UID, latest.id)
			rec.removeContainer(latest.id)
			next = latest.attempt
		}
	}

	skey := crashBackoffKey(pod.UID, c.Name, hash) + "/start"
	a.mu.Lock()
	failure, failed := a.startFailures[skey]
	a.mu.Unlock()
	if failed {
		if wait := a.backoff.wait(skey, failure.at, now); wait > 0 {
			w := *failure.waiting
			if w.Reason == runtime.ReasonErrImagePull {
				w.Reason = "ImagePullBackOff"
			}
			return &w, wait
		}
	}

	env, err := a.resolveEnv(pod, c)
	if err != nil {
		return configWaiting(err), configRetry
	}
	mnts, err := mounts(pod, c, dirs)
	if err != nil {
		return configWaiting(err), configRetry
	}
	if err := a.ensureImage(ctx, pod, c); err != nil {
		return a.startFailed(pod, c, skey, now, err)
	}
	cfg := a.containerConfig(pod, c, next, hash)
	cfg.Env, cfg.Mounts = env, mnts
	started, err := runtime.StartContainer(ctx, a.rt, sb.id, cfg, runtime.PullIfNotPresent)
	if err != nil {
		return a.startFailed(pod, c, skey, now, err)
	}
	if failed {
		a.backoff.forget(skey)
		a.mu.Lock()
		delete(a.startFailures, skey)
		a.mu.Unlock()
	}
	ctr := containerRecordOf(started)
	rec.setContainer(ctr)
	a.cache.putContainer(key, pod.UID, ctr, podGrace(pod))
	a.events.Normal(pod, "Created", "Created container %s", c.Name)
	a.events.Normal(pod, "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil && ctr.state == runtime.ContainerRunning {
		if err := a.runHook(ctx, pod, c, ctr.id, c.Lifecycle.PostStart, podGrace(pod)); err != nil {
			// As kubelet: a container whose postStart failed is killed
			// and restarted per the restart policy.
			a.events.Warning(pod, "FailedPostStartHook", "PostStartHook failed for container %s: %v", c.Name, err)
			if err := a.rt.StopContainer(ctx, ctr.id, 0); err == nil {
				if stopped, err := a.rt.ContainerStatus(ctx, ctr.id); err == nil {
					rec.setContainer(containerRecordOf(stopped))
					a.cache.putContainer(key, pod.UID, containerRecordOf(stopped), podGrace(pod))
				}
			}
			a.ctrl.Enqueue(key)
			return nil, 0
		}
	}
	if ctr.state == runtime.ContainerRunning {
		a.prober.ensure(a.runCtx, pod, c, ctr)
	}
	// Keep the run before this one, for lastState and logs; drop older.
	for _, old := range attempts[min(1, len(attempts)):] {
		if old.state != runtime.ContainerExited {
			continue
		}
		if err := a.rt.RemoveContainer(ctx, old.id); err == nil {
			a.cache.removeContainer(key, pod.UID, old.id)
			rec.removeContainer(old.id)
		}
	}
	return nil, 0
}

// configRetry is how soon a container held by a configuration error is
// looked at again, besides when the ConfigMap or Secret changes.
const configRetry = 10 * time.Second

// configWaiting turns an error in a container's configuration into its
// waiting state.
func configWaiting(err error) *api.ContainerStateWaiting {
	reason := reasonContainerCreating
	var ce *configError
	if errors.As(err, &ce) {
		reason = reasonConfigError
	}
	return &api.ContainerStateWaiting{Reason: reason, Message: err.Error()}
}

// probed reports whether a running container has started (its startup
// probe, if any, passed) and is ready (started, and its readiness probe, if
// any, passes).
func (a *Agent) probed(containerID string, c *api.Container) (started, ready bool) {
	started = a.prober.result(containerID, startup, c.StartupProbe != nil) == success
	ready = started && a.prober.result(containerID, readiness, c.ReadinessProbe != nil) == success
	return started, ready
}

// ensureImage makes a container's image present per its pull policy,
// recording Pulling and Pulled events as kubelet does.
func (a *Agent) ensureImage(ctx context.Context, pod *api.Pod, c *api.Container) error {
	if err := runtime.CheckImageRef(c.Image); err != nil {
		a.events.Warning(pod, "InspectFailed", "Failed to apply default image tag %q: %v", c.Image, err)
		return err
	}
	policy := pullPolicy(c)
	if policy != runtime.PullAlways {
		if _, err := a.rt.ImageStatus(ctx, c.Image); err == nil {
			a.events.Normal(pod, "Pulled", "Container image %q already present on machine", c.Image)
			return nil
		}
	}
	if policy != runtime.PullNever {
		a.events.Normal(pod, "Pulling", "Pulling image %q", c.Image)
	}
	start := a.clock.Now()
	if _, err := runtime.EnsureImage(ctx, a.rt, c.Image, policy); err != nil {
		a.events.Warning(pod, "Failed", "Failed to pull image %q: %v", c.Image, err)
		return err
	}
	a.events.Normal(pod, "Pulled", "Successfully pulled image %q in %s", c.Image, a.clock.Since(start))
	return nil
}

// startFailed records why a container could not start and when to try
// again, with back-off.
func (a *Agent) startFailed(pod *api.Pod, c *api.Container, skey string, now time.Time, err error) (*api.ContainerStateWaiting, time.Duration) {
	reason := runtime.ReasonRunContainerError
	var se *runtime.StartError
	if errors.As(err, &se) {
		reason = se.Reason
	}
	w := &api.ContainerStateWaiting{Reason: reason, Message: err.Error()}
	a.backoff.next(skey, now)
	a.mu.Lock()
	a.startFailures[skey] = startFailure{at: now, waiting: w}
	a.mu.Unlock()
	a.events.Warning(pod, "Failed", "Error: %s", reason)
	return w, a.backoff.current(skey)
}

func shouldRestart(policy api.RestartPolicy, exitCode int32) bool {
	switch policy {
	case api.RestartPolicyNever:
		return false
	case api.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

// teardown stops and removes everything of rec in the background, within
// grace. When pod is given, its object is removed from the store after.
func (a *Agent) teardown(rec *podRuntime, grace time.Duration, pod *api.Pod) {
	a.mu.Lock()
	if a.killing[rec.uid] {
		a.mu.Unlock()
		return
	}
	if len(rec.sandboxes) == 0 && len(rec.containers) == 0 {
		a.mu.Unlock()
		a.finishTeardown(rec, pod)
		return
	}
	a.killing[rec.uid] = true
	ctx := a.runCtx
	a.teardowns.Add(1)
	a.mu.Unlock()
	if pod != nil {
		a.events.Normal(pod, "Killing", "Stopping pod within %s", grace)
	}
	go func() {
		defer a.teardowns.Done()
		err := a.tearDownRuntime(ctx, rec, grace, pod)
		a.mu.Lock()
		delete(a.killing, rec.uid)
		a.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("could not stop pod; retrying", zap.Stringer("pod", rec.key), zap.Error(err))
				a.ctrl.EnqueueAfter(rec.key, time.Second)
			}
			return
		}
		a.finishTeardown(rec, pod)
	}()
}

func (a *Agent) tearDownRuntime(ctx context.Context, rec *podRuntime, grace time.Duration, pod *api.Pod) error {
	if pod != nil && pod.DeletionTimestamp != nil && a.cfg.ServiceTrafficStopped != nil {
		// The Pod left its Services' endpoints when it was marked deleted;
		// let the data plane see that before the servers stop.
		wctx, cancel := context.WithTimeout(ctx, MaxServiceTrafficWait)
		if err := a.cfg.ServiceTrafficStopped(wctx); err != nil && ctx.Err() == nil {
			a.log.Warn("the Service data plane did not catch up before the pod stopped", zap.Stringer("pod", rec.key), zap.Error(err))
		}
		cancel()
	}
	// preStop hooks and SIGTERM first, all containers at once; then the
	// sandboxes go, with whatever is left.
	if err := a.stopAll(ctx, pod, rec, grace); err != nil {
		return err
	}
	for _, sb := range rec.sandboxes {
		if err := runtime.TearDownSandbox(ctx, a.rt, sb.id, grace); err != nil {
			return err
		}
	}
	// Containers whose sandbox the agent never saw.
	for _, c := range rec.containers {
		if !rec.hasSandbox(c.sandboxID) {
			if err := runtime.KillContainer(ctx, a.rt, c.id, grace); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *Agent) finishTeardown(rec *podRuntime, pod *api.Pod) {
	if a.hasStateDir() {
		if err := a.removePodDir(rec.uid); err != nil {
			a.log.Warn("could not remove the pod's volumes", zap.Stringer("pod", rec.key), zap.Error(err))
		}
	}
	a.forgetSamples(rec)
	for _, c := range rec.containers {
		a.prober.forget(c.id)
	}
	a.cache.removePod(rec.key, rec.uid)
	a.backoff.forget(rec.uid + "/")
	a.mu.Lock()
	delete(a.statuses, rec.uid)
	delete(a.volumeDirs, rec.uid)
	for k := range a.startFailures {
		if len(k) > len(rec.uid) && k[:len(rec.uid)] == rec.uid {
			delete(a.startFailures, k)
		}
	}
	a.mu.Unlock()
	if pod != nil {
		a.writer.remove(rec.key, rec.uid)
	}
}

// volumes sets up pod's volumes and returns their directories by volume
// name. When that fails for a Pod whose volumes were set up before, as when
// a ConfigMap it mounts is deleted, the volumes keep their last content and
// its containers go on starting with it, as kubelet's do: the error is
// reported as a FailedMount event and stale is true, for the caller to
// retry. Otherwise the error is returned and nothing may start.
func (a *Agent) volumes(pod *api.Pod) (dirs map[string]string, stale bool, err error) {
	dirs, err = a.setupVolumes(pod)
	a.mu.Lock()
	last, setUp := a.volumeDirs[pod.UID]
	if err == nil && len(dirs) > 0 {
		a.volumeDirs[pod.UID] = dirs
	}
	a.mu.Unlock()
	if err == nil || !setUp {
		return dirs, false, err
	}
	a.events.Warning(pod, "FailedMount", "Could not update the Pod's volumes; they keep their last content: %v", err)
	return last, true, nil
}

func podGrace(pod *api.Pod) time.Duration {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return defaultGrace
}

func graceFromLabels(labels map[string]string) time.Duration {
	if s, err := strconv.ParseInt(labels[LabelPodGracePeriod], 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return defaultGrace
}

func (a *Agent) sandboxConfig(pod *api.Pod, attempt uint32) runtime.SandboxConfig {
	cfg := runtime.SandboxConfig{
		DNS:         a.podDNS(pod),
		Name:        pod.Name,
		Namespace:   pod.Namespace,
		UID:         pod.UID,
		Attempt:     attempt,
		Hostname:    pod.Name,
		HostNetwork: pod.Spec.HostNetwork,
		Labels: map[string]string{
			runtime.LabelPodNamespace: pod.Namespace,
			runtime.LabelPodName:      pod.Name,
			runtime.LabelPodUID:       pod.UID,
		},
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				cfg.PortMappings = append(cfg.PortMappings, runtime.PortMapping{
					Protocol: string(p.Protocol), ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIP: p.HostIP,
				})
			}
		}
	}
	return cfg
}

func (a *Agent) containerConfig(pod *api.Pod, c *api.Container, attempt uint32, hash string) runtime.ContainerConfig {
	cfg := runtime.ContainerConfig{
		Name:       c.Name,
		Attempt:    attempt,
		Image:      c.Image,
		Command:    c.Command,
		Args:       c.Args,
		WorkingDir: c.WorkingDir,
		Labels: map[string]string{
			runtime.LabelPodNamespace:  pod.Namespace,
			runtime.LabelPodName:       pod.Name,
			runtime.LabelPodUID:        pod.UID,
			runtime.LabelContainerName: c.Name,
			runtime.LabelContainerHash: hash,
			LabelPodGracePeriod:        strconv.FormatInt(int64(podGrace(pod)/time.Second), 10),
		},
	}
	if q, ok := c.Resources.Requests[api.ResourceCPU]; ok {
		cfg.Resources.CPURequestMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[api.ResourceCPU]; ok {
		cfg.Resources.CPULimitMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[api.ResourceMemory]; ok {
		cfg.Resources.MemoryLimitBytes = q.Value()
	}
	return cfg
}

func pullPolicy(c *api.Container) runtime.PullPolicy {
	switch c.ImagePullPolicy {
	case api.PullAlways:
		return runtime.PullAlways
	case api.PullNever:
		return runtime.PullNever
	}
	return runtime.PullIfNotPresent
}

// ContainerHash returns a hash of a container's spec; a running container
// whose hash differs from its spec's is replaced.
func ContainerHash(c *api.Container) string {
	data, err := json.Marshal(c)
	if err != nil {
		panic("nodeagent: a container spec must encode as JSON: " + err.Error())
	}
	h := fnv.New64a()
	h.Write(data)
	return strconv.FormatUint(h.Sum64(), 16)
}
