package api

import "slices"

// This file holds the deep copies of every type. Each copies exactly the
// fields that hold references (maps, slices, pointers); a new field of such
// a type must be added here, and TestDeepCopyCoversEveryField fails until it
// is.

// DeepCopy returns a copy of m that shares no memory with it.
func (m *ObjectMeta) DeepCopy() *ObjectMeta {
	out := *m
	m.deepCopyInto(&out)
	return &out
}

func (m *ObjectMeta) deepCopyInto(out *ObjectMeta) {
	out.DeletionTimestamp = copyPtr(m.DeletionTimestamp)
	out.DeletionGracePeriodSeconds = copyPtr(m.DeletionGracePeriodSeconds)
	out.Labels = copyStringMap(m.Labels)
	out.Annotations = copyStringMap(m.Annotations)
	if m.OwnerReferences != nil {
		out.OwnerReferences = make([]OwnerReference, len(m.OwnerReferences))
		for i, ref := range m.OwnerReferences {
			ref.Controller = copyPtr(ref.Controller)
			ref.BlockOwnerDeletion = copyPtr(ref.BlockOwnerDeletion)
			out.OwnerReferences[i] = ref
		}
	}
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// DeepCopy returns a copy of p that shares no memory with it.
func (p *Pod) DeepCopy() *Pod {
	if p == nil {
		return nil
	}
	out := *p
	p.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec = *p.Spec.DeepCopy()
	out.Status = *p.Status.DeepCopy()
	return &out
}

// DeepCopyObject implements Object.
func (p *Pod) DeepCopyObject() Object { return p.DeepCopy() }

// DeepCopy returns a copy of s that shares no memory with it.
func (s *PodSpec) DeepCopy() *PodSpec {
	out := *s
	if s.Containers != nil {
		out.Containers = make([]Container, len(s.Containers))
		for i := range s.Containers {
			out.Containers[i] = *s.Containers[i].DeepCopy()
		}
	}
	out.TerminationGracePeriodSeconds = copyPtr(s.TerminationGracePeriodSeconds)
	out.EnableServiceLinks = copyPtr(s.EnableServiceLinks)
	out.NodeSelector = copyStringMap(s.NodeSelector)
	out.Tolerations = copyTolerations(s.Tolerations)
	if s.Volumes != nil {
		out.Volumes = make([]Volume, len(s.Volumes))
		for i, v := range s.Volumes {
			out.Volumes[i] = *v.DeepCopy()
		}
	}
	if s.DNSConfig != nil {
		out.DNSConfig = s.DNSConfig.DeepCopy()
	}
	return &out
}

// DeepCopy returns a copy of v that shares no memory with it.
func (v *Volume) DeepCopy() *Volume {
	out := *v
	if c := v.ConfigMap; c != nil {
		cp := *c
		cp.Items = copyKeyToPaths(c.Items)
		cp.DefaultMode, cp.Optional = copyPtr(c.DefaultMode), copyPtr(c.Optional)
		out.ConfigMap = &cp
	}
	if s := v.Secret; s != nil {
		cp := *s
		cp.Items = copyKeyToPaths(s.Items)
		cp.DefaultMode, cp.Optional = copyPtr(s.DefaultMode), copyPtr(s.Optional)
		out.Secret = &cp
	}
	if e := v.EmptyDir; e != nil {
		cp := *e
		cp.SizeLimit = copyPtr(e.SizeLimit)
		out.EmptyDir = &cp
	}
	if h := v.HostPath; h != nil {
		cp := *h
		cp.Type = copyPtr(h.Type)
		out.HostPath = &cp
	}
	return &out
}

func copyKeyToPaths(items []KeyToPath) []KeyToPath {
	if items == nil {
		return nil
	}
	out := make([]KeyToPath, len(items))
	for i, it := range items {
		it.Mode = copyPtr(it.Mode)
		out[i] = it
	}
	return out
}

// DeepCopy returns a copy of c that shares no memory with it.
func (c *ConfigMap) DeepCopy() *ConfigMap {
	if c == nil {
		return nil
	}
	out := *c
	c.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Data = copyStringMap(c.Data)
	out.BinaryData = copyBytesMap(c.BinaryData)
	out.Immutable = copyPtr(c.Immutable)
	return &out
}

// DeepCopyObject implements Object.
func (c *ConfigMap) DeepCopyObject() Object { return c.DeepCopy() }

// DeepCopy returns a copy of s that shares no memory with it.
func (s *Secret) DeepCopy() *Secret {
	if s == nil {
		return nil
	}
	out := *s
	s.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Data = copyBytesMap(s.Data)
	out.StringData = copyStringMap(s.StringData)
	out.Immutable = copyPtr(s.Immutable)
	return &out
}

// DeepCopyObject implements Object.
func (s *Secret) DeepCopyObject() Object { return s.DeepCopy() }

func copyBytesMap(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// DeepCopy returns a copy of c that shares no memory with it.
func (c *Container) DeepCopy() *Container {
	out := *c
	out.Command = slices.Clone(c.Command)
	out.Args = slices.Clone(c.Args)
	out.Ports = slices.Clone(c.Ports)
	if c.Env != nil {
		out.Env = make([]EnvVar, len(c.Env))
		for i, e := range c.Env {
			if e.ValueFrom != nil {
				vf := EnvVarSource{}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					cp := *r
					cp.Optional = copyPtr(r.Optional)
					vf.ConfigMapKeyRef = &cp
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					cp := *r
					cp.Optional = copyPtr(r.Optional)
					vf.SecretKeyRef = &cp
				}
				e.ValueFrom = &vf
			}
			out.Env[i] = e
		}
	}
	if c.EnvFrom != nil {
		out.EnvFrom = make([]EnvFromSource, len(c.EnvFrom))
		for i, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				cp := *e.ConfigMapRef
				cp.Optional = copyPtr(cp.Optional)
				e.ConfigMapRef = &cp
			}
			if e.SecretRef != nil {
				cp := *e.SecretRef
				cp.Optional = copyPtr(cp.Optional)
				e.SecretRef = &cp
			}
			out.EnvFrom[i] = e
		}
	}
	out.VolumeMounts = slices.Clone(c.VolumeMounts)
	out.Resources.Limits = c.Resources.Limits.DeepCopy()
	out.Resources.Requests = c.Resources.Requests.DeepCopy()
	out.LivenessProbe = c.LivenessProbe.DeepCopy()
	out.ReadinessProbe = c.ReadinessProbe.DeepCopy()
	out.StartupProbe = c.StartupProbe.DeepCopy()
	if c.Lifecycle != nil {
		l := Lifecycle{PostStart: c.Lifecycle.PostStart.DeepCopy(), PreStop: c.Lifecycle.PreStop.DeepCopy()}
		out.Lifecycle = &l
	}
	return &out
}

// DeepCopy returns a copy of p that shares no memory with it.
func (p *Probe) DeepCopy() *Probe {
	if p == nil {
		return nil
	}
	out := *p
	out.Exec = p.Exec.DeepCopy()
	out.HTTPGet = p.HTTPGet.DeepCopy()
	out.TCPSocket = copyPtr(p.TCPSocket)
	return &out
}

// DeepCopy returns a copy of h that shares no memory with it.
func (h *LifecycleHandler) DeepCopy() *LifecycleHandler {
	if h == nil {
		return nil
	}
	out := *h
	out.Exec = h.Exec.DeepCopy()
	out.HTTPGet = h.HTTPGet.DeepCopy()
	out.Sleep = copyPtr(h.Sleep)
	return &out
}

// DeepCopy returns a copy of e that shares no memory with it.
func (e *ExecAction) DeepCopy() *ExecAction {
	if e == nil {
		return nil
	}
	return &ExecAction{Command: slices.Clone(e.Command)}
}

// DeepCopy returns a copy of g that shares no memory with it.
func (g *HTTPGetAction) DeepCopy() *HTTPGetAction {
	if g == nil {
		return nil
	}
	out := *g
	out.HTTPHeaders = slices.Clone(g.HTTPHeaders)
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s *PodStatus) DeepCopy() *PodStatus {
	out := *s
	out.Conditions = slices.Clone(s.Conditions)
	out.StartTime = copyPtr(s.StartTime)
	if s.ContainerStatuses != nil {
		out.ContainerStatuses = make([]ContainerStatus, len(s.ContainerStatuses))
		for i, cs := range s.ContainerStatuses {
			cs.State = cs.State.DeepCopy()
			cs.LastTerminationState = cs.LastTerminationState.DeepCopy()
			cs.Started = copyPtr(cs.Started)
			out.ContainerStatuses[i] = cs
		}
	}
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s ContainerState) DeepCopy() ContainerState {
	return ContainerState{
		Waiting:    copyPtr(s.Waiting),
		Running:    copyPtr(s.Running),
		Terminated: copyPtr(s.Terminated),
	}
}

// DeepCopy returns a copy of t that shares no memory with it.
func (t *PodTemplateSpec) DeepCopy() *PodTemplateSpec {
	out := *t
	t.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec = *t.Spec.DeepCopy()
	return &out
}

// DeepCopy returns a copy of d that shares no memory with it.
func (d *Deployment) DeepCopy() *Deployment {
	if d == nil {
		return nil
	}
	out := *d
	d.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec = *d.Spec.DeepCopy()
	out.Status.Conditions = slices.Clone(d.Status.Conditions)
	return &out
}

// DeepCopyObject implements Object.
func (d *Deployment) DeepCopyObject() Object { return d.DeepCopy() }

// DeepCopy returns a copy of s that shares no memory with it.
func (s *DeploymentSpec) DeepCopy() *DeploymentSpec {
	out := *s
	out.Replicas = copyPtr(s.Replicas)
	out.Selector = s.Selector.DeepCopy()
	out.Template = *s.Template.DeepCopy()
	if s.Strategy.RollingUpdate != nil {
		ru := *s.Strategy.RollingUpdate
		ru.MaxSurge = copyPtr(ru.MaxSurge)
		ru.MaxUnavailable = copyPtr(ru.MaxUnavailable)
		out.Strategy.RollingUpdate = &ru
	}
	out.RevisionHistoryLimit = copyPtr(s.RevisionHistoryLimit)
	out.ProgressDeadlineSeconds = copyPtr(s.ProgressDeadlineSeconds)
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s *Service) DeepCopy() *Service {
	if s == nil {
		return nil
	}
	out := *s
	s.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec.Ports = slices.Clone(s.Spec.Ports)
	out.Spec.Selector = copyStringMap(s.Spec.Selector)
	return &out
}

// DeepCopyObject implements Object.
func (s *Service) DeepCopyObject() Object { return s.DeepCopy() }

// DeepCopy returns a copy of n that shares no memory with it.
func (n *Namespace) DeepCopy() *Namespace {
	if n == nil {
		return nil
	}
	out := *n
	n.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	return &out
}

// DeepCopyObject implements Object.
func (n *Namespace) DeepCopyObject() Object { return n.DeepCopy() }

// DeepCopy returns a copy of n that shares no memory with it.
func (n *Node) DeepCopy() *Node {
	if n == nil {
		return nil
	}
	out := *n
	n.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec.Taints = copyTaints(n.Spec.Taints)
	out.Status.Capacity = n.Status.Capacity.DeepCopy()
	out.Status.Allocatable = n.Status.Allocatable.DeepCopy()
	out.Status.Conditions = slices.Clone(n.Status.Conditions)
	out.Status.Addresses = slices.Clone(n.Status.Addresses)
	return &out
}

// DeepCopyObject implements Object.
func (n *Node) DeepCopyObject() Object { return n.DeepCopy() }

// DeepCopy returns a copy of e that shares no memory with it.
func (e *Event) DeepCopy() *Event {
	if e == nil {
		return nil
	}
	out := *e
	e.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	return &out
}

// DeepCopyObject implements Object.
func (e *Event) DeepCopyObject() Object { return e.DeepCopy() }

// DeepCopy returns a copy of rs that shares no memory with it.
func (rs *ReplicaSet) DeepCopy() *ReplicaSet {
	if rs == nil {
		return nil
	}
	out := *rs
	rs.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec.Replicas = copyPtr(rs.Spec.Replicas)
	out.Spec.Selector = rs.Spec.Selector.DeepCopy()
	out.Spec.Template = *rs.Spec.Template.DeepCopy()
	return &out
}

// DeepCopyObject implements Object.
func (rs *ReplicaSet) DeepCopyObject() Object { return rs.DeepCopy() }

// DeepCopy returns a copy of h that shares no memory with it.
func (h *HorizontalPodAutoscaler) DeepCopy() *HorizontalPodAutoscaler {
	if h == nil {
		return nil
	}
	out := *h
	h.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	out.Spec.MinReplicas = copyPtr(h.Spec.MinReplicas)
	if h.Spec.Metrics != nil {
		out.Spec.Metrics = make([]MetricSpec, len(h.Spec.Metrics))
		for i, m := range h.Spec.Metrics {
			if m.Resource != nil {
				r := *m.Resource
				r.Target.AverageUtilization = copyPtr(r.Target.AverageUtilization)
				r.Target.AverageValue = copyPtr(r.Target.AverageValue)
				m.Resource = &r
			}
			out.Spec.Metrics[i] = m
		}
	}
	if b := h.Spec.Behavior; b != nil {
		nb := HorizontalPodAutoscalerBehavior{}
		for _, pair := range []struct{ in, out **HPAScalingRules }{{&b.ScaleUp, &nb.ScaleUp}, {&b.ScaleDown, &nb.ScaleDown}} {
			if *pair.in != nil {
				r := **pair.in
				r.StabilizationWindowSeconds = copyPtr(r.StabilizationWindowSeconds)
				r.SelectPolicy = copyPtr(r.SelectPolicy)
				r.Policies = slices.Clone(r.Policies)
				*pair.out = &r
			}
		}
		out.Spec.Behavior = &nb
	}
	out.Status.ObservedGeneration = copyPtr(h.Status.ObservedGeneration)
	out.Status.LastScaleTime = copyPtr(h.Status.LastScaleTime)
	if h.Status.CurrentMetrics != nil {
		out.Status.CurrentMetrics = make([]MetricStatus, len(h.Status.CurrentMetrics))
		for i, m := range h.Status.CurrentMetrics {
			if m.Resource != nil {
				r := *m.Resource
				r.Current.AverageUtilization = copyPtr(r.Current.AverageUtilization)
				r.Current.AverageValue = copyPtr(r.Current.AverageValue)
				m.Resource = &r
			}
			out.Status.CurrentMetrics[i] = m
		}
	}
	out.Status.Conditions = slices.Clone(h.Status.Conditions)
	return &out
}

// DeepCopyObject implements Object.
func (h *HorizontalPodAutoscaler) DeepCopyObject() Object { return h.DeepCopy() }

// DeepCopy returns a copy of c that shares no memory with it.
func (c *PodDNSConfig) DeepCopy() *PodDNSConfig {
	out := &PodDNSConfig{Nameservers: slices.Clone(c.Nameservers), Searches: slices.Clone(c.Searches)}
	if c.Options != nil {
		out.Options = make([]PodDNSConfigOption, len(c.Options))
		for i, o := range c.Options {
			out.Options[i] = PodDNSConfigOption{Name: o.Name, Value: copyPtr(o.Value)}
		}
	}
	return out
}
