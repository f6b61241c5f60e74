package api

import (
	"net/netip"
)

// Limits of an EndpointSlice, as in Kubernetes.
const (
	maxEndpointsPerSliceValid = 1000
	maxAddressesPerEndpoint   = 100
	maxPortsPerSlice          = 100
)

// validateEndpointSlice checks an EndpointSlice with Kubernetes' rules,
// with two differences:
//
//   - loopback addresses are valid endpoints (Kubernetes refuses them):
//     Baton's fake Pods and cluster IPs live on 127.0.0.0/8;
//   - the LabelManagedBy value EndpointSliceControllerName is refused, as
//     Kubernetes does not: it marks the slices Baton's endpoints controller
//     keeps, and a slice that claimed it would be rewritten or deleted by
//     that controller. The controller writes its slices to the store
//     itself, never through this check.
func validateEndpointSlice(s *EndpointSlice, errs *FieldErrors) {
	validateTypeMeta(s.TypeMeta, KindEndpointSlice, errs)
	validateObjectMeta(&s.ObjectMeta, KindEndpointSlice, namespaced, checkDNS1123Subdomain, "metadata", errs)
	if s.Labels[LabelManagedBy] == EndpointSliceControllerName {
		errs.Add(fieldPath("metadata.labels").Key(LabelManagedBy).String(),
			"value %s is reserved for Baton's endpoints controller, which keeps the slices of Services with a selector: "+
				"leave the label out of slices you write, or name your own controller",
			quote(EndpointSliceControllerName))
	}
	switch s.AddressType {
	case AddressTypeIPv4, AddressTypeIPv6:
	case "":
		errs.Add("addressType", "required: %s or %s", AddressTypeIPv4, AddressTypeIPv6)
	default:
		errs.Add("addressType", "unsupported value %s: Baton supports %s and %s", quote(string(s.AddressType)),
			AddressTypeIPv4, AddressTypeIPv6)
	}
	if len(s.Endpoints) > maxEndpointsPerSliceValid {
		errs.Add("endpoints", "must have at most %d endpoints, not %d: split them over several slices",
			maxEndpointsPerSliceValid, len(s.Endpoints))
	}
	for i := range s.Endpoints {
		validateEndpoint(&s.Endpoints[i], s.AddressType, fieldPath("endpoints").Index(i), errs)
	}
	if len(s.Ports) > maxPortsPerSlice {
		errs.Add("ports", "must have at most %d ports, not %d", maxPortsPerSlice, len(s.Ports))
	}
	names := map[string]fieldPath{}
	for i, port := range s.Ports {
		pp := fieldPath("ports").Index(i)
		name := port.PortName()
		if name != "" {
			if detail := checkDNS1123Label(name, false); detail != "" {
				errs.Add(pp.Child("name").String(), "%s", detail)
			}
		}
		if first, ok := names[name]; ok {
			errs.Add(pp.Child("name").String(), "duplicate name %s, already used by %s: port names must be unique within a slice",
				quote(name), first)
		} else {
			names[name] = pp.Child("name")
		}
		if port.Protocol != nil {
			validateEnum(*port.Protocol, pp.Child("protocol"), errs, ProtocolTCP, ProtocolUDP)
		}
		if port.Port != nil {
			validatePortNumber(*port.Port, pp.Child("port"), errs)
		}
		if port.AppProtocol != nil {
			if detail := checkQualifiedName(*port.AppProtocol); detail != "" {
				errs.Add(pp.Child("appProtocol").String(), "%s", detail)
			}
		}
	}
}

func validateEndpoint(ep *Endpoint, family AddressType, p fieldPath, errs *FieldErrors) {
	switch n := len(ep.Addresses); {
	case n == 0:
		errs.Add(p.Child("addresses").String(), "required: an endpoint needs at least one address")
	case n > maxAddressesPerEndpoint:
		errs.Add(p.Child("addresses").String(), "must have at most %d addresses, not %d", maxAddressesPerEndpoint, n)
	}
	for j, a := range ep.Addresses {
		addr, err := netip.ParseAddr(a)
		switch {
		case err != nil || addr.Zone() != "":
			errs.Add(p.Child("addresses").Index(j).String(), "must be an IP address, not %s", quote(a))
		case family == AddressTypeIPv4 && !addr.Is4():
			errs.Add(p.Child("addresses").Index(j).String(), "must be an IPv4 address in a slice of addressType %s, not %s", family, quote(a))
		case family == AddressTypeIPv6 && (!addr.Is6() || addr.Is4In6()):
			errs.Add(p.Child("addresses").Index(j).String(), "must be an IPv6 address in a slice of addressType %s, not %s", family, quote(a))
		case addr.IsUnspecified():
			errs.Add(p.Child("addresses").Index(j).String(), "must not be the unspecified address %s", quote(a))
		case addr.IsLinkLocalUnicast():
			errs.Add(p.Child("addresses").Index(j).String(), "must not be in the link-local range (169.254.0.0/16, fe80::/10), not %s", quote(a))
		case addr.IsLinkLocalMulticast():
			errs.Add(p.Child("addresses").Index(j).String(), "must not be in the link-local multicast range (224.0.0.0/24, ff02::/16), not %s", quote(a))
		}
	}
	if ep.Hostname != nil {
		if detail := checkDNS1123Label(*ep.Hostname, false); detail != "" {
			errs.Add(p.Child("hostname").String(), "%s", detail)
		}
	}
	if ep.NodeName != nil {
		if detail := checkDNS1123Subdomain(*ep.NodeName, false); detail != "" {
			errs.Add(p.Child("nodeName").String(), "%s", detail)
		}
	}
}

// validateEndpointSliceUpdate reports what Kubernetes forbids an update of
// an EndpointSlice to change: its addressType.
func validateEndpointSliceUpdate(oldSlice, newSlice *EndpointSlice, errs *FieldErrors) {
	if newSlice.AddressType != oldSlice.AddressType {
		errs.Add("addressType", "cannot be changed from %s to %s: create a new slice for the other address family",
			quote(string(oldSlice.AddressType)), quote(string(newSlice.AddressType)))
	}
}
