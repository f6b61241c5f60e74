package discovery_test

import (
	"slices"
	"testing"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
)

// TestEnvForKubernetesExample checks the example of Kubernetes' docs: the
// Service "redis-master" with cluster IP 10.0.0.11 and TCP port 6379.
func TestEnvForKubernetesExample(t *testing.T) {
	redis := svc("default", "redis-master", "10.0.0.11", sport("", 6379))
	got := discovery.EnvFor([]*api.Service{redis}, "default")
	want := []string{
		"REDIS_MASTER_SERVICE_HOST=10.0.0.11",
		"REDIS_MASTER_SERVICE_PORT=6379",
		"REDIS_MASTER_PORT=tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP=tcp://10.0.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP_PROTO=tcp",
		"REDIS_MASTER_PORT_6379_TCP_PORT=6379",
		"REDIS_MASTER_PORT_6379_TCP_ADDR=10.0.0.11",
	}
	if !slices.Equal(got, want) {
		t.Errorf("EnvFor =\n%q\nwant\n%q", got, want)
	}
}

func TestEnvForNamedPortsAndFilters(t *testing.T) {
	web := svc("shop", "web-front", "127.64.0.7", sport("http", 80), api.ServicePort{Name: "dns-udp", Port: 53, Protocol: api.ProtocolUDP})
	headless := svc("shop", "db", api.ClusterIPNone, sport("pg", 5432))
	pending := svc("shop", "cache", "", sport("redis", 6379))
	other := svc("default", "api", "127.64.0.8", sport("", 80))
	alpha := svc("shop", "alpha", "127.64.0.9", sport("", 8080))
	got := discovery.EnvFor([]*api.Service{web, headless, pending, other, nil, alpha}, "shop")
	want := []string{
		"ALPHA_SERVICE_HOST=127.64.0.9",
		"ALPHA_SERVICE_PORT=8080",
		"ALPHA_PORT=tcp://127.64.0.9:8080",
		"ALPHA_PORT_8080_TCP=tcp://127.64.0.9:8080",
		"ALPHA_PORT_8080_TCP_PROTO=tcp",
		"ALPHA_PORT_8080_TCP_PORT=8080",
		"ALPHA_PORT_8080_TCP_ADDR=127.64.0.9",
		"WEB_FRONT_SERVICE_HOST=127.64.0.7",
		"WEB_FRONT_SERVICE_PORT=80",
		"WEB_FRONT_SERVICE_PORT_HTTP=80",
		"WEB_FRONT_SERVICE_PORT_DNS_UDP=53",
		"WEB_FRONT_PORT=tcp://127.64.0.7:80",
		"WEB_FRONT_PORT_80_TCP=tcp://127.64.0.7:80",
		"WEB_FRONT_PORT_80_TCP_PROTO=tcp",
		"WEB_FRONT_PORT_80_TCP_PORT=80",
		"WEB_FRONT_PORT_80_TCP_ADDR=127.64.0.7",
		"WEB_FRONT_PORT_53_UDP=udp://127.64.0.7:53",
		"WEB_FRONT_PORT_53_UDP_PROTO=udp",
		"WEB_FRONT_PORT_53_UDP_PORT=53",
		"WEB_FRONT_PORT_53_UDP_ADDR=127.64.0.7",
	}
	if !slices.Equal(got, want) {
		t.Errorf("EnvFor =\n%q\nwant\n%q", got, want)
	}
	if env := discovery.EnvFor(nil, "shop"); len(env) != 0 {
		t.Errorf("EnvFor(nil) = %q", env)
	}
}
