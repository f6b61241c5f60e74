package baton

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/controller/deployment"
	"github.com/batonhq/baton/internal/store"
)

// Deployment keeps a number of replicas of a Pod template running.
type Deployment = api.Deployment

// DeploymentSpec is the desired state of a Deployment.
type DeploymentSpec = api.DeploymentSpec

// DeploymentStatus is the observed state of a Deployment.
type DeploymentStatus = api.DeploymentStatus

// DeploymentStrategy says how a Deployment replaces old Pods.
type DeploymentStrategy = api.DeploymentStrategy

// RollingUpdateDeployment bounds a rolling update.
type RollingUpdateDeployment = api.RollingUpdateDeployment

// DeploymentCondition is one condition of a Deployment.
type DeploymentCondition = api.DeploymentCondition

// ReplicaSet keeps a number of Pods of one template running; a Deployment
// makes one per revision of its template.
type ReplicaSet = api.ReplicaSet

// ReplicaSetSpec is the desired state of a ReplicaSet.
type ReplicaSetSpec = api.ReplicaSetSpec

// ReplicaSetStatus is the observed state of a ReplicaSet.
type ReplicaSetStatus = api.ReplicaSetStatus

// HorizontalPodAutoscaler scales a Deployment to keep its Pods' CPU or
// memory use near a target (autoscaling/v2).
type HorizontalPodAutoscaler = api.HorizontalPodAutoscaler

// HorizontalPodAutoscalerSpec is the desired behaviour of an autoscaler.
type HorizontalPodAutoscalerSpec = api.HorizontalPodAutoscalerSpec

// CrossVersionObjectReference names an autoscaler's target.
type CrossVersionObjectReference = api.CrossVersionObjectReference

// MetricSpec is one metric an autoscaler scales on.
type MetricSpec = api.MetricSpec

// ResourceMetricSource targets a resource of the Pods.
type ResourceMetricSource = api.ResourceMetricSource

// MetricTarget is the value a metric should be kept at.
type MetricTarget = api.MetricTarget

// HorizontalPodAutoscalerBehavior tunes scaling up and down.
type HorizontalPodAutoscalerBehavior = api.HorizontalPodAutoscalerBehavior

// HPAScalingRules tune one direction of scaling.
type HPAScalingRules = api.HPAScalingRules

// HPAScalingPolicy bounds how much one direction may change in a period.
type HPAScalingPolicy = api.HPAScalingPolicy

// HPAScalingPolicyType says whether a policy counts Pods or a percentage.
type HPAScalingPolicyType = api.HPAScalingPolicyType

// ScalingPolicySelect says which of several policies applies.
type ScalingPolicySelect = api.ScalingPolicySelect

// Scaling policy types and selections, as in autoscaling/v2.
const (
	PodsScalingPolicy     = api.PodsScalingPolicy
	PercentScalingPolicy  = api.PercentScalingPolicy
	MaxChangePolicySelect = api.MaxChangePolicySelect
	MinChangePolicySelect = api.MinChangePolicySelect
	DisabledPolicySelect  = api.DisabledPolicySelect
)

// Autoscaler metric types.
const (
	MetricSourceResource   = api.MetricSourceResource
	UtilizationMetricType  = api.UtilizationMetricType
	AverageValueMetricType = api.AverageValueMetricType
)

// Deployment strategies.
const (
	RollingUpdateDeploymentStrategyType = api.RollingUpdateDeploymentStrategyType
	RecreateDeploymentStrategyType      = api.RecreateDeploymentStrategyType
)

// Annotations with meaning to Deployments.
const (
	// AnnotationRevision is the revision number of a ReplicaSet, and on a
	// Deployment, of its current one.
	AnnotationRevision = api.AnnotationRevision
	// AnnotationChangeCause, set on a Deployment, is recorded with the
	// revision its template change makes.
	AnnotationChangeCause = api.AnnotationChangeCause
	// AnnotationAutoRollback, set to "true" on a Deployment, makes Baton
	// roll it back to the previous revision by itself when a rollout
	// exceeds progressDeadlineSeconds (Kubernetes only reports it).
	AnnotationAutoRollback = api.AnnotationAutoRollback
	// AnnotationAutoRolledBack marks the ReplicaSet of a revision that was
	// rolled back automatically; automatic rollback never returns to it,
	// until a rollout of it completes.
	AnnotationAutoRolledBack = api.AnnotationAutoRolledBack
)

// PodTemplateHashLabel is the label on every ReplicaSet and Pod of a
// Deployment that carries the hash of the template it was made from.
const PodTemplateHashLabel = deployment.PodTemplateHashLabel

// DeploymentClient manages Deployments in one namespace.
type DeploymentClient struct {
	Client[*Deployment]
}

// Scale sets a Deployment's replicas, like "kubectl scale". It changes the
// stored Deployment in one transaction, so it never fails with ErrConflict
// because a controller wrote the Deployment meanwhile.
func (c *DeploymentClient) Scale(ctx context.Context, name string, replicas int32) (*Deployment, error) {
	if replicas < 0 {
		return nil, &ValidationError{Kind: api.KindDeployment, Name: name,
			Fields: []FieldError{{Path: "spec.replicas", Detail: fmt.Sprintf("must be greater than or equal to 0, got %d", replicas)}}}
	}
	return c.changeSpec(ctx, name, func(spec *DeploymentSpec) bool {
		if spec.Replicas != nil && *spec.Replicas == replicas {
			return false
		}
		spec.Replicas = &replicas
		return true
	})
}

// changeSpec applies change to the stored Deployment's spec in one
// transaction, so it never conflicts with the controllers' writes, and
// returns the Deployment as stored. change reports whether it changed
// anything; it works on a copy of the spec's top level, so it must replace,
// not modify, what it changes.
func (c *DeploymentClient) changeSpec(ctx context.Context, name string, change func(*DeploymentSpec) bool) (*Deployment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *Deployment
	err := c.o.store.Update(func(tx store.Tx) error {
		cur, err := store.Get[*api.Deployment](tx, c.namespace, name)
		if err != nil {
			return err
		}
		out = cur
		next := *cur
		if !change(&next.Spec) {
			return nil
		}
		next.Generation++
		out = &next
		return tx.Update(&next)
	})
	if err != nil {
		return nil, err
	}
	return out.DeepCopy(), nil
}

// Revision is one revision of a Deployment's template, as "kubectl rollout
// history" lists it.
type Revision struct {
	// Number is the revision number; the highest is the current one.
	Number int64
	// ReplicaSet is the name of the ReplicaSet that holds the revision.
	ReplicaSet string
	// Template is the Pod template of the revision.
	Template PodTemplateSpec
	// ChangeCause is the Deployment's kubernetes.io/change-cause
	// annotation when the revision was made.
	ChangeCause string
	// Replicas is how many Pods of this revision are wanted now.
	Replicas int32
}

// History returns the revisions of a Deployment that are kept (see
// spec.revisionHistoryLimit), oldest first.
func (c *DeploymentClient) History(ctx context.Context, name string) ([]Revision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Revision
	var err error
	c.o.store.View(func(tx store.ReadTx) {
		var d *api.Deployment
		if d, err = store.Get[*api.Deployment](tx, c.namespace, name); err != nil {
			return
		}
		for _, h := range deployment.History(tx, d) {
			t := *h.ReplicaSet.Spec.Template.DeepCopy()
			delete(t.Labels, PodTemplateHashLabel)
			replicas := int32(1)
			if h.ReplicaSet.Spec.Replicas != nil {
				replicas = *h.ReplicaSet.Spec.Replicas
			}
			out = append(out, Revision{Number: h.Revision, ReplicaSet: h.ReplicaSet.Name, Template: t,
				ChangeCause: h.ChangeCause, Replicas: replicas})
		}
	})
	return out, err
}

// Rollback sets a Deployment's template back to that of toRevision, or of
// the revision before the current one when toRevision is 0, like "kubectl
// rollout undo"; the Deployment then rolls out to it as to any change, and
// the restored revision gets the next revision number. It returns the
// Deployment as updated. An unknown revision is ErrNotFound; rolling back
// to the current template changes nothing. A paused Deployment is refused
// with ErrFailedPrecondition, as "kubectl rollout undo" refuses it: resume
// it first.
func (c *DeploymentClient) Rollback(ctx context.Context, name string, toRevision int64) (*Deployment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if toRevision < 0 {
		return nil, &ValidationError{Kind: api.KindDeployment, Name: name,
			Fields: []FieldError{{Path: "toRevision", Detail: fmt.Sprintf("must be 0 (the previous revision) or a revision number, not %d", toRevision)}}}
	}
	var out *Deployment
	err := c.o.store.Update(func(tx store.Tx) error {
		d, err := store.Get[*api.Deployment](tx, c.namespace, name)
		if err != nil {
			return err
		}
		if _, err := deployment.Rollback(tx, d, toRevision); err != nil {
			return err
		}
		out, err = store.Get[*api.Deployment](tx, c.namespace, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.DeepCopy(), nil
}

// Pause stops rolling out template changes to a Deployment (scaling still
// works), like "kubectl rollout pause".
func (c *DeploymentClient) Pause(ctx context.Context, name string) (*Deployment, error) {
	return c.setPaused(ctx, name, true)
}

// Resume undoes Pause: the latest template rolls out.
func (c *DeploymentClient) Resume(ctx context.Context, name string) (*Deployment, error) {
	return c.setPaused(ctx, name, false)
}

func (c *DeploymentClient) setPaused(ctx context.Context, name string, paused bool) (*Deployment, error) {
	return c.changeSpec(ctx, name, func(spec *DeploymentSpec) bool {
		if spec.Paused == paused {
			return false
		}
		spec.Paused = paused
		return true
	})
}

// RolloutProgress is how far a rollout has come, as RolloutStatus reports
// it.
type RolloutProgress struct {
	// Desired is the Deployment's replicas; Updated, Ready and Available
	// count its Pods of the current template that exist, are ready, and
	// are available; Total counts all its Pods, old ones included.
	Desired, Updated, Ready, Available, Total int32
	// Message says what the rollout waits for, in kubectl's words.
	Message string
}

// ErrRolloutFailed is returned by RolloutStatus when the rollout exceeded
// its progress deadline. It matches ErrFailedPrecondition.
var ErrRolloutFailed = fmt.Errorf("rollout exceeded its progress deadline: %w", ErrFailedPrecondition)

// RolloutStatus waits until the Deployment's rollout is complete, like
// "kubectl rollout status": every Pod runs the current template and is
// available, and no old Pod is left. It calls progress (when not nil) each
// time the rollout moves. It returns an error wrapping ErrRolloutFailed when
// the rollout exceeds its progress deadline, ErrNotFound if the Deployment
// goes, and ctx's error if ctx ends first.
func (c *DeploymentClient) RolloutStatus(ctx context.Context, name string, progress func(RolloutProgress)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := c.Watch(ctx)
	if err != nil {
		return err
	}
	var last RolloutProgress
	for {
		select {
		case ev, ok := <-changes:
			if !ok {
				return ctx.Err()
			}
			d := ev.Object
			if d.Name != name {
				continue
			}
			if ev.Type == Deleted {
				return fmt.Errorf("deployment %q was deleted during its rollout: %w", name, ErrNotFound)
			}
			p, done, err := rolloutProgress(d)
			if p != last && progress != nil {
				progress(p)
			}
			last = p
			if err != nil || done {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// rolloutProgress reads a Deployment's status as kubectl rollout status
// does.
func rolloutProgress(d *Deployment) (RolloutProgress, bool, error) {
	s := d.Status
	p := RolloutProgress{Desired: 1, Updated: s.UpdatedReplicas, Ready: s.ReadyReplicas, Available: s.AvailableReplicas, Total: s.Replicas}
	if d.Spec.Replicas != nil {
		p.Desired = *d.Spec.Replicas
	}
	if s.ObservedGeneration < d.Generation {
		p.Message = "Waiting for deployment spec update to be observed..."
		return p, false, nil
	}
	if c := s.Condition(api.DeploymentProgressing); c != nil && c.Reason == "ProgressDeadlineExceeded" {
		p.Message = fmt.Sprintf("deployment %q exceeded its progress deadline", d.Name)
		return p, false, fmt.Errorf("deployment %q: %w", d.Name, ErrRolloutFailed)
	}
	switch {
	case p.Updated < p.Desired:
		p.Message = fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...", d.Name, p.Updated, p.Desired)
	case p.Total > p.Updated:
		p.Message = fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...", d.Name, p.Total-p.Updated)
	case p.Available < p.Updated:
		p.Message = fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...", d.Name, p.Available, p.Updated)
	default:
		p.Message = fmt.Sprintf("deployment %q successfully rolled out", d.Name)
		return p, true, nil
	}
	return p, false, nil
}
