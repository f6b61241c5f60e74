package scheduler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/api"
)

// A placement scenario: nodes, the Pods already bound to them, and a batch
// of pending Pods scheduled and assumed one after another, as the binding
// controller does. Its decisions are compared with testdata/<name>.golden;
// run `go test ./scheduler/ -run TestGolden -update` to rewrite the files
// after an intended change, and review the diff.
type scenario struct {
	name     string
	nodes    []*api.Node
	existing []*api.Pod
	batch    []*api.Pod
}

func scenarios() []scenario {
	return []scenario{heterogeneous(), bestEffortSpread(), unhealthyNodes()}
}

// heterogeneous: five nodes of different sizes, labels and states, and 40
// Pods cycling through request sizes and node selectors until the cluster
// fills up.
func heterogeneous() scenario {
	nodes := []*api.Node{
		testNode("node-a", "4", "8Gi", labels("zone", "east", "disk", "ssd")),
		testNode("node-b", "8", "16Gi", labels("zone", "west", "disk", "hdd")),
		testNode("node-c", "2", "4Gi", maxPods(6), labels("zone", "east", "gpu", "true")),
		testNode("node-d", "16", "32Gi", maxPods(8), labels("zone", "west", "disk", "ssd")),
		testNode("node-e", "4", "8Gi", readiness(api.ConditionUnknown), labels("zone", "east")),
	}
	existing := []*api.Pod{
		testPod("old-1", boundTo("node-b"), requests("2", "4Gi")),
		testPod("old-2", boundTo("node-d"), requests("4", "8Gi")),
		testPod("old-done", boundTo("node-a"), requests("4", "8Gi"), phase(api.PodSucceeded)),
	}
	sizes := [][2]string{{"", ""}, {"250m", "256Mi"}, {"500m", "1Gi"}, {"1", "2Gi"}, {"2", "1Gi"}, {"100m", "4Gi"}}
	selectors := [][]string{nil, nil, {"zone", "east"}, nil, {"disk", "ssd"}, {"gpu", "true"}, nil}
	var batch []*api.Pod
	for i := range 40 {
		size := sizes[i%len(sizes)]
		batch = append(batch, testPod(fmt.Sprintf("pod-%02d", i), requests(size[0], size[1]), selector(selectors[i%len(selectors)]...)))
	}
	batch[37].Spec.NodeName = "node-e" // bound by its author: not scheduled
	return scenario{name: "heterogeneous", nodes: nodes, existing: existing, batch: batch}
}

// bestEffortSpread: Pods without requests take turns on equal nodes, thanks
// to the default requests scoring counts for them, and a busy node gets none
// until the others are as loaded.
func bestEffortSpread() scenario {
	var nodes []*api.Node
	for _, name := range []string{"n3", "n1", "n2", "n4"} {
		nodes = append(nodes, testNode(name, "2", "4Gi"))
	}
	existing := []*api.Pod{testPod("busy", boundTo("n4"), requests("1", "2Gi"))}
	var batch []*api.Pod
	for i := range 16 {
		batch = append(batch, testPod(fmt.Sprintf("be-%02d", i)))
	}
	return scenario{name: "best-effort-spread", nodes: nodes, existing: existing, batch: batch}
}

// unhealthyNodes: every way a node can be refused at once.
func unhealthyNodes() scenario {
	nodes := []*api.Node{
		testNode("cordoned", "8", "8Gi", cordoned),
		testNode("not-ready", "8", "8Gi", readiness(api.ConditionFalse)),
		testNode("tiny", "500m", "512Mi", labels("tier", "edge")),
		testNode("two-slots", "8", "8Gi", maxPods(2), labels("tier", "edge")),
	}
	batch := []*api.Pod{
		testPod("edge-1", selector("tier", "edge"), requests("400m", "256Mi")),
		testPod("edge-2", selector("tier", "edge"), requests("400m", "256Mi")),
		testPod("edge-3", selector("tier", "edge"), requests("400m", "256Mi")),
		testPod("edge-4", selector("tier", "edge"), requests("400m", "256Mi")),
		testPod("core-1", selector("tier", "core")),
		testPod("huge", requests("64", "")),
		testPod("hungry", requests("", "1Gi")),
	}
	return scenario{name: "unhealthy-nodes", nodes: nodes, existing: nil, batch: batch}
}

// run schedules the batch and returns the report compared with the golden
// file: one line per Pod, then each node's usage.
func (sc scenario) run(t *testing.T) string {
	var b strings.Builder
	snap := NewSnapshot(sc.nodes, sc.existing)
	s := New()
	for _, pod := range sc.batch {
		fmt.Fprintf(&b, "%-8s %-46s -> ", pod.Name, describePod(pod))
		node, err := s.Schedule(pod, snap)
		var fit *FitError
		switch {
		case errors.As(err, &fit):
			fmt.Fprintf(&b, "%v\n", err)
			continue
		case err != nil:
			t.Fatalf("pod %s: %v", pod.Name, err)
		}
		if err := snap.Assume(pod, node); err != nil {
			t.Fatalf("assume %s on %s: %v", pod.Name, node, err)
		}
		fmt.Fprintf(&b, "%s\n", node)
	}
	b.WriteString("\n")
	for n := range snap.Nodes() {
		fmt.Fprintf(&b, "%-10s pods %s  cpu %s  memory %s\n", n.Name(),
			usage(n.Requested.Pods, n.Allocatable.Pods, ""), usage(n.Requested.MilliCPU, n.Allocatable.MilliCPU, "m"),
			usage(n.Requested.Memory/mi, n.Allocatable.Memory/mi, "Mi"))
	}
	return b.String()
}

func describePod(pod *api.Pod) string {
	r := PodRequests(pod)
	d := fmt.Sprintf("cpu=%dm mem=%dMi", r.MilliCPU, r.Memory/mi)
	for k, v := range pod.Spec.NodeSelector { // at most one in these scenarios
		d += fmt.Sprintf(" %s=%s", k, v)
	}
	if pod.Spec.NodeName != "" {
		d += " nodeName=" + pod.Spec.NodeName
	}
	return d
}

func usage(used, total int64, unit string) string {
	if total == UnlimitedPods {
		return fmt.Sprintf("%d%s/unlimited", used, unit)
	}
	return fmt.Sprintf("%d%s/%d%s", used, unit, total, unit)
}

func TestGolden(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			got := sc.run(t)
			path := filepath.Join("testdata", sc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("placements differ from %s (run with -update to accept them):\n%s", path, lineDiff(string(want), got))
			}
			if again := sc.run(t); again != got {
				t.Errorf("two runs of the same scenario differ")
			}
		})
	}
}

// lineDiff lists the lines that differ, by line number.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
