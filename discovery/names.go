package discovery

import "strings"

// ParseServiceName splits a Service name, "<service>.<namespace>"
// optionally followed by ".svc" or ".svc.<cluster domain>" and a final
// dot, in any case, into its namespace and name (lower-cased). It reports
// false for anything else. It does not check that the Service exists.
func (r *Resolver) ParseServiceName(host string) (namespace, name string, ok bool) {
	host = trimDot(lower(host))
	name, rest, found := strings.Cut(host, ".")
	if !found || name == "" {
		return "", "", false
	}
	namespace, rest, found = strings.Cut(rest, ".")
	if namespace == "" {
		return "", "", false
	}
	if !found {
		return namespace, name, true
	}
	if rest == "svc" || rest == "svc."+r.domain {
		return namespace, name, true
	}
	return "", "", false
}

// lower lower-cases s, allocating only when s has an upper-case letter.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }
