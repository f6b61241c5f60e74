package api

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestRoundTripEveryKind encodes an object of every kind with every field
// set, as JSON and as a YAML manifest, decodes it (the manifest strictly)
// and checks the result is equal. A field whose JSON name the strict
// decoder refuses, or that does not survive encoding, fails here.
func TestRoundTripEveryKind(t *testing.T) {
	for _, kind := range allKinds() {
		t.Run(kind.ObjectKind(), func(t *testing.T) {
			obj := filled(t, kind)
			*typeMetaOf(obj) = TypeMeta{APIVersion: APIVersionOf(obj.ObjectKind()), Kind: obj.ObjectKind()}

			data, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			back, err := NewObject(obj.ObjectKind())
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, obj) {
				t.Errorf("JSON round trip:\n got %#v\nwant %#v", back, obj)
			}

			fromJSON, err := DecodeManifest(data)
			if err != nil {
				t.Fatalf("DecodeManifest(JSON): %v", err)
			}
			if !reflect.DeepEqual(fromJSON, obj) {
				t.Errorf("JSON manifest round trip:\n got %#v\nwant %#v", fromJSON, obj)
			}

			manifest, err := EncodeManifest(obj)
			if err != nil {
				t.Fatal(err)
			}
			fromYAML, err := DecodeManifest(manifest)
			if err != nil {
				t.Fatalf("DecodeManifest(YAML): %v\n%s", err, manifest)
			}
			if !reflect.DeepEqual(fromYAML, obj) {
				t.Errorf("YAML manifest round trip:\n got %#v\nwant %#v", fromYAML, obj)
			}
		})
	}
}
