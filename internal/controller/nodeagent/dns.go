package nodeagent

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/runtime"
)

// Limits of a resolv.conf that resolvers honour, as kubelet applies them.
const (
	maxNameservers = 3
	maxSearches    = 32
)

// DefaultClusterDomain is the cluster domain of Pods' search paths.
const DefaultClusterDomain = "cluster.local"

// DefaultHostResolvConf is where the host's resolver configuration is read
// from.
const DefaultHostResolvConf = "/etc/resolv.conf"

// podDNS returns the resolv.conf of pod's sandbox, or nil for the host's.
func (a *Agent) podDNS(pod *api.Pod) *runtime.DNSConfig {
	return resolvConfFor(pod, a.cfg.ClusterDNS, a.cfg.ClusterDomain, func() runtime.DNSConfig {
		// An unreadable file is an empty one, as for kubelet: the Pod's
		// own dnsConfig may still make it work.
		data, _ := os.ReadFile(a.cfg.HostResolvConf)
		return parseResolvConf(data)
	})
}

// resolvConfFor returns the resolv.conf of pod, or nil for the host's as
// it is; readHost reads the host's when it is needed.
func resolvConfFor(pod *api.Pod, clusterDNS netip.Addr, domain string, readHost func() runtime.DNSConfig) *runtime.DNSConfig {
	policy := effectiveDNSPolicy(pod, clusterDNS.IsValid())
	if policy == api.DNSDefault && pod.Spec.DNSConfig == nil {
		return nil
	}
	var host runtime.DNSConfig
	if policy != api.DNSNone {
		host = readHost()
	}
	return podDNSConfig(pod, policy, clusterDNS, domain, host)
}

// effectiveDNSPolicy returns how pod's resolver is configured, in
// Kubernetes' terms: ClusterFirst means Default for a host-network Pod,
// and for any Pod when there is no cluster DNS server.
func effectiveDNSPolicy(pod *api.Pod, haveClusterDNS bool) api.DNSPolicy {
	switch policy := pod.Spec.DNSPolicy; {
	case policy == api.DNSNone || policy == api.DNSDefault:
		return policy
	case !haveClusterDNS:
		return api.DNSDefault
	case policy == api.DNSClusterFirstWithHostNet:
		return api.DNSClusterFirst
	case pod.Spec.HostNetwork:
		return api.DNSDefault
	default:
		return api.DNSClusterFirst
	}
}

// podDNSConfig builds pod's resolv.conf for policy (as effectiveDNSPolicy
// returns it) from the host's and the cluster's, then adds the Pod's
// dnsConfig: nameservers and searches appended without repeats, options
// replacing those of the same name.
func podDNSConfig(pod *api.Pod, policy api.DNSPolicy, clusterDNS netip.Addr, domain string, host runtime.DNSConfig) *runtime.DNSConfig {
	var out runtime.DNSConfig
	switch policy {
	case api.DNSClusterFirst:
		out.Servers = []string{clusterDNS.String()}
		out.Searches = append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, host.Searches...)
		out.Options = []string{"ndots:5"}
	case api.DNSDefault:
		out = host
	}
	if cfg := pod.Spec.DNSConfig; cfg != nil {
		out.Servers = appendNew(out.Servers, cfg.Nameservers...)
		out.Searches = appendNew(out.Searches, cfg.Searches...)
		for _, o := range cfg.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			out.Options = slices.DeleteFunc(out.Options, func(have string) bool {
				name, _, _ := strings.Cut(have, ":")
				return name == o.Name
			})
			out.Options = append(out.Options, opt)
		}
	}
	out.Servers = out.Servers[:min(len(out.Servers), maxNameservers)]
	out.Searches = out.Searches[:min(len(out.Searches), maxSearches)]
	return &out
}

// appendNew appends the values not in list yet.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// parseResolvConf reads the nameserver, search (or domain) and options
// lines of a resolv.conf, as kubelet does: the last search or domain line
// wins, comments are skipped, and so are nameservers that are not IP
// addresses (the runtime would refuse them).
func parseResolvConf(data []byte) runtime.DNSConfig {
	var out runtime.DNSConfig
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line, _, _ = strings.Cut(line, ";")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) > 1 {
				if _, err := netip.ParseAddr(fields[1]); err == nil {
					out.Servers = append(out.Servers, fields[1])
				}
			}
		case "search", "domain":
			out.Searches = slices.Clone(fields[1:])
		case "options":
			out.Options = appendNew(out.Options, fields[1:]...)
		}
	}
	return out
}
