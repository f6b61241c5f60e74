package store

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/batonhq/baton/api"
)

// Index names. Every table has indexID; the others exist where kindInfo
// says.
const (
	// indexID is "namespace/name" (just "name" for cluster-scoped kinds).
	// It is ordered, so a prefix scan of "namespace/" lists a namespace:
	// it doubles as the namespace index.
	indexID = "id"
	// indexUID is the object's UID.
	indexUID = "uid"
	// indexOwner holds the UID of each owner reference.
	indexOwner = "owner"
)

// kindInfo describes how a kind is stored.
type kindInfo struct {
	kind       string
	namespaced bool
	// byUID indexes by UID: kinds that own others, so the garbage
	// collector can find an owner from a reference. Pods and Events are
	// found by name. Every index entry costs about half a kilobyte per
	// object (radix nodes and their watch channels), so there is none that
	// a hot path does not need: Pods by node are found by a scan (see
	// PodsOnNode), which only startup and node changes do.
	byUID   bool
	byOwner bool
}

// kinds lists the stored kinds; one memdb table each, named after the kind.
var kinds = []kindInfo{
	{kind: api.KindNamespace, byUID: true},
	{kind: api.KindNode, byUID: true},
	{kind: api.KindPod, namespaced: true, byOwner: true},
	{kind: api.KindDeployment, namespaced: true, byUID: true, byOwner: true},
	{kind: api.KindReplicaSet, namespaced: true, byUID: true, byOwner: true},
	{kind: api.KindHorizontalPodAutoscaler, namespaced: true},
	{kind: api.KindConfigMap, namespaced: true},
	{kind: api.KindSecret, namespaced: true},
	{kind: api.KindService, namespaced: true, byUID: true},
	{kind: api.KindEndpointSlice, namespaced: true, byOwner: true},
	{kind: api.KindEvent, namespaced: true},
}

func lookupKind(kind string) (kindInfo, error) {
	for _, k := range kinds {
		if k.kind == kind {
			return k, nil
		}
	}
	return kindInfo{}, fmt.Errorf("kind %q is not stored: %w", kind, api.ErrInvalid)
}

// IsNamespaced reports whether objects of kind live in a namespace.
func IsNamespaced(kind string) bool {
	k, err := lookupKind(kind)
	return err == nil && k.namespaced
}

// Kinds returns the names of the stored kinds.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

func schema() *memdb.DBSchema {
	s := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, k := range kinds {
		t := &memdb.TableSchema{
			Name: k.kind,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: stringIndexer(func(o api.Object) string {
					return o.GetObjectMeta().Key()
				})},
			},
		}
		if k.byUID {
			t.Indexes[indexUID] = &memdb.IndexSchema{Name: indexUID, Unique: true, Indexer: stringIndexer(func(o api.Object) string {
				return o.GetObjectMeta().UID
			})}
		}
		if k.byOwner {
			t.Indexes[indexOwner] = &memdb.IndexSchema{Name: indexOwner, AllowMissing: true, Indexer: ownerIndexer{}}
		}
		s.Tables[k.kind] = t
	}
	return s
}

// stringIndexer indexes objects by one string; an empty string is "missing".
// Values are stored NUL-terminated, like memdb's StringFieldIndex, so that
// exact lookups never match a longer key with the same prefix.
type stringIndexer func(api.Object) string

var (
	_ memdb.SingleIndexer = stringIndexer(nil)
	_ memdb.PrefixIndexer = stringIndexer(nil)
)

func (f stringIndexer) FromObject(raw any) (bool, []byte, error) {
	obj, ok := raw.(api.Object)
	if !ok {
		return false, nil, fmt.Errorf("store: %T is not an api.Object", raw)
	}
	v := f(obj)
	if v == "" {
		return false, nil, nil
	}
	return true, append([]byte(v), 0), nil
}

func (f stringIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return append([]byte(s), 0), nil
}

func (f stringIndexer) PrefixFromArgs(args ...any) ([]byte, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// ownerIndexer indexes an object by the UIDs of its owners.
type ownerIndexer struct{}

var _ memdb.MultiIndexer = ownerIndexer{}

func (ownerIndexer) FromObject(raw any) (bool, [][]byte, error) {
	obj, ok := raw.(api.Object)
	if !ok {
		return false, nil, fmt.Errorf("store: %T is not an api.Object", raw)
	}
	refs := obj.GetObjectMeta().OwnerReferences
	if len(refs) == 0 {
		return false, nil, nil
	}
	vals := make([][]byte, 0, len(refs))
	for _, ref := range refs {
		vals = append(vals, append([]byte(ref.UID), 0))
	}
	return true, vals, nil
}

func (ownerIndexer) FromArgs(args ...any) ([]byte, error) {
	s, err := oneString(args)
	if err != nil {
		return nil, err
	}
	return append([]byte(s), 0), nil
}

func oneString(args []any) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("store: index takes one argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return "", fmt.Errorf("store: index argument must be a string, got %T", args[0])
	}
	return s, nil
}
