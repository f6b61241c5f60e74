package fake

import (
	"slices"

	"github.com/batonhq/baton/runtime"
)

// labelSet holds labels flat, as key, value, key, value, … It is built once
// and never mutated, so it may be shared between goroutines. A few labels
// take half the memory of a map and one allocation instead of two, which
// matters with hundreds of thousands of simulated containers.
type labelSet []string

// appendLabels appends m to buf as a labelSet and returns buf and the set;
// the set is nil when m is empty.
func appendLabels(buf []string, m map[string]string) ([]string, labelSet) {
	if len(m) == 0 {
		return buf, nil
	}
	start := len(buf)
	for k, v := range m {
		buf = append(buf, k, v)
	}
	return buf, labelSet(buf[start:len(buf):len(buf)])
}

// toMap returns a new map of the labels, or nil when there are none.
func (l labelSet) toMap() map[string]string {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]string, len(l)/2)
	for i := 0; i < len(l); i += 2 {
		m[l[i]] = l[i+1]
	}
	return m
}

// get returns the value of key.
func (l labelSet) get(key string) (string, bool) {
	for i := 0; i < len(l); i += 2 {
		if l[i] == key {
			return l[i+1], true
		}
	}
	return "", false
}

// match reports whether l holds every key and value of filter, like
// runtime.MatchLabels.
func (l labelSet) match(filter map[string]string) bool {
	for k, v := range filter {
		if got, ok := l.get(k); !ok || got != v {
			return false
		}
	}
	return true
}

// appendStrings appends src to buf and returns buf and the appended part,
// capped so that appending to it cannot overwrite what follows. A nil src
// gives a nil part, so nil and empty survive a round trip.
func appendStrings(buf, src []string) ([]string, []string) {
	if src == nil {
		return buf, nil
	}
	start := len(buf)
	buf = append(buf, src...)
	return buf, buf[start:len(buf):len(buf)]
}

// ownContainerConfig returns a copy of in that shares no memory with it,
// with Labels moved to the returned labelSet (the copy's Labels is nil).
// All of its strings slices share one allocation.
func ownContainerConfig(in runtime.ContainerConfig) (runtime.ContainerConfig, labelSet) {
	out := in
	buf := make([]string, 0, len(in.Command)+len(in.Args)+len(in.Env)+2*len(in.Labels))
	buf, out.Command = appendStrings(buf, in.Command)
	buf, out.Args = appendStrings(buf, in.Args)
	buf, out.Env = appendStrings(buf, in.Env)
	_, labels := appendLabels(buf, in.Labels)
	out.Labels = nil
	out.Mounts = slices.Clone(in.Mounts)
	return out, labels
}
