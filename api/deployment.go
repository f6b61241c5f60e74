package api

// Deployment keeps a number of replicas of a Pod template running and rolls
// changes to the template out gradually.
type Deployment struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       DeploymentSpec   `json:"spec,omitempty"`
	Status     DeploymentStatus `json:"status,omitempty"`
}

// ObjectKind returns "Deployment".
func (*Deployment) ObjectKind() string { return KindDeployment }

// DeploymentSpec is the desired state of a Deployment.
type DeploymentSpec struct {
	// Replicas is the number of Pods wanted; the default is 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// Selector finds the Deployment's Pods; it must match the template's
	// labels.
	Selector *LabelSelector `json:"selector"`
	// Template is the Pod to run.
	Template PodTemplateSpec `json:"template"`
	// Strategy says how Pods of an old template are replaced.
	Strategy DeploymentStrategy `json:"strategy,omitempty"`
	// MinReadySeconds is how long a new Pod must be ready before it counts
	// as available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RevisionHistoryLimit is how many old revisions are kept for rollback;
	// the default is 10.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// Paused stops the rollout of template changes.
	Paused bool `json:"paused,omitempty"`
	// ProgressDeadlineSeconds is how long a rollout may go without progress
	// before it is reported failed; the default is 600.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
}

// DeploymentStrategy says how a Deployment replaces old Pods.
type DeploymentStrategy struct {
	// Type is RollingUpdate (the default) or Recreate.
	Type DeploymentStrategyType `json:"type,omitempty"`
	// RollingUpdate tunes the RollingUpdate strategy.
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// DeploymentStrategyType names a deployment strategy.
type DeploymentStrategyType string

// Deployment strategies.
const (
	RecreateDeploymentStrategyType      DeploymentStrategyType = "Recreate"
	RollingUpdateDeploymentStrategyType DeploymentStrategyType = "RollingUpdate"
)

// RollingUpdateDeployment bounds a rolling update.
type RollingUpdateDeployment struct {
	// MaxUnavailable is how many Pods (or what percentage, rounded down)
	// may be unavailable during the update; the default is 25%.
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many Pods (or what percentage, rounded up) may exist
	// above the desired count during the update; the default is 25%.
	MaxSurge *IntOrString `json:"maxSurge,omitempty"`
}

// DeploymentStatus is the observed state of a Deployment.
type DeploymentStatus struct {
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Replicas counts the Deployment's Pods that are not terminating.
	Replicas int32 `json:"replicas,omitempty"`
	// UpdatedReplicas counts those running the current template.
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// ReadyReplicas counts those that are ready.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas counts those ready for at least minReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// UnavailableReplicas is the desired count minus the available count.
	UnavailableReplicas int32 `json:"unavailableReplicas,omitempty"`
	// Conditions are Available and Progressing.
	Conditions []DeploymentCondition `json:"conditions,omitempty"`
}

// DeploymentConditionType names a Deployment condition.
type DeploymentConditionType string

// Deployment conditions.
const (
	DeploymentAvailable   DeploymentConditionType = "Available"
	DeploymentProgressing DeploymentConditionType = "Progressing"
)

// DeploymentCondition is one condition of a Deployment.
type DeploymentCondition struct {
	Type               DeploymentConditionType `json:"type"`
	Status             ConditionStatus         `json:"status"`
	LastUpdateTime     Time                    `json:"lastUpdateTime,omitempty"`
	LastTransitionTime Time                    `json:"lastTransitionTime,omitempty"`
	Reason             string                  `json:"reason,omitempty"`
	Message            string                  `json:"message,omitempty"`
}

// Condition returns the Deployment's condition of type t, or nil.
func (s *DeploymentStatus) Condition(t DeploymentConditionType) *DeploymentCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}
