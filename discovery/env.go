package discovery

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/batonhq/baton/api"
)

// EnvFor returns the environment variables, as "NAME=value" pairs, that
// Kubernetes' kubelet gives a new container about the Services of its
// namespace, with Kubernetes' exact names and order: for a Service "web"
// with cluster IP 127.64.0.7 and port 80 named "http",
//
//	WEB_SERVICE_HOST=127.64.0.7
//	WEB_SERVICE_PORT=80
//	WEB_SERVICE_PORT_HTTP=80
//	WEB_PORT=tcp://127.64.0.7:80
//	WEB_PORT_80_TCP=tcp://127.64.0.7:80
//	WEB_PORT_80_TCP_PROTO=tcp
//	WEB_PORT_80_TCP_PORT=80
//	WEB_PORT_80_TCP_ADDR=127.64.0.7
//
// Names are upper-cased with '-' turned into '_'. Only Services in
// namespace count, and only those with a cluster IP: headless Services and
// Services still waiting for their address are left out. Services are
// taken in name order; services is not modified. A container's own
// variables take precedence over these: the caller appends them after.
func EnvFor(services []*api.Service, namespace string) []string {
	var in []*api.Service
	for _, svc := range services {
		if svc != nil && svc.Namespace == namespace && serviceIPSet(svc) && len(svc.Spec.Ports) > 0 {
			in = append(in, svc)
		}
	}
	slices.SortFunc(in, func(a, b *api.Service) int { return cmp.Compare(a.Name, b.Name) })
	var env []string
	for _, svc := range in {
		prefix := envName(svc.Name)
		ip := svc.Spec.ClusterIP
		env = append(env,
			prefix+"_SERVICE_HOST="+ip,
			prefix+"_SERVICE_PORT="+strconv.Itoa(int(svc.Spec.Ports[0].Port)))
		for _, sp := range svc.Spec.Ports {
			if sp.Name != "" {
				env = append(env, prefix+"_SERVICE_PORT_"+envName(sp.Name)+"="+strconv.Itoa(int(sp.Port)))
			}
		}
		for i, sp := range svc.Spec.Ports {
			protocol := string(sp.Protocol)
			if protocol == "" {
				protocol = string(api.ProtocolTCP)
			}
			port := strconv.Itoa(int(sp.Port))
			url := strings.ToLower(protocol) + "://" + net.JoinHostPort(ip, port)
			if i == 0 {
				env = append(env, prefix+"_PORT="+url) // Docker links special-case the first port
			}
			portPrefix := prefix + "_PORT_" + port + "_" + strings.ToUpper(protocol)
			env = append(env,
				portPrefix+"="+url,
				portPrefix+"_PROTO="+strings.ToLower(protocol),
				portPrefix+"_PORT="+port,
				portPrefix+"_ADDR="+ip)
		}
	}
	return env
}

// serviceIPSet reports whether svc has a cluster IP, as Kubernetes'
// IsServiceIPSet does.
func serviceIPSet(svc *api.Service) bool {
	return svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != api.ClusterIPNone
}

// envName is Kubernetes' makeEnvVariableName: upper case, '-' to '_'.
func envName(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
}
