package baton

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/api"
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

// PodTemplateHashLabel is the label on every Pod of a Deployment that
// carries the hash of the template it was made from.
const PodTemplateHashLabel = "pod-template-hash"

// DeploymentClient manages Deployments in one namespace.
type DeploymentClient struct {
	Client[*Deployment]
}

// Scale sets a Deployment's replicas, like "kubectl scale". It retries
// internally on conflict, so it never fails because of a concurrent status
// update.
func (c *DeploymentClient) Scale(ctx context.Context, name string, replicas int32) (*Deployment, error) {
	if replicas < 0 {
		return nil, &ValidationError{Kind: api.KindDeployment, Name: name,
			Fields: []FieldError{{Path: "spec.replicas", Detail: fmt.Sprintf("must be greater than or equal to 0, got %d", replicas)}}}
	}
	var out *Deployment
	err := c.o.store.Update(func(tx store.Tx) error {
		cur, err := store.Get[*api.Deployment](tx, c.namespace, name)
		if err != nil {
			return err
		}
		if cur.Spec.Replicas != nil && *cur.Spec.Replicas == replicas {
			out = cur
			return nil
		}
		next := *cur
		next.Spec.Replicas = &replicas
		next.Generation++
		out = &next
		return tx.Update(&next)
	})
	if err != nil {
		return nil, err
	}
	return out.DeepCopy(), nil
}
