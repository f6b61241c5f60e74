package api

// Taints and tolerations, as in Kubernetes: a Node's taint keeps off (or,
// with effect NoExecute, evicts) the Pods that do not tolerate it.

// TaintEffect is what a taint does to Pods that do not tolerate it.
type TaintEffect string

// Taint effects.
const (
	// TaintNoSchedule keeps new Pods off the Node.
	TaintNoSchedule TaintEffect = "NoSchedule"
	// TaintPreferNoSchedule is a hint only; Baton's scheduler ignores it.
	TaintPreferNoSchedule TaintEffect = "PreferNoSchedule"
	// TaintNoExecute keeps new Pods off and evicts running ones, at once or
	// after their toleration's tolerationSeconds.
	TaintNoExecute TaintEffect = "NoExecute"
)

// Taints Baton puts on a Node that is not Ready, as Kubernetes' node
// lifecycle controller does.
const (
	// TaintNodeNotReady marks a Node whose agent reports it not Ready (its
	// runtime is down).
	TaintNodeNotReady = "node.kubernetes.io/not-ready"
	// TaintNodeUnreachable marks a Node whose agent stopped reporting.
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
)

// Taint is a mark on a Node that repels Pods that do not tolerate it.
type Taint struct {
	// Key is the taint's key, a qualified name like a label key.
	Key string `json:"key"`
	// Value is optional, like a label value.
	Value string `json:"value,omitempty"`
	// Effect is NoSchedule, PreferNoSchedule or NoExecute.
	Effect TaintEffect `json:"effect"`
	// TimeAdded is when a NoExecute taint was added; tolerationSeconds
	// count from it.
	TimeAdded *Time `json:"timeAdded,omitempty"`
}

// TolerationOperator is how a toleration compares a taint's value.
type TolerationOperator string

// Toleration operators.
const (
	// TolerationOpExists matches any value (and, with an empty key, any
	// taint).
	TolerationOpExists TolerationOperator = "Exists"
	// TolerationOpEqual matches an equal value; it is the default.
	TolerationOpEqual TolerationOperator = "Equal"
)

// Toleration lets a Pod be placed on, and stay on, a Node with a matching
// taint.
type Toleration struct {
	// Key is the taint key it matches; empty with operator Exists matches
	// every taint.
	Key string `json:"key,omitempty"`
	// Operator is Exists or Equal (the default).
	Operator TolerationOperator `json:"operator,omitempty"`
	// Value must equal the taint's value with operator Equal.
	Value string `json:"value,omitempty"`
	// Effect is the taint effect it matches; empty matches every effect.
	Effect TaintEffect `json:"effect,omitempty"`
	// TolerationSeconds, for effect NoExecute, is how long the Pod stays
	// once the taint is added; nil tolerates it for ever, and zero or less
	// evicts at once.
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// ToleratesTaint reports whether t matches taint, with Kubernetes' rules.
func (t *Toleration) ToleratesTaint(taint *Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case TolerationOpExists:
		return true
	case TolerationOpEqual, "":
		return t.Value == taint.Value
	}
	return false
}

// TolerationFor returns the first of tolerations that matches taint, or
// nil.
func TolerationFor(tolerations []Toleration, taint *Taint) *Toleration {
	for i := range tolerations {
		if tolerations[i].ToleratesTaint(taint) {
			return &tolerations[i]
		}
	}
	return nil
}

func copyTolerations(in []Toleration) []Toleration {
	if in == nil {
		return nil
	}
	out := make([]Toleration, len(in))
	for i, t := range in {
		t.TolerationSeconds = copyPtr(t.TolerationSeconds)
		out[i] = t
	}
	return out
}

func copyTaints(in []Taint) []Taint {
	if in == nil {
		return nil
	}
	out := make([]Taint, len(in))
	for i, t := range in {
		t.TimeAdded = copyPtr(t.TimeAdded)
		out[i] = t
	}
	return out
}

// validateTolerations checks tolerations as Kubernetes does.
func validateTolerations(tolerations []Toleration, p fieldPath, errs *FieldErrors) {
	for i := range tolerations {
		t := &tolerations[i]
		tp := p.Index(i)
		if t.Key != "" {
			if detail := checkQualifiedName(t.Key); detail != "" {
				errs.Add(tp.Child("key").String(), "%s", detail)
			}
		}
		switch t.Operator {
		case TolerationOpEqual, "":
			if t.Key == "" {
				errs.Add(tp.Child("operator").String(), "must be Exists when key is empty, which means every taint")
			}
			if detail := checkLabelValue(t.Value); detail != "" {
				errs.Add(tp.Child("value").String(), "%s", detail)
			}
		case TolerationOpExists:
			if t.Value != "" {
				errs.Add(tp.Child("value").String(), "must be empty when operator is Exists")
			}
		default:
			errs.Add(tp.Child("operator").String(), "unsupported value %s: must be %s", quote(string(t.Operator)),
				oneOf([]TolerationOperator{TolerationOpEqual, TolerationOpExists}))
		}
		validateEnum(t.Effect, tp.Child("effect"), errs, TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute)
		if t.TolerationSeconds != nil && t.Effect != TaintNoExecute {
			errs.Add(tp.Child("tolerationSeconds").String(), "may only be set with effect NoExecute")
		}
	}
}

// validateTaints checks a Node's taints as Kubernetes does: each has a key
// and an effect, and no two share a key and effect.
func validateTaints(taints []Taint, p fieldPath, errs *FieldErrors) {
	type keyEffect struct {
		key    string
		effect TaintEffect
	}
	seen := map[keyEffect]fieldPath{}
	for i := range taints {
		t := &taints[i]
		tp := p.Index(i)
		if t.Key == "" {
			errs.Required(tp.Child("key").String())
		} else if detail := checkQualifiedName(t.Key); detail != "" {
			errs.Add(tp.Child("key").String(), "%s", detail)
		}
		if detail := checkLabelValue(t.Value); detail != "" {
			errs.Add(tp.Child("value").String(), "%s", detail)
		}
		if t.Effect == "" {
			errs.Required(tp.Child("effect").String())
		}
		validateEnum(t.Effect, tp.Child("effect"), errs, TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute)
		k := keyEffect{t.Key, t.Effect}
		if first, ok := seen[k]; ok {
			errs.Add(tp.String(), "duplicate taint %s:%s, already at %s", t.Key, t.Effect, first)
		} else {
			seen[k] = tp
		}
	}
}
