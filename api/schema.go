package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// This file checks a generically decoded JSON document against the Go type
// it will be decoded into, the way Kubernetes' strict decoding does: every
// field must be one the type has (compared exactly, unlike encoding/json's
// case-insensitive matching), and every value must have the right JSON
// type. Each problem is reported with its path.

// jsonField is a field of a struct as encoding/json sees it.
type jsonField struct {
	name  string
	index []int
	typ   reflect.Type
}

// structFields lists a struct's JSON fields in declaration order and by
// name.
type structFields struct {
	list   []jsonField
	byName map[string]jsonField
}

var structFieldsCache sync.Map // reflect.Type -> *structFields

// jsonFieldsOf returns the JSON fields of struct type t, following json
// tags and inlining embedded structs without a tag name, as encoding/json
// does. Where two fields share a name, the shallower wins.
func jsonFieldsOf(t reflect.Type) *structFields {
	if cached, ok := structFieldsCache.Load(t); ok {
		return cached.(*structFields)
	}
	type candidate struct {
		jsonField
		depth int
	}
	var all []candidate
	var collect func(t reflect.Type, index []int, depth int)
	collect = func(t reflect.Type, index []int, depth int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			fieldIndex := append(append([]int(nil), index...), i)
			ft := f.Type
			if f.Anonymous && name == "" {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					collect(ft, fieldIndex, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			all = append(all, candidate{jsonField{name: name, index: fieldIndex, typ: f.Type}, depth})
		}
	}
	collect(t, nil, 0)
	sf := &structFields{byName: map[string]jsonField{}}
	depth := map[string]int{}
	for _, c := range all {
		if d, ok := depth[c.name]; ok && d <= c.depth {
			continue
		}
		depth[c.name] = c.depth
		sf.byName[c.name] = c.jsonField
	}
	for _, c := range all {
		if f, ok := sf.byName[c.name]; ok && slices.Equal(f.index, c.index) {
			sf.list = append(sf.list, f)
		}
	}
	actual, _ := structFieldsCache.LoadOrStore(t, sf)
	return actual.(*structFields)
}

var (
	quantityType        = reflect.TypeFor[Quantity]()
	timeType            = reflect.TypeFor[Time]()
	intOrStringType     = reflect.TypeFor[IntOrString]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// checkSchema reports, at p and below, every field of v that type t does
// not have and every value whose JSON type does not fit. v is a value
// decoded by encoding/json with UseNumber: map[string]any, []any, string,
// json.Number, bool or nil. null fits every type, meaning "unset".
func checkSchema(v any, t reflect.Type, p fieldPath, errs *FieldErrors) {
	if v == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case quantityType:
		checkQuantity(v, p, errs)
		return
	case timeType:
		checkTime(v, p, errs)
		return
	case intOrStringType:
		checkIntOrString(v, p, errs)
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		checkUnmarshaler(v, t, p, errs)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		checkStruct(v, t, p, errs)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			mismatch(v, "an object (a mapping)", p, errs)
			return
		}
		for _, k := range sortedKeys(m) {
			checkSchema(m[k], t.Elem(), p.Key(k), errs)
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			// []byte is base64 text in JSON, as in Kubernetes' data fields.
			str, ok := v.(string)
			if !ok {
				mismatch(v, "a base64 string", p, errs)
			} else if _, err := base64.StdEncoding.DecodeString(str); err != nil {
				errs.Add(p.String(), "must be base64 (standard encoding, with padding)")
			}
			return
		}
		list, ok := v.([]any)
		if !ok {
			mismatch(v, "a list", p, errs)
			return
		}
		for i, item := range list {
			checkSchema(item, t.Elem(), p.Index(i), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			mismatch(v, "a string", p, errs)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			mismatch(v, "a boolean (true or false)", p, errs)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		checkInt(v, t.Bits(), p, errs)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		checkUint(v, t.Bits(), p, errs)
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			mismatch(v, "a number", p, errs)
		}
	}
}

func checkStruct(v any, t reflect.Type, p fieldPath, errs *FieldErrors) {
	m, ok := v.(map[string]any)
	if !ok {
		mismatch(v, "an object (a mapping)", p, errs)
		return
	}
	fields := jsonFieldsOf(t)
	for _, k := range sortedKeys(m) {
		f, ok := fields.byName[k]
		if !ok {
			errs.Add(p.Child(displayKey(k)).String(), "unknown field%s", suggestField(k, fields))
			continue
		}
		checkSchema(m[k], f.typ, p.Child(k), errs)
	}
}

// suggestField returns ` (did you mean "x"?)` when a field of fields is
// close to the unknown name k, else "".
func suggestField(k string, fields *structFields) string {
	best, bestDistance := "", 3
	for _, f := range fields.list {
		d := editDistance(strings.ToLower(k), strings.ToLower(f.name), bestDistance)
		if d < bestDistance {
			best, bestDistance = f.name, d
		}
	}
	if best == "" || (bestDistance > 0 && len(k) <= 3) {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// editDistance returns the Levenshtein distance between a and b, or max
// when it is at least max; long inputs are not compared.
func editDistance(a, b string, max int) int {
	if len(a) > 64 || len(b) > 64 {
		return max
	}
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}

// jsonTypeName names the JSON type of a generically decoded value.
func jsonTypeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

// mismatch reports that v at p should have been want. It never echoes v,
// which may hold a secret.
func mismatch(v any, want string, p fieldPath, errs *FieldErrors) {
	hint := ""
	if want == "a string" {
		switch v.(type) {
		case json.Number, bool:
			hint = ` (put the value in quotes: YAML reads unquoted 8080, true or yes as a number or boolean)`
		}
	}
	errs.Add(p.String(), "must be %s, not %s%s", want, jsonTypeName(v), hint)
}

func checkInt(v any, bits int, p fieldPath, errs *FieldErrors) {
	n, ok := v.(json.Number)
	if !ok {
		mismatch(v, "an integer", p, errs)
		return
	}
	_, err := strconv.ParseInt(string(n), 10, bits)
	switch {
	case errors.Is(err, strconv.ErrRange):
		errs.Add(p.String(), "must be an integer between %d and %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	case err != nil:
		errs.Add(p.String(), "must be an integer, not %s", quote(string(n)))
	}
}

func checkUint(v any, bits int, p fieldPath, errs *FieldErrors) {
	n, ok := v.(json.Number)
	if !ok {
		mismatch(v, "an integer", p, errs)
		return
	}
	if _, err := strconv.ParseUint(string(n), 10, bits); err != nil {
		errs.Add(p.String(), "must be an integer between 0 and %d, not %s", uint64(math.MaxUint64)>>(64-bits), quote(string(n)))
	}
}

const quantityExamples = `a quantity such as "250m", "2", "1.5" or "128Mi"`

func checkQuantity(v any, p fieldPath, errs *FieldErrors) {
	var text string
	switch x := v.(type) {
	case string:
		text = strings.TrimSpace(x)
	case json.Number:
		text = string(x)
	default:
		mismatch(v, quantityExamples, p, errs)
		return
	}
	if _, err := ParseQuantity(text); err != nil {
		errs.Add(p.String(), "must be %s (a decimal number with an optional suffix: m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi or Ei), not %s",
			quantityExamples, quote(text))
	}
}

func checkTime(v any, p fieldPath, errs *FieldErrors) {
	const want = `an RFC 3339 time such as "2024-05-01T12:00:00Z", or null`
	s, ok := v.(string)
	if !ok {
		mismatch(v, want, p, errs)
		return
	}
	var t Time
	b, _ := json.Marshal(s)
	if err := t.UnmarshalJSON(b); err != nil {
		errs.Add(p.String(), "must be %s, not %s", want, quote(s))
	}
}

func checkIntOrString(v any, p fieldPath, errs *FieldErrors) {
	switch x := v.(type) {
	case string:
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 32); err != nil {
			errs.Add(p.String(), "must be an integer between %d and %d or a string, not %s",
				math.MinInt32, math.MaxInt32, quote(string(x)))
		}
	default:
		mismatch(v, "an integer or a string", p, errs)
	}
}

// checkUnmarshaler checks a value of a type with its own UnmarshalJSON by
// decoding it.
func checkUnmarshaler(v any, t reflect.Type, p fieldPath, errs *FieldErrors) {
	b, err := json.Marshal(v)
	if err == nil {
		err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
	}
	if err != nil {
		errs.Add(p.String(), "is malformed: %s", truncate(err.Error(), 200))
	}
}

// diffFields appends to out the paths below p where a and b, two values
// of the same type, differ in meaning: quantities and times are compared
// by value, and nil and empty lists or maps are the same. At most limit
// paths are reported.
func diffFields(a, b reflect.Value, p fieldPath, out *[]fieldPath, limit int) {
	if len(*out) >= limit {
		return
	}
	switch a.Type() {
	case quantityType:
		if !a.Interface().(Quantity).Equal(b.Interface().(Quantity)) {
			*out = append(*out, p)
		}
		return
	case timeType:
		if !a.Interface().(Time).Equal(b.Interface().(Time).Time) {
			*out = append(*out, p)
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.IsNil() || b.IsNil():
			*out = append(*out, p)
		default:
			diffFields(a.Elem(), b.Elem(), p, out, limit)
		}
	case reflect.Struct:
		fields := jsonFieldsOf(a.Type())
		if len(fields.list) == 0 {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				*out = append(*out, p)
			}
			return
		}
		for _, f := range fields.list {
			diffFields(a.FieldByIndex(f.index), b.FieldByIndex(f.index), p.Child(f.name), out, limit)
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, p)
			return
		}
		for i := 0; i < a.Len(); i++ {
			diffFields(a.Index(i), b.Index(i), p.Index(i), out, limit)
		}
	case reflect.Map:
		keys := map[string]reflect.Value{}
		for _, k := range append(a.MapKeys(), b.MapKeys()...) {
			keys[k.String()] = k
		}
		names := make([]string, 0, len(keys))
		for name := range keys {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			av, bv := a.MapIndex(keys[name]), b.MapIndex(keys[name])
			if !av.IsValid() || !bv.IsValid() {
				*out = append(*out, p.Key(name))
				continue
			}
			diffFields(av, bv, p.Key(name), out, limit)
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, p)
		}
	}
}
