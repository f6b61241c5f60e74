package runtime

// Labels the node agent puts on every sandbox and container it makes, so a
// restarted agent finds and adopts what is already running. Keys under
// LabelPrefix belong to Baton: runtimes must drop any that an image's own
// labels try to set.
const (
	LabelPrefix        = "io.baton."
	LabelPodNamespace  = "io.baton.pod.namespace"
	LabelPodName       = "io.baton.pod.name"
	LabelPodUID        = "io.baton.pod.uid"
	LabelContainerName = "io.baton.container.name"
	// LabelContainerHash is a hash of the container's spec; a container
	// whose hash no longer matches its Pod is replaced.
	LabelContainerHash = "io.baton.container.hash"
)

// MatchLabels reports whether labels holds every key and value of filter.
func MatchLabels(labels, filter map[string]string) bool {
	for k, v := range filter {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
