package api

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// allKinds returns one new, empty object of every kind.
func allKinds() []Object {
	return []Object{&Pod{}, &Deployment{}, &Service{}, &Namespace{}, &Node{}, &Event{}, &ReplicaSet{}, &HorizontalPodAutoscaler{}, &ConfigMap{}, &Secret{}}
}

// filler sets every field of a value to a distinct non-zero value: strings,
// numbers and booleans, maps and slices with two entries, non-nil
// pointers. It fails the test on a field it cannot fill, so that a new
// kind of field forces this test to be taught about it.
type filler struct {
	t *testing.T
	n int
}

func (f *filler) next() int { f.n++; return f.n }

func (f *filler) fill(v reflect.Value, path string) {
	switch v.Type() {
	case quantityType:
		v.Set(reflect.ValueOf(MustParseQuantity(fmt.Sprintf("%dm", f.next()))))
		return
	case timeType:
		v.Set(reflect.ValueOf(NewTime(time.Date(2024, 1, 2, 3, 4, 5, f.next(), time.UTC))))
		return
	case intOrStringType:
		v.Set(reflect.ValueOf(FromString(fmt.Sprintf("v%d", f.next()))))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			field := v.Type().Field(i)
			if !field.IsExported() {
				f.t.Fatalf("%s.%s: cannot fill an unexported field; teach the filler about %s", path, field.Name, v.Type())
			}
			f.fill(v.Field(i), path+"."+field.Name)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		f.fill(v.Elem(), path)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			f.fill(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < 2; i++ {
			key := reflect.New(v.Type().Key()).Elem()
			f.fill(key, path+"[key]")
			elem := reflect.New(v.Type().Elem()).Elem()
			f.fill(elem, path+"[]")
			v.SetMapIndex(key, elem)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", f.next()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(f.next()))
	case reflect.Uint8:
		v.SetUint(uint64(f.next() % 256))
	default:
		f.t.Fatalf("%s: cannot fill a %s; teach the filler about it", path, v.Kind())
	}
}

// filled returns obj's kind with every field set; the same call always
// returns an equal object.
func filled(t *testing.T, obj Object) Object {
	t.Helper()
	out := reflect.New(reflect.TypeOf(obj).Elem())
	(&filler{t: t}).fill(out.Elem(), reflect.TypeOf(obj).Elem().Name())
	return out.Interface().(Object)
}

// mutate changes every value reachable from v in place: through pointers,
// slice elements and map entries.
func mutate(v reflect.Value) {
	switch v.Type() {
	case quantityType:
		v.Set(reflect.ValueOf(MustParseQuantity("999")))
		return
	case timeType:
		v.Set(reflect.ValueOf(NewTime(time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC))))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				mutate(v.Field(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			mutate(v.Index(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(iter.Value())
			mutate(elem)
			v.SetMapIndex(iter.Key(), elem)
		}
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint8:
		v.SetUint(v.Uint() + 1)
	}
}
