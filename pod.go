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

// Probe checks a container's health: liveness, readiness or startup.
type Probe = api.Probe

// ProbeHandler is the action of a probe: exec, httpGet or tcpSocket.
type ProbeHandler = api.ProbeHandler

// ExecAction runs a command in the container.
type ExecAction = api.ExecAction

// HTTPGetAction sends an HTTP GET to the Pod.
type HTTPGetAction = api.HTTPGetAction

// HTTPHeader is one header of an HTTP probe.
type HTTPHeader = api.HTTPHeader

// TCPSocketAction opens a TCP connection to the Pod.
type TCPSocketAction = api.TCPSocketAction

// Lifecycle holds a container's postStart and preStop hooks.
type Lifecycle = api.Lifecycle

// LifecycleHandler is the action of a lifecycle hook.
type LifecycleHandler = api.LifecycleHandler

// SleepAction waits for a while, as a lifecycle hook.
type SleepAction = api.SleepAction
