package api

// ReplicaSet keeps a number of Pods of one template running. Deployments
// make one per revision of their template and scale them to roll out a
// change; users rarely create them directly.
type ReplicaSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       ReplicaSetSpec   `json:"spec,omitempty"`
	Status     ReplicaSetStatus `json:"status,omitempty"`
}

// ObjectKind returns "ReplicaSet".
func (*ReplicaSet) ObjectKind() string { return KindReplicaSet }

// ReplicaSetSpec is the desired state of a ReplicaSet.
type ReplicaSetSpec struct {
	// Replicas is the number of Pods wanted; the default is 1.
	Replicas *int32 `json:"replicas,omitempty"`
	// MinReadySeconds is how long a Pod must be ready to count as
	// available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// Selector finds the ReplicaSet's Pods; it must match the template.
	Selector *LabelSelector `json:"selector"`
	// Template is the Pod to run.
	Template PodTemplateSpec `json:"template,omitempty"`
}

// ReplicaSetStatus is the observed state of a ReplicaSet.
type ReplicaSetStatus struct {
	// Replicas counts the ReplicaSet's Pods that are not terminating.
	Replicas int32 `json:"replicas"`
	// ReadyReplicas counts those that are ready.
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// AvailableReplicas counts those ready for at least minReadySeconds.
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Annotations the deployment controller keeps on ReplicaSets, with
// Kubernetes' names, and Baton's own extensions.
const (
	// AnnotationRevision is the revision number of a Deployment's
	// ReplicaSet (and, on the Deployment, of its current one).
	AnnotationRevision = "deployment.kubernetes.io/revision"
	// AnnotationRevisionHistory lists the earlier revisions a ReplicaSet
	// held, when a rollback brought its template back.
	AnnotationRevisionHistory = "deployment.kubernetes.io/revision-history"
	// AnnotationDesiredReplicas is the Deployment's replicas when the
	// ReplicaSet was last scaled, for proportional scaling.
	AnnotationDesiredReplicas = "deployment.kubernetes.io/desired-replicas"
	// AnnotationMaxReplicas is desired plus maxSurge at that time.
	AnnotationMaxReplicas = "deployment.kubernetes.io/max-replicas"
	// AnnotationChangeCause records why a revision was made, as
	// "kubectl rollout history" shows it.
	AnnotationChangeCause = "kubernetes.io/change-cause"
	// AnnotationAutoRollback, set to "true" on a Deployment, is a Baton
	// extension: when a rollout exceeds its progress deadline, Baton rolls
	// the Deployment back to the previous revision by itself and records a
	// Warning event saying why. Kubernetes only reports the failure.
	AnnotationAutoRollback = "baton.dev/auto-rollback"
	// AnnotationAutoRolledBack is set to "true" by Baton on the ReplicaSet
	// of a revision whose rollout exceeded its progress deadline and was
	// rolled back automatically. Automatic rollback never returns to such
	// a revision, so that two failing revisions are never alternated; a
	// rollout of it that completes clears the mark.
	AnnotationAutoRolledBack = "baton.dev/auto-rolled-back"
	// AnnotationRestartOnConfigChange, set to "true" on a Deployment, is
	// a Baton extension: when a ConfigMap or Secret its Pods use changes,
	// the Deployment rolls out again so that the Pods see the change in
	// their environment, which only a restart refreshes.
	AnnotationRestartOnConfigChange = "baton.dev/restart-on-config-change"
	// AnnotationConfigHash is set by Baton on the Pod template of such a
	// Deployment: a hash of the uid and generation of the ConfigMaps and
	// Secrets it uses (never of their values).
	AnnotationConfigHash = "baton.dev/config-hash"
)
