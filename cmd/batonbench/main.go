// Command batonbench measures how fast Baton brings up a large Deployment
// on fake nodes, and how much memory each Pod costs. It prints one line
// per size, for BENCHMARKS.md.
//
//	go run ./cmd/batonbench -pods 1000,10000,100000 -nodes 100 -rolling 1000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/benchmark"
)

func main() {
	pods := flag.String("pods", "1000,10000,100000", "comma-separated Deployment sizes")
	nodes := flag.Int("nodes", 100, "fake nodes")
	runs := flag.Int("runs", 1, "runs per size; the best is reported")
	rolling := flag.String("rolling", "1000", "comma-separated Deployment sizes to measure a rolling update of (maxSurge and maxUnavailable 25%); empty for none")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole program to this file")
	heapProfile := flag.String("heapprofile", "", "write a heap profile of the last run, taken with every Pod ready, to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "batonbench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "batonbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("go %s, %s/%s, GOMAXPROCS %d\n", goruntime.Version(), goruntime.GOOS, goruntime.GOARCH, goruntime.GOMAXPROCS(0))
	fmt.Println("baseline: the same sandboxes and containers started straight on the fake runtimes, without Baton")
	fmt.Printf("%-9s %8s %6s %10s %10s %10s %12s %12s %12s\n", "", "pods", "nodes", "wall", "pods/s", "µs/pod", "heap B/pod", "allocs/pod", "alloc B/pod")
	for _, n := range sizes(*pods) {
		best := bestOf(*runs, func() (benchmark.Result, error) {
			cfg := benchmark.Config{Pods: n, Nodes: *nodes, Timeout: 10 * time.Minute}
			if *heapProfile != "" {
				f, err := os.Create(*heapProfile)
				if err != nil {
					return benchmark.Result{}, err
				}
				defer f.Close()
				cfg.HeapProfile = f
			}
			return benchmark.Run(context.Background(), cfg)
		})
		report("baton", best)
		report("baseline", bestOf(1, func() (benchmark.Result, error) {
			return benchmark.RunBaseline(context.Background(), benchmark.Config{Pods: n, Nodes: *nodes})
		}))
	}
	if *rolling == "" {
		return
	}
	fmt.Println("\nrolling update: from the template change until every Pod is new and available")
	for _, n := range sizes(*rolling) {
		report("rolling", bestOf(*runs, func() (benchmark.Result, error) {
			return benchmark.RunRollingUpdate(context.Background(), benchmark.Config{Pods: n, Nodes: *nodes})
		}))
	}
}

// sizes parses a comma-separated list of positive sizes, exiting on a bad
// one.
func sizes(list string) []int {
	var out []int
	for _, field := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "batonbench: bad size %q\n", field)
			os.Exit(2)
		}
		out = append(out, n)
	}
	return out
}

// bestOf runs run n times and returns the fastest result, exiting on an
// error.
func bestOf(n int, run func() (benchmark.Result, error)) benchmark.Result {
	var best benchmark.Result
	for range n {
		r, err := run()
		if err != nil {
			fmt.Fprintln(os.Stderr, "batonbench:", err)
			os.Exit(1)
		}
		if best.Pods == 0 || r.Elapsed < best.Elapsed {
			best = r
		}
	}
	return best
}

func report(what string, r benchmark.Result) {
	fmt.Printf("%-9s %8d %6d %10s %10.0f %10.1f %12.0f %12.1f %12.0f\n", what, r.Pods, r.Nodes, r.Elapsed.Round(time.Millisecond),
		r.PodsPerSecond(), float64(r.PerPod().Nanoseconds())/1000, r.HeapPerPod, r.AllocsPerPod, r.BytesPerPod)
}
