package deployment

import (
	"math"
	"testing"

	"github.com/batonhq/baton/api"
)

func TestFencepostsNeverOverflow(t *testing.T) {
	v := func(s string) *api.IntOrString { x := api.FromString(s); return &x }
	n := func(i int32) *api.IntOrString { x := api.FromInt(i); return &x }
	cases := []struct {
		name              string
		replicas          int32
		surge, unavail    *api.IntOrString
		wantSurge, wantUn int32
	}{
		{"defaults round surge up, unavailable down", 10, v("25%"), v("25%"), 3, 2},
		{"both zero: one may be unavailable", 10, n(0), v("0%"), 0, 1},
		{"unavailable rounds down to zero, surge saves it", 3, v("0%"), v("25%"), 0, 1},
		{"zero replicas", 0, v("25%"), v("25%"), 0, 0},
		{"unavailable is at most replicas", 4, n(1), n(10), 1, 4},
		{"surge over 100% is allowed, as in Kubernetes", 10, v("250%"), n(0), 25, 0},
		{"the largest integer surge", 10, n(math.MaxInt32), n(0), math.MaxInt32 - 10, 0},
		{"the largest percentage", 10, v("2147483647%"), n(1), 214748365, 1},
		{"replicas at the limit leave no room to surge", math.MaxInt32, v("25%"), v("25%"), 0, math.MaxInt32 / 4},
		{"exact for large products", 2000000000, v("100%"), v("99%"), 147483647, 1980000000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &api.Deployment{Spec: api.DeploymentSpec{
				Replicas: &c.replicas,
				Strategy: api.DeploymentStrategy{Type: api.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &api.RollingUpdateDeployment{MaxSurge: c.surge, MaxUnavailable: c.unavail}},
			}}
			surge, unavailable := fenceposts(d)
			if surge != c.wantSurge || unavailable != c.wantUn {
				t.Errorf("fenceposts = %d, %d; want %d, %d", surge, unavailable, c.wantSurge, c.wantUn)
			}
			if int64(c.replicas)+int64(surge) > math.MaxInt32 {
				t.Errorf("replicas + surge = %d overflows int32", int64(c.replicas)+int64(surge))
			}
		})
	}
}
