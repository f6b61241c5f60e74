package api

import (
	"math"
	"strconv"
	"strings"
)

func validateDeployment(d *Deployment, errs *FieldErrors) {
	validateTypeMeta(d.TypeMeta, KindDeployment, errs)
	validateObjectMeta(&d.ObjectMeta, KindDeployment, namespaced, checkDNS1123Subdomain, "metadata", errs)
	validateDeploymentSpec(&d.Spec, "spec", errs)
}

func validateDeploymentSpec(spec *DeploymentSpec, p fieldPath, errs *FieldErrors) {
	if spec.Replicas != nil {
		validateNonNegative(*spec.Replicas, p.Child("replicas"), errs)
	}
	validateDeploymentSelector(spec, p, errs)
	tp := p.Child("template")
	validateTemplateMeta(&spec.Template.ObjectMeta, tp.Child("metadata"), errs)
	validatePodSpec(&spec.Template.Spec, tp.Child("spec"), errs)
	if rp := spec.Template.Spec.RestartPolicy; rp != "" && rp != RestartPolicyAlways {
		errs.Add(tp.Child("spec").Child("restartPolicy").String(),
			"unsupported value %s: Deployments support only %s", quote(string(rp)), RestartPolicyAlways)
	}
	validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"), errs)
	validateNonNegative(spec.MinReadySeconds, p.Child("minReadySeconds"), errs)
	if spec.RevisionHistoryLimit != nil {
		validateNonNegative(*spec.RevisionHistoryLimit, p.Child("revisionHistoryLimit"), errs)
	}
	if d := spec.ProgressDeadlineSeconds; d != nil {
		dp := p.Child("progressDeadlineSeconds")
		switch {
		case *d < 0:
			validateNonNegative(*d, dp, errs)
		case *d <= spec.MinReadySeconds:
			errs.Add(dp.String(), "must be greater than minReadySeconds (%d)", spec.MinReadySeconds)
		}
	}
}

// validateDeploymentSelector checks that the selector is set, non-empty,
// well-formed and matches the template's labels.
func validateDeploymentSelector(spec *DeploymentSpec, p fieldPath, errs *FieldErrors) {
	sp := p.Child("selector")
	switch {
	case spec.Selector == nil:
		errs.Add(sp.String(), "required: a label selector matching spec.template.metadata.labels, such as matchLabels: {app: web}")
		return
	case spec.Selector.IsEmpty():
		errs.Add(sp.String(), "must not be empty: an empty selector would match every Pod in the namespace")
		return
	}
	before := len(*errs)
	validateLabelSelector(spec.Selector, sp, errs)
	if len(*errs) == before && !spec.Selector.Matches(spec.Template.Labels) {
		errs.Add(p.Child("template").Child("metadata").Child("labels").String(), "does not match spec.selector")
	}
}

func validateDeploymentStrategy(s *DeploymentStrategy, p fieldPath, errs *FieldErrors) {
	validateEnum(s.Type, p.Child("type"), errs, RollingUpdateDeploymentStrategyType, RecreateDeploymentStrategyType)
	if s.RollingUpdate == nil {
		return
	}
	rp := p.Child("rollingUpdate")
	if s.Type == RecreateDeploymentStrategyType {
		errs.Add(rp.String(), "may not be set when spec.strategy.type is %s", RecreateDeploymentStrategyType)
		return
	}
	surgeOK := validateIntOrPercent(s.RollingUpdate.MaxSurge, false, rp.Child("maxSurge"), errs)
	unavailableOK := validateIntOrPercent(s.RollingUpdate.MaxUnavailable, true, rp.Child("maxUnavailable"), errs)
	if surgeOK && unavailableOK && isZeroIntOrPercent(s.RollingUpdate.MaxSurge) && isZeroIntOrPercent(s.RollingUpdate.MaxUnavailable) {
		errs.Add(rp.Child("maxUnavailable").String(),
			"may not be 0 when maxSurge is 0: the rollout could never replace a Pod")
	}
}

// validateIntOrPercent checks a maxSurge or maxUnavailable value: an
// integer >= 0 or a percentage "N%", at most 100% when capped is set
// (maxUnavailable), as in Kubernetes. A maxSurge over 100% is allowed, as
// in Kubernetes, up to the int32 range an integer maxSurge has: a larger
// percentage would overflow Kubernetes' own arithmetic, so no manifest
// that works there is refused. It reports whether v is valid; nil (the
// default, 25%) is.
func validateIntOrPercent(v *IntOrString, capped bool, p fieldPath, errs *FieldErrors) bool {
	if v == nil {
		return true
	}
	if !v.IsString {
		if v.IntVal < 0 {
			errs.Add(p.String(), "must not be negative, not %d", v.IntVal)
			return false
		}
		return true
	}
	if !percentRE.MatchString(v.StrVal) {
		errs.Add(p.String(), "must be an integer or a percentage such as \"25%%\", not %s", quote(v.StrVal))
		return false
	}
	n, err := strconv.ParseInt(v.StrVal[:len(v.StrVal)-1], 10, 32)
	switch {
	case capped && (err != nil || n > 100):
		errs.Add(p.String(), "must not be more than 100%%, not %s", v.StrVal)
		return false
	case err != nil:
		errs.Add(p.String(), "must not be more than %d%%, not %s", math.MaxInt32, v.StrVal)
		return false
	}
	return true
}

// isZeroIntOrPercent reports whether a valid maxSurge or maxUnavailable is
// zero. nil means the default, 25%, which is not.
func isZeroIntOrPercent(v *IntOrString) bool {
	if v == nil {
		return false
	}
	if !v.IsString {
		return v.IntVal == 0
	}
	return strings.TrimLeft(strings.TrimSuffix(v.StrVal, "%"), "0") == ""
}
