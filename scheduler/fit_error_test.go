package scheduler

import (
	"errors"
	"fmt"
	"testing"

	"github.com/batonhq/baton/api"
)

func TestFitErrorMessage(t *testing.T) {
	tests := []struct {
		err  FitError
		want string
	}{
		{
			FitError{NumNodes: 3, Reasons: map[string]int{ReasonNodeSelectorMismatch: 1, ReasonInsufficientCPU: 2}},
			"0/3 nodes are available: 2 Insufficient cpu, 1 node(s) didn't match Pod's node selector.",
		},
		{
			FitError{NumNodes: 12, Reasons: map[string]int{
				ReasonTooManyPods: 10, ReasonInsufficientMemory: 1, ReasonNodeNotReady: 1,
			}},
			"0/12 nodes are available: 1 Insufficient memory, 10 Too many pods, 1 node(s) were not ready.",
		},
		{
			FitError{NumNodes: 1, Reasons: map[string]int{ReasonNodeUnschedulable: 1}},
			"0/1 nodes are available: 1 node(s) were unschedulable.",
		},
		{
			FitError{NumNodes: 0},
			"0/0 nodes are available: no nodes available to schedule pods.",
		},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
}

func TestFitErrorClasses(t *testing.T) {
	s := NewSnapshot([]*api.Node{testNode("a", "1", "1Gi")}, nil)
	_, err := New().Schedule(testPod("big", requests("2", "")), s)
	wrapped := fmt.Errorf("binding: %w", err)

	var fit *FitError
	if !errors.As(wrapped, &fit) {
		t.Fatalf("errors.As(%v, *FitError) = false", wrapped)
	}
	if fit.Pod != "default/big" || fit.NumNodes != 1 || fit.Reasons[ReasonInsufficientCPU] != 1 {
		t.Errorf("FitError = %+v", fit)
	}
	if !errors.Is(wrapped, api.ErrFailedPrecondition) {
		t.Errorf("errors.Is(FitError, ErrFailedPrecondition) = false")
	}
	if errors.Is(wrapped, api.ErrNotFound) {
		t.Errorf("errors.Is(FitError, ErrNotFound) = true")
	}
}
