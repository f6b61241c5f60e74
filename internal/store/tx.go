package store

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/batonhq/baton/api"
)

// ReadTx reads a consistent snapshot. Returned objects are shared and must
// not be mutated.
type ReadTx interface {
	// Get returns the object of kind at namespace/name, or an error
	// matching api.ErrNotFound. Cluster-scoped kinds take namespace "".
	Get(kind, namespace, name string) (api.Object, error)
	// GetByUID returns the object of kind with uid, or api.ErrNotFound.
	// Only kinds that can own others (not Pods or Events) are indexed by
	// UID; for the rest it fails with api.ErrInvalid.
	GetByUID(kind, uid string) (api.Object, error)
	// List returns the objects of kind in namespace, ordered by name;
	// namespace "" lists every namespace, ordered by namespace then name.
	List(kind, namespace string) []api.Object
	// Each calls fn for each object List would return until fn returns
	// false, without building a slice.
	Each(kind, namespace string, fn func(api.Object) bool)
	// ListByOwner returns the objects of kind with an owner reference to
	// ownerUID.
	ListByOwner(kind, ownerUID string) []api.Object
	// EachByOwner calls fn for each object ListByOwner would return until
	// fn returns false, without building a slice.
	EachByOwner(kind, ownerUID string, fn func(api.Object) bool)
	// PodsOnNode returns the Pods bound to node. It scans every Pod, so
	// it is for rare events (startup, a node change), not hot paths.
	PodsOnNode(node string) []*api.Pod
	// Revision returns the revision this snapshot shows.
	Revision() uint64
}

// Tx reads and writes within one transaction. Its reads see its own writes.
type Tx interface {
	ReadTx
	// Create stores a new object, taking ownership of it. It sets uid,
	// creationTimestamp, resourceVersion, and generation 1; it picks a name
	// when only generateName is set. It fails with api.ErrAlreadyExists if
	// the name is taken.
	Create(obj api.Object) error
	// Update replaces a stored object, taking ownership of obj. When obj
	// carries a resourceVersion it must match the stored one, else
	// api.ErrConflict. uid and creationTimestamp are kept from the stored
	// object; resourceVersion is set. Other fields, generation included,
	// are the caller's.
	Update(obj api.Object) error
	// Delete removes an object. A non-empty precondition uid or
	// resourceVersion must match, else api.ErrConflict.
	Delete(kind, namespace, name string, pre Preconditions) error
	// Now returns the transaction's timestamp.
	Now() time.Time
}

// Preconditions guard a Delete.
type Preconditions struct {
	UID             string
	ResourceVersion string
}

type readTx struct {
	txn *memdb.Txn
	rev uint64
}

var _ ReadTx = (*readTx)(nil)

func (t *readTx) Revision() uint64 { return t.rev }

func (t *readTx) Get(kind, namespace, name string) (api.Object, error) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	raw, err := t.txn.First(kind, indexID, key)
	if err != nil {
		return nil, fmt.Errorf("store: get %s %s: %w", kind, key, err)
	}
	if raw == nil {
		return nil, api.NotFoundError(kind, namespace, name)
	}
	return raw.(api.Object), nil
}

func (t *readTx) GetByUID(kind, uid string) (api.Object, error) {
	if info, err := lookupKind(kind); err != nil || !info.byUID {
		return nil, fmt.Errorf("store: %s is not indexed by uid: %w", kind, api.ErrInvalid)
	}
	raw, err := t.txn.First(kind, indexUID, uid)
	if err != nil {
		return nil, fmt.Errorf("store: get %s by uid: %w", kind, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%s with uid %s: %w", kind, uid, api.ErrNotFound)
	}
	return raw.(api.Object), nil
}

func (t *readTx) List(kind, namespace string) []api.Object {
	var out []api.Object
	t.Each(kind, namespace, func(o api.Object) bool {
		out = append(out, o)
		return true
	})
	return out
}

func (t *readTx) Each(kind, namespace string, fn func(api.Object) bool) {
	prefix := ""
	if namespace != "" {
		prefix = namespace + "/"
	}
	it, err := t.txn.Get(kind, indexID+"_prefix", prefix)
	if err != nil {
		// Only an unknown table or index gets here: a programming error.
		panic(fmt.Sprintf("store: list %s: %v", kind, err))
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if !fn(raw.(api.Object)) {
			return
		}
	}
}

func (t *readTx) ListByOwner(kind, ownerUID string) []api.Object {
	var out []api.Object
	t.EachByOwner(kind, ownerUID, func(o api.Object) bool {
		out = append(out, o)
		return true
	})
	return out
}

func (t *readTx) EachByOwner(kind, ownerUID string, fn func(api.Object) bool) {
	it, err := t.txn.Get(kind, indexOwner, ownerUID)
	if err != nil {
		panic(fmt.Sprintf("store: %s by owner: %v", kind, err))
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if !fn(raw.(api.Object)) {
			return
		}
	}
}

func (t *readTx) PodsOnNode(node string) []*api.Pod {
	var out []*api.Pod
	t.Each(api.KindPod, "", func(o api.Object) bool {
		if pod := o.(*api.Pod); pod.Spec.NodeName == node {
			out = append(out, pod)
		}
		return true
	})
	return out
}

type writeTx struct {
	readTx
	store   *Store
	now     time.Time
	changes []Change
}

var _ Tx = (*writeTx)(nil)

func (t *writeTx) Now() time.Time { return t.now }

func (t *writeTx) revString() string { return strconv.FormatUint(t.rev, 10) }

func (t *writeTx) Create(obj api.Object) error {
	kind := obj.ObjectKind()
	info, err := lookupKind(kind)
	if err != nil {
		return err
	}
	meta := obj.GetObjectMeta()
	if info.namespaced && meta.Namespace == "" {
		return fmt.Errorf("store: create %s %q: metadata.namespace is empty: %w", kind, meta.Name, api.ErrInvalid)
	}
	if !info.namespaced && meta.Namespace != "" {
		return fmt.Errorf("store: create %s %q: a cluster-scoped object has no namespace: %w", kind, meta.Name, api.ErrInvalid)
	}
	if meta.Name == "" {
		if meta.GenerateName == "" {
			return fmt.Errorf("store: create %s: metadata.name is empty: %w", kind, api.ErrInvalid)
		}
		for {
			meta.Name = meta.GenerateName + t.store.nameSuffixLocked()
			if _, err := t.Get(kind, meta.Namespace, meta.Name); IsNotFound(err) {
				break
			}
		}
	} else if _, err := t.Get(kind, meta.Namespace, meta.Name); err == nil {
		return api.AlreadyExistsError(kind, meta.Namespace, meta.Name)
	}
	meta.UID = t.store.newUIDLocked()
	meta.CreationTimestamp = api.NewTime(t.now)
	meta.ResourceVersion = t.revString()
	if meta.Generation == 0 {
		meta.Generation = 1
	}
	if err := t.txn.Insert(kind, obj); err != nil {
		return fmt.Errorf("store: create %s %s: %w", kind, meta.Key(), err)
	}
	t.changes = append(t.changes, Change{Type: Added, Revision: t.rev, Object: obj})
	return nil
}

func (t *writeTx) Update(obj api.Object) error {
	kind := obj.ObjectKind()
	meta := obj.GetObjectMeta()
	old, err := t.Get(kind, meta.Namespace, meta.Name)
	if err != nil {
		return err
	}
	oldMeta := old.GetObjectMeta()
	if meta.ResourceVersion != "" && meta.ResourceVersion != oldMeta.ResourceVersion {
		return api.ConflictError(kind, meta.Namespace, meta.Name, meta.ResourceVersion, oldMeta.ResourceVersion)
	}
	if meta.UID != "" && meta.UID != oldMeta.UID {
		return fmt.Errorf("%s %s: uid %s does not match the stored object's %s; it was deleted and created again: %w",
			kind, meta.Key(), meta.UID, oldMeta.UID, api.ErrConflict)
	}
	meta.UID = oldMeta.UID
	meta.CreationTimestamp = oldMeta.CreationTimestamp
	meta.ResourceVersion = t.revString()
	if err := t.txn.Insert(kind, obj); err != nil {
		return fmt.Errorf("store: update %s %s: %w", kind, meta.Key(), err)
	}
	t.changes = append(t.changes, Change{Type: Modified, Revision: t.rev, Object: obj, Old: old})
	return nil
}

func (t *writeTx) Delete(kind, namespace, name string, pre Preconditions) error {
	old, err := t.Get(kind, namespace, name)
	if err != nil {
		return err
	}
	meta := old.GetObjectMeta()
	if pre.UID != "" && pre.UID != meta.UID {
		return fmt.Errorf("%s %s: uid precondition %s does not match %s: %w", kind, meta.Key(), pre.UID, meta.UID, api.ErrConflict)
	}
	if pre.ResourceVersion != "" && pre.ResourceVersion != meta.ResourceVersion {
		return api.ConflictError(kind, namespace, name, pre.ResourceVersion, meta.ResourceVersion)
	}
	if err := t.txn.Delete(kind, old); err != nil {
		return fmt.Errorf("store: delete %s %s: %w", kind, meta.Key(), err)
	}
	t.changes = append(t.changes, Change{Type: Deleted, Revision: t.rev, Object: old, Old: old})
	return nil
}

// Get returns the object of type T at namespace/name; T is a pointer kind
// such as *api.Pod.
func Get[T api.Object](tx ReadTx, namespace, name string) (T, error) {
	var zero T
	obj, err := tx.Get(zero.ObjectKind(), namespace, name)
	if err != nil {
		return zero, err
	}
	return obj.(T), nil
}

// List returns the objects of type T in namespace ("" for all).
func List[T api.Object](tx ReadTx, namespace string) []T {
	var zero T
	var out []T
	tx.Each(zero.ObjectKind(), namespace, func(o api.Object) bool {
		out = append(out, o.(T))
		return true
	})
	return out
}
