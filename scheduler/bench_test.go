package scheduler

import (
	"fmt"
	"testing"

	"github.com/batonhq/baton/api"
)

// benchCluster returns n nodes of 64 cpu, 256Gi and 1000 pods, in three
// zones, and pods best-effort or small Pods, a fifth of them with a zone
// selector.
func benchCluster(n, pods int) ([]*api.Node, []*api.Pod) {
	zones := []string{"a", "b", "c"}
	nodes := make([]*api.Node, n)
	for i := range nodes {
		nodes[i] = testNode(fmt.Sprintf("node-%04d", i), "64", "256Gi", maxPods(1000), labels("zone", zones[i%3]))
	}
	ps := make([]*api.Pod, pods)
	for i := range ps {
		var opts []func(*api.Pod)
		if i%2 == 1 {
			opts = append(opts, requests("100m", "128Mi"))
		}
		if i%5 == 0 {
			opts = append(opts, selector("zone", zones[i%3]))
		}
		ps[i] = testPod(fmt.Sprintf("pod-%06d", i), opts...)
	}
	return nodes, ps
}

// BenchmarkSchedule measures one Schedule call against a snapshot with 10
// Pods already on each node.
func BenchmarkSchedule(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes, pods := benchCluster(n, 10*n+64)
			for i, p := range pods[:10*n] {
				p.Spec.NodeName = nodes[i%n].Name
			}
			snap, batch := NewSnapshot(nodes, pods[:10*n]), pods[10*n:]
			s := New()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := s.Schedule(batch[i%len(batch)], snap); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScheduleBatch schedules and assumes 100,000 Pods over 100 nodes,
// as the engine's binding controller would; one op is the whole batch.
func BenchmarkScheduleBatch(b *testing.B) {
	nodes, pods := benchCluster(100, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		snap, s := NewSnapshot(nodes, nil), New()
		for _, p := range pods {
			node, err := s.Schedule(p, snap)
			if err != nil {
				b.Fatal(err)
			}
			if err := snap.Assume(p, node); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pods)), "ns/pod")
}

// BenchmarkNewSnapshot builds a snapshot of 100 nodes and 100,000 bound Pods.
func BenchmarkNewSnapshot(b *testing.B) {
	nodes, pods := benchCluster(100, 100_000)
	for i, p := range pods {
		p.Spec.NodeName = nodes[i%len(nodes)].Name
	}
	b.ReportAllocs()
	for b.Loop() {
		NewSnapshot(nodes, pods)
	}
}
