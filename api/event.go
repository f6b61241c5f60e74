package api

// Event records something that happened to an object, like a line of
// "kubectl get events": a Pod was scheduled, a container started or crashed.
// Repeats of the same event are folded into one with a count.
type Event struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	// InvolvedObject is the object the event is about.
	InvolvedObject ObjectReference `json:"involvedObject"`
	// Reason is a short CamelCase cause, such as Scheduled or BackOff.
	Reason string `json:"reason,omitempty"`
	// Message is a human-readable description.
	Message string `json:"message,omitempty"`
	// Source is the component that reported the event.
	Source EventSource `json:"source,omitempty"`
	// FirstTimestamp and LastTimestamp bound the repeats folded into this
	// event; Count is their number.
	FirstTimestamp Time  `json:"firstTimestamp,omitempty"`
	LastTimestamp  Time  `json:"lastTimestamp,omitempty"`
	Count          int32 `json:"count,omitempty"`
	// Type is Normal or Warning.
	Type string `json:"type,omitempty"`
}

// ObjectKind returns "Event".
func (*Event) ObjectKind() string { return KindEvent }

// EventSource names the component and node that reported an event.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}

// Event types.
const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"
)
