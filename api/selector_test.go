package api

import "testing"

func TestLabelSelectorMatches(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		name string
		sel  *LabelSelector
		want bool
	}{
		{"nil matches nothing", nil, false},
		{"empty matches everything", &LabelSelector{}, true},
		{"matchLabels", SelectorFromSet(map[string]string{"app": "web"}), true},
		{"matchLabels wrong value", SelectorFromSet(map[string]string{"app": "api"}), false},
		{"matchLabels missing key", SelectorFromSet(map[string]string{"zone": "a"}), false},
		{"In", req("tier", LabelSelectorOpIn, "front", "back"), true},
		{"In other values", req("tier", LabelSelectorOpIn, "back"), false},
		{"In missing key", req("zone", LabelSelectorOpIn, "a"), false},
		{"NotIn", req("tier", LabelSelectorOpNotIn, "back"), true},
		{"NotIn listed value", req("tier", LabelSelectorOpNotIn, "front"), false},
		{"NotIn missing key", req("zone", LabelSelectorOpNotIn, "a"), true},
		{"Exists", req("app", LabelSelectorOpExists), true},
		{"Exists missing", req("zone", LabelSelectorOpExists), false},
		{"DoesNotExist", req("zone", LabelSelectorOpDoesNotExist), true},
		{"DoesNotExist present", req("app", LabelSelectorOpDoesNotExist), false},
		{"unknown operator", req("app", "Equals", "web"), false},
		{"labels and expressions ANDed", &LabelSelector{
			MatchLabels:      map[string]string{"app": "web"},
			MatchExpressions: []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpIn, Values: []string{"back"}}},
		}, false},
	}
	for _, tt := range tests {
		if got := tt.sel.Matches(labels); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func req(key string, op LabelSelectorOperator, values ...string) *LabelSelector {
	return &LabelSelector{MatchExpressions: []LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func TestLabelSelectorIsEmpty(t *testing.T) {
	if (*LabelSelector)(nil).IsEmpty() {
		t.Error("nil selector is empty")
	}
	if !(&LabelSelector{MatchLabels: map[string]string{}}).IsEmpty() {
		t.Error("selector with an empty map is not empty")
	}
}
