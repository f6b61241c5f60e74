package nodeagent

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
)

// probeKind is liveness, readiness or startup.
type probeKind int

const (
	liveness probeKind = iota
	readiness
	startup
)

func (k probeKind) String() string {
	return [...]string{"Liveness", "Readiness", "Startup"}[k]
}

// probeKey names one probe of one container run.
type probeKey struct {
	containerID string
	kind        probeKind
}

// prober runs the probes of an agent's containers: one goroutine per probe
// of each running container, on the agent's clock, as kubelet does. It
// keeps each probe's current result; the agent reads them when it computes
// status and kills containers whose liveness or startup probe failed.
type prober struct {
	a *Agent

	mu sync.Mutex // guards workers and results
	// workers holds the running probe loops, by container run.
	workers map[probeKey]*probeWorker
	// results holds each probe's current verdict.
	results map[probeKey]probeResult
	wg      sync.WaitGroup
}

// probeResult is a probe's verdict.
type probeResult int8

const (
	// unknown: not yet decided (a startup probe not yet passed, a
	// readiness probe not yet run).
	unknown probeResult = iota
	success
	failure
)

type probeWorker struct {
	stop chan struct{}
}

func newProber(a *Agent) *prober {
	return &prober{a: a, workers: map[probeKey]*probeWorker{}, results: map[probeKey]probeResult{}}
}

// probesOf returns the probes a container declares, by kind.
func probesOf(c *api.Container) map[probeKind]*api.Probe {
	out := map[probeKind]*api.Probe{}
	if c.LivenessProbe != nil {
		out[liveness] = c.LivenessProbe
	}
	if c.ReadinessProbe != nil {
		out[readiness] = c.ReadinessProbe
	}
	if c.StartupProbe != nil {
		out[startup] = c.StartupProbe
	}
	return out
}

// ensure starts the probe loops of a running container that has none.
func (p *prober) ensure(ctx context.Context, pod *api.Pod, c *api.Container, ctr containerRecord) {
	probes := probesOf(c)
	if len(probes) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for kind, spec := range probes {
		key := probeKey{containerID: ctr.id, kind: kind}
		if _, ok := p.workers[key]; ok {
			continue
		}
		if _, decided := p.results[key]; !decided && kind == liveness {
			// Until probed, a container is alive but neither ready nor
			// started.
			p.results[key] = success
		}
		w := &probeWorker{stop: make(chan struct{})}
		p.workers[key] = w
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(ctx, w, key, pod, c, spec, ctr, probes[startup] != nil)
		}()
	}
}

// result returns a probe's verdict; a container without that probe passes.
func (p *prober) result(containerID string, kind probeKind, declared bool) probeResult {
	if !declared {
		return success
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.results[probeKey{containerID: containerID, kind: kind}]
}

// forget stops the probes of container runs that are over.
func (p *prober) forget(containerIDs ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range containerIDs {
		for _, kind := range []probeKind{liveness, readiness, startup} {
			key := probeKey{containerID: id, kind: kind}
			if w, ok := p.workers[key]; ok {
				close(w.stop)
				delete(p.workers, key)
			}
			delete(p.results, key)
		}
	}
}

// wait returns once every probe loop has stopped; their context must have
// ended.
func (p *prober) wait() { p.wg.Wait() }

// run is one probe's loop: wait initialDelaySeconds after the container
// started, then probe every periodSeconds, flipping the verdict after
// failureThreshold failures or successThreshold successes in a row.
// Liveness and readiness wait until a startup probe has passed; a startup
// probe stops once it has.
func (p *prober) run(ctx context.Context, w *probeWorker, key probeKey, pod *api.Pod, c *api.Container, spec *api.Probe, ctr containerRecord, hasStartup bool) {
	a := p.a
	period := time.Duration(max(spec.PeriodSeconds, 1)) * time.Second
	first := ctr.startedAt.time().Add(time.Duration(spec.InitialDelaySeconds) * time.Second).Sub(a.clock.Now())
	var successes, failures int32
	// The next tick is armed before each probe runs, so probes keep a
	// fixed rate however long they take.
	tick := a.clock.NewTimer(max(first, 0))
	defer func() { tick.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case <-tick.C():
		}
		tick = a.clock.NewTimer(period)
		if key.kind != startup && hasStartup && p.result(key.containerID, startup, true) != success {
			continue // held back until the startup probe passes
		}
		ok, detail := p.probe(ctx, pod, c, spec, key.containerID)
		if ok {
			successes, failures = successes+1, 0
		} else {
			failures, successes = failures+1, 0
			a.events.Warning(pod, "Unhealthy", "%s probe failed: %s", key.kind, detail)
		}
		p.mu.Lock()
		if _, live := p.workers[key]; !live {
			p.mu.Unlock()
			return
		}
		prev := p.results[key]
		next := prev
		switch {
		case ok && successes >= max(spec.SuccessThreshold, 1):
			next = success
		case !ok && failures >= max(spec.FailureThreshold, 1):
			next = failure
		}
		p.results[key] = next
		p.mu.Unlock()
		if next != prev {
			a.ctrl.Enqueue(controller.RequestFor(pod))
		}
		if key.kind == startup && next == success {
			return // started: the other probes take over
		}
		if key.kind != readiness && next == failure {
			return // failed: the agent restarts the container
		}
	}
}

// probe runs one probe and reports whether it passed, and why not.
func (p *prober) probe(ctx context.Context, pod *api.Pod, c *api.Container, spec *api.Probe, containerID string) (bool, string) {
	timeout := time.Duration(max(spec.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := clock.WithTimeout(ctx, p.a.clock, timeout)
	defer cancel()
	h := spec.ProbeHandler
	switch {
	case h.Exec != nil:
		return p.a.runExec(ctx, containerID, h.Exec.Command)
	case h.HTTPGet != nil:
		return p.a.runHTTPGet(ctx, pod, c, h.HTTPGet)
	case h.TCPSocket != nil:
		addr, err := p.a.probeAddress(pod, c, h.TCPSocket.Host, h.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	}
	return false, "the probe has no handler"
}

// runExec runs cmd in the container: exit code 0 passes.
func (a *Agent) runExec(ctx context.Context, containerID string, cmd []string) (bool, string) {
	var out limitedBuffer
	code, err := a.rt.Exec(ctx, containerID, cmd, runtime.ExecOptions{Stdout: &out, Stderr: &out})
	switch {
	case err != nil:
		return false, err.Error()
	case code != 0:
		return false, fmt.Sprintf("command %q exited with code %d: %s", cmd[0], code, out.String())
	}
	return true, ""
}

// runHTTPGet sends the GET: a status from 200 to 399 passes.
func (a *Agent) runHTTPGet(ctx context.Context, pod *api.Pod, c *api.Container, g *api.HTTPGetAction) (bool, string) {
	addr, err := a.probeAddress(pod, c, g.Host, g.Port)
	if err != nil {
		return false, err.Error()
	}
	scheme := "http"
	if g.Scheme == api.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+path, nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "baton-probe")
	for _, h := range g.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return false, "HTTP probe failed with statuscode: " + strconv.Itoa(resp.StatusCode)
	}
	return true, ""
}

// probeClient is shared by every HTTP probe and hook. As kubelet's, it
// skips certificate checks (probes check liveness, not identity) and
// follows no redirect off the Pod.
var probeClient = &http.Client{
	Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as kubelet's probes
		DisableKeepAlives: true,
		Proxy:             nil,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 || req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	},
}

// probeAddress resolves a probe's host and port: the host defaults to the
// Pod's IP (the node's for host-network Pods) and a named port to the
// container port of that name.
func (a *Agent) probeAddress(pod *api.Pod, c *api.Container, host string, port api.IntOrString) (string, error) {
	if host == "" {
		host = a.podIP(pod)
		if pod.Spec.HostNetwork {
			host = a.hostIP
		}
	}
	if host == "" {
		return "", fmt.Errorf("the pod has no IP yet")
	}
	number := int(port.IntVal)
	if port.IsString {
		number = 0
		for _, cp := range c.Ports {
			if cp.Name == port.StrVal {
				number = int(cp.ContainerPort)
			}
		}
		if number == 0 {
			return "", fmt.Errorf("container %s has no port named %q", c.Name, port.StrVal)
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(number)), nil
}

// podIP returns the Pod's IP as known now. A probe loop holds the Pod as
// it was when its container started, which may be before the IP was
// known, and a postStart hook or a first probe may run before any status
// with the IP is written, so the IP is looked up afresh: from the Pod's
// ready sandbox, else the status waiting to be written, else the store.
func (a *Agent) podIP(pod *api.Pod) string {
	if ip := a.cache.sandboxIP(controller.RequestFor(pod), pod.UID); ip != "" {
		return ip
	}
	a.mu.Lock()
	st, pending := a.statuses[pod.UID]
	a.mu.Unlock()
	if pending && st.PodIP != "" {
		return st.PodIP
	}
	ip := pod.Status.PodIP
	a.store.View(func(tx store.ReadTx) {
		if p, err := store.Get[*api.Pod](tx, pod.Namespace, pod.Name); err == nil && p.UID == pod.UID && p.Status.PodIP != "" {
			ip = p.Status.PodIP
		}
	})
	return ip
}

// limitedBuffer keeps the first 1 KiB written to it, for messages. It is
// safe for the concurrent writes of stdout and stderr.
type limitedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 1024 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
