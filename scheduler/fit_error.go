package scheduler

import (
	"slices"
	"strconv"
	"strings"

	"github.com/batonhq/baton/api"
)

// FitError is Schedule's error when no node can take the Pod. Find it with
// errors.As; it also matches api.ErrFailedPrecondition under errors.Is. It
// is not permanent: the Pod may fit once nodes are added or freed, so the
// caller should mark the Pod unschedulable and try again on the next change.
type FitError struct {
	// Pod is the Pod's "namespace/name".
	Pod string
	// NumNodes is the number of nodes considered.
	NumNodes int
	// Reasons counts, for each reason a filter gave, the nodes it rejected.
	Reasons map[string]int
}

// Error returns Kubernetes' wording, such as "0/3 nodes are available: 2
// Insufficient cpu, 1 node(s) didn't match Pod's node selector.", with the
// reasons sorted by their text.
func (e *FitError) Error() string {
	var b strings.Builder
	b.WriteString("0/")
	b.WriteString(strconv.Itoa(e.NumNodes))
	b.WriteString(" nodes are available")
	if e.NumNodes == 0 {
		b.WriteString(": no nodes available to schedule pods")
	}
	reasons := make([]string, 0, len(e.Reasons))
	for reason := range e.Reasons {
		reasons = append(reasons, reason)
	}
	slices.Sort(reasons)
	for i, reason := range reasons {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(e.Reasons[reason]))
		b.WriteByte(' ')
		b.WriteString(reason)
	}
	b.WriteByte('.')
	return b.String()
}

// Is makes errors.Is(err, api.ErrFailedPrecondition) true: the Pod is well
// formed, but the cluster has no room for it now.
func (e *FitError) Is(target error) bool { return target == api.ErrFailedPrecondition }
