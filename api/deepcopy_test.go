package api

import (
	"reflect"
	"testing"
)

// TestDeepCopyCoversEveryField fills every field of every kind, copies it,
// changes the copy through every pointer, slice and map, and checks that
// the original did not change. A new reference field left out of
// deepcopy.go fails here.
func TestDeepCopyCoversEveryField(t *testing.T) {
	for _, kind := range allKinds() {
		t.Run(kind.ObjectKind(), func(t *testing.T) {
			orig := filled(t, kind)
			want := filled(t, kind)
			if !reflect.DeepEqual(orig, want) {
				t.Fatal("the filler is not deterministic")
			}
			cp := orig.DeepCopyObject()
			if !reflect.DeepEqual(cp, orig) {
				t.Fatalf("copy differs from the original:\n copy %#v\n orig %#v", cp, orig)
			}
			mutate(reflect.ValueOf(cp).Elem())
			if reflect.DeepEqual(cp, want) {
				t.Fatal("mutate changed nothing")
			}
			if !reflect.DeepEqual(orig, want) {
				t.Fatalf("changing the copy changed the original; deepcopy.go misses a field:\n got %#v\nwant %#v", orig, want)
			}
		})
	}
}

func TestDeepCopyNil(t *testing.T) {
	if (*Pod)(nil).DeepCopy() != nil || (*Deployment)(nil).DeepCopy() != nil || (*Service)(nil).DeepCopy() != nil ||
		(*Namespace)(nil).DeepCopy() != nil || (*Node)(nil).DeepCopy() != nil || (*Event)(nil).DeepCopy() != nil {
		t.Error("DeepCopy of nil is not nil")
	}
}
