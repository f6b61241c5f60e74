package e2e_test

// Issue 6: probes and lifecycle hooks against real containers.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton"
)

// ready holds when the Pod and its only container are ready.
func ready(p *baton.Pod) bool {
	return p.IsReady() && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
}

// notReady holds when the Pod and its container run but are not ready.
func notReady(p *baton.Pod) bool {
	return !p.IsReady() && len(p.Status.ContainerStatuses) == 1 && !p.Status.ContainerStatuses[0].Ready &&
		p.Status.ContainerStatuses[0].State.Running != nil
}

// restarts returns the restart count of the Pod's only container.
func restarts(p *baton.Pod) int32 { return p.Status.ContainerStatuses[0].RestartCount }

// probe returns a probe run every second that fails after failures
// failures in a row.
func probe(h baton.ProbeHandler, failures int32) *baton.Probe {
	return &baton.Probe{ProbeHandler: h, PeriodSeconds: 1, FailureThreshold: failures}
}

func execProbe(failures int32, cmd ...string) *baton.Probe {
	return probe(baton.ProbeHandler{Exec: &baton.ExecAction{Command: cmd}}, failures)
}

// Exec probes run in the container: the readiness probe (test -f
// /tmp/healthy) makes the Pod not ready when the file goes and ready again
// when it is back, without a restart; the liveness probe (test -f
// /tmp/alive) failing restarts the container, whose new run is ready.
func TestExecProbes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctr := shContainer("app", `touch /tmp/healthy /tmp/alive; trap 'exit 0' TERM; while :; do sleep 1 & wait; done`)
	ctr.ReadinessProbe = execProbe(1, "test", "-f", "/tmp/healthy")
	ctr.LivenessProbe = execProbe(2, "test", "-f", "/tmp/alive")
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("probed", ctr)); err != nil {
		t.Fatal(err)
	}
	first := waitPod(t, c.Orchestrator, "probed", "ready", ready)

	mustExec(t, c.Orchestrator, "probed", "rm", "/tmp/healthy")
	p := waitPod(t, c.Orchestrator, "probed", "not ready without /tmp/healthy", notReady)
	if restarts(p) != 0 || containerID(p.Status.ContainerStatuses[0]) != containerID(first.Status.ContainerStatuses[0]) {
		t.Errorf("a failed readiness probe restarted the container (%d restarts)", restarts(p))
	}
	mustExec(t, c.Orchestrator, "probed", "touch", "/tmp/healthy")
	waitPod(t, c.Orchestrator, "probed", "ready again with /tmp/healthy", func(p *baton.Pod) bool {
		return ready(p) && restarts(p) == 0
	})

	mustExec(t, c.Orchestrator, "probed", "rm", "/tmp/alive")
	p = waitPod(t, c.Orchestrator, "probed", "restarted for its liveness probe, and ready", func(p *baton.Pod) bool {
		return ready(p) && restarts(p) == 1
	})
	if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ContainerID != first.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("lastState.terminated = %+v; want the first run, stopped", last)
	}
	assertEvent(t, c.Orchestrator, "probed", "Killing", "failed liveness probe")
}

// HTTP probes go to the Pod's IP: a readiness probe on a named port
// follows /ready.html, a liveness probe on a port number follows
// /live.html and restarts httpd when it is gone.
func TestHTTPProbes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctr := shContainer("httpd", `mkdir -p /www && echo ok > /www/ready.html && echo ok > /www/live.html && exec httpd -f -p 8080 -h /www`)
	ctr.Ports = []baton.ContainerPort{{Name: "http", ContainerPort: 8080}}
	ctr.ReadinessProbe = probe(baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/ready.html", Port: baton.FromString("http")}}, 1)
	ctr.LivenessProbe = probe(baton.ProbeHandler{HTTPGet: &baton.HTTPGetAction{Path: "/live.html", Port: baton.FromInt(8080)}}, 2)
	if _, err := c.Pods("default").Create(ctxFor(t), podOf("web", ctr)); err != nil {
		t.Fatal(err)
	}
	// wait waits for cond, and fails the test if a probe failed for want
	// of the Pod's IP well after the Pod had one. (A new Pod's first probes
	// may run before its IP is known; such failures are no bug.)
	var ipSince time.Time
	wait := func(what string, cond func(*baton.Pod) bool) *baton.Pod {
		t.Helper()
		var got *baton.Pod
		eventually(t, "pod web: "+what, func() (bool, string) {
			p, err := c.Pods("default").Get(ctxFor(t), "web")
			if err != nil {
				return false, err.Error()
			}
			if p.Status.PodIP != "" && ipSince.IsZero() {
				ipSince = time.Now()
			}
			if !ipSince.IsZero() && lastEvent(t, c.Orchestrator, "web", "Unhealthy", "the pod has no IP yet").After(ipSince.Add(500*time.Millisecond)) {
				t.Fatal("an httpGet probe failed with \"the pod has no IP yet\" although the Pod has an IP")
			}
			got = p
			return cond(p), describePods([]*baton.Pod{p})
		})
		return got
	}
	first := wait("ready", func(p *baton.Pod) bool { return ready(p) && restarts(p) == 0 })
	get(t, "http://"+first.Status.PodIP+":8080/ready.html")

	mustExec(t, c.Orchestrator, "web", "rm", "/www/ready.html")
	p := wait("not ready without /ready.html", notReady)
	if restarts(p) != 0 {
		t.Errorf("a failed readiness probe restarted the container (%d restarts)", restarts(p))
	}
	mustExec(t, c.Orchestrator, "web", "sh", "-c", "echo ok > /www/ready.html")
	wait("ready again", func(p *baton.Pod) bool { return ready(p) && restarts(p) == 0 })

	mustExec(t, c.Orchestrator, "web", "rm", "/www/live.html")
	p = wait("restarted for its liveness probe, and ready", func(p *baton.Pod) bool {
		return ready(p) && restarts(p) == 1
	})
	if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.ContainerID != first.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("lastState.terminated = %+v; want the first run, stopped", last)
	}
	assertEvent(t, c.Orchestrator, "web", "Killing", "failed liveness probe")
	if body := get(t, "http://"+p.Status.PodIP+":8080/live.html"); body != "ok\n" {
		t.Errorf("GET /live.html of the new run = %q", body)
	}
}

// A preStop exec hook runs, and finishes, before the container gets
// SIGTERM: the hook takes a second to write its line to a hostPath file,
// and the container's SIGTERM trap writes its line after it.
func TestPreStopRunsBeforeSIGTERM(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := t.TempDir()
	ctr := shContainer("app", `trap 'echo TERM >> /data/order; exit 0' TERM; while :; do sleep 1 & wait; done`)
	ctr.VolumeMounts = []baton.VolumeMount{{Name: "data", MountPath: "/data"}}
	ctr.Lifecycle = &baton.Lifecycle{PreStop: &baton.LifecycleHandler{Exec: &baton.ExecAction{
		Command: []string{"sh", "-c", "sleep 1; echo preStop >> /data/order"},
	}}}
	pod := podOf("hooked", ctr)
	pod.Spec.TerminationGracePeriodSeconds = ptr[int64](10)
	pod.Spec.Volumes = []baton.Volume{{Name: "data", VolumeSource: baton.VolumeSource{HostPath: &baton.HostPathVolumeSource{Path: dir}}}}
	if _, err := c.Pods("default").Create(ctxFor(t), pod); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c.Orchestrator, "hooked", "ready", ready)
	deleted := time.Now()
	if err := c.Pods("default").Delete(ctxFor(t), "hooked"); err != nil {
		t.Fatal(err)
	}
	waitPods(t, c.Orchestrator, "the pod gone", gone("hooked"))
	took := time.Since(deleted)
	b, err := os.ReadFile(filepath.Join(dir, "order"))
	if err != nil || string(b) != "preStop\nTERM\n" {
		t.Errorf("/data/order = %q, %v; want preStop, then TERM", b, err)
	}
	if took >= 10*time.Second {
		t.Errorf("the pod took %v to go; want it to exit on SIGTERM after the hook, not be killed at the end of its grace period", took)
	}
}

// eventCount returns how many times the Pod had an event of reason whose
// message contains text.
func eventCount(t *testing.T, o *baton.Orchestrator, pod, reason, text string) int {
	t.Helper()
	evs, err := o.Events("default").List(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.InvolvedObject.Name == pod && ev.Reason == reason && strings.Contains(ev.Message, text) {
			n += int(max(ev.Count, 1))
		}
	}
	return n
}

// lastEvent returns when the Pod last had an event of reason whose message
// contains text, or the zero time.
func lastEvent(t *testing.T, o *baton.Orchestrator, pod, reason, text string) time.Time {
	t.Helper()
	evs, err := o.Events("default").List(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, ev := range evs {
		if ev.InvolvedObject.Name == pod && ev.Reason == reason && strings.Contains(ev.Message, text) && ev.LastTimestamp.After(last) {
			last = ev.LastTimestamp.Time
		}
	}
	return last
}

// assertEvent fails t unless the Pod has such an event.
func assertEvent(t *testing.T, o *baton.Orchestrator, pod, reason, text string) {
	t.Helper()
	if eventCount(t, o, pod, reason, text) == 0 {
		t.Errorf("pod %s has no %s event saying %q", pod, reason, text)
	}
}
