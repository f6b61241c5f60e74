package api

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addManifestSeeds adds the testdata manifests and some broken YAML. Inputs
// that once failed are kept under testdata/fuzz.
func addManifestSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	jsonFiles, _ := filepath.Glob("testdata/*.json")
	for _, file := range append(files, jsonFiles...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		"--- x\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: b}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
		"apiVersion: v1\nkind: Service\nspec:\n  ports: [{port: x, targetPort: 1.5}]\n",
		"apiVersion: apps/v1\nkind: Deployment\nspec: {strategy: {rollingUpdate: {maxSurge: '0%', maxUnavailable: 0}}}\n",
		"kind: Node\napiVersion: v1\nstatus: {capacity: {cpu: 1e3, memory: -1Gi}}\n",
		"a: &a [*a]\n",
		"a: [1, 2\n",
		"{\"kind\": \"Pod\"",
		"{\"apiVersion\": \"v1\", \"kind\": \"Namespace\"} {\"kind\": 3}",
		"\xef\xbb\xbf- a\n",
		"kind: Pod\napiVersion: v1\nspec: !!binary aGVsbG8=\n",
		"kind: Pod\napiVersion: v1\nmetadata: {labels: {? [a]: b}}\n",
		"{apiVersion: v1, kind: Namespace, metadata: {name: a}}",
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: db-1, labels: {kubernetes.io/service-name: db}}\n" +
			"addressType: IPv4\nendpoints: [{addresses: [127.0.0.9], conditions: {ready: false}}]\nports: [{port: 5432}, {name: x, protocol: UDP}]\n",
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a, labels: {endpointslice.kubernetes.io/managed-by: endpointslice-controller.baton.dev}}\n" +
			"addressType: IPv6\nendpoints: [{addresses: ['0.0.0.0', 'fe80::1%eth0']}, {}]\nports: [{name: ''}, {}, {port: 0, protocol: SCTP}]\n",
		"kind: EndpointSlice\napiVersion: discovery.k8s.io/v1\naddressType: FQDN\nendpoints: null\nports: [{port: 1.5}]\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeManifests checks that decoding never panics, that a failure
// returns no objects and matches ErrInvalid, and that what decodes
// re-encodes to a manifest that decodes to the same encoding.
func FuzzDecodeManifests(f *testing.F) {
	addManifestSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeManifests(bytes.NewReader(data))
		if err != nil {
			if objs != nil {
				t.Fatalf("returned %d objects with error %v", len(objs), err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			var me *ManifestError
			if errors.As(err, &me) {
				for _, d := range me.Documents {
					for _, f := range d.Err.Fields {
						if strings.HasPrefix(f.Detail, undetectedDecodeError+":") {
							t.Fatalf("the schema check missed a problem encoding/json found: %v", err)
						}
					}
				}
			}
			return
		}
		for _, obj := range objs {
			first, err := EncodeManifest(obj)
			if err != nil {
				t.Fatalf("EncodeManifest(%#v): %v", obj, err)
			}
			back, err := DecodeManifest(first)
			if err != nil {
				t.Fatalf("decoding an encoded object: %v\n%s", err, first)
			}
			second, err := EncodeManifest(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatalf("encoding is not stable:\n%s\n---\n%s", first, second)
			}
		}
	})
}

// FuzzValidate checks that defaulting and validating whatever decodes
// never panics, that SetDefaults is idempotent, and that an object may
// always be "updated" to itself.
func FuzzValidate(f *testing.F) {
	addManifestSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeManifests(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, obj := range objs {
			_ = Validate(obj) // undefaulted input must not panic either
			SetDefaults(obj)
			again := obj.DeepCopyObject()
			SetDefaults(again)
			if !reflect.DeepEqual(obj, again) {
				t.Fatalf("SetDefaults is not idempotent:\n%#v\n%#v", obj, again)
			}
			err := Validate(obj)
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error does not match ErrInvalid: %v", err)
			}
			if errs := ValidateUpdate(obj, obj.DeepCopyObject()); len(errs) > 0 {
				t.Fatalf("updating an object to itself: %v", errs.Err("", ""))
			}
		}
	})
}
