package fake

import (
	"io"
	"maps"
	"strings"
	"time"

	"github.com/batonhq/baton/runtime"
)

// Behavior scripts what the containers chosen by a Matcher do. The zero
// Behavior is a well-behaved container: it starts at once, runs until
// stopped, stops at once on SIGTERM, prints nothing, answers every exec with
// exit code 0 and uses no resources.
type Behavior struct {
	// StartDelay makes StartContainer block that long on the clock before
	// the container runs: a slow start. It returns early with an error
	// wrapping ctx.Err() if ctx ends first, leaving the container Created.
	// A second StartContainer of the same container meanwhile fails with
	// runtime.ErrFailedPrecondition.
	StartDelay time.Duration

	// FailStart, when set, is called on each StartContainer of a matching
	// container (after StartDelay) with n, the 1-based count of start
	// attempts of containers that this rule decided, this one included. A
	// non-nil error fails that start: StartContainer returns it wrapped,
	// and the container becomes Exited with exit code 128, reason Error and
	// the error's text as its message. "Fail the third start" is
	// func(n int) error { if n == 3 { return errBoom }; return nil }.
	// It runs with the fake's lock held: it must not call the Runtime.
	FailStart func(n int) error

	// Exit, when set, makes the container exit by itself once Exit.After
	// has passed on the clock since it started.
	Exit *Exit

	// IgnoreSIGTERM is a container that hangs on stop: StopContainer waits
	// out the whole grace period on the clock and then kills the container
	// (exit code 137, reason Error).
	// Without it, SIGTERM stops the container at once with exit code 143,
	// reason Error. Either way a grace of zero or less kills at once with
	// 137, as SIGKILL.
	IgnoreSIGTERM bool

	// Output holds log lines the container writes when it starts, one
	// line each; a trailing newline is dropped. The fake copies them; the
	// caller may reuse the slice.
	Output []string

	// Exec, when set, answers Exec in the container: it receives the
	// command and the caller's writers (io.Discard for nil ones) and
	// returns the exit code. The default exits 0 with no output. It runs
	// without the fake's lock held, so it may block or call the Runtime.
	Exec func(cmd []string, stdout, stderr io.Writer) int

	// Serve, when set, makes the container run these real network servers
	// on its sandbox IP while it runs; see Server and serve.go for the
	// lifecycle. The sandbox IP must be a loopback address
	// (WithPodCIDR(LoopbackPodCIDR)).
	Serve []Server

	// Usage, when set, answers ContainerStats: it receives the time the
	// container has been running, on the clock. A zero Timestamp in its
	// result is set to the clock's now. The default reports zero usage.
	// SetStats overrides it. It runs without the fake's lock held.
	Usage func(elapsed time.Duration) runtime.Stats
}

// Exit is a container's exit by itself.
type Exit struct {
	// After is how long after its start the container exits, measured on
	// the clock by a timer, not a goroutine. Zero or less exits at once,
	// before StartContainer returns (the ContainerStarted event still comes
	// first).
	After time.Duration
	// Code is the exit code.
	Code int32
	// Reason is the exit reason: runtime.ReasonCompleted,
	// runtime.ReasonError or runtime.ReasonOOMKilled. Empty means Completed
	// for code 0 and Error otherwise.
	Reason string
}

// Matcher chooses containers by the config they were created from. The
// config is a copy that the matcher may keep. Matchers run with the fake's
// lock held: they must be quick and must not call the Runtime.
type Matcher func(runtime.ContainerConfig) bool

// ByImage matches containers whose image ref is ref.
func ByImage(ref string) Matcher {
	return func(c runtime.ContainerConfig) bool { return c.Image == ref }
}

// ByName matches containers named containerName (ContainerConfig.Name).
func ByName(containerName string) Matcher {
	return func(c runtime.ContainerConfig) bool { return c.Name == containerName }
}

// ByLabels matches containers whose labels include every key and value of
// labels. It copies labels.
func ByLabels(labels map[string]string) Matcher {
	labels = maps.Clone(labels)
	return func(c runtime.ContainerConfig) bool { return runtime.MatchLabels(c.Labels, labels) }
}

// rule is one SetBehavior call.
type rule struct {
	match    Matcher
	behavior Behavior
	// attempts counts StartContainer calls of containers this rule
	// decided; guarded by Runtime.mu.
	attempts int
}

// SetBehavior makes b the behavior of the containers match accepts. Rules
// are consulted newest first, and the first that matches decides a
// container's whole Behavior: rules do not combine field by field, so to
// script two things for one container, set both fields in one Behavior. A
// container that no rule matches has the zero Behavior.
//
// A rule is looked up when it is needed — at StartContainer for StartDelay,
// FailStart, Exit and Output; at StopContainer for IgnoreSIGTERM; at each
// Exec and ContainerStats — so a new rule also changes existing containers
// from their next such call. An exit already scheduled is not cancelled.
//
// A nil match matches every container. b is copied, but the functions in
// it are shared and may be called concurrently for different containers.
func (r *Runtime) SetBehavior(match Matcher, b Behavior) {
	if match == nil {
		match = func(runtime.ContainerConfig) bool { return true }
	}
	output := make([]string, len(b.Output))
	for i, line := range b.Output {
		output[i] = strings.TrimSuffix(line, "\n")
	}
	b.Output = output
	if b.Exit != nil {
		exit := *b.Exit
		b.Exit = &exit
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, &rule{match: match, behavior: b})
	r.rulesGen++
}

// ruleLocked returns the rule deciding c's behavior, or nil. The answer is
// cached on c until SetBehavior adds a rule, so matchers run about once per
// container.
func (r *Runtime) ruleLocked(c *container) *rule {
	if c.ruleGen == r.rulesGen {
		return c.rule
	}
	c.rule, c.ruleGen = nil, r.rulesGen
	if len(r.rules) == 0 {
		return nil
	}
	cfg := c.configCopy()
	for i := len(r.rules) - 1; i >= 0; i-- {
		if r.rules[i].match(cfg) {
			c.rule = r.rules[i]
			break
		}
	}
	return c.rule
}

// behaviorLocked returns c's Behavior.
func (r *Runtime) behaviorLocked(c *container) Behavior {
	if rl := r.ruleLocked(c); rl != nil {
		return rl.behavior
	}
	return Behavior{}
}

// exitReason returns reason, or the default reason for code.
func exitReason(code int32, reason string) string {
	switch {
	case reason != "":
		return reason
	case code == 0:
		return runtime.ReasonCompleted
	default:
		return runtime.ReasonError
	}
}
