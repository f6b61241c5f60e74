package containerd

import (
	"testing"

	"github.com/batonhq/baton/runtime"
)

// resolvConf writes only the lines it has entries for.
func TestResolvConfLines(t *testing.T) {
	for _, tc := range []struct {
		dns  runtime.DNSConfig
		want string
	}{
		{runtime.DNSConfig{}, ""},
		{runtime.DNSConfig{Servers: []string{"10.97.0.10", "fd00::a"}}, "nameserver 10.97.0.10\nnameserver fd00::a\n"},
		{runtime.DNSConfig{Searches: []string{"a.local", "b.local"}}, "search a.local b.local\n"},
		{runtime.DNSConfig{Options: []string{"ndots:2", "edns0"}}, "options ndots:2 edns0\n"},
		{
			runtime.DNSConfig{Servers: []string{"10.97.0.10"}, Searches: []string{"svc.cluster.local"}, Options: []string{"ndots:5"}},
			"nameserver 10.97.0.10\nsearch svc.cluster.local\noptions ndots:5\n",
		},
	} {
		if got := string(resolvConf(&tc.dns)); got != tc.want {
			t.Errorf("resolvConf(%+v) = %q; want %q", tc.dns, got, tc.want)
		}
	}
}
