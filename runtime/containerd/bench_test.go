package containerd_test

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
)

// BenchmarkPodStart measures how long a one-container Pod takes from
// nothing to Running (RunPodSandbox, CreateContainer, StartContainer)
// through the Runtime, against the same container (same image and
// command, host network) started with the plain containerd client
// (NewContainer with a snapshot and containerd's default spec, NewTask
// without IO, Start). The two alternate within each iteration, so drift in
// the machine's speed hits both alike; tearing down is not timed. It
// reports the medians and 95th percentiles in milliseconds and the ratio
// of the medians:
//
//	go test -run '^$' -bench PodStart -benchtime 40x ./runtime/containerd/
//
// host-network compares like with like; cni gives the Runtime's Pod its own
// network namespace and IP; seccomp confines both with containerd's default
// seccomp profile.
func BenchmarkPodStart(b *testing.B) {
	b.Run("host-network", func(b *testing.B) { benchPodStart(b, true, false) })
	b.Run("cni", func(b *testing.B) { benchPodStart(b, false, false) })
	b.Run("seccomp", func(b *testing.B) { benchPodStart(b, true, true) })
}

func benchPodStart(b *testing.B, hostNetwork, confined bool) {
	var opts []containerd.Option
	if confined {
		opts = append(opts, containerd.WithSeccompDefault())
	}
	rt := newRuntime(b, opts...)
	raw := rawClient(b, rt.env, rt.ns)
	img, err := raw.GetImage(context.Background(), busyboxRef)
	if err != nil {
		b.Fatal(err)
	}
	var rawTook, batonTook []time.Duration
	b.ResetTimer()
	b.StopTimer() // each start times itself
	for i := range b.N {
		runRaw := func() { rawTook = append(rawTook, rawStart(b, raw, img, i, confined)) }
		runBaton := func() { batonTook = append(batonTook, batonStart(b, rt, i, hostNetwork)) }
		if i%2 == 0 {
			runRaw()
			runBaton()
		} else {
			runBaton()
			runRaw()
		}
	}
	b.StopTimer()
	rawP50, rawP95 := percentiles(rawTook)
	batonP50, batonP95 := percentiles(batonTook)
	b.ReportMetric(rawP50, "raw-p50-ms")
	b.ReportMetric(rawP95, "raw-p95-ms")
	b.ReportMetric(batonP50, "baton-p50-ms")
	b.ReportMetric(batonP95, "baton-p95-ms")
	b.ReportMetric(batonP50/rawP50, "ratio-p50")
}

// percentiles returns the median and 95th percentile of took, in ms.
func percentiles(took []time.Duration) (p50, p95 float64) {
	took = slices.Clone(took)
	slices.Sort(took)
	at := func(p float64) float64 {
		return float64(took[int(p*float64(len(took)-1))]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.95)
}

// batonStart starts a one-container Pod through rt, returns how long that
// took, and tears it down untimed.
func batonStart(b *testing.B, rt *testRuntime, i int, hostNetwork bool) time.Duration {
	ctx := context.Background()
	cfg := runtime.SandboxConfig{Name: "bench", Namespace: "bench", UID: fmt.Sprintf("bench-%d", i), HostNetwork: hostNetwork}
	b.StartTimer()
	began := time.Now()
	sb, err := rt.RunPodSandbox(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	c, err := rt.CreateContainer(ctx, sb.ID, sh("app", runUntilTERM))
	if err != nil {
		b.Fatal(err)
	}
	if err := rt.StartContainer(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	took := time.Since(began)
	b.StopTimer()
	if err := runtime.TearDownSandbox(ctx, rt, sb.ID, 0); err != nil {
		b.Fatal(err)
	}
	return took
}

// rawStart starts the same container with the plain client, returns how
// long that took, and removes it untimed.
func rawStart(b *testing.B, c *client.Client, img client.Image, i int, confined bool) time.Duration {
	ctx := context.Background()
	id := fmt.Sprintf("raw-%d", i)
	specOpts := []oci.SpecOpts{oci.WithImageConfig(img), oci.WithProcessArgs("/bin/sh", "-c", runUntilTERM), oci.WithHostNamespace(specs.NetworkNamespace)}
	if confined {
		specOpts = append(specOpts, seccomp.WithDefaultProfile())
	}
	b.StartTimer()
	began := time.Now()
	ctr, err := c.NewContainer(ctx, id, client.WithNewSnapshot(id, img), client.WithNewSpec(specOpts...))
	if err != nil {
		b.Fatal(err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		b.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(began)
	b.StopTimer()
	exited, err := task.Wait(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		b.Fatal(err)
	}
	<-exited
	if _, err := task.Delete(ctx); err != nil {
		b.Fatal(err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		b.Fatal(err)
	}
	return took
}
