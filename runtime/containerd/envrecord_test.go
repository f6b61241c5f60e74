package containerd_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime"
)

// A container's environment can hold Secret values (the node agent
// resolves them into ContainerConfig.Env). The process gets them and
// ContainerStatus and ListContainers report them, but Baton's own record
// in containerd's metadata store (its extension and labels) holds only the
// variables' names: the values are read back from the container's OCI
// spec, containerd's own, which must carry them to the process.
func TestEnvValuesAreNotInBatonsRecord(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "env")
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	canary := "canary-" + hex.EncodeToString(rnd[:])
	cfg := sh("app", runUntilTERM)
	cfg.Env = []string{"API_TOKEN=" + canary, "PLAIN=visible"}
	c := start(t, rt, sb, cfg)

	rec, err := rawClient(t, rt.env, rt.ns).ContainerService().Get(testCtx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Extensions) == 0 {
		t.Fatalf("container %s has no extension; want Baton's config", c.ID)
	}
	for name, ext := range rec.Extensions {
		if bytes.Contains(ext.GetValue(), []byte(canary)) {
			t.Errorf("extension %s of container %s holds the value of API_TOKEN", name, c.ID)
		}
		if !bytes.Contains(ext.GetValue(), []byte("API_TOKEN")) {
			t.Errorf("extension %s of container %s lacks the name API_TOKEN: %s", name, c.ID, ext.GetValue())
		}
	}
	for k, v := range rec.Labels {
		if strings.Contains(k, canary) || strings.Contains(v, canary) {
			t.Errorf("label %s of container %s holds the value of API_TOKEN", k, c.ID)
		}
	}

	if st := status(t, rt, c.ID); !slices.Equal(st.Config.Env, cfg.Env) {
		t.Errorf("ContainerStatus reports Env %q; want %q", st.Config.Env, cfg.Env)
	}
	list, err := rt.ListContainers(testCtx(t), runtime.ContainerFilter{SandboxID: sb.ID})
	if err != nil || len(list) != 1 || !slices.Equal(list[0].Config.Env, cfg.Env) {
		t.Errorf("ListContainers = %+v, %v; want the container with Env %q", list, err, cfg.Env)
	}
	var out bytes.Buffer
	if code, err := rt.Exec(testCtx(t), c.ID, []string{"sh", "-c", `echo "$API_TOKEN"`}, runtime.ExecOptions{Stdout: &out}); err != nil || code != 0 || out.String() != canary+"\n" {
		t.Errorf("the process's API_TOKEN = %q (exec %d, %v); want the value given", out.String(), code, err)
	}
}
