// Command ctrbench measures, on a real containerd, how long a Pod takes to
// start through Baton against the same container started with the plain
// containerd client, with the host's network and with CNI, and how long a
// killed container takes to be restarted (see package e2e/ctrbench). It
// prints Markdown tables for BENCHMARKS.md.
//
// As root, with containerd, runc, the CNI plugins and busybox-static
// installed, it starts a containerd of its own under /tmp (as the tests
// do) and stops it at the end:
//
//	go build -o /tmp/ctrbench ./cmd/ctrbench && /tmp/ctrbench -samples 40
//
// or it uses a running one (hack/containerd-env.sh start):
//
//	/tmp/ctrbench -address /tmp/baton-ctrd/c.sock -state /tmp/ctrbench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/e2e/ctrbench"
	"github.com/batonhq/baton/runtime/containerd/containerdtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ctrbench:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	address := flag.String("address", "", "containerd's socket; empty starts a containerd of ctrbench's own under /tmp")
	namespace := flag.String("namespace", "ctrbench", "the containerd namespace, for ctrbench alone")
	state := flag.String("state", "", "the Runtime's state dir (default: under the private containerd's dir; required with -address)")
	bridge := flag.String("bridge", "", "the CNI bridge (default: a fresh name)")
	subnet := flag.String("subnet", "", "the CNI subnet (default: a fresh /24 in 10.200.0.0/13)")
	samples := flag.Int("samples", 40, "samples per measurement")
	what := flag.String("run", "host-network,cni,restart", "comma-separated: host-network, cni, restart")
	ranFor := flag.Duration("ran-for", time.Second, "restart: how long the container that exits by itself runs first (whole seconds)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measurements to this file")
	flag.Parse()

	env := ctrbench.Env{Address: *address, Namespace: *namespace, StateDir: *state, Bridge: *bridge, Subnet: *subnet, CgroupParent: "/ctrbench"}
	daemon := "containerd at " + *address
	if *address == "" {
		ctrd, err := containerdtest.Start()
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, ctrd.Stop()) }()
		env.Address, env.CgroupParent = ctrd.Address, ctrd.CgroupParent
		if env.StateDir == "" {
			env.StateDir = ctrd.StateDir
		}
		if env.Bridge == "" {
			env.Bridge, env.Subnet = ctrd.Bridge, ctrd.Subnet
		}
		daemon = "a containerd of its own at " + ctrd.Address
	}
	if env.StateDir == "" {
		return errors.New("-state is required with -address")
	}
	if env.Bridge == "" {
		env.Bridge = "ctrbench0"
	}
	if env.Subnet == "" {
		env.Subnet = "10.207.0.0/24"
	}
	if _, err := net.InterfaceByName(env.Bridge); err != nil {
		// The bridge plugin makes it at the first CNI Pod and never
		// removes it.
		defer func() { _ = exec.Command("ip", "link", "delete", env.Bridge).Run() }()
	}

	ctx := context.Background()
	b, err := ctrbench.Open(ctx, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Printf("ctrbench: %s, go %s, GOMAXPROCS %d, %d samples each, %s\n", daemon, goruntime.Version(), goruntime.GOMAXPROCS(0), *samples, time.Now().UTC().Format(time.RFC3339))
	for _, w := range strings.Split(*what, ",") {
		switch w {
		case "host-network", "cni":
			network := ctrbench.HostNetwork
			if w == "cni" {
				network = ctrbench.CNI
			}
			res, err := b.PodStart(ctx, network, *samples)
			if err != nil {
				return err
			}
			fmt.Printf("\nPod start, %s (create → Running seen by a Watch; plain client: NewContainer → task started)\n\n", network)
			fmt.Println("| | p50 | p95 | min | max |")
			fmt.Println("|---|---:|---:|---:|---:|")
			row("Baton", res.Baton)
			row("plain containerd client", res.Raw)
			fmt.Printf("\nratio of the medians: %.2f×\n", res.Ratio())
		case "restart":
			killed, err := b.Restart(ctx, *samples, 0)
			if err != nil {
				return err
			}
			exited, err := b.Restart(ctx, *samples, *ranFor)
			if err != nil {
				return err
			}
			fmt.Printf("\nExit → restarted (first restart; ends when a Watch sees the new container running)\n\n")
			fmt.Println("| container | from | p50 | p95 | min | max |")
			fmt.Println("|---|---|---:|---:|---:|---:|")
			row("killed (SIGKILL) as soon as seen running | the kill", killed.FromKill)
			row("killed (SIGKILL) as soon as seen running | containerd's exit time", killed.FromExit)
			row(fmt.Sprintf("exits (code 1) after running %v | containerd's exit time", exited.RanFor), exited.FromExit)
		default:
			return fmt.Errorf("-run: unknown measurement %q", w)
		}
	}
	return nil
}

func row(name string, s ctrbench.Samples) {
	fmt.Printf("| %s | %s | %s | %s | %s |\n", name, ms(s.Quantile(0.5)), ms(s.Quantile(0.95)), ms(s.Quantile(0)), ms(s.Quantile(1)))
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}
