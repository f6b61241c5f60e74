package scheduler

import (
	"testing"
)

func TestNodeSelector(t *testing.T) {
	tests := []struct {
		name     string
		selector []string
		labels   []string
		want     string
	}{
		{"no selector, no labels", nil, nil, ""},
		{"no selector", nil, []string{"zone", "east"}, ""},
		{"match", []string{"zone", "east"}, []string{"zone", "east", "disk", "ssd"}, ""},
		{"match all", []string{"zone", "east", "disk", "ssd"}, []string{"zone", "east", "disk", "ssd"}, ""},
		{"other value", []string{"zone", "east"}, []string{"zone", "west"}, ReasonNodeSelectorMismatch},
		{"missing label", []string{"zone", "east", "gpu", "true"}, []string{"zone", "east"}, ReasonNodeSelectorMismatch},
		{"node without labels", []string{"zone", "east"}, nil, ReasonNodeSelectorMismatch},
		{"empty value needs the label", []string{"edge", ""}, []string{"zone", "east"}, ReasonNodeSelectorMismatch},
		{"empty value matches empty label", []string{"edge", ""}, []string{"edge", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("p", selector(tt.selector...))
			node := testNode("n", "1", "1Gi", labels(tt.labels...))
			if got := (NodeSelector{}).Filter(podInfo(pod), nodeInfo(node, Resources{})); got != tt.want {
				t.Errorf("Filter = %q, want %q", got, tt.want)
			}
		})
	}
}
