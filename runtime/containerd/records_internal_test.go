package containerd

import (
	"bytes"
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/batonhq/baton/runtime"
)

// record returns a container record with cfg as its extension and a spec
// whose process has env.
func record(t *testing.T, cfg *containerConfig, env []string) containers.Container {
	t.Helper()
	ext, err := typeurl.MarshalAny(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := typeurl.MarshalAny(&specs.Spec{Process: &specs.Process{Env: env}})
	if err != nil {
		t.Fatal(err)
	}
	return containers.Container{
		ID:         "c1",
		Labels:     map[string]string{labelKind: kindContainer},
		Spec:       spec,
		Extensions: map[string]typeurl.Any{extContainerConfig: ext},
	}
}

// The stored extension names the variables without their values; decoding
// gives each the value the process got, from the spec.
func TestStoredConfigKeepsEnvNamesOnly(t *testing.T) {
	cfg := runtime.ContainerConfig{Name: "app", Env: []string{"TOKEN=s3cret", "EMPTY=", "TWICE=1", "TWICE=2", "UNSET"}}
	stored := storedConfig(cfg)
	if stored.Env != nil || !slices.Equal(stored.EnvNames, []string{"TOKEN", "EMPTY", "TWICE", "TWICE", "UNSET"}) {
		t.Errorf("storedConfig: Env %q, EnvNames %q; want no Env and the names", stored.Env, stored.EnvNames)
	}
	if cfg.Env[0] != "TOKEN=s3cret" {
		t.Errorf("storedConfig changed its argument's Env: %q", cfg.Env)
	}
	// The spec's environment as containerd's WithEnv leaves it: the
	// image's PATH, the config's values, the last of a repeated name, and
	// no UNSET.
	rec := record(t, stored, []string{"PATH=/bin", "TOKEN=s3cret", "EMPTY=", "TWICE=2"})
	if bytes.Contains(rec.Extensions[extContainerConfig].GetValue(), []byte("s3cret")) {
		t.Errorf("the extension holds a value: %s", rec.Extensions[extContainerConfig].GetValue())
	}
	got, err := decodeContainer(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"TOKEN=s3cret", "EMPTY=", "TWICE=2", "TWICE=2", "UNSET"}; !slices.Equal(got.config.Env, want) {
		t.Errorf("decoded Env %q; want %q", got.config.Env, want)
	}
}

// Records written before the names were kept apart hold Env itself, and
// are read as they are.
func TestDecodeRecordWithStoredEnv(t *testing.T) {
	old := &containerConfig{ContainerConfig: runtime.ContainerConfig{Name: "app", Env: []string{"A=1"}}}
	got, err := decodeContainer(record(t, old, []string{"PATH=/bin", "A=1"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.config.Env, []string{"A=1"}) {
		t.Errorf("decoded Env %q; want [A=1]", got.config.Env)
	}
}
