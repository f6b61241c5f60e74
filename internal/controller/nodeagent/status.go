package nodeagent

import (
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/runtime"
)

// Waiting reasons the agent reports, as kubelet does.
const (
	reasonContainerCreating = "ContainerCreating"
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
)

// statusInput is what a Pod's status is computed from.
type statusInput struct {
	pod     *api.Pod
	prev    *api.PodStatus
	sandbox *sandboxRecord // nil when none is ready
	rt      *podRuntime
	// waiting says why a container that is not running is not, when the
	// agent knows better than "ContainerCreating".
	waiting     map[string]*api.ContainerStateWaiting
	hostIP      string
	runtimeName string
	now         time.Time
	// probed says whether a running container has started and is ready,
	// as its probes decide.
	probed func(containerID string, c *api.Container) (started, ready bool)
}

// buildStatus computes a Pod's status from the runtime's state, following
// kubelet's rules for container states, phase and conditions.
func buildStatus(in statusInput) *api.PodStatus {
	spec := &in.pod.Spec
	st := &api.PodStatus{
		HostIP:            in.hostIP,
		StartTime:         in.prev.StartTime,
		ContainerStatuses: make([]api.ContainerStatus, len(spec.Containers)),
	}
	if st.StartTime == nil {
		st.StartTime = api.NewTimePtr(in.now)
	}
	switch {
	case spec.HostNetwork:
		st.PodIP = in.hostIP
	case in.sandbox != nil:
		st.PodIP = in.sandbox.ip
	}
	for i := range spec.Containers {
		st.ContainerStatuses[i] = in.containerStatus(&spec.Containers[i])
	}
	st.Phase = podPhase(spec.RestartPolicy, st.ContainerStatuses)
	st.Conditions = in.conditions(st)
	return st
}

func (in statusInput) containerStatus(c *api.Container) api.ContainerStatus {
	cs := api.ContainerStatus{Name: c.Name, Image: c.Image}
	var attempts []containerRecord
	if in.sandbox != nil {
		attempts = in.rt.attempts(in.sandbox.id, c.Name)
	}
	waiting := in.waiting[c.Name]
	if len(attempts) == 0 {
		if waiting == nil {
			waiting = &api.ContainerStateWaiting{Reason: reasonContainerCreating}
		}
		cs.State.Waiting = waiting
		return cs
	}
	latest := attempts[0]
	cs.RestartCount = int32(latest.attempt)
	cs.ContainerID = in.runtimeName + "://" + latest.id
	cs.ImageID = latest.imageID
	if len(attempts) > 1 && attempts[1].state == runtime.ContainerExited {
		cs.LastTerminationState.Terminated = in.terminated(attempts[1])
	}
	switch latest.state {
	case runtime.ContainerRunning:
		cs.State.Running = &api.ContainerStateRunning{StartedAt: api.NewTime(latest.startedAt.time())}
		started, ready := true, true
		if in.probed != nil {
			started, ready = in.probed(latest.id, c)
		}
		cs.Ready = ready
		cs.Started = &started
	case runtime.ContainerExited:
		term := in.terminated(latest)
		if waiting != nil {
			// It will run again: show why it waits, and how it last ended.
			cs.State.Waiting = waiting
			cs.LastTerminationState = api.ContainerState{Terminated: term}
		} else {
			cs.State.Terminated = term
		}
		started := false
		cs.Started = &started
	default:
		if waiting == nil {
			waiting = &api.ContainerStateWaiting{Reason: reasonContainerCreating}
		}
		cs.State.Waiting = waiting
	}
	return cs
}

func (in statusInput) terminated(c containerRecord) *api.ContainerStateTerminated {
	return &api.ContainerStateTerminated{
		ExitCode:    c.exitCode,
		Reason:      c.reason,
		Message:     c.message,
		StartedAt:   api.NewTime(c.startedAt.time()),
		FinishedAt:  api.NewTime(c.finishedAt.time()),
		ContainerID: in.runtimeName + "://" + c.id,
	}
}

// podPhase follows kubelet's getPhase.
func podPhase(policy api.RestartPolicy, statuses []api.ContainerStatus) api.PodPhase {
	var waiting, running, stopped, succeeded int
	for _, cs := range statuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++ // waiting to restart
			if cs.LastTerminationState.Terminated.ExitCode == 0 {
				succeeded++
			}
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return api.PodPending
	case running > 0:
		return api.PodRunning
	case stopped > 0:
		switch policy {
		case api.RestartPolicyAlways:
			return api.PodRunning
		case api.RestartPolicyOnFailure:
			if stopped == succeeded {
				return api.PodSucceeded
			}
			return api.PodRunning
		default:
			if stopped == succeeded {
				return api.PodSucceeded
			}
			return api.PodFailed
		}
	}
	return api.PodPending
}

func (in statusInput) conditions(st *api.PodStatus) []api.PodCondition {
	var unready []string
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	ready := api.PodCondition{Type: api.ContainersReady, Status: api.ConditionTrue}
	if len(unready) > 0 {
		ready.Status, ready.Reason = api.ConditionFalse, "ContainersNotReady"
		ready.Message = fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		if st.Phase == api.PodSucceeded || st.Phase == api.PodFailed {
			ready.Reason, ready.Message = "PodCompleted", ""
		}
	}
	podReady := ready
	podReady.Type = api.PodReady
	conds := []api.PodCondition{
		{Type: api.PodInitialized, Status: api.ConditionTrue},
		ready,
		podReady,
	}
	if sched := in.prev.Condition(api.PodScheduled); sched != nil {
		conds = append([]api.PodCondition{*sched}, conds...)
	}
	for i := range conds {
		if conds[i].Type == api.PodScheduled {
			continue
		}
		conds[i].LastTransitionTime = api.NewTime(in.now)
		if old := in.prev.Condition(conds[i].Type); old != nil && old.Status == conds[i].Status {
			conds[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return conds
}
