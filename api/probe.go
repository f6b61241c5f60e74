package api

// Probe checks a container's health, as Kubernetes' probes do: exactly one
// handler (exec, httpGet or tcpSocket) runs every periodSeconds after
// initialDelaySeconds; failureThreshold failures in a row mark it failed,
// successThreshold successes in a row mark it succeeded.
type Probe struct {
	ProbeHandler `json:",inline"`
	// InitialDelaySeconds waits after the container starts before the
	// first probe; the default is 0.
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	// TimeoutSeconds bounds one probe; the default is 1.
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// PeriodSeconds is the interval between probes; the default is 10.
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
	// SuccessThreshold is the successes in a row needed after a failure;
	// the default is 1, and liveness and startup probes must use 1.
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
	// FailureThreshold is the failures in a row that fail the probe; the
	// default is 3.
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
}

// ProbeHandler is the action of a probe: exactly one field is set.
type ProbeHandler struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`
}

// ExecAction runs a command in the container; exit code 0 is success.
type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

// HTTPGetAction sends an HTTP GET to the Pod; a status from 200 to 399 is
// success.
type HTTPGetAction struct {
	// Path is the request path; the default is "/".
	Path string `json:"path,omitempty"`
	// Port is a number or the name of a container port.
	Port IntOrString `json:"port"`
	// Host defaults to the Pod's IP.
	Host string `json:"host,omitempty"`
	// Scheme is HTTP (the default) or HTTPS.
	Scheme URIScheme `json:"scheme,omitempty"`
	// HTTPHeaders are added to the request.
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// URIScheme is HTTP or HTTPS.
type URIScheme string

// URI schemes.
const (
	URISchemeHTTP  URIScheme = "HTTP"
	URISchemeHTTPS URIScheme = "HTTPS"
)

// HTTPHeader is one header of an HTTP probe.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction opens a TCP connection to the Pod; connecting is success.
type TCPSocketAction struct {
	// Port is a number or the name of a container port.
	Port IntOrString `json:"port"`
	// Host defaults to the Pod's IP.
	Host string `json:"host,omitempty"`
}

// Lifecycle holds actions the node agent runs when a container starts and
// before it stops.
type Lifecycle struct {
	// PostStart runs right after the container starts; if it fails, the
	// container is killed and restarted per the restart policy.
	PostStart *LifecycleHandler `json:"postStart,omitempty"`
	// PreStop runs before the container is sent SIGTERM, within the
	// termination grace period.
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is the action of a lifecycle hook: exactly one field is
// set.
type LifecycleHandler struct {
	Exec    *ExecAction    `json:"exec,omitempty"`
	HTTPGet *HTTPGetAction `json:"httpGet,omitempty"`
	// Sleep pauses, as Kubernetes' sleep action does.
	Sleep *SleepAction `json:"sleep,omitempty"`
}

// SleepAction waits for a while.
type SleepAction struct {
	Seconds int64 `json:"seconds"`
}

// Probe defaults, as in Kubernetes.
const (
	DefaultProbeTimeoutSeconds   int32 = 1
	DefaultProbePeriodSeconds    int32 = 10
	DefaultProbeSuccessThreshold int32 = 1
	DefaultProbeFailureThreshold int32 = 3
)

// SetProbeDefaults fills a probe's unset timing fields.
func SetProbeDefaults(p *Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = DefaultProbeTimeoutSeconds
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = DefaultProbePeriodSeconds
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = DefaultProbeSuccessThreshold
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = DefaultProbeFailureThreshold
	}
	if g := p.HTTPGet; g != nil {
		if g.Path == "" {
			g.Path = "/"
		}
		if g.Scheme == "" {
			g.Scheme = URISchemeHTTP
		}
	}
}
