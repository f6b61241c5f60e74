package api

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeTestdataManifests(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	jsonFiles, _ := filepath.Glob("testdata/*.json")
	files = append(files, jsonFiles...)
	if len(files) < 5 {
		t.Fatalf("found only %d testdata manifests", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			objs, err := DecodeManifests(f)
			if err != nil {
				t.Fatalf("DecodeManifests: %v", err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects decoded")
			}
			for _, obj := range objs {
				SetDefaults(obj)
				if err := Validate(obj); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
		})
	}
}

func TestDecodeNginxDeployment(t *testing.T) {
	data, err := os.ReadFile("testdata/nginx-deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := DecodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := obj.(*Deployment)
	if !ok {
		t.Fatalf("decoded %T, want *Deployment", obj)
	}
	c := d.Spec.Template.Spec.Containers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", d.Name, "nginx"},
		{"namespace", d.Namespace, "web"},
		{"replicas", *d.Spec.Replicas, int32(3)},
		{"maxSurge", *d.Spec.Strategy.RollingUpdate.MaxSurge, FromInt(1)},
		{"maxUnavailable", *d.Spec.Strategy.RollingUpdate.MaxUnavailable, FromString("25%")},
		{"image", c.Image, "nginx:1.27.0"},
		{"port", c.Ports[0], ContainerPort{Name: "http", ContainerPort: 80, Protocol: ProtocolTCP}},
		{"env", c.Env[0], EnvVar{Name: "NGINX_PORT", Value: "80"}},
		{"cpu request", c.Resources.Requests[ResourceCPU].MilliValue(), int64(100)},
		{"memory limit", c.Resources.Limits[ResourceMemory].Value(), int64(256 << 20)},
		{"exporter cpu", d.Spec.Template.Spec.Containers[1].Resources.Requests[ResourceCPU].MilliValue(), int64(50)},
		{"selector expression", d.Spec.Selector.MatchExpressions[0].Operator, LabelSelectorOpIn},
		{"args", c.Args, []string{"-g", "daemon off;"}},
		{"annotation", d.Annotations["deployment.kubernetes.io/revision"], "3"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestDecodeMultiDocument(t *testing.T) {
	f, err := os.Open("testdata/multi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := DecodeManifests(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, obj := range objs {
		got = append(got, obj.ObjectKind()+"/"+obj.GetObjectMeta().Name)
	}
	want := []string{"Namespace/shop", "Deployment/api", "Service/api", "Service/api-headless"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
	svc := objs[2].(*Service)
	if svc.Spec.Ports[0].TargetPort != FromString("http") || svc.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("service port = %+v", svc.Spec.Ports[0])
	}
}

func TestDecodeKubectlOutput(t *testing.T) {
	data, err := os.ReadFile("testdata/deployment-with-status.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := DecodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	d := obj.(*Deployment)
	want := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if !d.CreationTimestamp.Equal(want) {
		t.Errorf("creationTimestamp = %v, want %v", d.CreationTimestamp, want)
	}
	if c := d.Status.Condition(DeploymentAvailable); c == nil || c.Status != ConditionTrue {
		t.Errorf("Available condition = %+v", c)
	}

	data, err = os.ReadFile("testdata/kubectl-dry-run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	obj, err = DecodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if !obj.GetObjectMeta().CreationTimestamp.IsZero() {
		t.Error("creationTimestamp: null decoded as a time")
	}
}

// decodeErr decodes doc and returns the error text, failing the test when
// decoding succeeds or the error does not match ErrInvalid.
func decodeErr(t *testing.T, doc string) string {
	t.Helper()
	objs, err := DecodeManifests(strings.NewReader(doc))
	if err == nil {
		t.Fatalf("decoded %d objects, want an error", len(objs))
	}
	if objs != nil {
		t.Errorf("returned %d objects with an error, want none", len(objs))
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not match ErrInvalid", err)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Errorf("error %v holds no *ValidationError", err)
	}
	return err.Error()
}

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error
	}{
		{
			name: "unknown field at depth",
			doc:  strings.Replace(goodDeployment, "image: nginx:1.27", "image: nginx:1.27\n        imagePullPolicyy: Always", 1),
			want: []string{`document 1 (Deployment "web")`, `spec.template.spec.containers[0].imagePullPolicyy: unknown field (did you mean "imagePullPolicy"?)`},
		},
		{
			name: "unsupported Kubernetes field",
			doc:  strings.Replace(goodDeployment, "image: nginx:1.27", "image: nginx:1.27\n        securityContext: {}", 1),
			want: []string{`spec.template.spec.containers[0].securityContext: unknown field`},
		},
		{
			name: "field names are case-sensitive",
			doc:  strings.Replace(goodDeployment, "image: nginx", "Image: nginx", 1),
			want: []string{`spec.template.spec.containers[0].Image: unknown field (did you mean "image"?)`},
		},
		{
			name: "string where an integer is expected",
			doc:  strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: three\n  selector", 1),
			want: []string{`spec.replicas: must be an integer, not a string`},
		},
		{
			name: "float where an integer is expected",
			doc:  strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: 1.5\n  selector", 1),
			want: []string{`spec.replicas: must be an integer, not "1.5"`},
		},
		{
			name: "integer out of range",
			doc:  strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: 3000000000\n  selector", 1),
			want: []string{`spec.replicas: must be an integer between -2147483648 and 2147483647`},
		},
		{
			name: "number where a string is expected, in a map entry",
			doc:  strings.Replace(goodDeployment, "labels: {app: web}", "labels: {app: web, version: 1.0}", 1),
			want: []string{`spec.template.metadata.labels[version]: must be a string, not a number (put the value in quotes`},
		},
		{
			name: "boolean where a string is expected",
			doc:  strings.Replace(goodDeployment, "name: web\nspec", "name: web\n  annotations: {enabled: yes}\nspec", 1),
			want: []string{`metadata.annotations[enabled]: must be a string, not a boolean`},
		},
		{
			name: "list where an object is expected",
			doc:  strings.Replace(goodDeployment, "matchLabels: {app: web}", "matchLabels: [app]", 1),
			want: []string{`spec.selector.matchLabels: must be an object (a mapping), not a list`},
		},
		{
			name: "object where a list is expected",
			doc:  strings.Replace(goodDeployment, "image: nginx:1.27", "image: nginx:1.27\n        args: {a: b}", 1),
			want: []string{`spec.template.spec.containers[0].args: must be a list, not an object`},
		},
		{
			name: "bad quantity",
			doc:  strings.Replace(goodDeployment, "image: nginx:1.27", "image: nginx:1.27\n        resources: {limits: {cpu: lots}}", 1),
			want: []string{`spec.template.spec.containers[0].resources.limits[cpu]: must be a quantity`, `not "lots"`},
		},
		{
			name: "bad time",
			doc:  strings.Replace(goodDeployment, "name: web\nspec", "name: web\n  creationTimestamp: yesterday\nspec", 1),
			want: []string{`metadata.creationTimestamp: must be an RFC 3339 time`},
		},
		{
			name: "bad int-or-string",
			doc:  strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  strategy: {rollingUpdate: {maxSurge: true}}\n  selector", 1),
			want: []string{`spec.strategy.rollingUpdate.maxSurge: must be an integer or a string, not a boolean`},
		},
		{
			name: "several problems are all reported",
			doc: strings.Replace(strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: x\n  paused: 1\n  selector", 1),
				"metadata:\n  name: web", "metadata:\n  name: web\n  labelz: {}", 1),
			want: []string{"metadata.labelz: unknown field", "spec.replicas: must be an integer", "spec.paused: must be a boolean"},
		},
		{
			name: "wrong apiVersion for a known kind",
			doc:  strings.Replace(goodDeployment, "apps/v1", "v1", 1),
			want: []string{`apiVersion: Deployment is served as apps/v1, not v1`},
		},
		{
			name: "extensions apiVersion",
			doc:  strings.Replace(goodDeployment, "apps/v1", "extensions/v1beta1", 1),
			want: []string{`apiVersion: Deployment is served as apps/v1, not extensions/v1beta1`},
		},
		{
			name: "unknown kind",
			doc:  "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n",
			want: []string{`document 1 at line 1: kind: unknown kind "CronJob": the supported kinds are Pod, Service, Namespace, Node, Event, ConfigMap and Secret (apiVersion v1), Deployment and ReplicaSet (apiVersion apps/v1), HorizontalPodAutoscaler (apiVersion autoscaling/v2) and EndpointSlice (apiVersion discovery.k8s.io/v1)`},
		},
		{
			name: "kind in the wrong case",
			doc:  "apiVersion: v1\nkind: pod\nmetadata: {name: p}\n",
			want: []string{`kind: unknown kind "pod" (did you mean "Pod"?)`},
		},
		{
			name: "missing apiVersion and kind",
			doc:  "metadata: {name: x}\n",
			want: []string{`kind: required`, `apiVersion: required`},
		},
		{
			name: "kind not a string",
			doc:  "apiVersion: v1\nkind: 3\n",
			want: []string{`kind: must be a string, not a number`},
		},
		{
			name: "duplicate key",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n",
			want: []string{`malformed YAML: line 5: duplicate key "name"`},
		},
		{
			name: "duplicate key in JSON",
			doc:  `{"apiVersion": "v1", "kind": "Namespace", "kind": "Namespace", "metadata": {"name": "a"}}`,
			want: []string{`duplicate key "kind"`},
		},
		{
			name: "YAML syntax error with stream line numbers",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: [name: b\n",
			want: []string{`document 2 at line 5: malformed YAML: line 7: did not find expected`},
		},
		{
			name: "document that is a list",
			doc:  "- a\n- b\n",
			want: []string{`a manifest document must be an object with apiVersion, kind and metadata, not a list`},
		},
		{
			name: "document that is a scalar",
			doc:  "hello\n",
			want: []string{`not a string`},
		},
		{
			name: "bad separator",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n--- apiVersion: v1\n",
			want: []string{`a document separator must be a line holding only "---"`},
		},
		{
			name: "unknown top-level field",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nspce: {}\n",
			want: []string{`document 1 (Namespace "a") at line 1: spce: unknown field (did you mean "spec"?)`},
		},
		{
			name: "unknown field in status",
			doc:  "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: b}]}\nstatus: {qosClass: BestEffort}\n",
			want: []string{`status.qosClass: unknown field`},
		},
		{
			name: "long unknown key is shortened",
			doc:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n" + strings.Repeat("k", 500) + ": 1\n",
			want: []string{strings.Repeat("k", maxDisplayKey) + "...: unknown field"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := decodeErr(t, tt.doc)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", msg, w)
				}
			}
			if len(msg) > 2000 {
				t.Errorf("error is %d bytes long", len(msg))
			}
		})
	}
}

func TestDecodeMultiDocumentWithBadDocuments(t *testing.T) {
	stream := `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
` + strings.Replace(goodDeployment, "image: nginx:1.27", "image: nginx:1.27\n        imagePullPolicyy: Always", 1) + `---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: http
`
	objs, err := DecodeManifests(strings.NewReader(stream))
	if err == nil || objs != nil {
		t.Fatalf("DecodeManifests = %d objects, %v; want no objects and an error", len(objs), err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error does not match ErrInvalid: %v", err)
	}
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("error is %T, want *ManifestError", err)
	}
	if len(me.Documents) != 2 {
		t.Fatalf("%d bad documents, want 2: %v", len(me.Documents), err)
	}
	want := []string{
		`document 2 (Deployment "web") at line 6: spec.template.spec.containers[0].imagePullPolicyy: unknown field`,
		`document 3 (Service "web") at line 22: spec.ports[0].port: must be an integer, not a string`,
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("error has %d lines, want 2:\n%v", len(lines), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestDecodeSkipsEmptyDocuments(t *testing.T) {
	stream := "# leading comment\n---\n---   # just a comment\n\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# trailing\n"
	objs, err := DecodeManifests(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetObjectMeta().Name != "a" {
		t.Fatalf("decoded %v", objs)
	}
	objs, err = DecodeManifests(strings.NewReader(""))
	if err != nil || len(objs) != 0 {
		t.Fatalf("empty stream: %v, %v", objs, err)
	}
}

func TestDecodeCRLFAndBOM(t *testing.T) {
	stream := "\xef\xbb\xbfapiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: b\r\n"
	objs, err := DecodeManifests(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[1].GetObjectMeta().Name != "b" {
		t.Fatalf("decoded %v", objs)
	}
}

func TestDecodeJSONStream(t *testing.T) {
	stream := `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
{"apiVersion": "v1", "kind": "Namespace",
 "metadata": {"name": "b"}, "spec": {"bad": 1}}`
	_, err := DecodeManifests(strings.NewReader(stream))
	if err == nil || !strings.Contains(err.Error(), `document 2 (Namespace "b") at line 2: spec.bad: unknown field`) {
		t.Fatalf("error = %v", err)
	}
	objs, err := DecodeManifests(strings.NewReader(`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}} {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}`))
	if err != nil || len(objs) != 2 {
		t.Fatalf("DecodeManifests = %v, %v", objs, err)
	}
}

func TestDecodeNullsAndFlowYAML(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: b, resources: {limits: {cpu: null}}}]}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1, targetPort: null}]}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: null, deletionTimestamp: null, labels: null}\nspec: null\nstatus: null\n",
		"{apiVersion: v1, kind: Namespace, metadata: {name: a}}",
	} {
		if _, err := DecodeManifest([]byte(doc)); err != nil {
			t.Errorf("DecodeManifest(%q): %v", doc, err)
		}
	}
}

func TestDecodeManifestSingle(t *testing.T) {
	if _, err := DecodeManifest([]byte("# nothing\n")); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty manifest: %v", err)
	}
	two := "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"
	if _, err := DecodeManifest([]byte(two)); err == nil || !strings.Contains(err.Error(), "holds 2 objects") {
		t.Errorf("two objects: %v", err)
	}
	_, err := DecodeManifest([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, x: 1}\n"))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Kind != KindNamespace || ve.Name != "a" || ve.Fields[0].Path != "metadata.x" {
		t.Errorf("bad document: %#v", err)
	}
}

func TestNewObject(t *testing.T) {
	for _, kind := range knownKinds {
		obj, err := NewObject(kind)
		if err != nil {
			t.Fatalf("NewObject(%q): %v", kind, err)
		}
		if obj.ObjectKind() != kind {
			t.Errorf("NewObject(%q) is a %s", kind, obj.ObjectKind())
		}
		if tm := typeMetaOf(obj); tm.Kind != kind || tm.APIVersion != APIVersionOf(kind) {
			t.Errorf("NewObject(%q) TypeMeta = %+v", kind, tm)
		}
	}
	if _, err := NewObject("StatefulSet"); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewObject(StatefulSet) = %v, want ErrInvalid", err)
	}
}

func TestEncodeManifest(t *testing.T) {
	pod := &Pod{ObjectMeta: ObjectMeta{Name: "p"}, Spec: PodSpec{Containers: []Container{{Name: "c", Image: "busybox"}}}}
	data, err := EncodeManifest(pod)
	if err != nil {
		t.Fatal(err)
	}
	if pod.APIVersion != "" || pod.Kind != "" {
		t.Error("EncodeManifest modified its argument")
	}
	for _, want := range []string{"apiVersion: v1\n", "kind: Pod\n", "creationTimestamp: null"} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("manifest lacks %q:\n%s", want, data)
		}
	}
	back, err := DecodeManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	pod.TypeMeta = TypeMeta{APIVersion: CoreV1, Kind: KindPod}
	if !reflect.DeepEqual(back, pod) {
		t.Errorf("round trip:\n got %#v\nwant %#v", back, pod)
	}
	if _, err := EncodeManifest(nil); err == nil {
		t.Error("EncodeManifest(nil) succeeded")
	}
	if _, err := EncodeManifest((*Pod)(nil)); err == nil {
		t.Error("EncodeManifest((*Pod)(nil)) succeeded")
	}
}
