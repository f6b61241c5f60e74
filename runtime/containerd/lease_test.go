package containerd_test

import (
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/leases"

	"github.com/batonhq/baton/runtime/containerd"
)

// The Runtime makes containers under one lease of its own, which
// containerd expires; if the lease goes sooner (deleted behind the
// Runtime's back), the next container is made under a new one.
func TestContainersOutliveTheirLease(t *testing.T) {
	rt := newRuntime(t)
	sb := sandbox(t, rt, "lease")
	first := start(t, rt, sb, sh("first", runUntilTERM))
	raw := rawClient(t, rt.env, rt.ns)
	ls, err := raw.LeasesService().List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("leases after a container was made: %+v; want the Runtime's one", ls)
	}
	expire, err := time.Parse(time.RFC3339, ls[0].Labels["containerd.io/gc.expire"])
	if err != nil || time.Until(expire) > 2*time.Hour || time.Until(expire) < 0 {
		t.Errorf("the lease expires at %q (%v); want within the next hour or so", ls[0].Labels["containerd.io/gc.expire"], err)
	}
	// Deleted with a garbage collection at once: what the lease alone held
	// goes now, and the container's snapshot must not be among it.
	if err := raw.LeasesService().Delete(testCtx(t), ls[0], leases.SynchronousDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.SnapshotService(containerd.DefaultSnapshotter).Stat(testCtx(t), first.ID); err != nil {
		t.Errorf("the first container's snapshot went with the lease: %v", err)
	}

	second := start(t, rt, sb, sh("second", runUntilTERM))
	again, err := raw.LeasesService().List(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].ID == ls[0].ID {
		t.Errorf("leases after the lease was lost and a container made: %+v; want one new one", again)
	}
	for _, id := range []string{first.ID, second.ID} {
		if st := status(t, rt, id); st.State != "Running" {
			t.Errorf("container %s is %s; want Running", id, st.State)
		}
	}
}
