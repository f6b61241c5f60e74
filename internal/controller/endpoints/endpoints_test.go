package endpoints_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/controller/endpoints"
	"github.com/batonhq/baton/internal/controller/gc"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/servicefeed"
	"github.com/batonhq/baton/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitTimeout = 10 * time.Second

type env struct {
	t        *testing.T
	s        *store.Store
	recorder *events.Recorder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s, err := store.New()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s: s, recorder: events.New(s, clock.Real(), zap.NewNop(), events.Options{})}
	for _, ns := range []string{"default", "shop"} {
		e.create(&api.Namespace{ObjectMeta: api.ObjectMeta{Name: ns}, Status: api.NamespaceStatus{Phase: api.NamespaceActive}})
	}
	return e
}

// run starts the endpoints controller and the event recorder (and, with
// collect, the garbage collector of slices) until the test ends.
func (e *env) run(maxPerSlice int, collect bool) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &endpoints.Reconciler{Store: e.s, Events: e.recorder.For("endpointslice-controller", ""), MaxEndpointsPerSlice: maxPerSlice}
	c := controller.New("endpoints", rec, controller.Options{BatchSize: 1000})
	rec.Register(c)
	done := make(chan struct{}, 3)
	go func() { _ = c.Run(ctx); done <- struct{}{} }()
	go func() { _ = e.recorder.Run(ctx); done <- struct{}{} }()
	runs := 2
	if collect {
		gcRec := &gc.Reconciler{Store: e.s, Kind: api.KindEndpointSlice, OwnerKinds: []string{api.KindService}}
		gcCtrl := controller.New("gc", gcRec, controller.Options{})
		gcRec.Register(gcCtrl)
		go func() { _ = gcCtrl.Run(ctx); done <- struct{}{} }()
		runs++
	}
	e.t.Cleanup(func() {
		cancel()
		for range runs {
			<-done
		}
	})
}

func (e *env) create(obj api.Object) {
	e.t.Helper()
	api.SetDefaults(obj)
	if err := e.s.Update(func(tx store.Tx) error { return tx.Create(obj) }); err != nil {
		e.t.Fatal(err)
	}
}

// update applies change to a copy of the stored object.
func update[T api.Object](e *env, namespace, name string, change func(T)) {
	e.t.Helper()
	err := e.s.Update(func(tx store.Tx) error {
		cur, err := store.Get[T](tx, namespace, name)
		if err != nil {
			return err
		}
		next := cur.DeepCopyObject().(T)
		change(next)
		return tx.Update(next)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func service(ns, name string, selector map[string]string, ports ...api.ServicePort) *api.Service {
	return &api.Service{ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"team": "a"}},
		Spec: api.ServiceSpec{Selector: selector, Ports: ports}}
}

type podOpt func(*api.Pod)

func ready(p *api.Pod) {
	p.Status.Phase = api.PodRunning
	p.Status.Conditions = []api.PodCondition{{Type: api.PodReady, Status: api.ConditionTrue}}
}

func ip(addr string) podOpt { return func(p *api.Pod) { p.Status.PodIP = addr } }

func containerPort(name string, port int32) podOpt {
	return func(p *api.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, api.ContainerPort{Name: name, ContainerPort: port})
	}
}

func pod(ns, name string, labels map[string]string, opts ...podOpt) *api.Pod {
	p := &api.Pod{
		ObjectMeta: api.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       api.PodSpec{NodeName: "local", Containers: []api.Container{{Name: "c", Image: "img:1"}}},
		Status:     api.PodStatus{Phase: api.PodPending},
	}
	for _, opt := range opts {
		opt(p)
	}
	return p
}

var web = map[string]string{"app": "web"}

// slicesOf returns the slices labelled for Service ns/name.
func (e *env) slicesOf(ns, name string) []*api.EndpointSlice {
	var out []*api.EndpointSlice
	e.s.View(func(tx store.ReadTx) {
		for _, s := range store.List[*api.EndpointSlice](tx, ns) {
			if s.Labels[api.LabelServiceName] == name {
				out = append(out, s)
			}
		}
	})
	return out
}

// waitSlices waits until cond holds for Service ns/name's slices, looking
// again at every slice change.
func (e *env) waitSlices(ns, name, what string, cond func([]*api.EndpointSlice) bool) []*api.EndpointSlice {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := store.Watch(ctx, e.s, store.WatchOptions{Kind: api.KindEndpointSlice, Namespace: ns},
		func(ch store.Change) (store.Change, bool) { return ch, true })
	if err != nil {
		e.t.Fatal(err)
	}
	for {
		got := e.slicesOf(ns, name)
		if cond(got) {
			return got
		}
		select {
		case <-changes:
		case <-ctx.Done():
			e.t.Fatalf("timed out waiting for %s; slices:\n%s", what, describe(got))
		}
	}
}

// waitEvent waits until an Event in namespace default satisfies cond,
// looking again at every Event change.
func (e *env) waitEvent(what string, cond func(*api.Event) bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	changes, err := store.Watch(ctx, e.s, store.WatchOptions{Kind: api.KindEvent, Namespace: "default"},
		func(ch store.Change) (store.Change, bool) { return ch, true })
	if err != nil {
		e.t.Fatal(err)
	}
	for {
		var found bool
		e.s.View(func(tx store.ReadTx) {
			found = slices.ContainsFunc(store.List[*api.Event](tx, "default"), cond)
		})
		if found {
			return
		}
		select {
		case <-changes:
		case <-ctx.Done():
			e.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func describe(ss []*api.EndpointSlice) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %s ports=%s:", s.Name, portsString(s.Ports))
		for _, ep := range s.Endpoints {
			fmt.Fprintf(&b, " %s(r=%v,s=%v,t=%v)", ep.Addresses[0], ep.Conditions.IsReady(), ep.Conditions.IsServing(), ep.Conditions.IsTerminating())
		}
		b.WriteString("\n")
	}
	return b.String()
}

func portsString(ports []api.EndpointPort) string {
	var parts []string
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s/%s/%d", p.PortName(), p.PortProtocol(), p.PortNumber()))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// endpointsOf flattens slices into "address ready serving terminating"
// strings, sorted.
func endpointsOf(ss []*api.EndpointSlice) []string {
	var out []string
	for _, s := range ss {
		for _, ep := range s.Endpoints {
			c := ep.Conditions
			out = append(out, fmt.Sprintf("%s %v %v %v", ep.Addresses[0], c.IsReady(), c.IsServing(), c.IsTerminating()))
		}
	}
	slices.Sort(out)
	return out
}

func equalTo(want ...string) func([]*api.EndpointSlice) bool {
	return func(ss []*api.EndpointSlice) bool { return slices.Equal(endpointsOf(ss), want) }
}

func TestEndpointsFollowReadinessAndDeletion(t *testing.T) {
	e := newEnv(t)
	e.run(0, false)
	e.create(service("default", "web", web, api.ServicePort{Name: "http", Port: 80, TargetPort: api.FromInt(8080)}))
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	e.create(pod("default", "web-2", web, ip("127.88.0.3"))) // not ready
	e.create(pod("default", "web-3", web, ready))            // no IP yet
	e.create(pod("default", "other", map[string]string{"app": "db"}, ready, ip("127.88.0.9")))
	done := pod("default", "web-4", web, ready, ip("127.88.0.4"))
	done.Status.Phase = api.PodSucceeded
	e.create(done)

	ss := e.waitSlices("default", "web", "web-1 ready, web-2 not", equalTo(
		"127.88.0.2 true true false",
		"127.88.0.3 false false false"))
	s := ss[0]
	if len(ss) != 1 || s.AddressType != api.AddressTypeIPv4 || portsString(s.Ports) != "[http/TCP/8080]" {
		t.Fatalf("slices:\n%s", describe(ss))
	}
	if ref := s.ControllerRef(); ref == nil || ref.Kind != api.KindService || ref.Name != "web" {
		t.Errorf("owner %+v", s.OwnerReferences)
	}
	if s.Labels[api.LabelManagedBy] != api.EndpointSliceControllerName || s.Labels["team"] != "a" || !strings.HasPrefix(s.Name, "web-") {
		t.Errorf("slice %s labels %v", s.Name, s.Labels)
	}
	if ep := s.Endpoints[0]; ep.TargetRef == nil || ep.TargetRef.Name != "web-1" || ep.NodeName == nil || *ep.NodeName != "local" {
		t.Errorf("endpoint %+v", ep)
	}

	// Readiness flips; the IP arrives; a Pod stops matching.
	update(e, "default", "web-2", func(p *api.Pod) { ready(p) })
	update(e, "default", "web-3", func(p *api.Pod) { p.Status.PodIP = "127.88.0.5" })
	e.waitSlices("default", "web", "all three ready", equalTo(
		"127.88.0.2 true true false",
		"127.88.0.3 true true false",
		"127.88.0.5 true true false"))
	update(e, "default", "web-3", func(p *api.Pod) { p.Labels = map[string]string{"app": "web-canary"} })
	e.waitSlices("default", "web", "web-3 relabelled away", equalTo(
		"127.88.0.2 true true false",
		"127.88.0.3 true true false"))

	// A graceful deletion makes the endpoint terminating at once: not
	// ready, still serving.
	if err := e.s.Update(func(tx store.Tx) error {
		return deletion.Delete(tx, api.KindPod, "default", "web-1", deletion.Options{})
	}); err != nil {
		t.Fatal(err)
	}
	e.waitSlices("default", "web", "web-1 terminating", equalTo(
		"127.88.0.2 false true true",
		"127.88.0.3 true true false"))
	// Its removal takes it away.
	if err := e.s.Update(func(tx store.Tx) error {
		return tx.Delete(api.KindPod, "default", "web-1", store.Preconditions{})
	}); err != nil {
		t.Fatal(err)
	}
	e.waitSlices("default", "web", "web-1 gone", equalTo("127.88.0.3 true true false"))
}

// TestNamedTargetPort: a named targetPort resolves per Pod; Pods that
// resolve it to different numbers get different slices, and a Pod that
// declares no such port gets an endpoint without it and the Service a
// Warning event.
func TestNamedTargetPort(t *testing.T) {
	e := newEnv(t)
	e.run(0, false)
	e.create(service("default", "web", web,
		api.ServicePort{Name: "http", Port: 80, TargetPort: api.FromString("http")},
		api.ServicePort{Name: "admin", Port: 81, TargetPort: api.FromInt(9000)}))
	e.create(pod("default", "a", web, ready, ip("127.88.0.2"), containerPort("http", 8080)))
	e.create(pod("default", "b", web, ready, ip("127.88.0.3"), containerPort("http", 8081)))
	e.create(pod("default", "c", web, ready, ip("127.88.0.4"), containerPort("web", 8080)))
	e.create(pod("default", "d", web, ready, ip("127.88.0.5"), containerPort("http", 8080)))
	ss := e.waitSlices("default", "web", "three port groups", func(ss []*api.EndpointSlice) bool { return len(endpointsOf(ss)) == 4 })
	groups := map[string][]string{}
	for _, s := range ss {
		groups[portsString(s.Ports)] = endpointsOf([]*api.EndpointSlice{s})
	}
	want := map[string][]string{
		"[http/TCP/8080,admin/TCP/9000]": {"127.88.0.2 true true false", "127.88.0.5 true true false"},
		"[http/TCP/8081,admin/TCP/9000]": {"127.88.0.3 true true false"},
		"[admin/TCP/9000]":               {"127.88.0.4 true true false"},
	}
	if len(groups) != len(want) {
		t.Fatalf("slices:\n%s", describe(ss))
	}
	for k, v := range want {
		if !slices.Equal(groups[k], v) {
			t.Errorf("group %s = %v, want %v", k, groups[k], v)
		}
	}
	// The event is recorded after the slices' transaction commits.
	e.waitEvent("a TargetPortNotFound event for Pod c", func(ev *api.Event) bool {
		return ev.Reason == "TargetPortNotFound" && ev.InvolvedObject.Name == "web" && ev.Type == api.EventTypeWarning &&
			strings.Contains(ev.Message, "Pod c declare(s) no TCP container port named \"http\"")
	})
	// The Service stays valid and stored: the event is the report.
	if err := api.Validate(service("default", "web", web, api.ServicePort{Port: 80, TargetPort: api.FromString("http")})); err != nil {
		t.Errorf("a Service whose targetPort no Pod declares is invalid: %v", err)
	}
}

// TestSlicesAreBoundedAndStable: endpoints fill slices of at most the
// limit, and a change to one endpoint rewrites only its slice.
func TestSlicesAreBoundedAndStable(t *testing.T) {
	e := newEnv(t)
	e.run(10, false)
	e.create(service("default", "web", web, api.ServicePort{Port: 80}))
	for i := range 25 {
		e.create(pod("default", fmt.Sprintf("web-%02d", i), web, ready, ip(fmt.Sprintf("127.88.1.%d", i+2))))
	}
	ss := e.waitSlices("default", "web", "25 endpoints", func(ss []*api.EndpointSlice) bool { return len(endpointsOf(ss)) == 25 })
	if len(ss) != 3 {
		t.Fatalf("%d slices for 25 endpoints at 10 a slice:\n%s", len(ss), describe(ss))
	}
	before := map[string]string{}
	var victim *api.EndpointSlice
	for _, s := range ss {
		if len(s.Endpoints) > 10 {
			t.Errorf("slice %s holds %d endpoints", s.Name, len(s.Endpoints))
		}
		before[s.Name] = s.ResourceVersion
		if victim == nil && len(s.Endpoints) > 0 {
			victim = s
		}
	}
	gone := victim.Endpoints[0].TargetRef.Name
	update(e, "default", gone, func(p *api.Pod) { p.Status.Conditions = nil })
	ss = e.waitSlices("default", "web", gone+" not ready", func(ss []*api.EndpointSlice) bool {
		for _, s := range ss {
			for _, ep := range s.Endpoints {
				if ep.TargetRef.Name == gone {
					return !ep.Conditions.IsReady()
				}
			}
		}
		return false
	})
	for _, s := range ss {
		if changed := s.ResourceVersion != before[s.Name]; changed != (s.Name == victim.Name) {
			t.Errorf("slice %s changed=%v; only %s should have", s.Name, changed, victim.Name)
		}
	}
	// New Pods fill the room left before a new slice is made.
	if err := e.s.Update(func(tx store.Tx) error { return tx.Delete(api.KindPod, "default", gone, store.Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	e.create(pod("default", "web-new", web, ready, ip("127.88.1.200")))
	ss = e.waitSlices("default", "web", "web-new placed", func(ss []*api.EndpointSlice) bool { return len(endpointsOf(ss)) == 25 })
	if len(ss) != 3 {
		t.Errorf("%d slices after a Pod was replaced:\n%s", len(ss), describe(ss))
	}
}

func TestSelectorlessAndEmptyServices(t *testing.T) {
	e := newEnv(t)
	e.run(0, false)
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	e.create(service("default", "empty", map[string]string{"app": "nothing"}, api.ServicePort{Port: 80}))
	ss := e.waitSlices("default", "empty", "a placeholder slice", func(ss []*api.EndpointSlice) bool { return len(ss) == 1 })
	if len(ss[0].Endpoints) != 0 || len(ss[0].Ports) != 0 {
		t.Errorf("placeholder:\n%s", describe(ss))
	}
	e.create(service("default", "web", web, api.ServicePort{Port: 80}))
	e.waitSlices("default", "web", "one endpoint", equalTo("127.88.0.2 true true false"))
	// Dropping the selector hands the endpoints to the user: the
	// controller's slices go.
	update(e, "default", "web", func(s *api.Service) { s.Spec.Selector = nil })
	e.waitSlices("default", "web", "no managed slices", func(ss []*api.EndpointSlice) bool { return len(ss) == 0 })
}

// TestSlicesCollectedWithService: the garbage collector removes a deleted
// Service's slices.
func TestSlicesCollectedWithService(t *testing.T) {
	e := newEnv(t)
	e.run(0, true)
	e.create(service("default", "web", web, api.ServicePort{Port: 80}))
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	e.waitSlices("default", "web", "one endpoint", equalTo("127.88.0.2 true true false"))
	if err := e.s.Update(func(tx store.Tx) error { return tx.Delete(api.KindService, "default", "web", store.Preconditions{}) }); err != nil {
		t.Fatal(err)
	}
	e.waitSlices("default", "web", "slices collected", func(ss []*api.EndpointSlice) bool { return len(ss) == 0 })
}

// TestManagedSliceRepaired: a managed slice changed by someone else is put
// back.
func TestManagedSliceRepaired(t *testing.T) {
	e := newEnv(t)
	e.run(0, false)
	e.create(service("default", "web", web, api.ServicePort{Port: 80}))
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	ss := e.waitSlices("default", "web", "one endpoint", equalTo("127.88.0.2 true true false"))
	update(e, "default", ss[0].Name, func(s *api.EndpointSlice) { s.Endpoints = nil })
	e.waitSlices("default", "web", "the endpoint restored", equalTo("127.88.0.2 true true false"))
}

// TestManyServicesOneTransaction: Services queued together are written in
// one store transaction.
func TestManyServicesOneTransaction(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		name := fmt.Sprintf("svc-%d", i)
		labels := map[string]string{"app": name}
		e.create(service("shop", name, labels, api.ServicePort{Port: 80}))
		e.create(pod("shop", name+"-pod", labels, ready, ip(fmt.Sprintf("127.88.2.%d", i+2))))
	}
	revisions := map[uint64]int{}
	_, cancel := e.s.Subscribe(func(ch store.Change) bool { return ch.Kind() == api.KindEndpointSlice }, func(ch store.Change) {
		revisions[ch.Revision]++
	})
	e.run(0, false)
	for i := range 50 {
		e.waitSlices("shop", fmt.Sprintf("svc-%d", i), "one endpoint", func(ss []*api.EndpointSlice) bool { return len(endpointsOf(ss)) == 1 })
	}
	cancel()
	if len(revisions) != 1 {
		t.Errorf("50 Services' slices were written in %d transactions, want 1", len(revisions))
	}
}

// TestResolverSeesTerminationAtOnce: fed from the store, a Resolver drops
// a Pod from the ready endpoints in the very commit that begins its
// deletion, before the controller has rewritten its slices.
func TestResolverSeesTerminationAtOnce(t *testing.T) {
	e := newEnv(t)
	r := discovery.NewResolver()
	stop := servicefeed.Feed(e.s, r)
	defer stop()
	e.run(0, false)
	e.create(service("default", "web", web, api.ServicePort{Name: "http", Port: 80, TargetPort: api.FromInt(8080)}))
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	e.create(pod("default", "web-2", web, ready, ip("127.88.0.3")))
	waitResolve := func(what string, want ...string) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			changed := r.Changed()
			p, err := r.Resolve("web.default", "http", api.ProtocolTCP)
			var got []string
			if err == nil {
				for _, ap := range p.Ready {
					got = append(got, ap.String())
				}
			}
			if slices.Equal(got, want) {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("timed out waiting for %s: ready %v (%v), want %v", what, got, err, want)
			}
		}
	}
	waitResolve("both ready", "127.88.0.2:8080", "127.88.0.3:8080")
	if err := e.s.Update(func(tx store.Tx) error {
		return deletion.Delete(tx, api.KindPod, "default", "web-2", deletion.Options{})
	}); err != nil {
		t.Fatal(err)
	}
	// No wait: the feed applied the deletion in the commit that made it,
	// before any node agent could act on it.
	if p, err := r.Resolve("web.default", "http", api.ProtocolTCP); err != nil || len(p.Ready) != 1 || p.Ready[0].String() != "127.88.0.2:8080" {
		t.Fatalf("right after the deletion began: %v, %v", p, err)
	}
	waitResolve("web-2 terminating", "127.88.0.2:8080")
	e.s.View(func(tx store.ReadTx) {
		if _, err := tx.Get(api.KindPod, "default", "web-2"); err != nil {
			t.Errorf("web-2 is gone already: %v", err)
		}
	})
	p, _ := r.Resolve("web.default", "80", "")
	if len(p.Terminating) != 1 || p.Terminating[0].String() != "127.88.0.3:8080" {
		t.Errorf("terminating %v", p.Terminating)
	}
	if _, err := r.Resolve("nothing.default", "80", ""); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("unknown Service: %v", err)
	}
}

// TestUserSlicesLeftAlone: the controller keeps only the slices it
// manages, those both controlled by the Service and labelled managed-by
// with its name. It never changes or deletes another slice, whether the
// Service has a selector, loses it, or never had one; its own slices of a
// Service without a selector it deletes, as Kubernetes' controller does.
func TestUserSlicesLeftAlone(t *testing.T) {
	e := newEnv(t)
	rec := &endpoints.Reconciler{Store: e.s}
	reconcile := func(name string) {
		t.Helper()
		if _, err := rec.Reconcile(context.Background(), controller.Request{Namespace: "default", Name: name}); err != nil {
			t.Fatalf("reconcile %s: %v", name, err)
		}
	}
	web := service("default", "web", web, api.ServicePort{Name: "http", Port: 80})
	e.create(web)
	ext := service("default", "ext", nil, api.ServicePort{Name: "http", Port: 80})
	e.create(ext)
	e.create(pod("default", "web-1", map[string]string{"app": "web"}, ready, ip("127.88.0.2")))

	port, name := int32(9000), "http"
	slice := func(sliceName string, svc *api.Service, managedBy string, controlled bool) *api.EndpointSlice {
		s := &api.EndpointSlice{
			ObjectMeta:  api.ObjectMeta{Namespace: "default", Name: sliceName, Labels: map[string]string{api.LabelServiceName: svc.Name}},
			AddressType: api.AddressTypeIPv4,
			Endpoints:   []api.Endpoint{{Addresses: []string{"127.88.0.99"}}},
			Ports:       []api.EndpointPort{{Name: &name, Port: &port}},
		}
		if managedBy != "" {
			s.Labels[api.LabelManagedBy] = managedBy
		}
		if controlled {
			s.OwnerReferences = []api.OwnerReference{api.NewControllerRef(svc, api.CoreV1)}
		}
		return s
	}
	users := []*api.EndpointSlice{
		slice("web-user", web, "", false),                                 // the Service's label only
		slice("web-owned", web, "", true),                                 // controlled, but not labelled managed-by
		slice("web-other", web, "other-controller.example.com", true),     // another controller's
		slice("web-claimed", web, api.EndpointSliceControllerName, false), // labelled, but not controlled by web
		slice("ext-user", ext, "", false),                                 // the selectorless Service's
		slice("ext-claimed", ext, api.EndpointSliceControllerName, false), // labelled, but not controlled by ext
		slice("ext-owned", ext, "other-controller.example.com", true),     // another controller's
	}
	for _, s := range users {
		e.create(s)
	}
	// The controller's own slice of ext, left from when it had a selector.
	e.create(slice("ext-stale", ext, api.EndpointSliceControllerName, true))

	unchanged := func(when string) {
		t.Helper()
		e.s.View(func(tx store.ReadTx) {
			for _, want := range users {
				got, err := store.Get[*api.EndpointSlice](tx, "default", want.Name)
				if err != nil {
					t.Errorf("%s: user slice %s: %v", when, want.Name, err)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: user slice %s changed:\n got %+v\nwant %+v", when, want.Name, got, want)
				}
			}
		})
	}
	managed := func(svc *api.Service) []*api.EndpointSlice {
		var out []*api.EndpointSlice
		for _, s := range e.slicesOf("default", svc.Name) {
			if s.IsControlledBy(svc.UID) && s.Labels[api.LabelManagedBy] == api.EndpointSliceControllerName {
				out = append(out, s)
			}
		}
		return out
	}

	reconcile("web")
	reconcile("ext")
	if got := managed(web); len(got) != 1 || !slices.Equal(endpointsOf(got), []string{"127.88.0.2 true true false"}) {
		t.Errorf("web's managed slices:\n%s", describe(got))
	}
	if got := managed(ext); len(got) != 0 {
		t.Errorf("ext has no selector, yet managed slices:\n%s", describe(got))
	}
	unchanged("after the first reconcile")

	// The selector goes: the controller's slices go, the others stay.
	update(e, "default", "web", func(s *api.Service) { s.Spec.Selector = nil })
	reconcile("web")
	if got := managed(web); len(got) != 0 {
		t.Errorf("web lost its selector, yet managed slices:\n%s", describe(got))
	}
	unchanged("after the selector was removed")

	// And comes back: one managed slice again, the others untouched.
	update(e, "default", "web", func(s *api.Service) { s.Spec.Selector = map[string]string{"app": "web"} })
	reconcile("web")
	if got := managed(web); len(got) != 1 {
		t.Errorf("web has its selector back, managed slices:\n%s", describe(got))
	}
	unchanged("after the selector came back")
}

// TestUserSliceChangesLeaveManagedSlices: the running controller, woken by
// changes to user slices that name the Service as controller, rewrites
// nothing.
func TestUserSliceChangesLeaveManagedSlices(t *testing.T) {
	e := newEnv(t)
	e.run(0, false)
	svc := service("default", "web", web, api.ServicePort{Port: 80})
	e.create(svc)
	e.create(pod("default", "web-1", web, ready, ip("127.88.0.2")))
	ss := e.waitSlices("default", "web", "one endpoint", equalTo("127.88.0.2 true true false"))
	managedName, managedRV := ss[0].Name, ss[0].ResourceVersion

	user := &api.EndpointSlice{
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-mine",
			Labels:          map[string]string{api.LabelServiceName: "web"},
			OwnerReferences: []api.OwnerReference{api.NewControllerRef(svc, api.CoreV1)}},
		AddressType: api.AddressTypeIPv4,
		Endpoints:   []api.Endpoint{{Addresses: []string{"127.88.0.3"}}},
	}
	e.create(user)
	e.waitSlices("default", "web", "both slices", equalTo("127.88.0.2 true true false", "127.88.0.3 true true false"))
	// A change to the user slice wakes the controller for web (the slice
	// names it as controller); a new Pod then proves the controller has
	// run since. It must rewrite its own slice, and leave the user's as
	// the user wrote it.
	update(e, "default", "web-mine", func(s *api.EndpointSlice) {
		s.Endpoints = append(s.Endpoints, api.Endpoint{Addresses: []string{"127.88.0.4"}})
	})
	e.create(pod("default", "web-2", web, ready, ip("127.88.0.5")))
	ss = e.waitSlices("default", "web", "web-2 added", equalTo(
		"127.88.0.2 true true false", "127.88.0.3 true true false", "127.88.0.4 true true false", "127.88.0.5 true true false"))
	for _, s := range ss {
		switch s.Name {
		case "web-mine":
			if len(s.Endpoints) != 2 || s.Labels[api.LabelManagedBy] != "" {
				t.Errorf("the user slice was rewritten:\n%s", describe([]*api.EndpointSlice{s}))
			}
		case managedName:
			if s.ResourceVersion == managedRV {
				t.Errorf("the managed slice was not updated for web-2")
			}
		default:
			t.Errorf("unexpected slice %s:\n%s", s.Name, describe(ss))
		}
	}
}
