package scheduler

import (
	"fmt"

	"github.com/batonhq/baton/api"
)

// Scheduler picks a node for a Pod: it filters the nodes of a Snapshot with
// its FilterPlugins, scores those left with its ScorePlugins and returns the
// best.
//
// A Scheduler keeps scratch buffers between calls so that Schedule does not
// allocate, so it is not safe for concurrent use: one goroutine at a time.
// Use one Scheduler per goroutine if you must schedule in parallel.
type Scheduler struct {
	filters []FilterPlugin
	scorers []WeightedScorer

	// Scratch reused by every Schedule call.
	pod     PodInfo
	reasons []reasonCount
}

type reasonCount struct {
	reason string
	nodes  int
}

// Option configures a Scheduler. Options apply in order, starting from
// DefaultFilters and DefaultScorers.
type Option func(*Scheduler)

// WithFilters replaces the filters, defaults included, with filters, which
// run in the order given. With no arguments every node passes. Filters
// added by an earlier WithExtraFilters are dropped too.
func WithFilters(filters ...FilterPlugin) Option {
	return func(s *Scheduler) { s.filters = append([]FilterPlugin(nil), filters...) }
}

// WithExtraFilters appends filters after the current ones (the defaults,
// unless an earlier WithFilters replaced them).
func WithExtraFilters(filters ...FilterPlugin) Option {
	return func(s *Scheduler) { s.filters = append(s.filters, filters...) }
}

// WithScorers replaces the scorers, defaults included, with scorers. With
// no arguments every feasible node scores 0 and the tie-break alone
// decides. Scorers added by an earlier WithExtraScorers are dropped too.
func WithScorers(scorers ...WeightedScorer) Option {
	return func(s *Scheduler) { s.scorers = append([]WeightedScorer(nil), scorers...) }
}

// WithExtraScorers appends scorers after the current ones (the defaults,
// unless an earlier WithScorers replaced them).
func WithExtraScorers(scorers ...WeightedScorer) Option {
	return func(s *Scheduler) { s.scorers = append(s.scorers, scorers...) }
}

// New returns a Scheduler with the default plugins, changed by opts. It
// panics on a nil plugin or a scorer weight below 1: those are programming
// errors.
func New(opts ...Option) *Scheduler {
	s := &Scheduler{filters: DefaultFilters(), scorers: DefaultScorers()}
	for _, opt := range opts {
		opt(s)
	}
	for _, f := range s.filters {
		if f == nil {
			panic("scheduler: nil FilterPlugin")
		}
	}
	for _, sc := range s.scorers {
		if sc.Plugin == nil {
			panic("scheduler: nil ScorePlugin")
		}
		if sc.Weight < 1 {
			panic(fmt.Sprintf("scheduler: ScorePlugin %s has weight %d, want at least 1", sc.Plugin.Name(), sc.Weight))
		}
	}
	return s
}

// Schedule returns the name of the node of snap that pod should run on. It
// neither binds the Pod nor changes snap: Assume the result into snap
// before scheduling the next Pod of a batch.
//
// Every node that passes all the filters is scored; the highest total wins,
// and ties go to the node with fewer Pods, then to the first by name, so
// the same snapshot and Pod always give the same node.
//
// When no node fits, the error is a *FitError.
//
// Some Pods are not scheduled again. A Pod whose Spec.NodeName is already
// set gets that node if snap has it, else an error matching
// api.ErrNotFound. A Pod that snap already accounts on a node (assumed
// earlier, its binding not yet seen) gets that node, so scheduling it twice
// neither moves it nor counts it twice.
func (s *Scheduler) Schedule(pod *api.Pod, snap *Snapshot) (nodeName string, err error) {
	if name := pod.Spec.NodeName; name != "" {
		if snap.Node(name) == nil {
			return "", fmt.Errorf("pod %q is bound to a node that does not exist: %w",
				keyOf(pod), api.NotFoundError(api.KindNode, "", name))
		}
		return name, nil
	}
	if name, ok := snap.NodeOf(pod); ok {
		return name, nil
	}

	s.pod = NewPodInfo(pod)
	s.reasons = s.reasons[:0]
	best, bestScore := -1, int64(-1)
	for i := range snap.nodes {
		node := &snap.nodes[i]
		if reason := s.filter(node); reason != "" {
			s.count(reason)
			continue
		}
		score := s.score(node)
		if best < 0 || score > bestScore ||
			score == bestScore && node.Requested.Pods < snap.nodes[best].Requested.Pods {
			best, bestScore = i, score
		}
	}
	s.pod.Pod = nil // do not keep the caller's Pod alive
	if best < 0 {
		return "", s.fitError(pod, len(snap.nodes))
	}
	return snap.nodes[best].Node.Name, nil
}

// filter returns the first reason a filter rejects node for, or "".
func (s *Scheduler) filter(node *NodeInfo) string {
	for _, f := range s.filters {
		if reason := f.Filter(&s.pod, node); reason != "" {
			return reason
		}
	}
	return ""
}

// score returns node's weighted score.
func (s *Scheduler) score(node *NodeInfo) int64 {
	var total int64
	for _, sc := range s.scorers {
		total += sc.Weight * min(max(sc.Plugin.Score(&s.pod, node), 0), MaxNodeScore)
	}
	return total
}

// count adds one node to reason's tally. The handful of distinct reasons
// makes a linear search cheaper than a map.
func (s *Scheduler) count(reason string) {
	for i := range s.reasons {
		if s.reasons[i].reason == reason {
			s.reasons[i].nodes++
			return
		}
	}
	s.reasons = append(s.reasons, reasonCount{reason, 1})
}

func (s *Scheduler) fitError(pod *api.Pod, numNodes int) *FitError {
	e := &FitError{Pod: keyOf(pod).String(), NumNodes: numNodes, Reasons: make(map[string]int, len(s.reasons))}
	for _, r := range s.reasons {
		e.Reasons[r.reason] = r.nodes
	}
	return e
}
