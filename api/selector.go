package api

import "slices"

// LabelSelector selects objects by their labels. The requirements of
// MatchLabels and MatchExpressions are ANDed. An empty selector matches
// everything; a nil *LabelSelector matches nothing.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one expression of a LabelSelector.
type LabelSelectorRequirement struct {
	Key      string                `json:"key"`
	Operator LabelSelectorOperator `json:"operator"`
	// Values must be non-empty for In and NotIn and empty for Exists and
	// DoesNotExist.
	Values []string `json:"values,omitempty"`
}

// LabelSelectorOperator relates a key to a set of values.
type LabelSelectorOperator string

// Label selector operators.
const (
	LabelSelectorOpIn           LabelSelectorOperator = "In"
	LabelSelectorOpNotIn        LabelSelectorOperator = "NotIn"
	LabelSelectorOpExists       LabelSelectorOperator = "Exists"
	LabelSelectorOpDoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// Matches reports whether labels satisfy every requirement of s. A nil
// selector matches nothing. An operator Baton does not know matches nothing;
// validation refuses such selectors before they are stored.
func (s *LabelSelector) Matches(labels map[string]string) bool {
	if s == nil {
		return false
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, req := range s.MatchExpressions {
		if !req.Matches(labels) {
			return false
		}
	}
	return true
}

// Matches reports whether labels satisfy r.
func (r LabelSelectorRequirement) Matches(labels map[string]string) bool {
	value, ok := labels[r.Key]
	switch r.Operator {
	case LabelSelectorOpIn:
		return ok && slices.Contains(r.Values, value)
	case LabelSelectorOpNotIn:
		return !ok || !slices.Contains(r.Values, value)
	case LabelSelectorOpExists:
		return ok
	case LabelSelectorOpDoesNotExist:
		return !ok
	}
	return false
}

// IsEmpty reports whether s has no requirements, and so matches everything.
func (s *LabelSelector) IsEmpty() bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// SelectorFromSet returns a selector requiring every label in set.
func SelectorFromSet(set map[string]string) *LabelSelector {
	return &LabelSelector{MatchLabels: copyStringMap(set)}
}

// DeepCopy returns a copy of s.
func (s *LabelSelector) DeepCopy() *LabelSelector {
	if s == nil {
		return nil
	}
	out := &LabelSelector{MatchLabels: copyStringMap(s.MatchLabels)}
	if s.MatchExpressions != nil {
		out.MatchExpressions = make([]LabelSelectorRequirement, len(s.MatchExpressions))
		for i, req := range s.MatchExpressions {
			req.Values = slices.Clone(req.Values)
			out.MatchExpressions[i] = req
		}
	}
	return out
}

func copyStringMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
