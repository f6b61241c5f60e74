package api

import (
	"errors"
	"strings"
	"testing"
)

func configVolumePod(volumes []Volume, mounts []VolumeMount) *Pod {
	p := validPod()
	p.Spec.Volumes = volumes
	p.Spec.Containers[0].VolumeMounts = mounts
	return p
}

// errorAt returns the detail of the error at path, and whether there is
// one.
func errorAt(errs FieldErrors, path string) (string, bool) {
	for _, e := range errs {
		if e.Path == path {
			return e.Detail, true
		}
	}
	return "", false
}

// Item paths follow Kubernetes' ValidateLocalNonReservedPath: relative,
// no ".." element, and not starting with ".." (the writer's own names);
// subPath follows validateLocalDescendingPath, which allows a leading
// "..name".
func TestVolumePathsAsKubernetes(t *testing.T) {
	items := func(path string) []KeyToPath { return []KeyToPath{{Key: "k", Path: path}} }
	for _, tc := range []struct {
		path   string
		detail string // "" when valid
	}{
		{"app.conf", ""},
		{"dir/app.conf", ""},
		{"a..b", ""},
		{"dir/..hidden", ""}, // only the first element is reserved, as in Kubernetes
		{"..data", "must not start with '..'"},
		{"..foo/x", "must not start with '..'"},
		{"..", "must not contain '..'"},
		{"../x", "must not contain '..'"},
		{"a/../../x", "must not contain '..'"},
		{"/abs", "must be a relative path"},
		{"", "must not be empty"},
	} {
		vols := []Volume{
			{Name: "cm", VolumeSource: VolumeSource{ConfigMap: &ConfigMapVolumeSource{LocalObjectReference: LocalObjectReference{Name: "c"}, Items: items(tc.path)}}},
			{Name: "sec", VolumeSource: VolumeSource{Secret: &SecretVolumeSource{SecretName: "s", Items: items(tc.path)}}},
		}
		errs := ValidateFields(configVolumePod(vols, nil))
		for _, p := range []string{"spec.volumes[0].configMap.items[0].path", "spec.volumes[1].secret.items[0].path"} {
			d, found := errorAt(errs, p)
			switch {
			case tc.detail == "" && found:
				t.Errorf("path %q refused at %s: %s", tc.path, p, d)
			case tc.detail != "" && !found:
				t.Errorf("path %q accepted at %s; errors: %v", tc.path, p, errs)
			case tc.detail != "" && !strings.Contains(d, tc.detail):
				t.Errorf("path %q at %s: %q, want %q", tc.path, p, d, tc.detail)
			}
		}
		if err := errs.Err(KindPod, "p"); tc.detail != "" && !errors.Is(err, ErrInvalid) {
			t.Errorf("path %q: %v is not ErrInvalid", tc.path, err)
		}
	}
	for _, tc := range []struct {
		subPath string
		valid   bool
	}{
		{"level", true}, {"dir/x", true}, {"..data", true}, {"../x", false}, {"a/../..", false}, {"/etc", false},
	} {
		vols := []Volume{{Name: "scratch", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}}}
		errs := ValidateFields(configVolumePod(vols, []VolumeMount{{Name: "scratch", MountPath: "/x", SubPath: tc.subPath}}))
		if _, found := errorAt(errs, "spec.containers[0].volumeMounts[0].subPath"); found == tc.valid {
			t.Errorf("subPath %q: valid %v, errors %v", tc.subPath, tc.valid, errs)
		}
	}
	for _, tc := range []struct {
		mountPath string
		valid     bool
	}{
		{"/etc/app", true}, {"etc/app", false}, {"/etc/../root", false}, {"", false},
	} {
		vols := []Volume{{Name: "scratch", VolumeSource: VolumeSource{EmptyDir: &EmptyDirVolumeSource{}}}}
		errs := ValidateFields(configVolumePod(vols, []VolumeMount{{Name: "scratch", MountPath: tc.mountPath}}))
		if _, found := errorAt(errs, "spec.containers[0].volumeMounts[0].mountPath"); found == tc.valid {
			t.Errorf("mountPath %q: valid %v, errors %v", tc.mountPath, tc.valid, errs)
		}
	}
}

// An invalid key written in stringData is reported there, where the
// caller wrote it, even though defaulting merges stringData into data; a
// value never appears in the error.
func TestStringDataKeysReportedWhereWritten(t *testing.T) {
	s := &Secret{ObjectMeta: ObjectMeta{Name: "db", Namespace: "default"},
		Data:       map[string][]byte{"ok": []byte("1"), "bad data!": []byte("hunter2-data")},
		StringData: map[string]string{"fine": "2", "bad key!": "hunter2-string", "..dots": "hunter2-dots"}}
	SetDefaults(s)
	errs := ValidateFields(s)
	for _, p := range []string{"stringData[bad key!]", "stringData[..dots]", "data[bad data!]"} {
		if _, found := errorAt(errs, p); !found {
			t.Errorf("no error at %s: %v", p, errs)
		}
	}
	for _, p := range []string{"data[bad key!]", "data[..dots]"} {
		if _, found := errorAt(errs, p); found {
			t.Errorf("a stringData key is reported at %s: %v", p, errs)
		}
	}
	if msg := errs.Err(KindSecret, "db").Error(); strings.Contains(msg, "hunter2") {
		t.Errorf("the error shows a value: %s", msg)
	}
	// The valid entries are merged all the same; a valid Secret keeps no
	// stringData.
	if string(s.Data["fine"]) != "2" {
		t.Errorf("stringData[fine] was not merged: %v", s)
	}
	ok := &Secret{ObjectMeta: ObjectMeta{Name: "db", Namespace: "default"},
		Data: map[string][]byte{"a": []byte("old")}, StringData: map[string]string{"a": "new", "b": "2"}}
	SetDefaults(ok)
	if errs := ValidateFields(ok); len(errs) != 0 {
		t.Fatal(errs)
	}
	if ok.StringData != nil || string(ok.Data["a"]) != "new" || string(ok.Data["b"]) != "2" {
		t.Errorf("merged %v: stringData %d entries, a=%q b=%q", ok, len(ok.StringData), ok.Data["a"], ok.Data["b"])
	}
}
