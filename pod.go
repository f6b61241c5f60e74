package baton

import "github.com/batonhq/baton/api"

// Pod is a group of containers run together on one Node.
type Pod = api.Pod

// PodSpec is the desired state of a Pod.
type PodSpec = api.PodSpec

// PodStatus is the observed state of a Pod, written by Baton.
type PodStatus = api.PodStatus

// PodTemplateSpec describes the Pods a Deployment creates.
type PodTemplateSpec = api.PodTemplateSpec

// Container is one container of a Pod.
type Container = api.Container

// ContainerPort is a port a container listens on.
type ContainerPort = api.ContainerPort

// EnvVar is an environment variable of a container.
type EnvVar = api.EnvVar

// ResourceRequirements are a container's requests and limits.
type ResourceRequirements = api.ResourceRequirements

// ContainerStatus is the observed state of one container.
type ContainerStatus = api.ContainerStatus

// ContainerState is waiting, running or terminated.
type ContainerState = api.ContainerState

// PodCondition is one condition of a Pod.
type PodCondition = api.PodCondition

// Pod-related enumerations.
type (
	// RestartPolicy is Always, OnFailure or Never.
	RestartPolicy = api.RestartPolicy
	// PullPolicy is Always, IfNotPresent or Never.
	PullPolicy = api.PullPolicy
	// PodPhase is Pending, Running, Succeeded, Failed or Unknown.
	PodPhase = api.PodPhase
	// Protocol is TCP or UDP.
	Protocol = api.Protocol
)

// Restart policies, pull policies, phases and protocols.
const (
	RestartPolicyAlways    = api.RestartPolicyAlways
	RestartPolicyOnFailure = api.RestartPolicyOnFailure
	RestartPolicyNever     = api.RestartPolicyNever

	PullAlways       = api.PullAlways
	PullIfNotPresent = api.PullIfNotPresent
	PullNever        = api.PullNever

	PodPending   = api.PodPending
	PodRunning   = api.PodRunning
	PodSucceeded = api.PodSucceeded
	PodFailed    = api.PodFailed
	PodUnknown   = api.PodUnknown

	ProtocolTCP = api.ProtocolTCP
	ProtocolUDP = api.ProtocolUDP
)
