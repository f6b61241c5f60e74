package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// DecodeManifests decodes a stream of Kubernetes manifests: YAML documents
// separated by lines that are exactly "---" (optionally followed by spaces
// or a comment), or a sequence of JSON objects. Empty and comment-only
// documents are skipped.
//
// Decoding is strict, like "kubectl apply --validate=strict": each
// document needs an apiVersion and kind that Baton serves (v1 Pod, Service,
// Namespace, Node, Event, ConfigMap and Secret; apps/v1 Deployment and
// ReplicaSet; autoscaling/v2 HorizontalPodAutoscaler; discovery.k8s.io/v1
// EndpointSlice), every field must be one
// the kind has, values must have the right types, and a key may appear only
// once in a mapping. Objects are decoded as written: DecodeManifests
// neither defaults nor validates them (SetDefaults and Validate do).
//
// When any document is bad, DecodeManifests returns no objects and a
// *ManifestError, matching ErrInvalid, that lists every bad document with
// every problem in it. An error reading r is returned wrapped, not as
// ErrInvalid. r is read to the end and held in memory; bound untrusted
// input with io.LimitReader.
func DecodeManifests(r io.Reader) ([]Object, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	var objs []Object
	var bad []DocumentError
	index := 0
	for _, doc := range splitManifests(data) {
		obj, verr := doc.decode()
		if verr == nil && obj == nil {
			continue // empty document
		}
		index++
		if verr != nil {
			bad = append(bad, DocumentError{Index: index, Line: doc.line, Err: verr})
			continue
		}
		objs = append(objs, obj)
	}
	if len(bad) > 0 {
		return nil, &ManifestError{Documents: bad}
	}
	return objs, nil
}

// DecodeManifest decodes a manifest holding exactly one object, in YAML or
// JSON, as strictly as DecodeManifests. Its errors are *ValidationError
// values, matching ErrInvalid.
func DecodeManifest(data []byte) (Object, error) {
	var found Object
	count := 0
	for _, doc := range splitManifests(data) {
		obj, verr := doc.decode()
		if verr != nil {
			return nil, verr
		}
		if obj == nil {
			continue
		}
		count++
		found = obj
	}
	switch count {
	case 0:
		return nil, &ValidationError{Fields: []FieldError{{Detail: "the manifest holds no object"}}}
	case 1:
		return found, nil
	}
	return nil, &ValidationError{Fields: []FieldError{{
		Detail: fmt.Sprintf("the manifest holds %d objects, not one: decode it with DecodeManifests", count),
	}}}
}

// NewObject returns a new, empty object of kind ("Pod", "Deployment",
// "Service", "Namespace", "Node" or "Event") with its apiVersion and kind
// set. An unknown kind is a *ValidationError, matching ErrInvalid.
func NewObject(kind string) (Object, error) {
	var obj Object
	switch kind {
	case KindPod:
		obj = &Pod{}
	case KindDeployment:
		obj = &Deployment{}
	case KindService:
		obj = &Service{}
	case KindNamespace:
		obj = &Namespace{}
	case KindNode:
		obj = &Node{}
	case KindEvent:
		obj = &Event{}
	case KindReplicaSet:
		obj = &ReplicaSet{}
	case KindConfigMap:
		obj = &ConfigMap{}
	case KindSecret:
		obj = &Secret{}
	case KindHorizontalPodAutoscaler:
		obj = &HorizontalPodAutoscaler{}
	case KindEndpointSlice:
		obj = &EndpointSlice{}
	default:
		return nil, &ValidationError{Fields: []FieldError{{Path: "kind", Detail: unknownKindDetail(kind)}}}
	}
	setTypeMeta(typeMetaOf(obj), kind)
	return obj, nil
}

var knownKinds = []string{KindPod, KindDeployment, KindService, KindNamespace, KindNode, KindEvent, KindReplicaSet, KindHorizontalPodAutoscaler, KindConfigMap, KindSecret, KindEndpointSlice}

func unknownKindDetail(kind string) string {
	for _, k := range knownKinds {
		if strings.EqualFold(k, kind) {
			return fmt.Sprintf("unknown kind %s (did you mean %q?)", quote(kind), k)
		}
	}
	return fmt.Sprintf("unknown kind %s: %s", quote(kind), supportedKindsDetail)
}

// typeMetaOf returns a pointer to obj's TypeMeta, or nil for an Object
// this package does not define.
func typeMetaOf(obj Object) *TypeMeta {
	switch o := obj.(type) {
	case *Pod:
		return &o.TypeMeta
	case *Deployment:
		return &o.TypeMeta
	case *Service:
		return &o.TypeMeta
	case *Namespace:
		return &o.TypeMeta
	case *Node:
		return &o.TypeMeta
	case *Event:
		return &o.TypeMeta
	case *ReplicaSet:
		return &o.TypeMeta
	case *ConfigMap:
		return &o.TypeMeta
	case *Secret:
		return &o.TypeMeta
	case *HorizontalPodAutoscaler:
		return &o.TypeMeta
	case *EndpointSlice:
		return &o.TypeMeta
	}
	return nil
}

// EncodeManifest encodes obj as a YAML manifest that DecodeManifest reads
// back, filling apiVersion and kind when obj leaves them empty. obj is not
// modified. Like kubectl, it writes an unset time as null.
func EncodeManifest(obj Object) ([]byte, error) {
	if isNilObject(obj) {
		return nil, errors.New("encoding manifest: object is nil")
	}
	out := obj.DeepCopyObject()
	if tm := typeMetaOf(out); tm != nil {
		setTypeMeta(tm, out.ObjectKind())
	}
	data, err := yaml.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %q: %w", out.ObjectKind(), out.GetObjectMeta().Name, err)
	}
	return data, nil
}

// ManifestError lists the bad documents of a manifest stream. It matches
// ErrInvalid under errors.Is, and errors.As finds the *ValidationError of
// the first bad document.
type ManifestError struct {
	// Documents holds one entry per bad document, in stream order.
	Documents []DocumentError
}

// DocumentError is one bad document of a manifest stream.
type DocumentError struct {
	// Index is the document's position among the stream's non-empty
	// documents, counting from 1.
	Index int
	// Line is the line of the stream where the document starts, counting
	// from 1.
	Line int
	// Err lists the document's problems; its Kind and Name say which
	// object the document holds, when they could be read.
	Err *ValidationError
}

// Error writes one line per bad document, such as
// `document 2 (Deployment "web") at line 14: spec.replicas: must be an integer, not a string`.
func (e *ManifestError) Error() string {
	var b strings.Builder
	for i, d := range e.Documents {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ManifestError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the *ValidationError of each bad document.
func (e *ManifestError) Unwrap() []error {
	out := make([]error, len(e.Documents))
	for i, d := range e.Documents {
		out[i] = d.Err
	}
	return out
}

// Error writes the document's position, the object it holds, when known,
// and its problems.
func (d DocumentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", d.Index)
	if d.Err != nil {
		switch {
		case d.Err.Kind != "" && d.Err.Name != "":
			fmt.Fprintf(&b, " (%s %q)", d.Err.Kind, d.Err.Name)
		case d.Err.Kind != "":
			fmt.Fprintf(&b, " (%s)", d.Err.Kind)
		}
	}
	fmt.Fprintf(&b, " at line %d: ", d.Line)
	if d.Err != nil {
		for i, f := range d.Err.Fields {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.Error())
		}
	}
	return b.String()
}

// document is one document of a manifest stream and the line it starts
// on, or the problem that kept it from being split out.
type document struct {
	data []byte
	line int
	err  *ValidationError
}

// decode decodes the document; see decodeDocument.
func (d document) decode() (Object, *ValidationError) {
	if d.err != nil {
		return nil, d.err
	}
	return decodeDocument(d.data, d.line)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// splitManifests splits data into documents: a sequence of JSON objects
// when data starts with '{' and parses as such, else YAML documents. A
// malformed separator line becomes a document holding its error.
func splitManifests(data []byte) []document {
	data = bytes.TrimPrefix(data, utf8BOM)
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		if docs, ok := splitJSONStream(data); ok {
			return docs
		}
	}
	return splitYAMLDocuments(data)
}

// splitJSONStream splits a sequence of JSON values. It reports false when
// data is not such a sequence, so that it can be read as YAML instead.
func splitJSONStream(data []byte) ([]document, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []document
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return docs, true
		} else if err != nil {
			return nil, false
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		docs = append(docs, document{data: raw, line: 1 + bytes.Count(data[:start], []byte("\n"))})
	}
}

// splitYAMLDocuments splits YAML at separator lines as Kubernetes' YAML
// reader does: a line starting "---" followed by nothing but spaces or a
// comment. Any other text after "---" is refused.
func splitYAMLDocuments(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	start, lineNo := 1, 0
	flush := func(next int) {
		if cur.Len() > 0 {
			docs = append(docs, document{data: bytes.Clone(cur.Bytes()), line: start})
		}
		cur.Reset()
		start = next
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	sc.Split(scanLinesKeepEnding)
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		rest, isSeparator := bytes.CutPrefix(line, []byte("---"))
		if !isSeparator {
			cur.Write(line)
			continue
		}
		flush(lineNo + 1)
		if trimmed := bytes.TrimSpace(rest); len(trimmed) > 0 && trimmed[0] != '#' {
			docs = append(docs, document{line: lineNo, err: &ValidationError{Fields: []FieldError{{
				Detail: fmt.Sprintf("line %d: a document separator must be a line holding only \"---\" and optionally a comment, not %s",
					lineNo, quote(string(bytes.TrimRight(line, "\r\n")))),
			}}}})
		}
	}
	flush(lineNo + 1)
	return docs
}

// scanLinesKeepEnding is bufio.ScanLines without dropping the line ending,
// so that each document is passed on byte for byte.
func scanLinesKeepEnding(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// decodeDocument decodes one document that starts on line of the stream.
// It returns a nil object and nil error for an empty document.
func decodeDocument(data []byte, line int) (Object, *ValidationError) {
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, &ValidationError{Fields: []FieldError{{Detail: yamlErrorDetail(err, line)}}}
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, &ValidationError{Fields: []FieldError{{Detail: "cannot read the document: " + truncate(err.Error(), 200)}}}
	}
	if generic == nil {
		return nil, nil
	}
	m, ok := generic.(map[string]any)
	if !ok {
		return nil, &ValidationError{Fields: []FieldError{{
			Detail: fmt.Sprintf("a manifest document must be an object with apiVersion, kind and metadata, not %s", jsonTypeName(generic)),
		}}}
	}
	var errs FieldErrors
	kind, apiVersion := typeField(m, "kind", &errs), typeField(m, "apiVersion", &errs)
	name := ""
	if meta, ok := m["metadata"].(map[string]any); ok {
		if s, ok := meta["name"].(string); ok {
			name = truncate(s, maxDisplayValue)
		}
	}
	if kind == "" {
		return nil, &ValidationError{Name: name, Fields: errs}
	}
	obj, err := NewObject(kind)
	if err != nil {
		errs.Add("kind", "%s", unknownKindDetail(kind))
		return nil, &ValidationError{Name: name, Fields: errs}
	}
	if want := APIVersionOf(kind); apiVersion != "" && apiVersion != want {
		errs.Add("apiVersion", "%s is served as %s, not %s", kind, want, truncate(apiVersion, maxDisplayValue))
	}
	checkSchema(m, reflect.TypeOf(obj).Elem(), "", &errs)
	if len(errs) > 0 {
		return nil, &ValidationError{Kind: kind, Name: name, Fields: errs}
	}
	if err := json.Unmarshal(jsonData, obj); err != nil {
		// checkSchema should have caught anything json refuses; the fuzz
		// tests look for this message.
		errs.Add("", "%s: %s", undetectedDecodeError, truncate(err.Error(), 200))
		return nil, &ValidationError{Kind: kind, Name: name, Fields: errs}
	}
	return obj, nil
}

// undetectedDecodeError starts the detail of a decoding error that the
// schema check did not foresee, and so could not give a path.
const undetectedDecodeError = "malformed document"

// typeField returns the string field key ("kind" or "apiVersion") of a
// document, recording a problem when it is missing or not a string.
func typeField(m map[string]any, key string, errs *FieldErrors) string {
	v, ok := m[key]
	if !ok || v == nil {
		errs.Add(key, "required: every manifest document needs apiVersion and kind, such as apiVersion: apps/v1 and kind: Deployment")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		mismatch(v, "a string", fieldPath(key), errs)
		return ""
	}
	if s == "" {
		errs.Add(key, "required: every manifest document needs apiVersion and kind, such as apiVersion: apps/v1 and kind: Deployment")
	}
	return s
}

var (
	yamlLineRE      = regexp.MustCompile(`\bline (\d+)\b`)
	yamlDuplicateRE = regexp.MustCompile(`key (".*") already set in map`)
)

// yamlErrorDetail rewrites a YAML parser error for a user: line numbers
// counted from the start of the stream, one line of text, and a plain
// wording for duplicate keys.
func yamlErrorDetail(err error, firstLine int) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "line "))
		if err != nil {
			return s
		}
		return "line " + strconv.Itoa(n+firstLine-1)
	})
	msg = yamlDuplicateRE.ReplaceAllString(msg, "duplicate key $1: a key may appear only once in a mapping")
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return "malformed YAML: " + truncate(strings.Join(lines, "; "), 300)
}
