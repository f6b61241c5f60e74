package nodeagent

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime"
)

// Defaults of Config.
const (
	DefaultWorkers             = 4
	DefaultCrashBackoffInitial = 10 * time.Second
	DefaultCrashBackoffMax     = 5 * time.Minute
	DefaultRelistPeriod        = 10 * time.Second
	DefaultHeartbeatPeriod     = 10 * time.Second
)

// Config is shared by every agent of a Manager. Zero fields take defaults.
type Config struct {
	Store  *store.Store
	Clock  clock.Clock
	Log    *zap.Logger
	Events *events.Recorder
	// Workers is the number of Pods each agent syncs at once.
	Workers int
	// CrashBackoffInitial and CrashBackoffMax bound restart delays;
	// CrashBackoffJitter lengthens each by a random fraction up to it, never
	// past the maximum; a container that runs cleanly for CrashBackoffReset
	// (default twice the maximum) starts over from the initial delay.
	CrashBackoffInitial time.Duration
	CrashBackoffMax     time.Duration
	CrashBackoffJitter  float64
	CrashBackoffReset   time.Duration
	// RelistPeriod is how often each agent lists its runtime to repair
	// missed events.
	RelistPeriod time.Duration
	// HeartbeatPeriod is how often each agent reports its Node.
	HeartbeatPeriod time.Duration
	// StateDir holds the Pods' volumes (ConfigMap, Secret and emptyDir
	// files). When empty, an agent whose runtime is a runtime.VolumeHost
	// uses the runtime's volume directory; the others share a temporary
	// directory made on first need and removed when Run returns.
	StateDir string
	// ClusterDNS is the cluster DNS server that Pods with dnsPolicy
	// ClusterFirst get as their nameserver; the zero value means none, and
	// such Pods get the host's resolver configuration.
	ClusterDNS netip.Addr
	// ClusterDomain ends the search domains of ClusterFirst Pods; default
	// DefaultClusterDomain.
	ClusterDomain string
	// HostResolvConf is the host's resolver configuration, for dnsPolicy
	// Default with a dnsConfig and for ClusterFirst's search domains;
	// default DefaultHostResolvConf.
	HostResolvConf string
	// ServiceTrafficStopped, when set, is called before the containers of
	// a deleted Pod are stopped, and returns once no new Service
	// connection can reach the Pod: a data plane that learns of endpoint
	// changes on its own time (kernel NAT rules) catches up first, so that
	// no client is sent to a server that is shutting down. The agent waits
	// for it at most MaxServiceTrafficWait.
	ServiceTrafficStopped func(ctx context.Context) error
}

// MaxServiceTrafficWait bounds how long a deleted Pod's containers wait
// for Config.ServiceTrafficStopped before they are stopped anyway.
const MaxServiceTrafficWait = 5 * time.Second

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.CrashBackoffInitial <= 0 {
		c.CrashBackoffInitial = DefaultCrashBackoffInitial
	}
	if c.CrashBackoffMax <= 0 {
		c.CrashBackoffMax = DefaultCrashBackoffMax
	}
	if c.CrashBackoffReset <= 0 {
		c.CrashBackoffReset = 2 * c.CrashBackoffMax
	}
	if c.RelistPeriod <= 0 {
		c.RelistPeriod = DefaultRelistPeriod
	}
	if c.HeartbeatPeriod <= 0 {
		c.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = DefaultClusterDomain
	}
	if c.HostResolvConf == "" {
		c.HostResolvConf = DefaultHostResolvConf
	}
}

// Node names a node and the runtime its agent drives.
type Node struct {
	Name    string
	Runtime runtime.Runtime
	// HostIP is the node's address, reported as the Pods' hostIP.
	HostIP string
}

// Manager runs one agent per node and routes Pod changes to them.
type Manager struct {
	cfg    Config
	agents map[string]*Agent
	writer *statusWriter

	// stateMu guards stateDir and tempState.
	stateMu   sync.Mutex
	stateDir  string
	tempState bool
}

// dir returns the state directory, making a temporary one on first need.
func (m *Manager) dir() string {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if m.stateDir == "" {
		d, err := os.MkdirTemp("", "baton-state-")
		if err != nil {
			d = filepath.Join(os.TempDir(), "baton-state")
		}
		m.stateDir, m.tempState = d, true
	}
	return m.stateDir
}

func (m *Manager) hasDir() bool {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	return m.stateDir != ""
}

// removeTempState removes a temporary state directory, unmounting what
// the Pods' volumes mounted in it.
func (m *Manager) removeTempState() {
	m.stateMu.Lock()
	dir, temp := m.stateDir, m.tempState
	m.stateMu.Unlock()
	if !temp {
		return
	}
	pods, _ := filepath.Glob(filepath.Join(dir, "pods", "*"))
	for _, p := range pods {
		for _, a := range m.agents {
			_ = a.removePodDir(filepath.Base(p))
			break
		}
	}
	_ = os.RemoveAll(dir)
}

// NewManager returns a manager for nodes.
func NewManager(cfg Config, nodes []Node) *Manager {
	cfg.setDefaults()
	m := &Manager{cfg: cfg, agents: map[string]*Agent{}, writer: newStatusWriter(cfg.Store, cfg.Log.Named("status")), stateDir: cfg.StateDir}
	for _, n := range nodes {
		if n.HostIP == "" {
			n.HostIP = "127.0.0.1"
		}
		a := &Agent{
			node:          n.Name,
			hostIP:        n.HostIP,
			rt:            n.Runtime,
			store:         cfg.Store,
			clock:         cfg.Clock,
			log:           cfg.Log.Named("node").With(zap.String("node", n.Name)),
			writer:        m.writer,
			cfg:           cfg,
			cache:         newCache(),
			backoff:       newCrashBackoff(cfg.CrashBackoffInitial, cfg.CrashBackoffMax, cfg.CrashBackoffReset, cfg.CrashBackoffJitter),
			killing:       map[string]bool{},
			statuses:      map[string]*api.PodStatus{},
			volumeDirs:    map[string]map[string]string{},
			startFailures: map[string]startFailure{},
			cpuSamples:    map[string]cpuSample{},
			manager:       m,
		}
		if vh, ok := n.Runtime.(runtime.VolumeHost); ok && cfg.StateDir == "" {
			a.volumeHostDir = vh.VolumeDir()
		}
		if cfg.Events != nil {
			a.events = cfg.Events.For("node-agent", n.Name)
		}
		a.ctrl = controller.New("node-agent", a, controller.Options{Workers: cfg.Workers, Log: a.log, Clock: cfg.Clock})
		a.prober = newProber(a)
		m.agents[n.Name] = a
	}
	return m
}

// Run runs every agent until ctx ends and returns once all have stopped.
func (m *Manager) Run(ctx context.Context) error {
	snap, cancel := m.cfg.Store.Subscribe(func(ch store.Change) bool { return ch.Kind() == api.KindPod }, m.route)
	defer cancel()
	_, cancelConfig := m.cfg.Store.Subscribe(func(ch store.Change) bool {
		return ch.Kind() == api.KindConfigMap || ch.Kind() == api.KindSecret
	}, m.routeConfig)
	defer cancelConfig()
	snap.Each(api.KindPod, "", func(obj api.Object) bool {
		if a := m.agents[obj.(*api.Pod).Spec.NodeName]; a != nil {
			a.ctrl.Enqueue(controller.RequestFor(obj))
		}
		return true
	})
	writerCtx, stopWriter := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		m.writer.run(writerCtx)
	}()
	g, gctx := errgroup.WithContext(ctx)
	for _, a := range m.agents {
		g.Go(func() error { return a.run(gctx) })
	}
	err := g.Wait()
	// Agents are done: write what they left, then stop the writer.
	stopWriter()
	<-writerDone
	m.removeTempState()
	return err
}

// route hands a Pod change to the agents of the nodes it concerns. It runs
// under the store's write lock.
func (m *Manager) route(ch store.Change) {
	pod := ch.Object.(*api.Pod)
	req := controller.RequestFor(pod)
	if a := m.agents[pod.Spec.NodeName]; a != nil && !statusOnly(ch) {
		a.ctrl.Enqueue(req)
	}
	if old, ok := ch.Old.(*api.Pod); ok && old.Spec.NodeName != pod.Spec.NodeName {
		if a := m.agents[old.Spec.NodeName]; a != nil {
			a.ctrl.Enqueue(req)
		}
	}
}

// routeConfig hands a ConfigMap or Secret change to the agents of the Pods
// that use it, so their files follow and waiting containers start. It
// runs under the store's write lock; configuration changes are rare enough
// for a scan of the namespace's Pods.
func (m *Manager) routeConfig(ch store.Change) {
	meta := ch.Object.GetObjectMeta()
	m.cfg.Store.View(func(tx store.ReadTx) {
		tx.Each(api.KindPod, meta.Namespace, func(obj api.Object) bool {
			pod := obj.(*api.Pod)
			if a := m.agents[pod.Spec.NodeName]; a != nil && pod.Spec.References(ch.Kind(), meta.Name) {
				a.ctrl.Enqueue(controller.RequestFor(pod))
			}
			return true
		})
	})
}

// statusOnly reports whether a change only rewrote a Pod's status, which
// the agents themselves write and need not react to.
func statusOnly(ch store.Change) bool {
	if ch.Type != store.Modified {
		return false
	}
	old, pod := ch.Old.(*api.Pod), ch.Object.(*api.Pod)
	return old.UID == pod.UID && old.Generation == pod.Generation &&
		old.Spec.NodeName == pod.Spec.NodeName &&
		(old.DeletionTimestamp == nil) == (pod.DeletionTimestamp == nil)
}

// run heartbeats, adopts what the runtime holds, follows its events and
// syncs Pods until ctx ends; it returns after every goroutine it started.
func (a *Agent) run(ctx context.Context) error {
	a.mu.Lock()
	a.runCtx = ctx
	a.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	// Subscribe to exits before looking at anything, so that none is
	// missed between the first relist and the first event.
	events, err := a.rt.Events(gctx)
	if err != nil {
		a.log.Warn("runtime events unavailable; relying on relists until they return", zap.Error(err))
	}
	a.heartbeat(gctx)
	a.relist(gctx)
	g.Go(func() error { a.every(gctx, a.cfg.HeartbeatPeriod, a.heartbeat); return nil })
	g.Go(func() error { a.every(gctx, a.cfg.RelistPeriod, a.relist); return nil })
	g.Go(func() error { a.followEvents(gctx, events); return nil })
	g.Go(func() error { return a.ctrl.Run(gctx) })
	err = g.Wait()
	a.teardowns.Wait()
	a.prober.wait()
	return err
}

// every calls fn each period on the agent's clock until ctx ends.
func (a *Agent) every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	for {
		t := a.clock.NewTimer(period)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			fn(ctx)
		}
	}
}

// relist lists the runtime and reconciles the Pods whose state differs
// from the cache's. The first relist adopts what is running.
func (a *Agent) relist(ctx context.Context) {
	since := a.cache.sequence()
	sandboxes, err := a.rt.ListPodSandboxes(ctx, nil)
	if err != nil {
		a.log.Debug("relist failed", zap.Error(err))
		return
	}
	containers, err := a.rt.ListContainers(ctx, runtime.ContainerFilter{})
	if err != nil {
		a.log.Debug("relist failed", zap.Error(err))
		return
	}
	for _, key := range a.cache.merge(since, sandboxes, containers) {
		a.ctrl.Enqueue(key)
	}
}

// followEvents applies container exits as they happen from ch (nil if the
// first subscription failed), resubscribing with backoff when the stream
// breaks.
func (a *Agent) followEvents(ctx context.Context, ch <-chan runtime.Event) {
	retry := time.Second
	for ctx.Err() == nil {
		if ch != nil {
			retry = time.Second
			for ev := range ch {
				if ev.Type != runtime.ContainerExitedEvent {
					continue
				}
				a.cache.exited(ev)
				if ns, name := ev.Labels[runtime.LabelPodNamespace], ev.Labels[runtime.LabelPodName]; name != "" {
					// Unpaced: the first restart is due at once.
					a.ctrl.EnqueueNow(controller.Request{Namespace: ns, Name: name})
				}
			}
			// The stream ended: something may have been missed.
			a.relist(ctx)
		}
		t := a.clock.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		retry = min(retry*2, 30*time.Second)
		var err error
		if ch, err = a.rt.Events(ctx); err != nil {
			ch = nil
		} else {
			a.relist(ctx) // what happened while unsubscribed
		}
	}
}

// heartbeat reports the node Ready while its runtime answers.
func (a *Agent) heartbeat(ctx context.Context) {
	// A runtime that hangs is as down as one that refuses: the call gets a
	// heartbeat period to answer.
	vctx, cancel := context.WithTimeout(ctx, a.cfg.HeartbeatPeriod)
	v, verr := a.rt.Version(vctx)
	cancel()
	if verr != nil && ctx.Err() != nil {
		return // stopping, not a runtime failure
	}
	now := a.clock.Now()
	// nodeWasReady is whether the Node was Ready before this heartbeat; the
	// node lifecycle controller may have marked it Unknown, and its Pods
	// not ready, while heartbeats were missing.
	nodeWasReady := true
	err := a.store.Update(func(tx store.Tx) error {
		node, err := store.Get[*api.Node](tx, "", a.node)
		if err != nil {
			return nil // removed; the agent has nothing to report on
		}
		nodeWasReady = node.IsReady()
		next := *node
		next.Status.Conditions = nil
		ready := api.NodeCondition{Type: api.NodeReady, Status: api.ConditionTrue, Reason: "AgentReady",
			Message: "node agent is posting ready status", LastHeartbeatTime: api.NewTime(now), LastTransitionTime: api.NewTime(now)}
		if verr != nil {
			ready.Status, ready.Reason = api.ConditionFalse, "RuntimeUnavailable"
			ready.Message = "container runtime is down: " + verr.Error()
		} else {
			next.Status.NodeInfo = api.NodeSystemInfo{
				ContainerRuntimeVersion: v.RuntimeName + "://" + v.RuntimeVersion,
				OperatingSystem:         goruntime.GOOS,
				Architecture:            goruntime.GOARCH,
			}
		}
		if old := node.Status.Condition(api.NodeReady); old != nil && old.Status == ready.Status {
			ready.LastTransitionTime = old.LastTransitionTime
		}
		for _, c := range node.Status.Conditions {
			if c.Type != api.NodeReady {
				next.Status.Conditions = append(next.Status.Conditions, c)
			}
		}
		next.Status.Conditions = append(next.Status.Conditions, ready)
		next.Status.Addresses = []api.NodeAddress{{Type: "InternalIP", Address: a.hostIP}, {Type: "Hostname", Address: a.node}}
		return tx.Update(&next)
	})
	if err != nil {
		a.log.Warn("could not post node status", zap.Error(err))
	}
	a.mu.Lock()
	wasDown := a.runtimeDown
	a.runtimeDown = verr != nil
	if verr == nil && a.runtimeName == "" {
		a.runtimeName = v.RuntimeName
	}
	a.mu.Unlock()
	switch {
	case verr != nil && !wasDown:
		a.log.Warn("container runtime is down; pods are not synced until it is back", zap.Error(verr))
	case verr == nil && wasDown:
		a.log.Info("container runtime is back")
		a.relist(ctx)
		a.resyncPods()
	case verr == nil && !nodeWasReady:
		// Back from a spell the node lifecycle controller saw as lost:
		// recompute every Pod's status, which it marked not ready.
		a.resyncPods()
	}
}

// resyncPods queues every Pod bound to the agent's Node.
func (a *Agent) resyncPods() {
	a.store.View(func(tx store.ReadTx) {
		for _, pod := range tx.PodsOnNode(a.node) {
			a.ctrl.Enqueue(controller.RequestFor(pod))
		}
	})
}
