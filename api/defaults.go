package api

import "strings"

// Default values Baton fills in, the same as Kubernetes'.
const (
	// DefaultTerminationGracePeriodSeconds is a Pod's default grace period.
	DefaultTerminationGracePeriodSeconds int64 = 30
	// DefaultReplicas is a Deployment's default replica count.
	DefaultReplicas int32 = 1
	// DefaultRevisionHistoryLimit is how many old revisions a Deployment
	// keeps by default.
	DefaultRevisionHistoryLimit int32 = 10
	// DefaultProgressDeadlineSeconds is a Deployment's default progress
	// deadline.
	DefaultProgressDeadlineSeconds int32 = 600
	// DefaultMaxSurge and DefaultMaxUnavailable bound a rolling update
	// whose rollingUpdate block leaves them unset.
	DefaultMaxSurge       = "25%"
	DefaultMaxUnavailable = "25%"
)

// SetDefaults fills, in place, the fields of obj that Kubernetes defaults
// and the object leaves unset: apiVersion and kind for every kind, and the
// spec defaults of Pods (see SetPodSpecDefaults), Deployments (see
// SetDeploymentSpecDefaults) and Services (see SetServiceSpecDefaults),
// and the port defaults of EndpointSlices (see SetEndpointSliceDefaults).
// As in Kubernetes, a Pod's container that sets a limit but no request for
// a resource gets a request equal to the limit; Pod templates do not, so
// Pods made from a template must go through SetDefaults too. Fields
// already set are never changed, so SetDefaults is idempotent. It does not validate; call
// Validate afterwards. obj must be the caller's own copy, never an object
// shared with the store. A nil obj, or an Object of a kind this package
// does not define, is left alone.
func SetDefaults(obj Object) {
	switch o := obj.(type) {
	case *Pod:
		if o == nil {
			return
		}
		setTypeMeta(&o.TypeMeta, KindPod)
		SetPodSpecDefaults(&o.Spec)
		setRequestsFromLimits(&o.Spec)
	case *Deployment:
		if o == nil {
			return
		}
		setTypeMeta(&o.TypeMeta, KindDeployment)
		SetDeploymentSpecDefaults(&o.Spec)
	case *Service:
		if o == nil {
			return
		}
		setTypeMeta(&o.TypeMeta, KindService)
		SetServiceSpecDefaults(&o.Spec)
	case *Namespace:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindNamespace)
		}
	case *Node:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindNode)
		}
	case *Event:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindEvent)
		}
	case *ConfigMap:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindConfigMap)
		}
	case *Secret:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindSecret)
			if o.Type == "" {
				o.Type = SecretTypeOpaque
			}
			o.MergeStringData()
		}
	case *ReplicaSet:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindReplicaSet)
			SetReplicaSetSpecDefaults(&o.Spec)
		}
	case *HorizontalPodAutoscaler:
		if o != nil {
			setTypeMeta(&o.TypeMeta, KindHorizontalPodAutoscaler)
			SetHPASpecDefaults(&o.Spec)
		}
	case *EndpointSlice:
		if o != nil {
			SetEndpointSliceDefaults(o)
		}
	}
}

func setTypeMeta(tm *TypeMeta, kind string) {
	if tm.APIVersion == "" {
		tm.APIVersion = APIVersionOf(kind)
	}
	if tm.Kind == "" {
		tm.Kind = kind
	}
}

// SetPodSpecDefaults fills the unset fields of a Pod spec or Pod template
// spec: restartPolicy Always, terminationGracePeriodSeconds 30, and for each
// container its imagePullPolicy (Always for an untagged image or one tagged
// ":latest", else IfNotPresent) and each port's protocol (TCP).
func SetPodSpecDefaults(spec *PodSpec) {
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = RestartPolicyAlways
	}
	if spec.TerminationGracePeriodSeconds == nil {
		grace := DefaultTerminationGracePeriodSeconds
		spec.TerminationGracePeriodSeconds = &grace
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = defaultPullPolicy(c.Image)
		}
		for j := range c.Ports {
			if c.Ports[j].Protocol == "" {
				c.Ports[j].Protocol = ProtocolTCP
			}
		}
		SetProbeDefaults(c.LivenessProbe)
		SetProbeDefaults(c.ReadinessProbe)
		SetProbeDefaults(c.StartupProbe)
		if c.Lifecycle != nil {
			for _, h := range []*LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
				if h != nil && h.HTTPGet != nil {
					if h.HTTPGet.Path == "" {
						h.HTTPGet.Path = "/"
					}
					if h.HTTPGet.Scheme == "" {
						h.HTTPGet.Scheme = URISchemeHTTP
					}
				}
			}
		}
	}
}

// setRequestsFromLimits copies each limit with no matching request into the
// requests, as Kubernetes does for Pods (not for Pod templates): a container
// that states only a limit is scheduled as requesting that much.
func setRequestsFromLimits(spec *PodSpec) {
	for i := range spec.Containers {
		res := &spec.Containers[i].Resources
		for name, limit := range res.Limits {
			if _, ok := res.Requests[name]; ok {
				continue
			}
			if res.Requests == nil {
				res.Requests = make(ResourceList, len(res.Limits))
			}
			res.Requests[name] = limit
		}
	}
}

// defaultPullPolicy is Always for an image with neither tag nor digest, or
// tagged "latest", and IfNotPresent otherwise. A registry port such as the
// "5000" of "host:5000/img" is not a tag.
func defaultPullPolicy(image string) PullPolicy {
	if strings.Contains(image, "@") {
		return PullIfNotPresent // pinned by digest
	}
	lastPart := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(lastPart, ":")
	if i < 0 || lastPart[i+1:] == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

// SetDeploymentSpecDefaults fills the unset fields of a Deployment spec:
// replicas 1; strategy RollingUpdate, whose maxSurge and maxUnavailable
// default to 25% (a Recreate strategy gets no rollingUpdate block);
// revisionHistoryLimit 10; progressDeadlineSeconds 600; and the Pod template
// spec as SetPodSpecDefaults does.
func SetDeploymentSpecDefaults(spec *DeploymentSpec) {
	if spec.Replicas == nil {
		replicas := DefaultReplicas
		spec.Replicas = &replicas
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxSurge == nil {
			v := FromString(DefaultMaxSurge)
			ru.MaxSurge = &v
		}
		if ru.MaxUnavailable == nil {
			v := FromString(DefaultMaxUnavailable)
			ru.MaxUnavailable = &v
		}
	}
	if spec.RevisionHistoryLimit == nil {
		limit := DefaultRevisionHistoryLimit
		spec.RevisionHistoryLimit = &limit
	}
	if spec.ProgressDeadlineSeconds == nil {
		deadline := DefaultProgressDeadlineSeconds
		spec.ProgressDeadlineSeconds = &deadline
	}
	SetPodSpecDefaults(&spec.Template.Spec)
}

// SetServiceSpecDefaults fills the unset fields of a Service spec: type
// ClusterIP, sessionAffinity None, and for each port protocol TCP and
// targetPort equal to port.
func SetServiceSpecDefaults(spec *ServiceSpec) {
	if spec.Type == "" {
		spec.Type = ServiceTypeClusterIP
	}
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = ServiceAffinityNone
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		if isUnsetIntOrString(p.TargetPort) {
			p.TargetPort = FromInt(p.Port)
		}
	}
}

// isUnsetIntOrString reports whether v is 0 or "", which Kubernetes treats
// as not set.
func isUnsetIntOrString(v IntOrString) bool {
	if v.IsString {
		return v.StrVal == ""
	}
	return v.IntVal == 0
}
