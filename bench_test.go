package baton_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/batonhq/baton/internal/benchmark"
)

// BenchmarkDeploymentScale applies a Deployment of N replicas over 100 fake
// nodes and waits until every Pod is ready. It reports wall time per Pod,
// Pods per second and live heap per Pod. 100,000 Pods run only with
// -benchtime=1x and without -short, as they take several seconds:
//
//	go test -run '^$' -bench DeploymentScale -benchtime 1x .
func BenchmarkDeploymentScale(b *testing.B) {
	for _, pods := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			if pods > 10000 && testing.Short() {
				b.Skip("slow; run without -short")
			}
			var last benchmark.Result
			for range b.N {
				r, err := benchmark.Run(context.Background(), benchmark.Config{Pods: pods, Nodes: 100})
				if err != nil {
					b.Fatal(err)
				}
				last = r
			}
			b.ReportMetric(float64(last.PerPod().Nanoseconds()), "ns/pod")
			b.ReportMetric(last.PodsPerSecond(), "pods/s")
			b.ReportMetric(last.HeapPerPod, "heap-B/pod")
			b.ReportMetric(last.AllocsPerPod, "allocs/pod")
		})
	}
}

// BenchmarkRollingUpdate changes the image of a ready Deployment of 1,000
// replicas (maxSurge and maxUnavailable 25%) on 100 fake nodes and waits
// until the rollout is complete.
func BenchmarkRollingUpdate(b *testing.B) {
	var last benchmark.Result
	for range b.N {
		r, err := benchmark.RunRollingUpdate(context.Background(), benchmark.Config{Pods: 1000, Nodes: 100})
		if err != nil {
			b.Fatal(err)
		}
		last = r
	}
	b.ReportMetric(last.Elapsed.Seconds(), "s/rollout")
	b.ReportMetric(float64(last.PerPod().Nanoseconds()), "ns/pod")
}
