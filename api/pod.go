package api

// Pod is a group of containers that share a network namespace and run on
// one node: the unit Baton schedules, starts and restarts.
type Pod struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec   `json:"spec,omitempty"`
	Status     PodStatus `json:"status,omitempty"`
}

// ObjectKind returns "Pod".
func (*Pod) ObjectKind() string { return KindPod }

// PodSpec is the desired state of a Pod.
type PodSpec struct {
	// Containers run together in the Pod; at least one is required.
	Containers []Container `json:"containers"`
	// RestartPolicy says when a container that exits is started again:
	// Always (the default), OnFailure or Never.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
	// TerminationGracePeriodSeconds is how long a container has between
	// SIGTERM and SIGKILL when its Pod is deleted; the default is 30.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`
	// NodeSelector limits the Pod to nodes carrying all these labels.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations let the Pod onto Nodes with matching taints and set how
	// long it stays on a Node tainted NoExecute. A Pod without a
	// toleration of its own for the not-ready and unreachable taints
	// gets the Orchestrator's node toleration (WithNodeToleration, 300s
	// by default), as Kubernetes' DefaultTolerationSeconds gives.
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// NodeName binds the Pod to a node. The scheduler sets it; setting it
	// on create skips scheduling.
	NodeName string `json:"nodeName,omitempty"`
	// HostNetwork runs the Pod in the host's network namespace.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// Volumes are directories the containers may mount.
	Volumes []Volume `json:"volumes,omitempty"`
	// DNSPolicy says where the containers' /etc/resolv.conf comes from;
	// empty means ClusterFirst. See DNSPolicy.
	DNSPolicy DNSPolicy `json:"dnsPolicy,omitempty"`
	// DNSConfig adds nameservers, search domains and options to what
	// DNSPolicy gives; with DNSPolicy None it is all there is.
	DNSConfig *PodDNSConfig `json:"dnsConfig,omitempty"`
	// EnableServiceLinks, unless false, gives each container the
	// Kubernetes service variables (NAME_SERVICE_HOST, NAME_SERVICE_PORT
	// and the Docker-link style NAME_PORT_...) of every Service in the
	// Pod's namespace that exists when the container starts. Set it to
	// false in a namespace with many Services, or when such names clash
	// with the program's own variables. Unset means true.
	EnableServiceLinks *bool `json:"enableServiceLinks,omitempty"`
}

// ServiceLinksEnabled reports whether s's containers get the service
// variables of their namespace: unless EnableServiceLinks is false.
func (s *PodSpec) ServiceLinksEnabled() bool {
	return s.EnableServiceLinks == nil || *s.EnableServiceLinks
}

// DNSPolicy says where a Pod's resolver configuration comes from, as in
// Kubernetes. Only runtimes that give a Pod its own /etc/resolv.conf (the
// containerd runtime) act on it.
type DNSPolicy string

// DNS policies.
const (
	// DNSClusterFirst uses the cluster DNS server, with the Pod's namespace
	// first in the search path, when Baton runs one that Pods can reach
	// (see baton.WithDNS); otherwise, and for host-network Pods, it is
	// DNSDefault.
	DNSClusterFirst DNSPolicy = "ClusterFirst"
	// DNSClusterFirstWithHostNet is DNSClusterFirst for host-network Pods
	// too.
	DNSClusterFirstWithHostNet DNSPolicy = "ClusterFirstWithHostNet"
	// DNSDefault uses the host's resolver configuration.
	DNSDefault DNSPolicy = "Default"
	// DNSNone uses only the Pod's DNSConfig, which must name a nameserver.
	DNSNone DNSPolicy = "None"
)

// PodDNSConfig is what a Pod adds to the resolver configuration its
// DNSPolicy gives.
type PodDNSConfig struct {
	// Nameservers are IP addresses, appended to the policy's (at most 3
	// in all are used).
	Nameservers []string `json:"nameservers,omitempty"`
	// Searches are search domains, appended to the policy's.
	Searches []string `json:"searches,omitempty"`
	// Options are resolver options; one of the same name replaces the
	// policy's.
	Options []PodDNSConfigOption `json:"options,omitempty"`
}

// PodDNSConfigOption is a resolver option such as ndots:2 or edns0.
type PodDNSConfigOption struct {
	// Name is the option's name, required.
	Name string `json:"name"`
	// Value is the option's value, if it takes one.
	Value *string `json:"value,omitempty"`
}

// RestartPolicy says when the node agent restarts a container that exited.
type RestartPolicy string

// Restart policies.
const (
	RestartPolicyAlways    RestartPolicy = "Always"
	RestartPolicyOnFailure RestartPolicy = "OnFailure"
	RestartPolicyNever     RestartPolicy = "Never"
)

// Container is one container of a Pod.
type Container struct {
	// Name is unique within the Pod and a DNS-1123 label.
	Name string `json:"name"`
	// Image is the image reference, such as "busybox:1.36".
	Image string `json:"image"`
	// Command replaces the image's entrypoint when set.
	Command []string `json:"command,omitempty"`
	// Args replace the image's cmd when set.
	Args []string `json:"args,omitempty"`
	// WorkingDir replaces the image's working directory when set.
	WorkingDir string `json:"workingDir,omitempty"`
	// Ports the container listens on; informational except for hostPort.
	Ports []ContainerPort `json:"ports,omitempty"`
	// Env sets environment variables.
	Env []EnvVar `json:"env,omitempty"`
	// EnvFrom sets a variable for every key of ConfigMaps and Secrets;
	// Env wins over it.
	EnvFrom []EnvFromSource `json:"envFrom,omitempty"`
	// VolumeMounts mount the Pod's volumes.
	VolumeMounts []VolumeMount `json:"volumeMounts,omitempty"`
	// Resources are the container's requests (used by the scheduler) and
	// limits (enforced by the runtime).
	Resources ResourceRequirements `json:"resources,omitempty"`
	// ImagePullPolicy is Always, IfNotPresent or Never. The default is
	// Always for an image tagged ":latest" or untagged, else IfNotPresent.
	ImagePullPolicy PullPolicy `json:"imagePullPolicy,omitempty"`
	// LivenessProbe restarts the container when it fails.
	LivenessProbe *Probe `json:"livenessProbe,omitempty"`
	// ReadinessProbe decides whether the container is ready, and so
	// whether its Pod takes traffic and counts as available.
	ReadinessProbe *Probe `json:"readinessProbe,omitempty"`
	// StartupProbe holds the other probes back until it succeeds; when it
	// fails, the container is restarted.
	StartupProbe *Probe `json:"startupProbe,omitempty"`
	// Lifecycle holds the postStart and preStop hooks.
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
}

// ContainerPort is a port a container listens on.
type ContainerPort struct {
	// Name is an IANA service name, unique within the Pod; Services may
	// refer to the port by it.
	Name string `json:"name,omitempty"`
	// HostPort, when set, forwards this port of the host to the container.
	HostPort int32 `json:"hostPort,omitempty"`
	// ContainerPort is the port number in the Pod's network namespace.
	ContainerPort int32 `json:"containerPort"`
	// Protocol is TCP (the default) or UDP.
	Protocol Protocol `json:"protocol,omitempty"`
	// HostIP is the host address to bind HostPort on.
	HostIP string `json:"hostIP,omitempty"`
}

// Protocol is a network protocol.
type Protocol string

// Protocols.
const (
	ProtocolTCP Protocol = "TCP"
	ProtocolUDP Protocol = "UDP"
)

// EnvVar is an environment variable of a container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	// ValueFrom takes the value from a ConfigMap or Secret key instead.
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// ResourceRequirements are a container's resource requests and limits.
type ResourceRequirements struct {
	Limits   ResourceList `json:"limits,omitempty"`
	Requests ResourceList `json:"requests,omitempty"`
}

// PullPolicy says when the node agent pulls a container's image.
type PullPolicy string

// Image pull policies.
const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// PodStatus is the observed state of a Pod, written by Baton.
type PodStatus struct {
	// Phase summarises the Pod's lifecycle.
	Phase PodPhase `json:"phase,omitempty"`
	// Conditions are PodScheduled, Initialized, ContainersReady and Ready.
	Conditions []PodCondition `json:"conditions,omitempty"`
	// Message and Reason explain the Pod's state when it is unusual.
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// HostIP is the address of the node the Pod runs on.
	HostIP string `json:"hostIP,omitempty"`
	// PodIP is the Pod's address; the host's for hostNetwork Pods.
	PodIP string `json:"podIP,omitempty"`
	// StartTime is when the node agent accepted the Pod.
	StartTime *Time `json:"startTime,omitempty"`
	// ContainerStatuses has one entry per container, in spec order.
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
}

// PodPhase summarises where a Pod is in its lifecycle.
type PodPhase string

// Pod phases, with Kubernetes' meanings.
const (
	// PodPending: accepted, but not every container has been started.
	PodPending PodPhase = "Pending"
	// PodRunning: bound to a node and every container has been started;
	// at least one is running or restarting.
	PodRunning PodPhase = "Running"
	// PodSucceeded: every container exited 0 and none will restart.
	PodSucceeded PodPhase = "Succeeded"
	// PodFailed: every container has exited, at least one with failure,
	// and none will restart.
	PodFailed PodPhase = "Failed"
	// PodUnknown: the Pod's state could not be obtained.
	PodUnknown PodPhase = "Unknown"
)

// PodConditionType names a Pod condition.
type PodConditionType string

// Pod conditions.
const (
	PodScheduled    PodConditionType = "PodScheduled"
	PodInitialized  PodConditionType = "Initialized"
	ContainersReady PodConditionType = "ContainersReady"
	PodReady        PodConditionType = "Ready"
)

// PodCondition is one condition of a Pod.
type PodCondition struct {
	Type               PodConditionType `json:"type"`
	Status             ConditionStatus  `json:"status"`
	LastProbeTime      Time             `json:"lastProbeTime,omitempty"`
	LastTransitionTime Time             `json:"lastTransitionTime,omitempty"`
	Reason             string           `json:"reason,omitempty"`
	Message            string           `json:"message,omitempty"`
}

// Condition returns the Pod's condition of type t, or nil.
func (s *PodStatus) Condition(t PodConditionType) *PodCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// IsReady reports whether the Pod's Ready condition is True.
func (p *Pod) IsReady() bool {
	c := p.Status.Condition(PodReady)
	return c != nil && c.Status == ConditionTrue
}

// IsTerminal reports whether the Pod has Succeeded or Failed.
func (p *Pod) IsTerminal() bool {
	return p.Status.Phase == PodSucceeded || p.Status.Phase == PodFailed
}

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name string `json:"name"`
	// State is the container's current state.
	State ContainerState `json:"state,omitempty"`
	// LastTerminationState is how the previous run ended, if it restarted.
	LastTerminationState ContainerState `json:"lastState,omitempty"`
	Ready                bool           `json:"ready"`
	// RestartCount counts restarts of the container.
	RestartCount int32  `json:"restartCount"`
	Image        string `json:"image"`
	ImageID      string `json:"imageID"`
	ContainerID  string `json:"containerID,omitempty"`
	Started      *bool  `json:"started,omitempty"`
}

// ContainerState is exactly one of waiting, running or terminated; when
// none is set the container is waiting.
type ContainerState struct {
	Waiting    *ContainerStateWaiting    `json:"waiting,omitempty"`
	Running    *ContainerStateRunning    `json:"running,omitempty"`
	Terminated *ContainerStateTerminated `json:"terminated,omitempty"`
}

// ContainerStateWaiting is a container not yet running, with the reason,
// such as ContainerCreating, ErrImagePull or CrashLoopBackOff.
type ContainerStateWaiting struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// ContainerStateRunning is a running container.
type ContainerStateRunning struct {
	StartedAt Time `json:"startedAt,omitempty"`
}

// ContainerStateTerminated is a container that exited.
type ContainerStateTerminated struct {
	ExitCode int32 `json:"exitCode"`
	Signal   int32 `json:"signal,omitempty"`
	// Reason is Completed, Error or OOMKilled.
	Reason      string `json:"reason,omitempty"`
	Message     string `json:"message,omitempty"`
	StartedAt   Time   `json:"startedAt,omitempty"`
	FinishedAt  Time   `json:"finishedAt,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
}

// PodTemplateSpec describes the Pods a controller creates.
type PodTemplateSpec struct {
	ObjectMeta `json:"metadata,omitempty"`
	Spec       PodSpec `json:"spec,omitempty"`
}
