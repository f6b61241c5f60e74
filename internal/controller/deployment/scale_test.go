package deployment

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/batonhq/baton/api"
)

// rsOf returns an active ReplicaSet of size replicas, created at minute
// created, last scaled when the Deployment's replicas + maxSurge was
// maxReplicas (0: no annotation).
func rsOf(name string, replicas int32, created int, maxReplicas int32) *api.ReplicaSet {
	rs := &api.ReplicaSet{
		ObjectMeta: api.ObjectMeta{
			Name:              name,
			CreationTimestamp: api.NewTime(time.Date(2026, 1, 1, 0, created, 0, 0, time.UTC)),
			Annotations:       map[string]string{},
		},
		Spec: api.ReplicaSetSpec{Replicas: &replicas},
	}
	if maxReplicas > 0 {
		rs.Annotations[api.AnnotationMaxReplicas] = strconv.Itoa(int(maxReplicas))
	}
	return rs
}

// The sizes are worked out by hand from Kubernetes' scale and
// GetReplicaSetProportion; each case says how.
func TestProportionalSizesFollowKubernetes(t *testing.T) {
	cases := []struct {
		name          string
		rss           []*api.ReplicaSet
		want, surge   int32
		status        int32
		expectedSizes []int32
	}{
		{
			// allowed 23, toAdd 23-13 = 10. Largest first: old takes
			// round(8*23/13) - 8 = round(14.15) - 8 = 6, new takes
			// round(5*23/13) - 5 = round(8.85) - 5 = 4, no leftover.
			name: "stalled rollout 8+5 of 10 scaled to 20",
			rss:  []*api.ReplicaSet{rsOf("old", 8, 0, 13), rsOf("new", 5, 1, 13)},
			want: 20, surge: 3, expectedSizes: []int32{14, 9},
		},
		{
			// allowed 13, toAdd 13-23 = -10. Largest first: old gives
			// round(14*13/23) - 14 = 8 - 14 = -6, new round(9*13/23) - 9
			// = 5 - 9 = -4, no leftover.
			name: "and back to 10",
			rss:  []*api.ReplicaSet{rsOf("old", 14, 0, 23), rsOf("new", 9, 1, 23)},
			want: 10, surge: 3, expectedSizes: []int32{8, 5},
		},
		{
			// allowed 11, toAdd 1. Equal sizes, growing: the newer
			// first, round(5*11/10) - 5 = round(5.5) - 5 = 1; nothing
			// is left for the older.
			name: "growing ties go to the newer",
			rss:  []*api.ReplicaSet{rsOf("a", 5, 0, 10), rsOf("b", 5, 1, 10)},
			want: 11, surge: 0, expectedSizes: []int32{5, 6},
		},
		{
			// allowed 9, toAdd -1. Equal sizes, shrinking: the older
			// first, round(5*9/10) - 5 = round(4.5) - 5 = 0 (half away
			// from zero), the newer the same; the leftover -1 goes to the
			// first in order, the older.
			name: "shrinking ties take from the older",
			rss:  []*api.ReplicaSet{rsOf("a", 5, 0, 10), rsOf("b", 5, 1, 10)},
			want: 9, surge: 0, expectedSizes: []int32{4, 5},
		},
		{
			// Same creation time: the name decides, as in
			// ReplicaSetsByCreationTimestamp; "a" is older.
			name: "creation ties go by name",
			rss:  []*api.ReplicaSet{rsOf("b", 5, 0, 10), rsOf("a", 5, 0, 10)},
			want: 9, surge: 0, expectedSizes: []int32{5, 4},
		},
		{
			// allowed 10, toAdd 10-12 = -2. Largest first, v2 (6) gives
			// round(6*10/12) - 6 = -1, v3 (4) gives round(4*10/12) - 4 =
			// round(3.33) - 4 = -1, and nothing is left for v1 (2).
			name: "three replica sets shrink largest first",
			rss:  []*api.ReplicaSet{rsOf("v1", 2, 0, 12), rsOf("v2", 6, 1, 12), rsOf("v3", 4, 2, 12)},
			want: 8, surge: 2, expectedSizes: []int32{2, 5, 3},
		},
		{
			// allowed 14, toAdd 14-7 = 7. Largest first: 3 (newer of the
			// two 3s, v3) takes round(3*14/7) - 3 = 3, v1 takes 3, v2 (1)
			// takes round(1*14/7) - 1 = 1.
			name: "three replica sets double",
			rss:  []*api.ReplicaSet{rsOf("v1", 3, 0, 7), rsOf("v2", 1, 1, 7), rsOf("v3", 3, 2, 7)},
			want: 12, surge: 2, expectedSizes: []int32{6, 2, 6},
		},
		{
			// allowed 9, toAdd 9-6 = 3. Equal sizes, growing: the newer
			// takes round(3*9/6) - 3 = round(4.5) - 3 = 2, the older
			// would too but only 1 is left.
			name: "rounding up never gives more than toAdd",
			rss:  []*api.ReplicaSet{rsOf("old", 3, 0, 6), rsOf("new", 3, 1, 6)},
			want: 9, surge: 0, expectedSizes: []int32{4, 5},
		},
		{
			// allowed 7, toAdd 7-3 = 4: 2 takes round(2*7/4) - 2 =
			// round(3.5) - 2 = 2, 1 takes round(1*7/4) - 1 =
			// round(1.75) - 1 = 1; the leftover 1 goes to the largest.
			name: "the leftover goes to the largest",
			rss:  []*api.ReplicaSet{rsOf("old", 2, 0, 4), rsOf("new", 1, 1, 4)},
			want: 6, surge: 1, expectedSizes: []int32{5, 2},
		},
		{
			// No max-replicas annotation: status.replicas (3) stands in.
			// allowed 6, toAdd 3: 2 takes round(2*6/3) - 2 = 2, 1 takes
			// round(1*6/3) - 1 = 1.
			name: "without the annotation status.replicas is the base",
			rss:  []*api.ReplicaSet{rsOf("old", 2, 0, 0), rsOf("new", 1, 1, 0)},
			want: 6, surge: 0, status: 3, expectedSizes: []int32{4, 2},
		},
		{
			// Neither the annotation nor a status: no fraction, so the
			// whole change is leftover for the largest.
			name: "without annotation or status the largest takes it all",
			rss:  []*api.ReplicaSet{rsOf("old", 2, 0, 0), rsOf("new", 1, 1, 0)},
			want: 6, surge: 0, expectedSizes: []int32{5, 1},
		},
		{
			name: "scaled to zero",
			rss:  []*api.ReplicaSet{rsOf("old", 8, 0, 13), rsOf("new", 5, 1, 13)},
			want: 0, surge: 3, expectedSizes: []int32{0, 0},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := proportionalSizes(c.rss, c.want, c.surge, c.status)
			if fmt.Sprint(got) != fmt.Sprint(c.expectedSizes) {
				t.Errorf("sizes %v, want %v", got, c.expectedSizes)
			}
		})
	}
}
