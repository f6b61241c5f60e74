package e2e_test

// Issue 3's speed targets, measured on the test binary's containerd by
// package e2e/ctrbench (which cmd/ctrbench runs too; see BENCHMARKS.md):
//
//	go test -run '^$' -bench 'PodStart|Restart' -benchtime 40x ./e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/batonhq/baton/e2e/ctrbench"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
)

// openBench returns a Bench on the shared containerd, in a containerd
// namespace and on a bridge network of its own, closed when tb ends.
func openBench(tb testing.TB) *ctrbench.Bench {
	tb.Helper()
	env := containerdtest.Shared(tb)
	if cniLockBug != "" {
		tb.Skip("skipping: " + cniLockBug)
	}
	// Next to the Env's own network: another /24 and another bridge, so
	// that the Bench's IP reservations (its own) never meet the tests'.
	subnet := netip.MustParsePrefix(env.Subnet)
	a := subnet.Addr().As4()
	a[2] ^= 0x80
	bridge := env.Bridge + "b"
	tb.Cleanup(func() { _ = exec.Command("ip", "link", "delete", bridge).Run() })
	ns := newNamespace()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	b, err := ctrbench.Open(ctx, ctrbench.Env{
		Address:      env.Address,
		Namespace:    ns,
		StateDir:     env.StateDir + "/" + ns,
		Bridge:       bridge,
		Subnet:       netip.PrefixFrom(netip.AddrFrom4(a), 24).String(),
		CgroupParent: env.CgroupParent,
		Log:          zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("close the bench: %v", err)
		}
	})
	return b
}

// benchCtx bounds a benchmark of n samples.
func benchCtx(tb testing.TB, n int) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout+time.Duration(n)*5*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPodStart measures a Pod's start through Baton (create → Running
// seen by a Watch) against the same container started with the plain
// containerd client, b.N of each, alternating; see package ctrbench. It
// reports the medians and 95th percentiles in ms and the ratio of the
// medians (target ≤ 1.15).
func BenchmarkPodStart(b *testing.B) {
	for _, network := range []ctrbench.Network{ctrbench.HostNetwork, ctrbench.CNI} {
		b.Run(network.String(), func(b *testing.B) {
			bench := openBench(b)
			b.ResetTimer()
			res, err := bench.PodStart(benchCtx(b, 2*b.N), network, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ms(res.Baton.Quantile(0.5)), "baton-p50-ms")
			b.ReportMetric(ms(res.Baton.Quantile(0.95)), "baton-p95-ms")
			b.ReportMetric(ms(res.Raw.Quantile(0.5)), "raw-p50-ms")
			b.ReportMetric(ms(res.Raw.Quantile(0.95)), "raw-p95-ms")
			b.ReportMetric(res.Ratio(), "ratio-p50")
		})
	}
}

// BenchmarkRestart measures how long the node agent takes to have a
// container that ended running again (its first restart, which is
// immediate): killed with SIGKILL as soon as it runs, from the kill; and
// exiting by itself after a second, from containerd's exit time (target
// p50 ≤ 150 ms).
func BenchmarkRestart(b *testing.B) {
	for _, ranFor := range []time.Duration{0, time.Second} {
		name := "killed"
		if ranFor > 0 {
			name = fmt.Sprintf("exits-after-%v", ranFor)
		}
		b.Run(name, func(b *testing.B) {
			bench := openBench(b)
			b.ResetTimer()
			res, err := bench.Restart(benchCtx(b, b.N), b.N, ranFor)
			if err != nil {
				b.Fatal(err)
			}
			if ranFor == 0 {
				b.ReportMetric(ms(res.FromKill.Quantile(0.5)), "from-kill-p50-ms")
				b.ReportMetric(ms(res.FromKill.Quantile(0.95)), "from-kill-p95-ms")
			}
			b.ReportMetric(ms(res.FromExit.Quantile(0.5)), "from-exit-p50-ms")
			b.ReportMetric(ms(res.FromExit.Quantile(0.95)), "from-exit-p95-ms")
		})
	}
}

// The benchmarks' scenario runs, two samples of each: a Pod started and
// seen Running through a Watch, with either network, and the plain
// client's container beside it; a container restarted after a kill and
// after exiting by itself.
func TestBenchmarkScenario(t *testing.T) {
	t.Parallel()
	bench := openBench(t)
	ctx := benchCtx(t, 10)
	for _, network := range []ctrbench.Network{ctrbench.HostNetwork, ctrbench.CNI} {
		res, err := bench.PodStart(ctx, network, 2)
		if err != nil {
			t.Fatalf("PodStart(%s): %v", network, err)
		}
		if len(res.Baton) != 2 || len(res.Raw) != 2 || res.Baton.Quantile(0) <= 0 || res.Raw.Quantile(0) <= 0 {
			t.Errorf("PodStart(%s) = %+v; want two positive samples of each", network, res)
		}
	}
	for _, ranFor := range []time.Duration{0, time.Second} {
		res, err := bench.Restart(ctx, 1, ranFor)
		if err != nil {
			t.Fatalf("Restart(%v): %v", ranFor, err)
		}
		if len(res.FromExit) != 1 || res.FromExit[0] <= 0 || (ranFor == 0) != (len(res.FromKill) == 1) {
			t.Errorf("Restart(%v) = %+v; want one positive sample (and one from the kill when killed)", ranFor, res)
		}
		if ranFor > 0 && res.FromExit[0] > 10*time.Second {
			t.Errorf("Restart(%v): restarted %v after the exit; the first restart should be immediate", ranFor, res.FromExit[0])
		}
	}
}
