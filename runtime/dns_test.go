package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batonhq/baton/runtime"
)

func TestDNSConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		dns   *runtime.DNSConfig
		names string // what the error names; "" when valid
	}{
		{nil, ""},
		{&runtime.DNSConfig{}, ""},
		{&runtime.DNSConfig{
			Servers:  []string{"10.97.0.10", "fd00::a", "fe80::1%eth0"},
			Searches: []string{"default.svc.cluster.local", "cluster.local."},
			Options:  []string{"ndots:5", "edns0", "timeout:2"},
		}, ""},
		{&runtime.DNSConfig{Servers: []string{"10.97.0.10", "kube-dns"}}, "DNS.Servers[1]"},
		{&runtime.DNSConfig{Servers: []string{""}}, "DNS.Servers[0]"},
		{&runtime.DNSConfig{Servers: []string{"10.97.0.10:53"}}, "DNS.Servers[0]"},
		{&runtime.DNSConfig{Servers: []string{"10.97.0.10\n"}}, "DNS.Servers[0]"},
		{&runtime.DNSConfig{Searches: []string{"a", ""}}, "DNS.Searches[1]"},
		{&runtime.DNSConfig{Searches: []string{"a b"}}, "DNS.Searches[0]"},
		{&runtime.DNSConfig{Searches: []string{"a\nnameserver 192.0.2.1"}}, "DNS.Searches[0]"},
		{&runtime.DNSConfig{Options: []string{"ndots:5", "edns0\ttimeout:1"}}, "DNS.Options[1]"},
	} {
		err := tc.dns.Validate()
		switch {
		case tc.names == "" && err != nil:
			t.Errorf("Validate(%+v) = %v; want nil", tc.dns, err)
		case tc.names != "" && (!errors.Is(err, runtime.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.names)):
			t.Errorf("Validate(%+v) = %v; want an error matching ErrInvalidArgument naming %s", tc.dns, err, tc.names)
		}
	}
}
