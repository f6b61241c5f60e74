package api

import (
	"fmt"
	"net/netip"
)

// NodePort range, as in Kubernetes' default.
const (
	MinNodePort = 30000
	MaxNodePort = 32767
)

func validateService(svc *Service, errs *FieldErrors) {
	validateTypeMeta(svc.TypeMeta, KindService, errs)
	validateObjectMeta(&svc.ObjectMeta, KindService, namespaced, checkDNS1035Label, "metadata", errs)
	validateServiceSpec(&svc.Spec, "spec", errs)
}

func validateServiceSpec(spec *ServiceSpec, p fieldPath, errs *FieldErrors) {
	switch spec.Type {
	case "", ServiceTypeClusterIP, ServiceTypeNodePort:
	default:
		errs.Add(p.Child("type").String(), "unsupported value %s: Baton supports %s and %s",
			quote(string(spec.Type)), ServiceTypeClusterIP, ServiceTypeNodePort)
	}
	headless := spec.ClusterIP == ClusterIPNone
	switch {
	case spec.ClusterIP != "" && !headless:
		if detail := checkClusterIP(spec.ClusterIP); detail != "" {
			errs.Add(p.Child("clusterIP").String(), "%s", detail)
		}
	case headless && spec.Type == ServiceTypeNodePort:
		errs.Add(p.Child("clusterIP").String(), "may not be %q for a %s Service", ClusterIPNone, ServiceTypeNodePort)
	}
	if len(spec.Ports) == 0 && !headless {
		errs.Add(p.Child("ports").String(),
			"required: a Service needs at least one port unless it is headless (clusterIP: %s)", ClusterIPNone)
	}
	names := map[string]fieldPath{}
	ports := map[string]fieldPath{}
	nodePorts := map[string]fieldPath{}
	for i := range spec.Ports {
		port := &spec.Ports[i]
		pp := p.Child("ports").Index(i)
		validateServicePortName(port, len(spec.Ports) > 1, pp.Child("name"), names, errs)
		validatePortNumber(port.Port, pp.Child("port"), errs)
		validateEnum(port.Protocol, pp.Child("protocol"), errs, ProtocolTCP, ProtocolUDP)
		protocol := port.Protocol
		if protocol == "" {
			protocol = ProtocolTCP
		}
		key := fmt.Sprintf("%d/%s", port.Port, protocol)
		if first, ok := ports[key]; ok {
			errs.Add(pp.Child("port").String(), "duplicate port %s, already used by %s", key, first)
		} else {
			ports[key] = pp.Child("port")
		}
		validateTargetPort(port.TargetPort, pp.Child("targetPort"), errs)
		validateNodePort(port.NodePort, protocol, spec.Type, pp.Child("nodePort"), nodePorts, errs)
	}
	switch spec.SessionAffinity {
	case "", ServiceAffinityNone, ServiceAffinityClientIP:
	default:
		errs.Add(p.Child("sessionAffinity").String(), "unsupported value %s: must be %s or %s",
			quote(string(spec.SessionAffinity)), ServiceAffinityNone, ServiceAffinityClientIP)
	}
	validateLabels(spec.Selector, p.Child("selector"), errs)
}

// checkClusterIP returns "" when ip may be a Service's cluster IP: an IPv4
// unicast address. Whether it lies in the service CIDR is for the
// Orchestrator to say, which knows the range (see serviceip). An empty
// clusterIP asks Baton to allocate one; see docs/ARCHITECTURE.md.
func checkClusterIP(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() || addr.IsUnspecified() || addr.IsMulticast() || addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Sprintf("must be empty (Baton allocates one), %q for a headless Service, or an IPv4 address in the service CIDR, not %s",
			ClusterIPNone, quote(ip))
	}
	return ""
}

// validateServicePortName checks a Service port's name: required when the
// Service has several ports, a DNS-1123 label, and unique.
func validateServicePortName(port *ServicePort, several bool, p fieldPath, seen map[string]fieldPath, errs *FieldErrors) {
	switch {
	case port.Name == "":
		if several {
			errs.Add(p.String(), "required when a Service has more than one port")
		}
	case checkDNS1123Label(port.Name, false) != "":
		errs.Add(p.String(), "%s", dns1123LabelDetail)
	default:
		if first, ok := seen[port.Name]; ok {
			errs.Add(p.String(), "duplicate name %s, already used by %s: port names must be unique within a Service",
				quote(port.Name), first)
		} else {
			seen[port.Name] = p
		}
	}
}

// validateTargetPort checks a targetPort: a port number or the name of a
// container port. Unset (0 or "") means the Service's port.
func validateTargetPort(v IntOrString, p fieldPath, errs *FieldErrors) {
	if isUnsetIntOrString(v) {
		return
	}
	if !v.IsString {
		validatePortNumber(v.IntVal, p, errs)
		return
	}
	if detail := checkPortName(v.StrVal); detail != "" {
		errs.Add(p.String(), "must be a port number between 1 and 65535 or the name of a container port, which %s", detail)
	}
}

// validateNodePort checks a nodePort: only for NodePort Services, within
// the node port range, and unique per protocol. 0 means unset.
func validateNodePort(nodePort int32, protocol Protocol, typ ServiceType, p fieldPath, seen map[string]fieldPath, errs *FieldErrors) {
	if nodePort == 0 {
		return
	}
	if typ != ServiceTypeNodePort {
		errs.Add(p.String(), "may only be set when spec.type is %s", ServiceTypeNodePort)
		return
	}
	if nodePort < MinNodePort || nodePort > MaxNodePort {
		errs.Add(p.String(), "must be between %d and %d, not %d", MinNodePort, MaxNodePort, nodePort)
		return
	}
	key := fmt.Sprintf("%d/%s", nodePort, protocol)
	if first, ok := seen[key]; ok {
		errs.Add(p.String(), "duplicate node port %s, already used by %s", key, first)
	} else {
		seen[key] = p
	}
}
