package scheduler

// FilterPlugin decides whether a Pod may run on a node at all.
//
// Filter is called once per node for every Pod scheduled, so it must be
// cheap and must not allocate; it must not modify pod or node. It returns ""
// when the Pod fits, else a short reason phrased for the count in a
// FitError, such as "node(s) didn't match Pod's node selector" or
// "Insufficient cpu". Return the same few constant strings rather than
// building one per call: FitError counts nodes per distinct reason.
type FilterPlugin interface {
	// Name names the plugin, as in Kubernetes: "NodeResourcesFit".
	Name() string
	// Filter returns "" if pod fits node, else why not.
	Filter(pod *PodInfo, node *NodeInfo) (reason string)
}

// ScorePlugin ranks the nodes a Pod fits on.
//
// Score is called once per feasible node for every Pod scheduled, under the
// same rules as Filter: cheap, no allocation, no modification. It returns 0
// (worst) to MaxNodeScore (best); values outside are clamped.
type ScorePlugin interface {
	// Name names the plugin, as in Kubernetes: "NodeResourcesLeastAllocated".
	Name() string
	// Score rates node for pod from 0 to MaxNodeScore.
	Score(pod *PodInfo, node *NodeInfo) int64
}

// MaxNodeScore is the best score a ScorePlugin can give.
const MaxNodeScore int64 = 100

// WeightedScorer is a ScorePlugin registered with a weight: a node's score
// is the sum over scorers of Weight times the plugin's score.
type WeightedScorer struct {
	Plugin ScorePlugin
	// Weight must be at least 1.
	Weight int64
}

// DefaultFilters returns the filters a Scheduler runs unless told
// otherwise, in order: NodeUnschedulable, NodeReady, TaintToleration,
// NodeSelector and NodeResourcesFit. A node is rejected for the first
// reason found.
func DefaultFilters() []FilterPlugin {
	return []FilterPlugin{NodeUnschedulable{}, NodeReady{}, TaintToleration{}, NodeSelector{}, NodeResourcesFit{}}
}

// DefaultScorers returns the scorers a Scheduler runs unless told
// otherwise: LeastAllocated with weight 1.
func DefaultScorers() []WeightedScorer {
	return []WeightedScorer{{Plugin: LeastAllocated{}, Weight: 1}}
}
