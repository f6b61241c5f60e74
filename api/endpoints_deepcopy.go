package api

import "slices"

// DeepCopy returns a copy of s that shares no memory with it.
func (s *EndpointSlice) DeepCopy() *EndpointSlice {
	if s == nil {
		return nil
	}
	out := *s
	s.ObjectMeta.deepCopyInto(&out.ObjectMeta)
	if s.Endpoints != nil {
		out.Endpoints = make([]Endpoint, len(s.Endpoints))
		for i := range s.Endpoints {
			out.Endpoints[i] = s.Endpoints[i].DeepCopy()
		}
	}
	if s.Ports != nil {
		out.Ports = make([]EndpointPort, len(s.Ports))
		for i, p := range s.Ports {
			out.Ports[i] = EndpointPort{
				Name:        copyPtr(p.Name),
				Protocol:    copyPtr(p.Protocol),
				Port:        copyPtr(p.Port),
				AppProtocol: copyPtr(p.AppProtocol),
			}
		}
	}
	return &out
}

// DeepCopyObject implements Object.
func (s *EndpointSlice) DeepCopyObject() Object { return s.DeepCopy() }

// DeepCopy returns a copy of e that shares no memory with it.
func (e Endpoint) DeepCopy() Endpoint {
	return Endpoint{
		Addresses: slices.Clone(e.Addresses),
		Conditions: EndpointConditions{
			Ready:       copyPtr(e.Conditions.Ready),
			Serving:     copyPtr(e.Conditions.Serving),
			Terminating: copyPtr(e.Conditions.Terminating),
		},
		Hostname:  copyPtr(e.Hostname),
		TargetRef: copyPtr(e.TargetRef),
		NodeName:  copyPtr(e.NodeName),
		Zone:      copyPtr(e.Zone),
	}
}
