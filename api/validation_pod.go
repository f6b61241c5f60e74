package api

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
)

func validatePod(pod *Pod, errs *FieldErrors) {
	validateTypeMeta(pod.TypeMeta, KindPod, errs)
	validateObjectMeta(&pod.ObjectMeta, KindPod, namespaced, checkDNS1123Subdomain, "metadata", errs)
	validatePodSpec(&pod.Spec, "spec", errs)
}

// podSpecState carries what must be unique across the containers of one
// Pod, mapped to where it was first seen.
type podSpecState struct {
	containerNames map[string]fieldPath
	portNames      map[string]fieldPath
	hostPorts      map[string]fieldPath
}

// validatePodSpec checks the spec of a Pod or of a Pod template at p.
func validatePodSpec(spec *PodSpec, p fieldPath, errs *FieldErrors) {
	if len(spec.Containers) == 0 {
		errs.Add(p.Child("containers").String(), "required: a Pod needs at least one container")
	}
	state := podSpecState{
		containerNames: map[string]fieldPath{},
		portNames:      map[string]fieldPath{},
		hostPorts:      map[string]fieldPath{},
	}
	volumes := validateVolumes(spec, p, errs)
	for i := range spec.Containers {
		cp := p.Child("containers").Index(i)
		validateContainer(&spec.Containers[i], spec.HostNetwork, cp, &state, errs)
		validateContainerConfig(&spec.Containers[i], volumes, cp, errs)
	}
	validateEnum(spec.RestartPolicy, p.Child("restartPolicy"), errs,
		RestartPolicyAlways, RestartPolicyOnFailure, RestartPolicyNever)
	if g := spec.TerminationGracePeriodSeconds; g != nil {
		validateNonNegative(*g, p.Child("terminationGracePeriodSeconds"), errs)
	}
	validateLabels(spec.NodeSelector, p.Child("nodeSelector"), errs)
	validateTolerations(spec.Tolerations, p.Child("tolerations"), errs)
	validatePodDNS(spec, p, errs)
	if spec.NodeName != "" {
		if detail := checkDNS1123Subdomain(spec.NodeName, false); detail != "" {
			errs.Add(p.Child("nodeName").String(), "must be the name of a node, which %s", detail)
		}
	}
}

func validateContainer(c *Container, hostNetwork bool, p fieldPath, state *podSpecState, errs *FieldErrors) {
	namePath := p.Child("name")
	switch {
	case c.Name == "":
		errs.Required(namePath.String())
	case checkDNS1123Label(c.Name, false) != "":
		errs.Add(namePath.String(), "%s", dns1123LabelDetail)
	default:
		if first, ok := state.containerNames[c.Name]; ok {
			errs.Add(namePath.String(), "duplicate name %s, already used by %s: container names must be unique within a Pod",
				quote(c.Name), first)
		} else {
			state.containerNames[c.Name] = namePath
		}
	}
	switch {
	case c.Image == "":
		errs.Add(p.Child("image").String(), "required: the image to run, such as \"nginx:1.27\"")
	case strings.IndexFunc(c.Image, unicode.IsSpace) >= 0:
		errs.Add(p.Child("image").String(), "must not contain whitespace")
	}
	validateEnum(c.ImagePullPolicy, p.Child("imagePullPolicy"), errs, PullAlways, PullIfNotPresent, PullNever)
	for i := range c.Ports {
		validateContainerPort(&c.Ports[i], hostNetwork, p.Child("ports").Index(i), state, errs)
	}
	for i, env := range c.Env {
		ep := p.Child("env").Index(i).Child("name")
		if env.Name == "" {
			errs.Required(ep.String())
		} else if detail := checkEnvVarName(env.Name); detail != "" {
			errs.Add(ep.String(), "%s", detail)
		}
		// env.Value is never checked nor echoed: it may hold a secret.
	}
	validateResources(&c.Resources, p.Child("resources"), errs)
	validateProbes(c, p, errs)
}

func validateContainerPort(port *ContainerPort, hostNetwork bool, p fieldPath, state *podSpecState, errs *FieldErrors) {
	validatePortNumber(port.ContainerPort, p.Child("containerPort"), errs)
	if port.HostPort < 0 || port.HostPort > 65535 {
		errs.Add(p.Child("hostPort").String(), "must be 0 (none) or a port number between 1 and 65535, not %d", port.HostPort)
	}
	if hostNetwork && port.HostPort != 0 && port.HostPort != port.ContainerPort {
		errs.Add(p.Child("hostPort").String(), "must equal containerPort (%d) when hostNetwork is true", port.ContainerPort)
	}
	validateEnum(port.Protocol, p.Child("protocol"), errs, ProtocolTCP, ProtocolUDP)
	if port.Name != "" {
		namePath := p.Child("name")
		if detail := checkPortName(port.Name); detail != "" {
			errs.Add(namePath.String(), "%s", detail)
		} else if first, ok := state.portNames[port.Name]; ok {
			errs.Add(namePath.String(), "duplicate name %s, already used by %s: port names must be unique within a Pod",
				quote(port.Name), first)
		} else {
			state.portNames[port.Name] = namePath
		}
	}
	if port.HostIP != "" {
		if _, err := netip.ParseAddr(port.HostIP); err != nil {
			errs.Add(p.Child("hostIP").String(), "must be an IP address, such as \"127.0.0.1\"")
		}
	}
	if port.HostPort > 0 && port.HostPort <= 65535 {
		protocol := port.Protocol
		if protocol == "" {
			protocol = ProtocolTCP
		}
		key := fmt.Sprintf("%s/%d/%s", protocol, port.HostPort, port.HostIP)
		hostPortPath := p.Child("hostPort")
		if first, ok := state.hostPorts[key]; ok {
			errs.Add(hostPortPath.String(), "duplicate host port %d/%s, already used by %s", port.HostPort, protocol, first)
		} else {
			state.hostPorts[key] = hostPortPath
		}
	}
}

// validateResources checks a container's requests and limits: cpu and
// memory only, non-negative, and no request above its limit.
func validateResources(res *ResourceRequirements, p fieldPath, errs *FieldErrors) {
	validateContainerResourceList(res.Limits, p.Child("limits"), errs)
	validateContainerResourceList(res.Requests, p.Child("requests"), errs)
	for _, name := range sortedKeys(res.Requests) {
		request := res.Requests[name]
		limit, ok := res.Limits[name]
		if ok && request.Cmp(limit) > 0 {
			errs.Add(p.Child("requests").Key(string(name)).String(),
				"must be less than or equal to the %s limit, %s", name, quote(limit.String()))
		}
	}
}

func validateContainerResourceList(l ResourceList, p fieldPath, errs *FieldErrors) {
	for _, name := range sortedKeys(l) {
		switch name {
		case ResourceCPU, ResourceMemory:
		default:
			errs.Add(p.Key(string(name)).String(), "unsupported resource: containers may set %s and %s only",
				ResourceCPU, ResourceMemory)
		}
	}
	validateQuantities(l, p, errs)
}

// Limits of a Pod's resolver configuration, Kubernetes' and glibc's.
const (
	maxDNSNameservers  = 3
	maxDNSSearches     = 32
	maxDNSSearchLength = 2048
)

// validatePodDNS checks a Pod spec's dnsPolicy and dnsConfig.
func validatePodDNS(spec *PodSpec, p fieldPath, errs *FieldErrors) {
	validateEnum(spec.DNSPolicy, p.Child("dnsPolicy"), errs,
		DNSClusterFirst, DNSClusterFirstWithHostNet, DNSDefault, DNSNone)
	cfg := spec.DNSConfig
	cp := p.Child("dnsConfig")
	if spec.DNSPolicy == DNSNone && (cfg == nil || len(cfg.Nameservers) == 0) {
		errs.Add(cp.Child("nameservers").String(), "required when dnsPolicy is %s: at least one nameserver", DNSNone)
	}
	if cfg == nil {
		return
	}
	if len(cfg.Nameservers) > maxDNSNameservers {
		errs.Add(cp.Child("nameservers").String(), "must have at most %d nameservers, not %d", maxDNSNameservers, len(cfg.Nameservers))
	}
	for i, ns := range cfg.Nameservers {
		if _, err := netip.ParseAddr(ns); err != nil {
			errs.Add(cp.Child("nameservers").Index(i).String(), "must be an IP address, not %s", quote(ns))
		}
	}
	if len(cfg.Searches) > maxDNSSearches {
		errs.Add(cp.Child("searches").String(), "must have at most %d search domains, not %d", maxDNSSearches, len(cfg.Searches))
	}
	total := 0
	for i, search := range cfg.Searches {
		total += len(search) + 1
		if detail := checkDNS1123Subdomain(strings.TrimSuffix(search, "."), false); detail != "" {
			errs.Add(cp.Child("searches").Index(i).String(), "must be a domain name, which %s", detail)
		}
	}
	if total > maxDNSSearchLength {
		errs.Add(cp.Child("searches").String(), "must be at most %d characters in all, not %d", maxDNSSearchLength, total)
	}
	for i, o := range cfg.Options {
		if o.Name == "" {
			errs.Required(cp.Child("options").Index(i).Child("name").String())
		} else if strings.IndexFunc(o.Name, unicode.IsSpace) >= 0 || strings.Contains(o.Name, ":") {
			errs.Add(cp.Child("options").Index(i).Child("name").String(), "must be an option name such as ndots, without spaces or colons")
		}
		if o.Value != nil && strings.IndexFunc(*o.Value, unicode.IsSpace) >= 0 {
			errs.Add(cp.Child("options").Index(i).Child("value").String(), "must not contain whitespace")
		}
	}
}
