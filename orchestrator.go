package baton

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/autoscaler"
	"github.com/batonhq/baton/internal/controller/deployment"
	"github.com/batonhq/baton/internal/controller/gc"
	"github.com/batonhq/baton/internal/controller/namespace"
	"github.com/batonhq/baton/internal/controller/nodeagent"
	"github.com/batonhq/baton/internal/controller/nodelifecycle"
	"github.com/batonhq/baton/internal/controller/replicaset"
	"github.com/batonhq/baton/internal/controller/scheduling"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/runtime/fake"
	"github.com/batonhq/baton/scheduler"
)

// DefaultNodeName is the name of the Node an Orchestrator has when no
// WithNode option is given.
const DefaultNodeName = "local"

// Orchestrator holds the desired state and, while Run runs, makes the
// Nodes' runtimes match it. Its methods are safe for concurrent use; the
// clients work whether or not Run is running (objects then wait).
type Orchestrator struct {
	store    *store.Store
	clock    clock.Clock
	log      *zap.Logger
	nodes    []NodeConfig
	cfg      config
	recorder *events.Recorder
	running  atomic.Bool
	svc      *serviceState
}

// New returns an Orchestrator with the "default" namespace and its Nodes
// registered. It starts nothing; call Run.
func New(opts ...Option) (*Orchestrator, error) {
	cfg := config{crashJitter: DefaultCrashLoopJitter}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.clock == nil {
		cfg.clock = clock.Real()
	}
	if cfg.log == nil {
		cfg.log = zap.NewNop()
	}
	switch {
	case len(cfg.nodes) > 0 && cfg.runtime != nil:
		return nil, fmt.Errorf("baton: WithRuntime sets the runtime of the default node and cannot be combined with WithNode; give each WithNode its runtime: %w", ErrInvalid)
	case len(cfg.nodes) == 0:
		rt := cfg.runtime
		if rt == nil {
			// Loopback Pod IPs, so that Services and probes of the default
			// fake runtime reach in-process servers and nothing else.
			rt = fake.New(fake.WithClock(cfg.clock), fake.WithPodCIDR(fake.LoopbackPodCIDR))
		}
		cfg.nodes = []NodeConfig{{Name: DefaultNodeName, Runtime: rt}}
	}
	if err := checkNodes(cfg.nodes); err != nil {
		return nil, err
	}
	if err := checkTimings(cfg); err != nil {
		return nil, err
	}
	s, err := store.New(store.WithClock(cfg.clock))
	if err != nil {
		return nil, err
	}
	if cfg.snapshot != nil {
		if err := s.Restore(cfg.snapshot, cfg.keys); err != nil {
			return nil, fmt.Errorf("baton: restore snapshot: %w", err)
		}
	}
	o := &Orchestrator{
		store:    s,
		clock:    cfg.clock,
		log:      cfg.log,
		nodes:    cfg.nodes,
		cfg:      cfg,
		recorder: events.New(s, cfg.clock, cfg.log, events.Options{}),
	}
	if err := o.bootstrap(); err != nil {
		return nil, err
	}
	if o.svc, err = newServiceState(o); err != nil {
		return nil, err
	}
	return o, nil
}

func checkNodes(nodes []NodeConfig) error {
	var errs api.FieldErrors
	seen := map[string]bool{}
	for i, n := range nodes {
		path := fmt.Sprintf("nodes[%d]", i)
		node := &api.Node{ObjectMeta: api.ObjectMeta{Name: n.Name}, Status: api.NodeStatus{Capacity: n.Capacity}}
		node.Labels = n.Labels
		for _, fe := range api.ValidateFields(node) {
			errs.Add(path+"."+fe.Path, "%s", fe.Detail)
		}
		if n.Runtime == nil {
			errs.Required(path + ".runtime")
		}
		if seen[n.Name] {
			errs.Add(path+".name", "duplicate node name %q", n.Name)
		}
		seen[n.Name] = true
	}
	return errs.Err("Orchestrator", "")
}

// checkTimings refuses durations and fractions that make no sense.
func checkTimings(cfg config) error {
	var errs api.FieldErrors
	if cfg.crashInitial < 0 || cfg.crashMax < 0 || (cfg.crashMax > 0 && cfg.crashInitial > cfg.crashMax) {
		errs.Add("crashLoopBackoff", "the initial delay (%s) and the maximum (%s) must not be negative, and the initial no larger than the maximum", cfg.crashInitial, cfg.crashMax)
	}
	if cfg.crashJitter < 0 || cfg.crashJitter > 1 {
		errs.Add("crashLoopJitter", "must be a fraction from 0 to 1, not %g", cfg.crashJitter)
	}
	for name, d := range map[string]time.Duration{"crashLoopReset": cfg.crashReset, "autoscalerSyncPeriod": cfg.autoscaleSync, "nodeToleration": cfg.nodeToleration, "nodeGracePeriod": cfg.nodeGrace} {
		if d < 0 {
			errs.Add(name, "must not be negative, not %s", d)
		}
	}
	return errs.Err("Orchestrator", "")
}

// bootstrap creates the default namespace and registers the Nodes,
// removing Nodes a restored snapshot has that are no longer configured.
func (o *Orchestrator) bootstrap() error {
	return o.store.Update(func(tx store.Tx) error {
		if _, err := tx.Get(api.KindNamespace, "", api.NamespaceDefault); errors.Is(err, ErrNotFound) {
			ns := &api.Namespace{ObjectMeta: api.ObjectMeta{Name: api.NamespaceDefault}}
			api.SetDefaults(ns)
			ns.Status.Phase = api.NamespaceActive
			if err := tx.Create(ns); err != nil {
				return err
			}
		}
		configured := map[string]bool{}
		for _, n := range o.nodes {
			configured[n.Name] = true
			if err := registerNode(tx, n); err != nil {
				return err
			}
		}
		for _, obj := range tx.List(api.KindNode, "") {
			if name := obj.GetObjectMeta().Name; !configured[name] {
				if err := tx.Delete(api.KindNode, "", name, store.Preconditions{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func registerNode(tx store.Tx, n NodeConfig) error {
	capacity := hostCapacity()
	for k, v := range n.Capacity {
		capacity[k] = v
	}
	node := &api.Node{ObjectMeta: api.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}}}
	for k, v := range n.Labels {
		node.Labels[k] = v
	}
	node.Status.Capacity = capacity
	node.Status.Allocatable = capacity.DeepCopy()
	node.Status.Conditions = []api.NodeCondition{{
		Type: api.NodeReady, Status: api.ConditionUnknown, Reason: "AgentNotStarted",
		Message: "the node agent has not reported yet", LastTransitionTime: api.NewTime(tx.Now()),
	}}
	api.SetDefaults(node)
	old, err := store.Get[*api.Node](tx, "", n.Name)
	if errors.Is(err, ErrNotFound) {
		return tx.Create(node)
	}
	if err != nil {
		return err
	}
	node.ObjectMeta.UID = old.UID
	node.Spec = old.Spec
	return tx.Update(node)
}

// hostCapacity measures the host: CPUs, memory, and Kubernetes' default of
// 110 Pods.
func hostCapacity() api.ResourceList {
	return api.ResourceList{
		api.ResourceCPU:    api.NewQuantity(int64(goruntime.NumCPU())),
		api.ResourceMemory: api.NewQuantity(hostMemory()),
		api.ResourcePods:   api.NewQuantity(110),
	}
}

// hostMemory reads MemTotal from /proc/meminfo, or guesses 8 GiB.
func hostMemory() int64 {
	const fallback = 8 << 30
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return fallback
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return fallback
}

// Run runs every controller and node agent until ctx ends, then returns
// once all of their goroutines have stopped. Running the same
// Orchestrator twice at once fails with ErrFailedPrecondition.
func (o *Orchestrator) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return fmt.Errorf("baton: Run is already running: %w", ErrFailedPrecondition)
	}
	defer o.running.Store(false)

	opts := func(workers int) controller.Options {
		return controller.Options{Workers: workers, Log: o.log, Clock: o.clock, BatchSize: 1000}
	}
	nsRec := &namespace.Reconciler{Store: o.store, Log: o.log.Named("namespace")}
	nsCtrl := controller.New("namespace", nsRec, opts(1))
	nsRec.Register(nsCtrl)

	podGC := &gc.Reconciler{Store: o.store, Kind: api.KindPod, OwnerKinds: []string{api.KindReplicaSet}}
	podGCCtrl := controller.New("pod-gc", podGC, opts(1))
	podGC.Register(podGCCtrl)

	rsGC := &gc.Reconciler{Store: o.store, Kind: api.KindReplicaSet, OwnerKinds: []string{api.KindDeployment}}
	rsGCCtrl := controller.New("replicaset-gc", rsGC, opts(1))
	rsGC.Register(rsGCCtrl)

	depRec := &deployment.Reconciler{Store: o.store, Clock: o.clock, Log: o.log.Named("deployment"),
		Events: o.recorder.For("deployment-controller", "")}
	depCtrl := controller.New("deployment", depRec, opts(2))
	depRec.Register(depCtrl)

	rsRec := &replicaset.Reconciler{Store: o.store, Clock: o.clock, Log: o.log.Named("replicaset"),
		Events: o.recorder.For("replicaset-controller", "")}
	rsCtrl := controller.New("replicaset", rsRec, opts(2))
	rsRec.Register(rsCtrl)

	schedRec := scheduling.New(o.store, o.log, o.recorder.For("scheduler", ""), scheduler.New())
	schedCtrl := controller.New("scheduler", schedRec, opts(1))
	schedRec.Register(schedCtrl)

	nodes := make([]nodeagent.Node, len(o.nodes))
	for i, n := range o.nodes {
		nodes[i] = nodeagent.Node{Name: n.Name, Runtime: n.Runtime, HostIP: n.Address}
	}
	agents := nodeagent.NewManager(nodeagent.Config{
		Store: o.store, Clock: o.clock, Log: o.log, Events: o.recorder,
		Workers: o.cfg.workers, CrashBackoffInitial: o.cfg.crashInitial, CrashBackoffMax: o.cfg.crashMax, CrashBackoffJitter: o.cfg.crashJitter, CrashBackoffReset: o.cfg.crashReset,
		StateDir:   o.cfg.stateDir,
		ClusterDNS: o.svc.podDNS, ClusterDomain: o.cfg.services.clusterDomain,
		ServiceTrafficStopped: o.svc.serviceTrafficStopped,
	}, nodes)

	nodeRec := &nodelifecycle.Reconciler{Store: o.store, Clock: o.clock, Log: o.log.Named("node-lifecycle"),
		Events: o.recorder.For("node-controller", ""), GracePeriod: o.cfg.nodeGrace, Toleration: o.cfg.nodeToleration}
	nodeCtrl := controller.New("node-lifecycle", nodeRec, opts(1))
	nodeRec.Register(nodeCtrl)

	hpaRec := &autoscaler.Reconciler{Store: o.store, Clock: o.clock, Log: o.log.Named("autoscaler"),
		Events: o.recorder.For("horizontal-pod-autoscaler", ""), Metrics: podMetrics{agents}, SyncPeriod: o.cfg.autoscaleSync}
	hpaCtrl := controller.New("autoscaler", hpaRec, opts(1))
	hpaRec.Register(hpaCtrl)

	// The recorder outlives the controllers so their last events are kept.
	recCtx, stopRecorder := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() {
		defer close(recDone)
		o.recorder.Run(recCtx)
	}()
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range []func(context.Context) error{nsCtrl.Run, podGCCtrl.Run, rsGCCtrl.Run, depCtrl.Run, rsCtrl.Run, schedCtrl.Run, hpaCtrl.Run, nodeCtrl.Run, agents.Run, o.runServices} {
		g.Go(func() error { return run(gctx) })
	}
	err := g.Wait()
	stopRecorder()
	<-recDone
	return err
}

// podMetrics measures Pods through the node agents for the autoscaler.
type podMetrics struct{ agents *nodeagent.Manager }

func (m podMetrics) PodUsage(ctx context.Context, pod *api.Pod) (int64, int64, error) {
	u, err := m.agents.PodUsage(ctx, pod)
	if !u.CPUKnown {
		u.MilliCPU = -1
	}
	return u.MilliCPU, u.MemoryBytes, err
}

// HorizontalPodAutoscalers returns a client for the autoscalers in
// namespace.
func (o *Orchestrator) HorizontalPodAutoscalers(namespace string) *Client[*HorizontalPodAutoscaler] {
	return &Client[*HorizontalPodAutoscaler]{o: o, namespace: namespace}
}

// Pods returns a client for the Pods in namespace ("" reads all
// namespaces and creates in "default").
func (o *Orchestrator) Pods(namespace string) *PodClient {
	return &PodClient{Client[*Pod]{o: o, namespace: namespace}}
}

// Deployments returns a client for the Deployments in namespace.
func (o *Orchestrator) Deployments(namespace string) *DeploymentClient {
	return &DeploymentClient{Client[*Deployment]{o: o, namespace: namespace}}
}

// ReplicaSets returns a client for the ReplicaSets in namespace. Each
// revision of a Deployment's template is a ReplicaSet the Deployment owns.
func (o *Orchestrator) ReplicaSets(namespace string) *Client[*ReplicaSet] {
	return &Client[*ReplicaSet]{o: o, namespace: namespace}
}

// ConfigMaps returns a client for the ConfigMaps in namespace.
func (o *Orchestrator) ConfigMaps(namespace string) *Client[*ConfigMap] {
	return &Client[*ConfigMap]{o: o, namespace: namespace}
}

// Secrets returns a client for the Secrets in namespace. Returned Secrets
// hold their values (Data); their String and Format methods never print
// them.
func (o *Orchestrator) Secrets(namespace string) *Client[*Secret] {
	return &Client[*Secret]{o: o, namespace: namespace}
}

// Services returns a client for the Services in namespace.
func (o *Orchestrator) Services(namespace string) *Client[*Service] {
	return &Client[*Service]{o: o, namespace: namespace}
}

// Namespaces returns a client for Namespaces.
func (o *Orchestrator) Namespaces() *Client[*Namespace] {
	return &Client[*Namespace]{o: o}
}

// Nodes returns a client for Nodes. Nodes come from WithNode; a Node
// created through this client has no runtime and never becomes Ready.
func (o *Orchestrator) Nodes() *Client[*Node] {
	return &Client[*Node]{o: o}
}

// Events returns a client for the Events in namespace.
func (o *Orchestrator) Events(namespace string) *Client[*Event] {
	return &Client[*Event]{o: o, namespace: namespace}
}

// SaveSnapshot writes every object to w, for WithSnapshot to restore.
// Secrets are sealed with the keys of WithEncryptionKeys; without keys,
// SaveSnapshot refuses (ErrFailedPrecondition) when there are Secrets,
// rather than write them in plaintext.
func (o *Orchestrator) SaveSnapshot(w io.Writer) error {
	return o.store.Save(w, o.cfg.keys)
}

// Apply decodes Kubernetes YAML (or JSON) manifests from r — several
// documents separated by "---" — and creates or updates each object, in
// order, in one transaction: if any document is malformed or invalid,
// nothing is applied and the error names every bad field of every bad
// document. Objects without a namespace go to "default". It returns the
// objects as stored.
func (o *Orchestrator) Apply(ctx context.Context, r io.Reader) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	objs, err := api.DecodeManifests(r)
	if err != nil {
		return nil, err
	}
	err = o.store.Update(func(tx store.Tx) error {
		var bad []error
		for i, obj := range objs {
			if err := o.apply(tx, obj, ""); err != nil {
				if !errors.Is(err, ErrInvalid) {
					return fmt.Errorf("document %d (%s %q): %w", i+1, obj.ObjectKind(), obj.GetObjectMeta().Name, err)
				}
				bad = append(bad, fmt.Errorf("document %d: %w", i+1, err))
			}
		}
		return errors.Join(bad...)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Object, len(objs))
	for i, obj := range objs {
		out[i] = obj.DeepCopyObject()
	}
	return out, nil
}
