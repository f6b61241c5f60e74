package api

import "fmt"

func validateReplicaSet(rs *ReplicaSet, errs *FieldErrors) {
	validateTypeMeta(rs.TypeMeta, KindReplicaSet, errs)
	validateObjectMeta(&rs.ObjectMeta, KindReplicaSet, namespaced, checkDNS1123Subdomain, "metadata", errs)
	p := fieldPath("spec")
	if rs.Spec.Replicas != nil {
		validateNonNegative(*rs.Spec.Replicas, p.Child("replicas"), errs)
	}
	validateNonNegative(rs.Spec.MinReadySeconds, p.Child("minReadySeconds"), errs)
	sp := p.Child("selector")
	switch {
	case rs.Spec.Selector == nil:
		errs.Add(sp.String(), "required: a label selector matching spec.template.metadata.labels")
	case rs.Spec.Selector.IsEmpty():
		errs.Add(sp.String(), "must not be empty: an empty selector would match every Pod in the namespace")
	default:
		before := len(*errs)
		validateLabelSelector(rs.Spec.Selector, sp, errs)
		if len(*errs) == before && !rs.Spec.Selector.Matches(rs.Spec.Template.Labels) {
			errs.Add(p.Child("template").Child("metadata").Child("labels").String(), "does not match spec.selector")
		}
	}
	tp := p.Child("template")
	validateTemplateMeta(&rs.Spec.Template.ObjectMeta, tp.Child("metadata"), errs)
	validatePodSpec(&rs.Spec.Template.Spec, tp.Child("spec"), errs)
	if rp := rs.Spec.Template.Spec.RestartPolicy; rp != "" && rp != RestartPolicyAlways {
		errs.Add(tp.Child("spec").Child("restartPolicy").String(),
			"unsupported value %s: ReplicaSets support only %s", quote(string(rp)), RestartPolicyAlways)
	}
}

// SetReplicaSetSpecDefaults fills replicas (1) and the Pod template's
// defaults.
func SetReplicaSetSpecDefaults(spec *ReplicaSetSpec) {
	if spec.Replicas == nil {
		replicas := DefaultReplicas
		spec.Replicas = &replicas
	}
	SetPodSpecDefaults(&spec.Template.Spec)
}

// DefaultCPUUtilization is the target of an autoscaler that names no
// metric, as in Kubernetes.
const DefaultCPUUtilization int32 = 80

// Default stabilization windows of an autoscaler, as in Kubernetes.
const (
	DefaultScaleDownStabilizationSeconds int32 = 300
	DefaultScaleUpStabilizationSeconds   int32 = 0
)

// SetHPASpecDefaults fills minReplicas (1) and, when no metric is named, a
// target of 80% average CPU utilization.
func SetHPASpecDefaults(spec *HorizontalPodAutoscalerSpec) {
	if spec.MinReplicas == nil {
		one := int32(1)
		spec.MinReplicas = &one
	}
	if len(spec.Metrics) == 0 {
		target := DefaultCPUUtilization
		spec.Metrics = []MetricSpec{{Type: MetricSourceResource, Resource: &ResourceMetricSource{
			Name: ResourceCPU, Target: MetricTarget{Type: UtilizationMetricType, AverageUtilization: &target},
		}}}
	}
	if spec.ScaleTargetRef.APIVersion == "" && spec.ScaleTargetRef.Kind == KindDeployment {
		spec.ScaleTargetRef.APIVersion = AppsV1
	}
}

func validateHPA(h *HorizontalPodAutoscaler, errs *FieldErrors) {
	validateTypeMeta(h.TypeMeta, KindHorizontalPodAutoscaler, errs)
	validateObjectMeta(&h.ObjectMeta, KindHorizontalPodAutoscaler, namespaced, checkDNS1123Subdomain, "metadata", errs)
	p := fieldPath("spec")
	ref := p.Child("scaleTargetRef")
	switch h.Spec.ScaleTargetRef.Kind {
	case KindDeployment:
	case "":
		errs.Required(ref.Child("kind").String())
	default:
		errs.Add(ref.Child("kind").String(), "unsupported kind %s: Baton scales Deployments", quote(h.Spec.ScaleTargetRef.Kind))
	}
	if v := h.Spec.ScaleTargetRef.APIVersion; v != "" && v != AppsV1 {
		errs.Add(ref.Child("apiVersion").String(), "must be %s for a Deployment, not %s", AppsV1, quote(v))
	}
	if h.Spec.ScaleTargetRef.Name == "" {
		errs.Required(ref.Child("name").String())
	} else if msg := checkDNS1123Subdomain(h.Spec.ScaleTargetRef.Name, false); msg != "" {
		errs.Add(ref.Child("name").String(), "%s", msg)
	}
	minReplicas := int32(1)
	if h.Spec.MinReplicas != nil {
		minReplicas = *h.Spec.MinReplicas
		if minReplicas < 1 {
			errs.Add(p.Child("minReplicas").String(), "must be at least 1, not %d", minReplicas)
		}
	}
	switch {
	case h.Spec.MaxReplicas < 1:
		errs.Add(p.Child("maxReplicas").String(), "must be at least 1, not %d", h.Spec.MaxReplicas)
	case h.Spec.MaxReplicas < minReplicas:
		errs.Add(p.Child("maxReplicas").String(), "must be greater than or equal to minReplicas (%d), not %d", minReplicas, h.Spec.MaxReplicas)
	}
	for i, m := range h.Spec.Metrics {
		validateMetricSpec(m, p.Child("metrics").Index(i), errs)
	}
	if b := h.Spec.Behavior; b != nil {
		validateScalingRules(b.ScaleUp, p.Child("behavior").Child("scaleUp"), errs)
		validateScalingRules(b.ScaleDown, p.Child("behavior").Child("scaleDown"), errs)
	}
}

// Bounds of an autoscaler's behavior, as in Kubernetes.
const (
	MaxStabilizationWindowSeconds int32 = 3600
	MaxScalingPolicyPeriodSeconds int32 = 1800
)

// validateScalingRules checks one direction of an autoscaler's behavior as
// Kubernetes does: a window of 0 to 3600 seconds, a known selectPolicy,
// and, when policies are given, at least one, each of a known type with a
// positive value over a period of 1 to 1800 seconds.
func validateScalingRules(rules *HPAScalingRules, p fieldPath, errs *FieldErrors) {
	if rules == nil {
		return
	}
	if w := rules.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > MaxStabilizationWindowSeconds) {
		errs.Add(p.Child("stabilizationWindowSeconds").String(), "must be between 0 and %d seconds, not %d", MaxStabilizationWindowSeconds, *w)
	}
	if sp := rules.SelectPolicy; sp != nil {
		if *sp == "" {
			errs.Add(p.Child("selectPolicy").String(), "must be %s, %s or %s when set", MaxChangePolicySelect, MinChangePolicySelect, DisabledPolicySelect)
		}
		validateEnum(*sp, p.Child("selectPolicy"), errs, MaxChangePolicySelect, MinChangePolicySelect, DisabledPolicySelect)
	}
	pp := p.Child("policies")
	if rules.Policies != nil && len(rules.Policies) == 0 {
		errs.Add(pp.String(), "must hold at least one policy; leave it out for the default policies")
	}
	for i, policy := range rules.Policies {
		ip := pp.Index(i)
		if policy.Type == "" {
			errs.Required(ip.Child("type").String())
		}
		validateEnum(policy.Type, ip.Child("type"), errs, PodsScalingPolicy, PercentScalingPolicy)
		if policy.Value <= 0 {
			errs.Add(ip.Child("value").String(), "must be greater than 0, not %d", policy.Value)
		}
		if policy.PeriodSeconds <= 0 || policy.PeriodSeconds > MaxScalingPolicyPeriodSeconds {
			errs.Add(ip.Child("periodSeconds").String(), "must be between 1 and %d seconds, not %d", MaxScalingPolicyPeriodSeconds, policy.PeriodSeconds)
		}
	}
}

func validateMetricSpec(m MetricSpec, p fieldPath, errs *FieldErrors) {
	if m.Type != MetricSourceResource {
		errs.Add(p.Child("type").String(), "unsupported value %s: Baton measures Resource metrics (cpu, memory)", quote(string(m.Type)))
		return
	}
	rp := p.Child("resource")
	if m.Resource == nil {
		errs.Required(rp.String())
		return
	}
	if m.Resource.Name != ResourceCPU && m.Resource.Name != ResourceMemory {
		errs.Add(rp.Child("name").String(), "unsupported value %s: must be cpu or memory", quote(string(m.Resource.Name)))
	}
	tp := rp.Child("target")
	t := m.Resource.Target
	switch t.Type {
	case UtilizationMetricType:
		switch {
		case t.AverageUtilization == nil:
			errs.Required(tp.Child("averageUtilization").String())
		case *t.AverageUtilization < 1:
			errs.Add(tp.Child("averageUtilization").String(), "must be a positive percentage of the request, not %d", *t.AverageUtilization)
		}
		if t.AverageValue != nil {
			errs.Add(tp.Child("averageValue").String(), "must not be set for type Utilization")
		}
	case AverageValueMetricType:
		switch {
		case t.AverageValue == nil:
			errs.Required(tp.Child("averageValue").String())
		case t.AverageValue.MilliValue() <= 0:
			errs.Add(tp.Child("averageValue").String(), "must be positive, not %s", t.AverageValue)
		}
		if t.AverageUtilization != nil {
			errs.Add(tp.Child("averageUtilization").String(), "must not be set for type AverageValue")
		}
	default:
		errs.Add(tp.Child("type").String(), "unsupported value %s: must be Utilization or AverageValue", quote(fmt.Sprint(t.Type)))
	}
}
