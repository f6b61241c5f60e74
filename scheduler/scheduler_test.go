package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/batonhq/baton/api"
)

func TestSchedule(t *testing.T) {
	tests := []struct {
		name     string
		nodes    []*api.Node
		existing []*api.Pod
		pod      *api.Pod
		want     string // node, or FitError message
	}{
		{
			name:  "most room left wins",
			nodes: []*api.Node{testNode("small", "2", "4Gi"), testNode("large", "8", "16Gi")},
			pod:   testPod("p", requests("1", "1Gi")),
			want:  "large",
		},
		{
			name:     "used node loses to an empty one",
			nodes:    []*api.Node{testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi")},
			existing: []*api.Pod{testPod("x", boundTo("a"), requests("1", "1Gi"))},
			pod:      testPod("p", requests("1", "1Gi")),
			want:     "b",
		},
		{
			name:     "best-effort pods count for scoring",
			nodes:    []*api.Node{testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi")},
			existing: []*api.Pod{testPod("x", boundTo("a"))},
			pod:      testPod("p"),
			want:     "b",
		},
		{
			name:  "equal scores go to the first name",
			nodes: []*api.Node{testNode("c", "4", "8Gi"), testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi")},
			pod:   testPod("p"),
			want:  "a",
		},
		{
			// Both nodes score 50 after placing p, but b has fewer pods.
			name:  "equal scores go to fewer pods",
			nodes: []*api.Node{testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi")},
			existing: []*api.Pod{
				testPod("x1", boundTo("a"), requests("500m", "1Gi")), testPod("x2", boundTo("a"), requests("500m", "1Gi")),
				testPod("y", boundTo("b"), requests("1", "2Gi")),
			},
			pod:  testPod("p", requests("1", "2Gi")),
			want: "b",
		},
		{
			name:  "selector narrows the choice",
			nodes: []*api.Node{testNode("a", "8", "16Gi", labels("zone", "west")), testNode("b", "1", "1Gi", labels("zone", "east"))},
			pod:   testPod("p", selector("zone", "east")),
			want:  "b",
		},
		{
			name:  "cordoned and not-ready nodes are skipped",
			nodes: []*api.Node{testNode("a", "8", "16Gi", cordoned), testNode("b", "8", "16Gi", readiness(api.ConditionFalse)), testNode("c", "1", "1Gi")},
			pod:   testPod("p"),
			want:  "c",
		},
		{
			name: "nothing fits",
			nodes: []*api.Node{
				testNode("a", "1", "8Gi", labels("zone", "")), testNode("b", "1", "8Gi", labels("zone", "")),
				testNode("c", "8", "8Gi", labels("zone", "west")),
				testNode("d", "8", "8Gi", cordoned),
			},
			pod:  testPod("p", requests("2", ""), selector("zone", "")),
			want: "0/4 nodes are available: 2 Insufficient cpu, 1 node(s) didn't match Pod's node selector, 1 node(s) were unschedulable.",
		},
		{
			name: "no nodes",
			pod:  testPod("p"),
			want: "0/0 nodes are available: no nodes available to schedule pods.",
		},
		{
			name:  "already bound to a known node",
			nodes: []*api.Node{testNode("a", "1", "1Gi"), testNode("full", "1", "1Gi", maxPods(0))},
			pod:   testPod("p", boundTo("full"), requests("64", "")),
			want:  "full",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := NewSnapshot(tt.nodes, tt.existing)
			got, err := New().Schedule(tt.pod, snap)
			if err != nil {
				var fit *FitError
				if !errors.As(err, &fit) {
					t.Fatalf("Schedule error %v is not a *FitError", err)
				}
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Schedule = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScheduleBoundToUnknownNode(t *testing.T) {
	snap := NewSnapshot([]*api.Node{testNode("a", "1", "1Gi")}, nil)
	_, err := New().Schedule(testPod("p", boundTo("gone")), snap)
	if !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("Schedule = %v, want ErrNotFound naming the node", err)
	}
}

// TestScheduleBatch places a batch the way the binding controller does:
// Schedule, then Assume, Pod after Pod.
func TestScheduleBatch(t *testing.T) {
	nodes := []*api.Node{testNode("a", "2", "4Gi", maxPods(4)), testNode("b", "2", "4Gi", maxPods(4)), testNode("c", "2", "4Gi", maxPods(4))}
	snap := NewSnapshot(nodes, nil)
	s := New()
	counts := map[string]int{}
	for i := range 12 {
		pod := testPod(fmt.Sprintf("p%02d", i))
		node, err := s.Schedule(pod, snap)
		if err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
		if err := snap.Assume(pod, node); err != nil {
			t.Fatal(err)
		}
		counts[node]++
	}
	if counts["a"] != 4 || counts["b"] != 4 || counts["c"] != 4 {
		t.Errorf("best-effort pods spread %v, want 4 each", counts)
	}
	_, err := s.Schedule(testPod("one-too-many"), snap)
	if want := "0/3 nodes are available: 3 Too many pods."; err == nil || err.Error() != want {
		t.Errorf("13th pod: %v, want %q", err, want)
	}
	// An assumed Pod scheduled again keeps its node.
	if node, err := s.Schedule(testPod("p05"), snap); err != nil || node != "c" {
		t.Errorf("Schedule of an assumed pod = %q, %v; want c, where it was assumed", node, err)
	}
	// A binding fails: forget it and the room comes back.
	snap.Forget(testPod("p00"))
	if node, err := s.Schedule(testPod("retry"), snap); err != nil || node != "a" {
		t.Errorf("after Forget, Schedule = %q, %v; want a", node, err)
	}
}

// TestScheduleDoesNotChangeInputs checks that Schedule leaves the snapshot
// and the Pod alone.
func TestScheduleDoesNotChangeInputs(t *testing.T) {
	snap := NewSnapshot([]*api.Node{testNode("a", "4", "8Gi")}, nil)
	pod := testPod("p", requests("1", "1Gi"))
	before := *snap.Node("a")
	if _, err := New().Schedule(pod, snap); err != nil {
		t.Fatal(err)
	}
	if *snap.Node("a") != before || pod.Spec.NodeName != "" {
		t.Errorf("Schedule changed its inputs")
	}
}

type labelFilter struct{ key string }

func (labelFilter) Name() string { return "HasLabel" }
func (f labelFilter) Filter(_ *PodInfo, node *NodeInfo) string {
	if _, ok := node.Node.Labels[f.key]; !ok {
		return "node(s) lacked label " + f.key
	}
	return ""
}

// preferLabel scores nodes with the label 100 and others 0.
type preferLabel struct{ key string }

func (preferLabel) Name() string { return "PreferLabel" }
func (p preferLabel) Score(_ *PodInfo, node *NodeInfo) int64 {
	if _, ok := node.Node.Labels[p.key]; ok {
		return 100
	}
	return 0
}

// wild returns scores out of range, which the Scheduler clamps.
type wild struct{ score int64 }

func (wild) Name() string                      { return "Wild" }
func (w wild) Score(*PodInfo, *NodeInfo) int64 { return w.score }

func TestOptions(t *testing.T) {
	nodes := []*api.Node{
		testNode("a", "1", "1Gi", cordoned),
		testNode("b", "2", "2Gi", labels("ssd", "")),
		testNode("c", "64", "64Gi"),
	}
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"defaults", nil, "c"},
		{"extra filter", []Option{WithExtraFilters(labelFilter{"ssd"})}, "b"},
		{"replaced filters", []Option{WithFilters(labelFilter{"ssd"})}, "b"},
		{"no filters", []Option{WithFilters(), WithScorers()}, "a"},
		{"replace drops earlier extras", []Option{WithExtraFilters(labelFilter{"ssd"}), WithFilters(NodeResourcesFit{})}, "c"},
		{"extra scorer outweighs", []Option{WithExtraScorers(WeightedScorer{preferLabel{"ssd"}, 2})}, "b"},
		{"extra scorer outweighed", []Option{WithScorers(WeightedScorer{LeastAllocated{}, 100}, WeightedScorer{preferLabel{"ssd"}, 1})}, "c"},
		{"scores clamped high", []Option{WithScorers(WeightedScorer{wild{1000}, 1}, WeightedScorer{preferLabel{"ssd"}, 1})}, "b"},
		{"scores clamped low", []Option{WithScorers(WeightedScorer{wild{-1000}, 1})}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(tt.opts...).Schedule(testPod("p"), NewSnapshot(nodes, nil))
			if err != nil || got != tt.want {
				t.Errorf("Schedule = %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	_, err := New(WithFilters(labelFilter{"gpu"})).Schedule(testPod("p"), NewSnapshot(nodes, nil))
	if want := "0/3 nodes are available: 3 node(s) lacked label gpu."; err == nil || err.Error() != want {
		t.Errorf("custom reason: %v, want %q", err, want)
	}
}

func TestNewPanicsOnBadPlugins(t *testing.T) {
	for name, opt := range map[string]Option{
		"nil filter":  WithExtraFilters(nil),
		"nil scorer":  WithExtraScorers(WeightedScorer{Weight: 1}),
		"zero weight": WithExtraScorers(WeightedScorer{Plugin: LeastAllocated{}}),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New did not panic")
				}
			}()
			New(opt)
		})
	}
}

func TestScheduleDoesNotAllocate(t *testing.T) {
	var nodes []*api.Node
	for i := range 50 {
		nodes = append(nodes, testNode(fmt.Sprintf("n%02d", i), "8", "16Gi", labels("zone", []string{"east", "west"}[i%2])))
	}
	snap := NewSnapshot(nodes, nil)
	s := New()
	pods := []*api.Pod{
		testPod("plain", requests("100m", "128Mi")),
		testPod("best-effort"),
		testPod("selective", selector("zone", "west")),
	}
	for _, pod := range pods {
		if _, err := s.Schedule(pod, snap); err != nil { // warm the buffers
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(100, func() { _, _ = s.Schedule(pod, snap) }); allocs != 0 {
			t.Errorf("Schedule(%s) allocates %v times per call, want 0", pod.Name, allocs)
		}
	}
}

func TestPluginNames(t *testing.T) {
	var got []string
	for _, f := range DefaultFilters() {
		got = append(got, f.Name())
	}
	for _, s := range DefaultScorers() {
		got = append(got, fmt.Sprintf("%s*%d", s.Plugin.Name(), s.Weight))
	}
	want := "NodeUnschedulable NodeReady TaintToleration NodeSelector NodeResourcesFit NodeResourcesLeastAllocated*1"
	if strings.Join(got, " ") != want {
		t.Errorf("default plugins = %v, want %s", got, want)
	}
}

func TestFitErrorPodWithoutNamespace(t *testing.T) {
	pod := testPod("p", requests("1", ""), func(p *api.Pod) { p.Namespace = "" })
	_, err := New().Schedule(pod, NewSnapshot(nil, nil))
	var fit *FitError
	if !errors.As(err, &fit) || fit.Pod != "p" || fit.NumNodes != 0 {
		t.Errorf("Schedule = %#v, want FitError for pod p on 0 nodes", err)
	}
}
