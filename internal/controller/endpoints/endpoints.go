// Package endpoints is the endpoints controller: it keeps the
// EndpointSlices of every Service that has a selector, in the shape and
// with the rules of Kubernetes' EndpointSlice controller.
//
// For each Service it lists the Pods its selector matches that have an IP
// and have not finished, and writes one endpoint per Pod: ready when the
// Pod is Ready and not being deleted, serving when the Pod is Ready,
// terminating once the Pod has a deletionTimestamp — so a Pod being deleted
// stops taking new connections as soon as its deletion starts, before its
// containers are stopped. Each Service port's targetPort is resolved per
// Pod, by number or by the name of a container port of the same protocol;
// a Pod that declares no such port gets an endpoint without that port (as
// in Kubernetes) and the Service a Warning event, TargetPortNotFound.
// Endpoints whose ports resolve alike share slices of at most
// MaxEndpointsPerSlice; an endpoint stays in its slice while it can, so a
// change rewrites one slice, not all of them.
//
// Slices are named after the Service with a random suffix, labelled
// kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by,
// and owned by the Service, so that the garbage collector removes them
// with it. Many Services changing at once are reconciled in one store
// transaction.
//
// The controller manages only the slices that are both controlled by their
// Service and labelled managed-by with api.EndpointSliceControllerName;
// every other slice, such as those users write for a Service without a
// selector, it never changes or deletes, even when it names the Service.
// When a Service loses its selector, its managed slices are deleted and
// the others stay, as in Kubernetes.
package endpoints

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller"
	"github.com/batonhq/baton/internal/events"
	"github.com/batonhq/baton/internal/store"
)

// LabelHeadless marks the slices of a headless Service, as in Kubernetes.
const LabelHeadless = "service.kubernetes.io/headless"

// Reconciler keeps EndpointSlices.
type Reconciler struct {
	Store *store.Store
	// Log receives what goes wrong; default no-op.
	Log *zap.Logger
	// Events reports Pods whose container ports do not resolve a
	// Service's targetPort.
	Events events.Source
	// MaxEndpointsPerSlice bounds a slice's endpoints; default
	// api.MaxEndpointsPerSlice.
	MaxEndpointsPerSlice int
}

var _ controller.BatchReconciler = (*Reconciler)(nil)

// Register makes c reconcile a Service when it changes, when a Pod its
// selector matches (or matched) changes in a way that matters to its
// endpoints, and when one of its managed slices changes.
func (r *Reconciler) Register(c *controller.Controller) {
	c.Watch(r.Store, api.KindService, controller.Same)
	c.Watch(r.Store, api.KindPod, r.servicesOfPod)
	c.Watch(r.Store, api.KindEndpointSlice, controller.ControllerOf(api.KindService))
}

// servicesOfPod maps a Pod change to the Services whose selectors match
// the Pod before or after it. It runs under the store's write lock.
func (r *Reconciler) servicesOfPod(ch store.Change) []controller.Request {
	pod := ch.Object.(*api.Pod)
	var old *api.Pod
	if ch.Type == store.Modified {
		old = ch.Old.(*api.Pod)
		if !changesEndpoints(old, pod) {
			return nil
		}
	}
	var reqs []controller.Request
	r.Store.View(func(tx store.ReadTx) {
		tx.Each(api.KindService, pod.Namespace, func(o api.Object) bool {
			svc := o.(*api.Service)
			if selects(svc, pod) || (old != nil && selects(svc, old)) {
				reqs = append(reqs, controller.RequestFor(svc))
			}
			return true
		})
	})
	return reqs
}

// changesEndpoints reports whether a Pod update can change its endpoint.
func changesEndpoints(old, pod *api.Pod) bool {
	if !maps.Equal(old.Labels, pod.Labels) || old.Status.PodIP != pod.Status.PodIP || old.IsReady() != pod.IsReady() ||
		(old.DeletionTimestamp == nil) != (pod.DeletionTimestamp == nil) || old.IsTerminal() != pod.IsTerminal() ||
		old.Spec.NodeName != pod.Spec.NodeName || len(old.Spec.Containers) != len(pod.Spec.Containers) {
		return true
	}
	for i := range pod.Spec.Containers {
		if !slices.Equal(old.Spec.Containers[i].Ports, pod.Spec.Containers[i].Ports) {
			return true
		}
	}
	return false
}

// selects reports whether svc's selector matches pod. A Service without a
// selector selects nothing: its endpoints are not Baton's to keep.
func selects(svc *api.Service, pod *api.Pod) bool {
	if len(svc.Spec.Selector) == 0 {
		return false
	}
	for k, v := range svc.Spec.Selector {
		if got, ok := pod.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Reconcile brings one Service's slices up to date.
func (r *Reconciler) Reconcile(ctx context.Context, req controller.Request) (controller.Result, error) {
	out := r.ReconcileBatch(ctx, []controller.Request{req})
	return out[0].Result, out[0].Err
}

// ReconcileBatch brings the slices of many Services up to date in one
// store transaction.
func (r *Reconciler) ReconcileBatch(ctx context.Context, reqs []controller.Request) []controller.Outcome {
	outcomes := make([]controller.Outcome, len(reqs))
	var warnings []warning
	err := r.Store.Update(func(tx store.Tx) error {
		warnings = warnings[:0]
		pods := map[string][]*api.Pod{} // by namespace, listed once per batch
		for _, req := range reqs {
			w, err := r.sync(tx, req, pods)
			if err != nil {
				return fmt.Errorf("endpoints of Service %s: %w", req, err)
			}
			warnings = append(warnings, w...)
		}
		return nil
	})
	if err != nil {
		for i := range outcomes {
			outcomes[i].Err = err
		}
		return outcomes
	}
	for _, w := range warnings {
		r.Events.Warning(w.svc, "TargetPortNotFound", "%s", w.message)
	}
	return outcomes
}

// warning is an event to record once the transaction commits.
type warning struct {
	svc     *api.Service
	message string
}

// sync writes the slices of the Service req names. pods caches the Pods
// of each namespace for the transaction.
func (r *Reconciler) sync(tx store.Tx, req controller.Request, pods map[string][]*api.Pod) ([]warning, error) {
	svc, err := store.Get[*api.Service](tx, req.Namespace, req.Name)
	if store.IsNotFound(err) {
		return nil, nil // the garbage collector removes its slices
	}
	if err != nil {
		return nil, err
	}
	if ns, err := store.Get[*api.Namespace](tx, "", svc.Namespace); err != nil || ns.DeletionTimestamp != nil {
		return nil, nil // the namespace controller is emptying it
	}
	existing := managedSlices(tx, svc)
	if len(svc.Spec.Selector) == 0 {
		for _, s := range existing {
			if err := tx.Delete(api.KindEndpointSlice, s.Namespace, s.Name, store.Preconditions{UID: s.UID}); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	nsPods, ok := pods[svc.Namespace]
	if !ok {
		nsPods = store.List[*api.Pod](tx, svc.Namespace)
		pods[svc.Namespace] = nsPods
	}
	groups, unresolved := desiredGroups(svc, nsPods)
	limit := r.MaxEndpointsPerSlice
	if limit <= 0 {
		limit = api.MaxEndpointsPerSlice
	}
	if err := apply(tx, svc, existing, groups, limit); err != nil {
		return nil, err
	}
	return unresolvedWarnings(svc, unresolved), nil
}

// managedSlices returns the slices this controller keeps for svc: those
// controlled by svc and labelled as its own. No other slice may reach
// apply or a delete, whoever wrote it.
func managedSlices(tx store.ReadTx, svc *api.Service) []*api.EndpointSlice {
	var out []*api.EndpointSlice
	tx.EachByOwner(api.KindEndpointSlice, svc.UID, func(o api.Object) bool {
		s := o.(*api.EndpointSlice)
		if s.IsControlledBy(svc.UID) && s.Labels[api.LabelManagedBy] == api.EndpointSliceControllerName {
			out = append(out, s)
		}
		return true
	})
	return out
}

// group is the endpoints whose ports resolve alike, keyed by uid (of the
// Pod) for placement.
type group struct {
	addressType api.AddressType
	ports       []api.EndpointPort
	endpoints   map[string]api.Endpoint
}

// unresolvedPort is a Service port some Pods could not resolve.
type unresolvedPort struct {
	port api.ServicePort
	pods []string
}

// desiredGroups computes svc's endpoints from pods, grouped by address
// type and resolved ports.
func desiredGroups(svc *api.Service, pods []*api.Pod) (map[string]*group, []unresolvedPort) {
	groups := map[string]*group{}
	unresolved := make([]unresolvedPort, len(svc.Spec.Ports))
	yes, no := true, false
	for _, pod := range pods {
		if !selects(svc, pod) || pod.Status.PodIP == "" || pod.IsTerminal() {
			continue
		}
		addr, err := netip.ParseAddr(pod.Status.PodIP)
		if err != nil {
			continue
		}
		addressType := api.AddressTypeIPv4
		if addr.Is6() && !addr.Is4In6() {
			addressType = api.AddressTypeIPv6
		}
		var ports []api.EndpointPort
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			number, ok := resolvePort(pod, sp)
			if !ok {
				unresolved[i].port = *sp
				unresolved[i].pods = append(unresolved[i].pods, pod.Name)
				continue
			}
			name, protocol := sp.Name, protocolOf(sp.Protocol)
			ports = append(ports, api.EndpointPort{Name: &name, Protocol: &protocol, Port: &number})
		}
		key := groupKey(addressType, ports)
		g := groups[key]
		if g == nil {
			g = &group{addressType: addressType, ports: ports, endpoints: map[string]api.Endpoint{}}
			groups[key] = g
		}
		ready, terminating := pod.IsReady(), pod.DeletionTimestamp != nil
		ep := api.Endpoint{
			Addresses: []string{addr.Unmap().String()},
			Conditions: api.EndpointConditions{
				Ready:       pick(ready && !terminating, &yes, &no),
				Serving:     pick(ready, &yes, &no),
				Terminating: pick(terminating, &yes, &no),
			},
			TargetRef: &api.ObjectReference{Kind: api.KindPod, Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if pod.Spec.NodeName != "" {
			node := pod.Spec.NodeName
			ep.NodeName = &node
		}
		g.endpoints[pod.UID] = ep
	}
	var out []unresolvedPort
	for _, u := range unresolved {
		if len(u.pods) > 0 {
			out = append(out, u)
		}
	}
	return groups, out
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

func protocolOf(p api.Protocol) api.Protocol {
	if p == "" {
		return api.ProtocolTCP
	}
	return p
}

// resolvePort finds the port number sp's targetPort means on pod: the
// number itself, or the container port of that name and protocol; unset
// means the Service's port.
func resolvePort(pod *api.Pod, sp *api.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	switch {
	case !tp.IsString && tp.IntVal == 0:
		return sp.Port, true
	case !tp.IsString:
		return tp.IntVal, true
	case tp.StrVal == "":
		return sp.Port, true
	}
	protocol := protocolOf(sp.Protocol)
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == tp.StrVal && protocolOf(cp.Protocol) == protocol {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// groupKey names the address type and ports of a group.
func groupKey(addressType api.AddressType, ports []api.EndpointPort) string {
	var b strings.Builder
	b.WriteString(string(addressType))
	for _, p := range ports {
		b.WriteString("|")
		b.WriteString(p.PortName())
		b.WriteString("/")
		b.WriteString(string(p.PortProtocol()))
		b.WriteString("/")
		b.WriteString(strconv.Itoa(int(p.PortNumber())))
	}
	return b.String()
}

func unresolvedWarnings(svc *api.Service, unresolved []unresolvedPort) []warning {
	var out []warning
	for _, u := range unresolved {
		name := u.port.Name
		if name == "" {
			name = strconv.Itoa(int(u.port.Port))
		}
		slices.Sort(u.pods)
		example := u.pods[0]
		more := ""
		if len(u.pods) > 1 {
			more = fmt.Sprintf(" and %d more Pod(s)", len(u.pods)-1)
		}
		out = append(out, warning{svc: svc, message: fmt.Sprintf(
			"Pod %s%s declare(s) no %s container port named %q for Service port %s; their endpoints lack that port: "+
				"name a container port %q, or set targetPort to a number",
			example, more, protocolOf(u.port.Protocol), u.port.TargetPort.StrVal, name, u.port.TargetPort.StrVal)})
	}
	return out
}

// apply makes svc's stored slices hold groups, moving as few endpoints as
// it can: an endpoint stays in its slice while its group does, new ones
// fill slices with room before new slices are made, and slices left empty
// are deleted. A Service with no endpoint at all keeps one empty slice, as
// in Kubernetes.
func apply(tx store.Tx, svc *api.Service, existing []*api.EndpointSlice, groups map[string]*group, limit int) error {
	labels := sliceLabels(svc)
	owners := []api.OwnerReference{api.NewControllerRef(svc, api.CoreV1)}
	type plan struct {
		old       *api.EndpointSlice // nil for a new slice
		group     *group
		endpoints map[string]api.Endpoint
	}
	var plans []*plan
	var deletes []*api.EndpointSlice
	placed := map[string]bool{}
	slices.SortFunc(existing, func(a, b *api.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range existing {
		g := groups[groupKey(s.AddressType, s.Ports)]
		if g == nil {
			deletes = append(deletes, s)
			continue
		}
		p := &plan{old: s, group: g, endpoints: map[string]api.Endpoint{}}
		for _, ep := range s.Endpoints {
			uid := endpointUID(ep)
			if want, ok := g.endpoints[uid]; ok && !placed[uid] && len(p.endpoints) < limit {
				p.endpoints[uid] = want
				placed[uid] = true
			}
		}
		plans = append(plans, p)
	}
	keys := slices.Sorted(maps.Keys(groups))
	for _, key := range keys {
		g := groups[key]
		uids := slices.Sorted(maps.Keys(g.endpoints))
		for _, uid := range uids {
			if placed[uid] {
				continue
			}
			var target *plan
			for _, p := range plans {
				if p.group == g && len(p.endpoints) < limit {
					target = p
					break
				}
			}
			if target == nil {
				target = &plan{group: g, endpoints: map[string]api.Endpoint{}}
				plans = append(plans, target)
			}
			target.endpoints[uid] = g.endpoints[uid]
			placed[uid] = true
		}
	}
	// Drop slices left empty, keeping one when the Service has no endpoint.
	kept := plans[:0]
	for _, p := range plans {
		if len(p.endpoints) == 0 {
			if p.old != nil {
				deletes = append(deletes, p.old)
			}
			continue
		}
		kept = append(kept, p)
	}
	plans = kept
	if len(plans) == 0 {
		var placeholder *plan
		for i, s := range deletes {
			if len(s.Ports) == 0 && s.AddressType == api.AddressTypeIPv4 {
				placeholder = &plan{old: s, group: &group{addressType: api.AddressTypeIPv4}}
				deletes = slices.Delete(deletes, i, i+1)
				break
			}
		}
		if placeholder == nil {
			placeholder = &plan{group: &group{addressType: api.AddressTypeIPv4}}
		}
		plans = append(plans, placeholder)
	}
	for _, s := range deletes {
		if err := tx.Delete(api.KindEndpointSlice, s.Namespace, s.Name, store.Preconditions{UID: s.UID}); err != nil && !store.IsNotFound(err) {
			return err
		}
	}
	for _, p := range plans {
		eps := make([]api.Endpoint, 0, len(p.endpoints))
		for _, uid := range slices.Sorted(maps.Keys(p.endpoints)) {
			eps = append(eps, p.endpoints[uid])
		}
		slices.SortStableFunc(eps, func(a, b api.Endpoint) int {
			return strings.Compare(a.TargetRef.Name, b.TargetRef.Name)
		})
		next := &api.EndpointSlice{
			TypeMeta:    api.TypeMeta{APIVersion: api.DiscoveryV1, Kind: api.KindEndpointSlice},
			AddressType: p.group.addressType,
			Endpoints:   eps,
			Ports:       p.group.ports,
		}
		if p.old == nil {
			next.ObjectMeta = api.ObjectMeta{
				Namespace:       svc.Namespace,
				GenerateName:    svc.Name + "-",
				Labels:          labels,
				OwnerReferences: owners,
			}
			if err := tx.Create(next); err != nil {
				return err
			}
			continue
		}
		if sameContent(p.old, next, labels) {
			continue
		}
		next.ObjectMeta = p.old.ObjectMeta
		next.Labels = labels
		if err := tx.Update(next); err != nil {
			return err
		}
	}
	return nil
}

// endpointUID returns the UID of the Pod behind ep, or its address when it
// names none.
func endpointUID(ep api.Endpoint) string {
	if ep.TargetRef != nil && ep.TargetRef.UID != "" {
		return ep.TargetRef.UID
	}
	if len(ep.Addresses) > 0 {
		return "addr:" + ep.Addresses[0]
	}
	return ""
}

// sliceLabels returns the labels of svc's slices: the Service's own, and
// the well-known ones.
func sliceLabels(svc *api.Service) map[string]string {
	labels := make(map[string]string, len(svc.Labels)+3)
	for k, v := range svc.Labels {
		labels[k] = v
	}
	labels[api.LabelServiceName] = svc.Name
	labels[api.LabelManagedBy] = api.EndpointSliceControllerName
	if svc.Spec.ClusterIP == api.ClusterIPNone {
		labels[LabelHeadless] = ""
	} else {
		delete(labels, LabelHeadless)
	}
	return labels
}

// sameContent reports whether old already holds what next would write.
func sameContent(old, next *api.EndpointSlice, labels map[string]string) bool {
	return old.AddressType == next.AddressType && maps.Equal(old.Labels, labels) &&
		len(old.Endpoints) == len(next.Endpoints) &&
		(len(next.Endpoints) == 0 || reflect.DeepEqual(old.Endpoints, next.Endpoints)) &&
		portsEqual(old.Ports, next.Ports)
}

func portsEqual(a, b []api.EndpointPort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].PortName() != b[i].PortName() || a[i].PortProtocol() != b[i].PortProtocol() || a[i].PortNumber() != b[i].PortNumber() {
			return false
		}
	}
	return true
}
