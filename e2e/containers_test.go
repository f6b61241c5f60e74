package e2e_test

// Issue 3: real containers, networking, images, exits and adoption, through
// the Orchestrator.

import (
	"bytes"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
)

// A busybox httpd Deployment answers HTTP on each Pod's IP, an address of
// the test's bridge network, with the page the Pod wrote.
func TestHTTPDDeploymentAnswersOnPodIPs(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if _, err := c.Deployments("default").Create(ctxFor(t), deploymentOf("web", 2, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, c.Orchestrator, "2 ready httpd pods", readyPods(2))
	subnet := netip.MustParsePrefix(c.env.Subnet)
	ips := map[string]bool{}
	for _, p := range pods {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || !subnet.Contains(ip) {
			t.Fatalf("pod %s has IP %q; want one in the test network %s", p.Name, p.Status.PodIP, subnet)
		}
		ips[p.Status.PodIP] = true
		if body := get(t, podURL(p)); body != "hello from "+p.Name+"\n" {
			t.Errorf("GET %s = %q; want the page of %s", podURL(p), body, p.Name)
		}
		if cs := p.Status.ContainerStatuses[0]; !strings.HasPrefix(cs.ContainerID, "containerd://") || cs.State.Running == nil || cs.ImageID == "" {
			t.Errorf("pod %s container status = %+v; want a running containerd container with an image ID", p.Name, cs)
		}
	}
	if len(ips) != 2 {
		t.Errorf("pod IPs %v; want one each", ips)
	}
}

// kill -9 of a container's process, from the host, is an exit the node
// agent sees: it restarts the container in the same Pod (same IP), the
// restart count goes to 1, lastState says how it ended, and it serves again.
func TestKill9RestartsTheContainer(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("victim", httpdContainer())); err != nil {
		t.Fatal(err)
	}
	before := waitPod(t, c.Orchestrator, "victim", "ready", (*baton.Pod).IsReady)
	get(t, podURL(before))
	firstID := containerID(before.Status.ContainerStatuses[0])

	kill9(t, c.rawClient(t), firstID)

	after := waitPod(t, c.Orchestrator, "victim", "restarted once and ready", func(p *baton.Pod) bool {
		return p.IsReady() && p.Status.ContainerStatuses[0].RestartCount == 1
	})
	cs := after.Status.ContainerStatuses[0]
	last := cs.LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || last.Reason != runtime.ReasonError || containerID(baton.ContainerStatus{ContainerID: last.ContainerID}) != firstID {
		t.Errorf("lastState.terminated = %+v; want exit 137 (SIGKILL), reason Error, of container %s", last, firstID)
	}
	if id := containerID(cs); id == firstID || cs.State.Running == nil {
		t.Errorf("after the kill the container is %s (%+v); want a new, running one", id, cs.State)
	}
	if after.Status.PodIP != before.Status.PodIP || after.UID != before.UID {
		t.Errorf("pod IP %s → %s, UID %s → %s; want the container restarted in the same Pod", before.Status.PodIP, after.Status.PodIP, before.UID, after.UID)
	}
	if body := get(t, podURL(after)); body != "hello from victim\n" {
		t.Errorf("GET after the restart = %q", body)
	}
}

// A new Orchestrator, restored from the snapshot of one that stopped and
// running over a new Runtime on the same containerd namespace, adopts the
// running containers: the same containers keep running (same IDs, PIDs and
// start times), restart counts are kept, nothing is started anew or
// duplicated, and the new agent supervises them (a kill is restarted).
func TestRestartedOrchestratorAdoptsRunningContainers(t *testing.T) {
	t.Parallel()
	env := containerdtest.Shared(t)
	ns := newNamespace()
	first := newClusterOn(t, env, ns, nil)
	raw := first.rawClient(t)
	if _, err := first.Deployments("default").Create(ctxFor(t), deploymentOf("web", 2, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	pods := waitPods(t, first.Orchestrator, "2 ready pods", readyPods(2))
	// One container restarts before the handover, so there is a restart
	// count to keep.
	kill9(t, raw, containerID(pods[0].Status.ContainerStatuses[0]))
	pods = waitPods(t, first.Orchestrator, "the killed container restarted", func(pods []*baton.Pod) bool {
		return readyPods(2)(pods) && pods[0].Status.ContainerStatuses[0].RestartCount == 1
	})

	type run struct {
		id      string
		pid     uint32
		started time.Time
	}
	runs := map[string]run{} // by Pod name
	for _, p := range pods {
		id := containerID(p.Status.ContainerStatuses[0])
		st, err := first.rt.ContainerStatus(ctxFor(t), id)
		if err != nil {
			t.Fatal(err)
		}
		runs[p.Name] = run{id: id, pid: taskPid(t, raw, id), started: st.StartedAt}
	}
	containersBefore, err := first.rt.ListContainers(ctxFor(t), runtime.ContainerFilter{})
	if err != nil {
		t.Fatal(err)
	}

	// Baton stops; its containers do not.
	first.stop()
	var snapshot bytes.Buffer
	if err := first.SaveSnapshot(&snapshot); err != nil {
		t.Fatalf("SaveSnapshot: %v", err)
	}
	if err := first.rt.Close(); err != nil {
		t.Fatalf("close the first runtime: %v", err)
	}

	handover := time.Now()
	second := newClusterOn(t, env, ns, &snapshot)
	waitNode(t, second.Orchestrator, "a heartbeat of the new agent", func(n *baton.Node) bool {
		c := n.Status.Condition("Ready")
		return n.IsReady() && c.LastHeartbeatTime.After(handover.Add(-time.Second))
	})
	// The new agent supervises the adopted containers: a kill is seen and
	// restarted, counting on from the kept restart count.
	victim := pods[0].Name
	kill9(t, raw, runs[victim].id)
	pods = waitPods(t, second.Orchestrator, "the adopted container killed and restarted", func(pods []*baton.Pod) bool {
		if !readyPods(2)(pods) {
			return false
		}
		for _, p := range pods {
			if p.Name == victim && p.Status.ContainerStatuses[0].RestartCount == 2 {
				return true
			}
		}
		return false
	})
	for _, p := range pods {
		if _, ok := runs[p.Name]; !ok {
			t.Errorf("pod %s is new; want the same Pods", p.Name)
		}
		if p.Name == victim {
			continue
		}
		cs := p.Status.ContainerStatuses[0]
		was := runs[p.Name]
		st, err := second.rt.ContainerStatus(ctxFor(t), was.id)
		if err != nil || st.State != runtime.ContainerRunning || !st.StartedAt.Equal(was.started) {
			t.Errorf("pod %s: container %s after the handover = %+v, %v; want the same one running, started at %v", p.Name, was.id, st, err, was.started)
		}
		if containerID(cs) != was.id || cs.RestartCount != 0 {
			t.Errorf("pod %s reports container %s with %d restarts; want %s, not restarted", p.Name, containerID(cs), cs.RestartCount, was.id)
		}
		if pid := taskPid(t, raw, was.id); pid != was.pid {
			t.Errorf("pod %s: PID %d → %d; want the same process", p.Name, was.pid, pid)
		}
	}
	// Nothing duplicated: the adopted containers still running, the victim's
	// new run, and the run it ended (kept for lastState and logs, as the
	// one before it was dropped); as many sandboxes as Pods.
	want := map[string]runtime.ContainerState{runs[victim].id: runtime.ContainerExited}
	for _, p := range pods {
		want[containerID(p.Status.ContainerStatuses[0])] = runtime.ContainerRunning
	}
	containersAfter, err := second.rt.ListContainers(ctxFor(t), runtime.ContainerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runtime.ContainerState{}
	for _, ctr := range containersAfter {
		got[ctr.ID] = ctr.State
	}
	if !maps.Equal(got, want) {
		t.Errorf("containers after the handover = %v; want %v (before it: %d)", got, want, len(containersBefore))
	}
	if sbs, err := second.rt.ListPodSandboxes(ctxFor(t), nil); err != nil || len(sbs) != 2 {
		t.Errorf("sandboxes after the handover = %d, %v; want 2", len(sbs), err)
	}
}

// When containerd stops, the Node goes NotReady (the Pods' containers keep
// running and serving without it); when it is back, the Node is Ready again
// and the Pods are ready with the very same containers.
func TestContainerdRestartNodeNotReadyThenReadyPodsKeepRunning(t *testing.T) {
	t.Parallel()
	containerdtest.Shared(t) // skips where containerd cannot run
	// A daemon of this test's own: stopping the shared one would break the
	// tests running beside this one.
	env, err := containerdtest.Start()
	if err != nil {
		t.Fatalf("start a containerd of the test's own: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop the test's containerd: %v", err)
		}
	})
	daemonUp := true
	t.Cleanup(func() { // before the runtime's cleanups: they need the daemon
		if !daemonUp {
			if err := env.StartDaemon(); err != nil {
				t.Errorf("start containerd again: %v", err)
			}
		}
	})
	c := newClusterOn(t, env, newNamespace(), nil)
	raw := c.rawClient(t)
	if _, err := c.Deployments("default").Create(ctxFor(t), deploymentOf("web", 2, httpdContainer())); err != nil {
		t.Fatal(err)
	}
	before := waitPods(t, c.Orchestrator, "2 ready pods", readyPods(2))
	pids := map[string]uint32{}
	for _, p := range before {
		pids[p.Name] = taskPid(t, raw, containerID(p.Status.ContainerStatuses[0]))
	}

	if err := env.StopDaemon(); err != nil {
		t.Fatalf("stop containerd: %v", err)
	}
	daemonUp = false
	n := waitNode(t, c.Orchestrator, "NotReady with containerd down", func(n *baton.Node) bool {
		return n.Status.Condition("Ready").Status == baton.ConditionFalse
	})
	if cond := n.Status.Condition("Ready"); cond.Reason != "RuntimeUnavailable" {
		t.Errorf("NotReady condition = %+v; want reason RuntimeUnavailable", cond)
	}
	for _, p := range before {
		if body := get(t, podURL(p)); body != "hello from "+p.Name+"\n" {
			t.Errorf("GET %s with containerd down = %q", p.Name, body)
		}
	}

	if err := env.StartDaemon(); err != nil {
		t.Fatalf("start containerd again: %v", err)
	}
	daemonUp = true
	waitNode(t, c.Orchestrator, "Ready with containerd back", (*baton.Node).IsReady)
	after := waitPods(t, c.Orchestrator, "the pods ready again", readyPods(2))
	for i, p := range after {
		was, cs := before[i], p.Status.ContainerStatuses[0]
		if p.Name != was.Name || containerID(cs) != containerID(was.Status.ContainerStatuses[0]) || cs.RestartCount != 0 {
			t.Errorf("after the restart pod %s runs container %s (%d restarts); want %s with container %s, not restarted",
				p.Name, containerID(cs), cs.RestartCount, was.Name, containerID(was.Status.ContainerStatuses[0]))
			continue
		}
		if pid := taskPid(t, raw, containerID(cs)); pid != pids[p.Name] {
			t.Errorf("pod %s: PID %d → %d across the containerd restart; want the same process", p.Name, pids[p.Name], pid)
		}
		if body := get(t, podURL(p)); body != "hello from "+p.Name+"\n" {
			t.Errorf("GET %s after the restart = %q", p.Name, body)
		}
	}
}

// A container that traps SIGTERM gets it when its Pod is deleted, and then
// the whole grace period: it keeps running until it is killed at the end
// of it. One that exits on SIGTERM goes at once, long before its grace
// period.
func TestSIGTERMAndTheGracePeriod(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := t.TempDir()
	hostPath := func(p *baton.Pod) *baton.Pod {
		p.Spec.Volumes = []baton.Volume{{Name: "data", VolumeSource: baton.VolumeSource{HostPath: &baton.HostPathVolumeSource{Path: dir}}}}
		p.Spec.Containers[0].VolumeMounts = []baton.VolumeMount{{Name: "data", MountPath: "/data"}}
		return p
	}
	// stays notes SIGTERM and carries on, counting in /data/alive.
	const stayGrace = 3
	stays := hostPath(podOf("stays", shContainer("app",
		`trap 'echo TERM > /data/stays-term' TERM; i=0; while :; do i=$((i+1)); echo $i > /data/alive; sleep 0.1 & wait; done`)))
	stays.Spec.TerminationGracePeriodSeconds = ptr[int64](stayGrace)
	// leaves exits on SIGTERM; its grace period is long.
	leaves := hostPath(podOf("leaves", shContainer("app", `trap 'echo TERM > /data/leaves-term; exit 0' TERM; while :; do sleep 1 & wait; done`)))
	leaves.Spec.TerminationGracePeriodSeconds = ptr[int64](60)
	for _, p := range []*baton.Pod{stays, leaves} {
		if _, err := c.Pods("default").Create(ctxFor(t), p); err != nil {
			t.Fatal(err)
		}
	}
	waitPods(t, c.Orchestrator, "both pods ready", readyPods(2))
	alive := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "alive"))
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}

	deleted := time.Now()
	for _, name := range []string{"stays", "leaves"} {
		if err := c.Pods("default").Delete(ctxFor(t), name); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "stays got SIGTERM", func() (bool, string) {
		_, err := os.Stat(filepath.Join(dir, "stays-term"))
		return err == nil, "no /data/stays-term"
	})
	atTERM := alive()
	eventually(t, "stays keeps running after SIGTERM", func() (bool, string) {
		return alive() >= atTERM+5, "alive " + strconv.Itoa(alive())
	})
	waitPods(t, c.Orchestrator, "leaves gone", gone("leaves"))
	if took := time.Since(deleted); took > 20*time.Second {
		t.Errorf("leaves, which exits on SIGTERM, took %v to go; want far less than its 60s grace period", took)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "leaves-term")); err != nil || string(b) != "TERM\n" {
		t.Errorf("leaves' SIGTERM marker = %q, %v", b, err)
	}
	waitPods(t, c.Orchestrator, "stays gone", gone("stays"))
	if took := time.Since(deleted); took < stayGrace*time.Second {
		t.Errorf("stays, which ignores SIGTERM, went %v after its deletion; want it given its %ds grace period", took, stayGrace)
	}
	if cs, err := c.rt.ListContainers(ctxFor(t), runtime.ContainerFilter{State: runtime.ContainerRunning}); err != nil || len(cs) != 0 {
		t.Errorf("running containers after both Pods went: %+v, %v; want none", cs, err)
	}
}

// A container over its memory limit is killed by the kernel, and the Pod's
// status says OOMKilled: in state.terminated when it is not restarted, in
// lastState.terminated when it is.
func TestOverMemoryLimitIsReportedOOMKilled(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	hog := func() baton.Container {
		ctr := shContainer("hog", `x=0123456789abcdef; while :; do x=$x$x; done`)
		ctr.Resources.Limits = baton.ResourceList{baton.ResourceMemory: baton.MustParseQuantity("16Mi")}
		return ctr
	}
	never := podOf("oom-never", hog())
	never.Spec.RestartPolicy = baton.RestartPolicyNever
	always := podOf("oom-always", hog())
	for _, p := range []*baton.Pod{never, always} {
		if _, err := c.Pods("default").Create(ctxFor(t), p); err != nil {
			t.Fatal(err)
		}
	}
	p := waitPod(t, c.Orchestrator, "oom-never", "failed", func(p *baton.Pod) bool { return p.Status.Phase == baton.PodFailed })
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != runtime.ReasonOOMKilled || term.ExitCode != 137 {
		t.Errorf("oom-never: state.terminated = %+v; want reason OOMKilled, exit 137", term)
	}
	p = waitPod(t, c.Orchestrator, "oom-always", "restarted after an OOM kill", func(p *baton.Pod) bool {
		return p.Status.ContainerStatuses[0].LastTerminationState.Terminated != nil
	})
	cs := p.Status.ContainerStatuses[0]
	if term := cs.LastTerminationState.Terminated; term.Reason != runtime.ReasonOOMKilled || term.ExitCode != 137 || cs.RestartCount < 1 {
		t.Errorf("oom-always: lastState.terminated = %+v after %d restarts; want reason OOMKilled, exit 137", term, cs.RestartCount)
	}
}

// An image that is not there gives its Pod a clear waiting reason —
// ErrImageNeverPull with pull policy Never, ErrImagePull (then
// ImagePullBackOff) when the pull fails — and leaves the other Pods alone.
func TestBadImageGivesAWaitingReasonAndOthersRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	missing := shContainer("app", "true")
	missing.Image = "localhost/baton-e2e/missing:1"
	// The registry is on loopback, where nothing listens on port 1.
	unpullable := shContainer("app", "true")
	unpullable.Image = "127.0.0.1:1/baton-e2e/missing:1"
	unpullable.ImagePullPolicy = baton.PullIfNotPresent
	for _, p := range []*baton.Pod{podOf("never", missing), podOf("pull", unpullable), podOf("good", httpdContainer())} {
		if _, err := c.Pods("default").Create(ctxFor(t), p); err != nil {
			t.Fatal(err)
		}
	}
	waiting := func(reasons ...string) func(*baton.Pod) bool {
		return func(p *baton.Pod) bool {
			if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				return false
			}
			for _, r := range reasons {
				if p.Status.ContainerStatuses[0].State.Waiting.Reason == r {
					return true
				}
			}
			return false
		}
	}
	p := waitPod(t, c.Orchestrator, "never", "waiting with ErrImageNeverPull", waiting(runtime.ReasonErrImageNeverPull))
	if w := p.Status.ContainerStatuses[0].State.Waiting; !strings.Contains(w.Message, missing.Image) || p.Status.Phase != baton.PodPending {
		t.Errorf("never: phase %s, waiting %+v; want Pending and a message naming the image", p.Status.Phase, w)
	}
	p = waitPod(t, c.Orchestrator, "pull", "waiting with ErrImagePull or ImagePullBackOff", waiting(runtime.ReasonErrImagePull, "ImagePullBackOff"))
	if w := p.Status.ContainerStatuses[0].State.Waiting; !strings.Contains(w.Message, "127.0.0.1:1") || p.Status.Phase != baton.PodPending {
		t.Errorf("pull: phase %s, waiting %+v; want Pending and a message naming the registry", p.Status.Phase, w)
	}
	good := waitPod(t, c.Orchestrator, "good", "ready", (*baton.Pod).IsReady)
	if body := get(t, podURL(good)); body != "hello from good\n" {
		t.Errorf("GET good = %q", body)
	}
	if evs, err := c.Events("default").List(ctxFor(t)); err == nil {
		found := false
		for _, ev := range evs {
			if ev.InvolvedObject.Name == "never" && ev.Type == baton.EventTypeWarning {
				found = true
			}
		}
		if !found {
			t.Errorf("no Warning event for the Pod whose image is missing")
		}
	}
}
