package baton

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller/serviceip"
	"github.com/batonhq/baton/internal/deletion"
	"github.com/batonhq/baton/internal/store"
)

// Client reads and writes objects of one kind in one namespace (or, for
// cluster-scoped kinds and for reads across namespaces, with namespace "").
// It is safe for concurrent use. Objects passed in are never retained and
// objects returned are the caller's own copies.
type Client[T Object] struct {
	o         *Orchestrator
	namespace string
}

func (c *Client[T]) kind() string {
	var zero T
	return zero.ObjectKind()
}

// Get returns the object called name, or an error matching ErrNotFound.
func (c *Client[T]) Get(ctx context.Context, name string) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	var err error
	c.o.store.View(func(tx store.ReadTx) {
		var obj api.Object
		if obj, err = tx.Get(c.kind(), c.namespace, name); err == nil {
			out = obj.DeepCopyObject().(T)
		}
	})
	return out, err
}

// ListOption narrows List and Watch.
type ListOption func(*listOptions)

type listOptions struct {
	selector *api.LabelSelector
	// fromRevision resumes a Watch; List ignores it.
	fromRevision uint64
	badVersion   string
}

// MatchLabels keeps objects carrying all these labels.
func MatchLabels(labels map[string]string) ListOption {
	return func(o *listOptions) { o.selector = api.SelectorFromSet(labels) }
}

// MatchSelector keeps objects that sel matches.
func MatchSelector(sel *LabelSelector) ListOption {
	return func(o *listOptions) { o.selector = sel.DeepCopy() }
}

// FromResourceVersion makes Watch resume after resourceVersion rv, as a
// Kubernetes watch does: instead of the current state it first delivers
// every change after rv, then the changes that follow. Pass the
// resourceVersion of the last event a previous watch delivered (or of a
// List's newest object) to continue with nothing missed and nothing
// repeated. As in Kubernetes, "" and "0" mean the current state first.
// Baton keeps the last 1,024 changes; an older rv fails with ErrExpired,
// and the caller should List again and watch from there. List ignores
// this option.
func FromResourceVersion(rv string) ListOption {
	return func(o *listOptions) {
		o.fromRevision, o.badVersion = 0, ""
		if rv == "" || rv == "0" {
			return
		}
		n, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			o.badVersion = rv
			return
		}
		o.fromRevision = n
	}
}

func buildListOptions(opts []ListOption) listOptions {
	var lo listOptions
	for _, opt := range opts {
		opt(&lo)
	}
	return lo
}

func (lo listOptions) matches(obj api.Object) bool {
	return lo.selector == nil || lo.selector.Matches(obj.GetObjectMeta().Labels)
}

// List returns the objects in the client's namespace (all namespaces when
// it is ""), ordered by namespace and name.
func (c *Client[T]) List(ctx context.Context, opts ...ListOption) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lo := buildListOptions(opts)
	out := []T{}
	c.o.store.View(func(tx store.ReadTx) {
		tx.Each(c.kind(), c.namespace, func(obj api.Object) bool {
			if lo.matches(obj) {
				out = append(out, obj.DeepCopyObject().(T))
			}
			return true
		})
	})
	return out, nil
}

// Create stores a new object and returns it as stored, with uid,
// resourceVersion and defaults filled in. An empty namespace means the
// client's (or "default"). It fails with ErrAlreadyExists if the name is
// taken and with ErrInvalid, changing nothing, if the object is malformed.
func (c *Client[T]) Create(ctx context.Context, obj T) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if isNil(obj) {
		return out, fmt.Errorf("create %s: the object is nil: %w", strings.ToLower(c.kind()), ErrInvalid)
	}
	cp := obj.DeepCopyObject().(T)
	err := c.o.store.Update(func(tx store.Tx) error { return c.o.create(tx, cp, c.namespace) })
	if err != nil {
		return out, err
	}
	return cp.DeepCopyObject().(T), nil
}

// Update replaces the desired state (metadata and spec) of an existing
// object; status is Baton's and is kept. When obj carries a resourceVersion
// that is no longer current it fails with ErrConflict; an empty
// resourceVersion updates unconditionally.
func (c *Client[T]) Update(ctx context.Context, obj T) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if isNil(obj) {
		return out, fmt.Errorf("update %s: the object is nil: %w", strings.ToLower(c.kind()), ErrInvalid)
	}
	cp := obj.DeepCopyObject().(T)
	err := c.o.store.Update(func(tx store.Tx) error { return c.o.update(tx, cp, c.namespace) })
	if err != nil {
		return out, err
	}
	return cp.DeepCopyObject().(T), nil
}

// Apply creates the object, or replaces the desired state of the existing
// one of that name whatever its resourceVersion — like "kubectl apply" of
// a complete manifest.
func (c *Client[T]) Apply(ctx context.Context, obj T) (T, error) {
	var out T
	if err := ctx.Err(); err != nil {
		return out, err
	}
	if isNil(obj) {
		return out, fmt.Errorf("apply %s: the object is nil: %w", strings.ToLower(c.kind()), ErrInvalid)
	}
	cp := obj.DeepCopyObject().(T)
	err := c.o.store.Update(func(tx store.Tx) error { return c.o.apply(tx, cp, c.namespace) })
	if err != nil {
		return out, err
	}
	return cp.DeepCopyObject().(T), nil
}

// DeleteOption tunes Delete.
type DeleteOption func(*deletion.Options)

// GracePeriod overrides a Pod's terminationGracePeriodSeconds for this
// deletion; 0 removes the Pod at once.
func GracePeriod(seconds int64) DeleteOption {
	return func(o *deletion.Options) { o.GracePeriodSeconds = &seconds }
}

// Delete deletes the object called name, as Kubernetes does: a running
// Pod is stopped gracefully and then removed; a Namespace is emptied and
// then removed; objects owned by the deleted one are garbage-collected.
func (c *Client[T]) Delete(ctx context.Context, name string, opts ...DeleteOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var do deletion.Options
	for _, opt := range opts {
		opt(&do)
	}
	kind := c.kind()
	if kind == api.KindNamespace && name == api.NamespaceDefault {
		return fmt.Errorf("namespace %q may not be deleted: %w", name, ErrFailedPrecondition)
	}
	return c.o.store.Update(func(tx store.Tx) error {
		return deletion.Delete(tx, kind, c.namespace, name, do)
	})
}

// EventType says what a WatchEvent reports.
type EventType = store.ChangeType

// Watch event types.
const (
	Added    = store.Added
	Modified = store.Modified
	Deleted  = store.Deleted
)

// WatchEvent is one change seen by Watch. Object is the caller's own copy:
// the new state, or for Deleted the last state.
type WatchEvent[T Object] struct {
	Type   EventType
	Object T
}

// WatchOption is a ListOption; Watch also accepts FromResourceVersion.
type WatchOption = ListOption

// Watch returns a channel that first delivers an Added event for every
// matching object that exists now, then every change, in order and with
// none missed. A slow reader never blocks Baton: undelivered events queue
// in memory. The channel closes when ctx ends.
//
// With a label selector, as in Kubernetes, an object whose labels change
// to match arrives as Added, and one whose labels stop matching arrives as
// Deleted with its last matching state. With FromResourceVersion the watch
// resumes after that version instead of starting with the current state.
func (c *Client[T]) Watch(ctx context.Context, opts ...ListOption) (<-chan WatchEvent[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lo := buildListOptions(opts)
	if lo.badVersion != "" {
		return nil, fmt.Errorf("watch %s: resourceVersion %q is not a version Baton issued (a decimal number); pass the resourceVersion of an object or event: %w",
			strings.ToLower(c.kind()), lo.badVersion, ErrInvalid)
	}
	return store.Watch(ctx, c.o.store, store.WatchOptions{
		Kind:         c.kind(),
		Namespace:    c.namespace,
		Filter:       lo.matches,
		FromRevision: lo.fromRevision,
	}, func(ch store.Change) (WatchEvent[T], bool) {
		return WatchEvent[T]{Type: ch.Type, Object: ch.Object.DeepCopyObject().(T)}, true
	})
}

func isNil(obj Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// create validates obj against the store's state in tx and stores it. obj
// must be the orchestrator's own copy.
func (o *Orchestrator) create(tx store.Tx, obj api.Object, clientNamespace string) error {
	meta := obj.GetObjectMeta()
	errs := prepare(obj, clientNamespace)
	resetServerFields(obj)
	api.SetDefaults(obj)
	errs = append(errs, api.ValidateFields(obj)...)
	errs = append(errs, checkNamespace(tx, obj)...)
	errs = append(errs, checkConfigRefs(tx, obj)...)
	if err := errs.Err(obj.ObjectKind(), displayName(meta)); err != nil {
		return err
	}
	if ns, err := store.Get[*api.Namespace](tx, "", meta.Namespace); err == nil && ns.DeletionTimestamp != nil {
		return fmt.Errorf("create %s %q: namespace %q is being deleted: %w",
			strings.ToLower(obj.ObjectKind()), meta.Name, meta.Namespace, ErrFailedPrecondition)
	}
	if err := o.allocate(tx, obj); err != nil {
		return err
	}
	return tx.Create(obj)
}

// update validates obj as a change to the stored object and stores it.
func (o *Orchestrator) update(tx store.Tx, obj api.Object, clientNamespace string) error {
	meta := obj.GetObjectMeta()
	errs := prepare(obj, clientNamespace)
	if len(errs) > 0 {
		return errs.Err(obj.ObjectKind(), meta.Name)
	}
	old, err := tx.Get(obj.ObjectKind(), meta.Namespace, meta.Name)
	if err != nil {
		return err
	}
	api.SetDefaults(obj)
	errs = append(errs, api.ValidateFields(obj)...)
	errs = append(errs, api.ValidateUpdate(old, obj)...)
	errs = append(errs, checkConfigRefs(tx, obj)...)
	if err := errs.Err(obj.ObjectKind(), meta.Name); err != nil {
		return err
	}
	keepServerFields(old, obj)
	if err := o.allocate(tx, obj); err != nil {
		return err
	}
	return tx.Update(obj)
}

// allocate gives a Service its cluster IP and node ports in the same
// transaction that stores it, so Create returns them.
func (o *Orchestrator) allocate(tx store.Tx, obj api.Object) error {
	svc, ok := obj.(*api.Service)
	if !ok || o.svc == nil {
		return nil
	}
	return serviceip.NewAllocator(tx, o.svc.cidr).Allocate(svc).Err(api.KindService, svc.Name)
}

// apply creates obj or, if it exists, updates it unconditionally.
func (o *Orchestrator) apply(tx store.Tx, obj api.Object, clientNamespace string) error {
	meta := obj.GetObjectMeta()
	if errs := prepare(obj, clientNamespace); len(errs) > 0 {
		return errs.Err(obj.ObjectKind(), displayName(meta))
	}
	if _, err := tx.Get(obj.ObjectKind(), meta.Namespace, meta.Name); errors.Is(err, ErrNotFound) || meta.Name == "" {
		return o.create(tx, obj, clientNamespace)
	}
	meta.ResourceVersion = ""
	return o.update(tx, obj, clientNamespace)
}

func displayName(meta *api.ObjectMeta) string {
	if meta.Name == "" {
		return meta.GenerateName
	}
	return meta.Name
}

// prepare settles obj's namespace against the client's.
func prepare(obj api.Object, clientNamespace string) api.FieldErrors {
	var errs api.FieldErrors
	meta := obj.GetObjectMeta()
	if !store.IsNamespaced(obj.ObjectKind()) {
		if meta.Namespace != "" {
			errs.Add("metadata.namespace", "must be empty: a %s is not namespaced", obj.ObjectKind())
		}
		return errs
	}
	switch {
	case meta.Namespace == "" && clientNamespace == "":
		meta.Namespace = api.NamespaceDefault
	case meta.Namespace == "":
		meta.Namespace = clientNamespace
	case clientNamespace != "" && meta.Namespace != clientNamespace:
		errs.Add("metadata.namespace", "%q does not match the client's namespace %q", meta.Namespace, clientNamespace)
	}
	return errs
}

// checkNamespace reports an object whose namespace does not exist.
func checkNamespace(tx store.ReadTx, obj api.Object) api.FieldErrors {
	var errs api.FieldErrors
	ns := obj.GetObjectMeta().Namespace
	if ns == "" || !store.IsNamespaced(obj.ObjectKind()) {
		return nil
	}
	if _, err := tx.Get(api.KindNamespace, "", ns); errors.Is(err, ErrNotFound) {
		errs.Add("metadata.namespace", "namespace %q not found; create it first", ns)
	}
	return errs
}

// resetServerFields clears what Baton sets on create, so a manifest copied
// from a live object creates a fresh one.
func resetServerFields(obj api.Object) {
	meta := obj.GetObjectMeta()
	meta.UID, meta.ResourceVersion, meta.Generation = "", "", 0
	meta.CreationTimestamp = api.Time{}
	meta.DeletionTimestamp, meta.DeletionGracePeriodSeconds = nil, nil
	switch o := obj.(type) {
	case *api.Pod:
		o.Status = api.PodStatus{Phase: api.PodPending}
	case *api.Deployment:
		o.Status = api.DeploymentStatus{}
	case *api.Namespace:
		o.Status = api.NamespaceStatus{Phase: api.NamespaceActive}
	case *api.Node:
		o.Status.Conditions = nil
	case *api.ReplicaSet:
		o.Status = api.ReplicaSetStatus{}
	case *api.HorizontalPodAutoscaler:
		o.Status = api.HorizontalPodAutoscalerStatus{}
	}
	if d, ok := obj.(*api.Deployment); ok {
		delete(d.Annotations, api.AnnotationRevision)
	}
}

// keepAnnotation carries an annotation Baton owns over from old to obj,
// so that a user's update (say, from a manifest that lacks it) keeps it.
func keepAnnotation(old, obj api.Object, key string) {
	v, ok := old.GetObjectMeta().Annotations[key]
	meta := obj.GetObjectMeta()
	if !ok || meta.Annotations[key] == v {
		return
	}
	meta.Annotations = maps.Clone(meta.Annotations)
	if meta.Annotations == nil {
		meta.Annotations = map[string]string{}
	}
	meta.Annotations[key] = v
}

// keepServerFields carries over from old what an update may not change:
// status, deletion marks, and generation unless the spec changed.
func keepServerFields(old, obj api.Object) {
	meta, oldMeta := obj.GetObjectMeta(), old.GetObjectMeta()
	meta.DeletionTimestamp, meta.DeletionGracePeriodSeconds = oldMeta.DeletionTimestamp, oldMeta.DeletionGracePeriodSeconds
	meta.Generation = oldMeta.Generation
	specChanged := false
	switch o := obj.(type) {
	case *api.Pod:
		prev := old.(*api.Pod)
		specChanged = !reflect.DeepEqual(o.Spec, prev.Spec)
		o.Status = prev.Status
	case *api.Deployment:
		prev := old.(*api.Deployment)
		specChanged = !reflect.DeepEqual(o.Spec, prev.Spec)
		o.Status = prev.Status
		keepAnnotation(prev, o, api.AnnotationRevision)
	case *api.ReplicaSet:
		prev := old.(*api.ReplicaSet)
		specChanged = !reflect.DeepEqual(o.Spec, prev.Spec)
		o.Status = prev.Status
	case *api.HorizontalPodAutoscaler:
		prev := old.(*api.HorizontalPodAutoscaler)
		specChanged = !reflect.DeepEqual(o.Spec, prev.Spec)
		o.Status = prev.Status
	case *api.Service:
		prev := old.(*api.Service)
		// What Baton allocated stays unless the update names other values.
		if o.Spec.ClusterIP == "" {
			o.Spec.ClusterIP = prev.Spec.ClusterIP
		}
		for i := range o.Spec.Ports {
			if o.Spec.Ports[i].NodePort == 0 {
				for _, pp := range prev.Spec.Ports {
					if pp.Port == o.Spec.Ports[i].Port && pp.Protocol == o.Spec.Ports[i].Protocol {
						o.Spec.Ports[i].NodePort = pp.NodePort
					}
				}
			}
		}
		specChanged = !reflect.DeepEqual(o.Spec, prev.Spec)
		o.Status = prev.Status
	case *api.Namespace:
		o.Status = old.(*api.Namespace).Status
	case *api.Node:
		prev := old.(*api.Node)
		o.Status = prev.Status
		// A taint that stays keeps its date, which tolerationSeconds count
		// from, though the update leaves timeAdded out.
		for i, t := range o.Spec.Taints {
			if t.TimeAdded != nil {
				continue
			}
			for _, p := range prev.Spec.Taints {
				if p.Key == t.Key && p.Effect == t.Effect && p.TimeAdded != nil {
					o.Spec.Taints[i].TimeAdded = p.TimeAdded
				}
			}
		}
	case *api.ConfigMap:
		// The generation counts changes of the data, so that what follows
		// a ConfigMap or Secret can tell a change from a rewrite.
		prev := old.(*api.ConfigMap)
		specChanged = !maps.Equal(o.Data, prev.Data) || !maps.EqualFunc(o.BinaryData, prev.BinaryData, bytes.Equal)
	case *api.Secret:
		prev := old.(*api.Secret)
		specChanged = !maps.EqualFunc(o.Data, prev.Data, bytes.Equal)
	}
	if specChanged {
		meta.Generation++
	}
}
