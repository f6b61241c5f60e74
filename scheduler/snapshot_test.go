package scheduler

import (
	"errors"
	"slices"
	"testing"

	"github.com/batonhq/baton/api"
)

func TestNewSnapshot(t *testing.T) {
	nodes := []*api.Node{
		testNode("b", "4", "8Gi"),
		testNode("a", "2", "4Gi"),
		testNode("a", "64", "64Gi"), // duplicate name: ignored
	}
	pods := []*api.Pod{
		testPod("on-a", boundTo("a"), requests("500m", "1Gi")),
		testPod("on-a-best-effort", boundTo("a")),
		testPod("on-b", boundTo("b"), requests("1", "")),
		testPod("pending", requests("1", "1Gi")),
		testPod("succeeded", boundTo("a"), requests("1", "1Gi"), phase(api.PodSucceeded)),
		testPod("failed", boundTo("b"), requests("1", "1Gi"), phase(api.PodFailed)),
		testPod("running", boundTo("b"), requests("1", ""), phase(api.PodRunning)),
		testPod("elsewhere", boundTo("gone"), requests("1", "1Gi")),
		testPod("on-a", boundTo("b"), requests("8", "8Gi")), // duplicate key: ignored
	}
	s := NewSnapshot(nodes, pods)

	var names []string
	for n := range s.Nodes() {
		names = append(names, n.Name())
	}
	if want := []string{"a", "b"}; !slices.Equal(names, want) || s.Len() != 2 {
		t.Fatalf("nodes = %v (Len %d), want %v", names, s.Len(), want)
	}
	if got := s.Node("a").Node; got != nodes[1] {
		t.Errorf("Node(a) is %p, want the first node named a, %p", got, nodes[1])
	}
	if s.Node("gone") != nil {
		t.Errorf("Node(gone) != nil")
	}

	want := map[string]NodeInfo{
		"a": {
			Allocatable:      Resources{MilliCPU: 2000, Memory: 4 * gi, Pods: 110},
			Requested:        Resources{MilliCPU: 500, Memory: gi, Pods: 2},
			NonZeroRequested: Resources{MilliCPU: 600, Memory: gi + 200*mi, Pods: 2},
		},
		"b": {
			Allocatable:      Resources{MilliCPU: 4000, Memory: 8 * gi, Pods: 110},
			Requested:        Resources{MilliCPU: 2000, Pods: 2},
			NonZeroRequested: Resources{MilliCPU: 2000, Memory: 400 * mi, Pods: 2},
		},
	}
	for name, w := range want {
		got := s.Node(name)
		if got.Allocatable != w.Allocatable || got.Requested != w.Requested || got.NonZeroRequested != w.NonZeroRequested {
			t.Errorf("node %s = %+v, want %+v", name, *got, w)
		}
	}
	for name, node := range map[string]string{"on-a": "a", "on-b": "b", "running": "b", "pending": "", "succeeded": "", "elsewhere": ""} {
		got, ok := s.NodeOf(testPod(name))
		if got != node || ok != (node != "") {
			t.Errorf("NodeOf(%s) = %q, %v; want %q", name, got, ok, node)
		}
	}
}

func TestNodesStopsEarly(t *testing.T) {
	s := NewSnapshot([]*api.Node{testNode("a", "1", "1Gi"), testNode("b", "1", "1Gi")}, nil)
	for n := range s.Nodes() {
		if n.Name() != "a" {
			t.Fatalf("first node = %s, want a", n.Name())
		}
		break
	}
}

func TestAssumeForgetRoundTrip(t *testing.T) {
	nodes := []*api.Node{testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi")}
	existing := testPod("existing", boundTo("a"), requests("1", "1Gi"))
	s := NewSnapshot(nodes, []*api.Pod{existing})
	before := *s.Node("a")

	p := testPod("new", requests("500m", ""), requests("", "512Mi"))
	if err := s.Assume(p, "a"); err != nil {
		t.Fatalf("Assume: %v", err)
	}
	got := s.Node("a")
	if want := (Resources{MilliCPU: 1500, Memory: gi + 512*mi, Pods: 2}); got.Requested != want {
		t.Errorf("after Assume, Requested = %+v, want %+v", got.Requested, want)
	}
	if want := (Resources{MilliCPU: 1600, Memory: gi + 712*mi, Pods: 2}); got.NonZeroRequested != want {
		t.Errorf("after Assume, NonZeroRequested = %+v, want %+v", got.NonZeroRequested, want)
	}
	if node, ok := s.NodeOf(p); node != "a" || !ok {
		t.Errorf("NodeOf = %q, %v; want a", node, ok)
	}

	// Assuming again on the same node changes nothing.
	if err := s.Assume(p, "a"); err != nil {
		t.Errorf("second Assume on the same node: %v", err)
	}
	if s.Node("a").Requested.Pods != 2 {
		t.Errorf("second Assume counted the pod twice")
	}
	// On another node it is refused.
	if err := s.Assume(p, "b"); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("Assume on another node = %v, want ErrAlreadyExists", err)
	}
	if s.Node("b").Requested != (Resources{}) {
		t.Errorf("refused Assume changed node b: %+v", s.Node("b").Requested)
	}

	// Forget subtracts what was added, even if the Pod has changed since.
	changed := testPod("new", requests("8", "8Gi"))
	s.Forget(changed)
	if *s.Node("a") != before {
		t.Errorf("after Forget, node a = %+v, want %+v", *s.Node("a"), before)
	}
	if _, ok := s.NodeOf(p); ok {
		t.Errorf("NodeOf after Forget still finds the pod")
	}
	s.Forget(p) // forgetting twice does nothing
	if *s.Node("a") != before {
		t.Errorf("second Forget changed node a")
	}

	// Pods from NewSnapshot can be forgotten too, and assumed elsewhere.
	s.Forget(existing)
	if s.Node("a").Requested != (Resources{}) || s.Node("a").NonZeroRequested != (Resources{}) {
		t.Errorf("after forgetting every pod, node a = %+v", *s.Node("a"))
	}
	if err := s.Assume(existing, "b"); err != nil {
		t.Errorf("Assume after Forget: %v", err)
	}
}

func TestAssumeUnknownNode(t *testing.T) {
	s := NewSnapshot([]*api.Node{testNode("a", "1", "1Gi")}, nil)
	err := s.Assume(testPod("p"), "nope")
	if !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("Assume on unknown node = %v, want ErrNotFound", err)
	}
	if _, ok := s.NodeOf(testPod("p")); ok {
		t.Errorf("failed Assume accounted the pod")
	}
}

func TestPodsKeyedByNamespace(t *testing.T) {
	s := NewSnapshot([]*api.Node{testNode("a", "1", "1Gi")}, nil)
	p1 := testPod("web")
	p2 := testPod("web", func(p *api.Pod) { p.Namespace = "other" })
	for _, p := range []*api.Pod{p1, p2} {
		if err := s.Assume(p, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Node("a").Requested.Pods; got != 2 {
		t.Errorf("pods = %d, want 2 (same name, different namespaces)", got)
	}
}
