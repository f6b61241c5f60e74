package api

// HorizontalPodAutoscaler scales a Deployment between minReplicas and
// maxReplicas to keep its Pods' measured CPU or memory use near a target,
// as Kubernetes' autoscaling/v2 HorizontalPodAutoscaler does. Baton measures
// the use itself, from the runtime; there is no metrics server to install.
type HorizontalPodAutoscaler struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       HorizontalPodAutoscalerSpec   `json:"spec,omitempty"`
	Status     HorizontalPodAutoscalerStatus `json:"status,omitempty"`
}

// ObjectKind returns "HorizontalPodAutoscaler".
func (*HorizontalPodAutoscaler) ObjectKind() string { return KindHorizontalPodAutoscaler }

// HorizontalPodAutoscalerSpec is the desired behaviour of an autoscaler.
type HorizontalPodAutoscalerSpec struct {
	// ScaleTargetRef names the Deployment to scale, in the same
	// namespace.
	ScaleTargetRef CrossVersionObjectReference `json:"scaleTargetRef"`
	// MinReplicas is the floor; the default is 1.
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas is the ceiling.
	MaxReplicas int32 `json:"maxReplicas"`
	// Metrics are the targets; the replica count wanted is the highest any
	// of them asks for. The default is 80% average CPU utilization.
	Metrics []MetricSpec `json:"metrics,omitempty"`
	// Behavior tunes how fast scaling reacts.
	Behavior *HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// CrossVersionObjectReference names the object an autoscaler scales.
type CrossVersionObjectReference struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// MetricSourceType names a kind of metric. Baton supports Resource.
type MetricSourceType string

// MetricSourceResource is a resource (cpu, memory) of the target's Pods.
const MetricSourceResource MetricSourceType = "Resource"

// MetricSpec is one metric to scale on.
type MetricSpec struct {
	// Type is Resource.
	Type MetricSourceType `json:"type"`
	// Resource is the resource metric, for type Resource.
	Resource *ResourceMetricSource `json:"resource,omitempty"`
}

// ResourceMetricSource targets a resource of the Pods, averaged over them.
type ResourceMetricSource struct {
	// Name is cpu or memory.
	Name ResourceName `json:"name"`
	// Target is the value to keep the average at.
	Target MetricTarget `json:"target"`
}

// MetricTargetType says how a MetricTarget is expressed.
type MetricTargetType string

// Metric target types.
const (
	// UtilizationMetricType is a percentage of the Pods' requests.
	UtilizationMetricType MetricTargetType = "Utilization"
	// AverageValueMetricType is an absolute amount per Pod.
	AverageValueMetricType MetricTargetType = "AverageValue"
)

// MetricTarget is the value a metric should be kept at.
type MetricTarget struct {
	// Type is Utilization or AverageValue.
	Type MetricTargetType `json:"type"`
	// AverageUtilization is a percentage of the request, for Utilization.
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
	// AverageValue is an amount per Pod, for AverageValue.
	AverageValue *Quantity `json:"averageValue,omitempty"`
}

// HorizontalPodAutoscalerBehavior tunes scaling up and down separately.
type HorizontalPodAutoscalerBehavior struct {
	ScaleUp   *HPAScalingRules `json:"scaleUp,omitempty"`
	ScaleDown *HPAScalingRules `json:"scaleDown,omitempty"`
}

// HPAScalingRules tune one direction of scaling, as in Kubernetes.
type HPAScalingRules struct {
	// StabilizationWindowSeconds is how far back the autoscaler looks for
	// a higher (for scale-down) or lower (for scale-up) recommendation
	// before it moves: the default is 300 for scaling down and 0 for up;
	// at most 3600.
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
	// SelectPolicy says which policy limits a change when there are
	// several: Max (the default) the one allowing the largest change, Min
	// the smallest; Disabled turns scaling in this direction off.
	SelectPolicy *ScalingPolicySelect `json:"selectPolicy,omitempty"`
	// Policies bound how fast the replicas may change. Left out, scaling
	// up may add 4 Pods or double the count (whichever is more) every 15
	// seconds, and scaling down may remove every Pod at once (100% every
	// 15 seconds), as in Kubernetes. If set, it must hold at least one
	// policy.
	Policies []HPAScalingPolicy `json:"policies,omitempty"`
}

// ScalingPolicySelect chooses among scaling policies.
type ScalingPolicySelect string

// Policy selections, as in Kubernetes.
const (
	MaxChangePolicySelect ScalingPolicySelect = "Max"
	MinChangePolicySelect ScalingPolicySelect = "Min"
	DisabledPolicySelect  ScalingPolicySelect = "Disabled"
)

// HPAScalingPolicyType says how a scaling policy counts a change.
type HPAScalingPolicyType string

// Scaling policy types, as in Kubernetes.
const (
	// PodsScalingPolicy counts the change in Pods.
	PodsScalingPolicy HPAScalingPolicyType = "Pods"
	// PercentScalingPolicy counts it as a percentage of the replicas at
	// the start of the period.
	PercentScalingPolicy HPAScalingPolicyType = "Percent"
)

// HPAScalingPolicy allows a change of at most Value (Pods, or percent of
// the replicas) within any PeriodSeconds.
type HPAScalingPolicy struct {
	// Type is Pods or Percent.
	Type HPAScalingPolicyType `json:"type"`
	// Value is the change allowed; it must be positive.
	Value int32 `json:"value"`
	// PeriodSeconds is the window the change is counted over: more than
	// 0, at most 1800.
	PeriodSeconds int32 `json:"periodSeconds"`
}

// HorizontalPodAutoscalerStatus is the observed state of an autoscaler.
type HorizontalPodAutoscalerStatus struct {
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
	// LastScaleTime is when the autoscaler last changed the replicas.
	LastScaleTime *Time `json:"lastScaleTime,omitempty"`
	// CurrentReplicas is the target's replicas as last seen.
	CurrentReplicas int32 `json:"currentReplicas"`
	// DesiredReplicas is what the autoscaler last decided.
	DesiredReplicas int32 `json:"desiredReplicas"`
	// CurrentMetrics are the last measured values.
	CurrentMetrics []MetricStatus `json:"currentMetrics,omitempty"`
	// Conditions are AbleToScale, ScalingActive and ScalingLimited.
	Conditions []HorizontalPodAutoscalerCondition `json:"conditions,omitempty"`
}

// MetricStatus is the measured value of one metric.
type MetricStatus struct {
	Type     MetricSourceType      `json:"type"`
	Resource *ResourceMetricStatus `json:"resource,omitempty"`
}

// ResourceMetricStatus is the measured value of a resource metric.
type ResourceMetricStatus struct {
	Name    ResourceName      `json:"name"`
	Current MetricValueStatus `json:"current"`
}

// MetricValueStatus is a measured value.
type MetricValueStatus struct {
	AverageValue       *Quantity `json:"averageValue,omitempty"`
	AverageUtilization *int32    `json:"averageUtilization,omitempty"`
}

// HorizontalPodAutoscalerConditionType names an autoscaler condition.
type HorizontalPodAutoscalerConditionType string

// Autoscaler conditions.
const (
	ScalingActive  HorizontalPodAutoscalerConditionType = "ScalingActive"
	AbleToScale    HorizontalPodAutoscalerConditionType = "AbleToScale"
	ScalingLimited HorizontalPodAutoscalerConditionType = "ScalingLimited"
)

// HorizontalPodAutoscalerCondition is one condition of an autoscaler.
type HorizontalPodAutoscalerCondition struct {
	Type               HorizontalPodAutoscalerConditionType `json:"type"`
	Status             ConditionStatus                      `json:"status"`
	LastTransitionTime Time                                 `json:"lastTransitionTime,omitempty"`
	Reason             string                               `json:"reason,omitempty"`
	Message            string                               `json:"message,omitempty"`
}

// Condition returns the autoscaler's condition of type t, or nil.
func (s *HorizontalPodAutoscalerStatus) Condition(t HorizontalPodAutoscalerConditionType) *HorizontalPodAutoscalerCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}
