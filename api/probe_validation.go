package api

import "slices"

// validateProbes checks a container's probes and lifecycle hooks.
func validateProbes(c *Container, p fieldPath, errs *FieldErrors) {
	for _, probe := range []struct {
		name          string
		probe         *Probe
		oneSuccessNow bool // liveness and startup probes need successThreshold 1
	}{
		{"livenessProbe", c.LivenessProbe, true},
		{"readinessProbe", c.ReadinessProbe, false},
		{"startupProbe", c.StartupProbe, true},
	} {
		if probe.probe == nil {
			continue
		}
		validateProbe(c, probe.probe, probe.oneSuccessNow, p.Child(probe.name), errs)
	}
	if l := c.Lifecycle; l != nil {
		for _, hook := range []struct {
			name    string
			handler *LifecycleHandler
		}{{"postStart", l.PostStart}, {"preStop", l.PreStop}} {
			if hook.handler != nil {
				validateLifecycleHandler(c, hook.handler, p.Child("lifecycle").Child(hook.name), errs)
			}
		}
	}
}

func validateProbe(c *Container, probe *Probe, oneSuccess bool, p fieldPath, errs *FieldErrors) {
	handlers := 0
	if probe.Exec != nil {
		handlers++
		validateExec(probe.Exec, p.Child("exec"), errs)
	}
	if probe.HTTPGet != nil {
		handlers++
		validateHTTPGet(c, probe.HTTPGet, p.Child("httpGet"), errs)
	}
	if probe.TCPSocket != nil {
		handlers++
		validateProbePort(c, probe.TCPSocket.Port, p.Child("tcpSocket").Child("port"), errs)
	}
	switch handlers {
	case 0:
		errs.Add(p.String(), "must have exactly one handler: exec, httpGet or tcpSocket")
	case 1:
	default:
		errs.Add(p.String(), "may not have more than one handler: choose one of exec, httpGet and tcpSocket")
	}
	validateNonNegative(probe.InitialDelaySeconds, p.Child("initialDelaySeconds"), errs)
	// Zero means "the default"; negative values are refused.
	for _, f := range []struct {
		name string
		v    int32
	}{{"timeoutSeconds", probe.TimeoutSeconds}, {"periodSeconds", probe.PeriodSeconds},
		{"successThreshold", probe.SuccessThreshold}, {"failureThreshold", probe.FailureThreshold}} {
		if f.v < 0 {
			errs.Add(p.Child(f.name).String(), "must be greater than 0 (or unset for the default), not %d", f.v)
		}
	}
	if oneSuccess && probe.SuccessThreshold > 1 {
		errs.Add(p.Child("successThreshold").String(), "must be 1 for liveness and startup probes, not %d", probe.SuccessThreshold)
	}
}

func validateLifecycleHandler(c *Container, h *LifecycleHandler, p fieldPath, errs *FieldErrors) {
	handlers := 0
	if h.Exec != nil {
		handlers++
		validateExec(h.Exec, p.Child("exec"), errs)
	}
	if h.HTTPGet != nil {
		handlers++
		validateHTTPGet(c, h.HTTPGet, p.Child("httpGet"), errs)
	}
	if h.Sleep != nil {
		handlers++
		if h.Sleep.Seconds < 0 {
			errs.Add(p.Child("sleep").Child("seconds").String(), "must not be negative, not %d", h.Sleep.Seconds)
		}
	}
	switch handlers {
	case 0:
		errs.Add(p.String(), "must have exactly one handler: exec, httpGet or sleep")
	case 1:
	default:
		errs.Add(p.String(), "may not have more than one handler: choose one of exec, httpGet and sleep")
	}
}

func validateExec(e *ExecAction, p fieldPath, errs *FieldErrors) {
	if len(e.Command) == 0 {
		errs.Add(p.Child("command").String(), "required: the command to run in the container, such as [\"cat\", \"/tmp/healthy\"]")
	}
}

func validateHTTPGet(c *Container, g *HTTPGetAction, p fieldPath, errs *FieldErrors) {
	validateProbePort(c, g.Port, p.Child("port"), errs)
	validateEnum(g.Scheme, p.Child("scheme"), errs, URISchemeHTTP, URISchemeHTTPS)
	if g.Path != "" && g.Path[0] != '/' {
		errs.Add(p.Child("path").String(), "must start with '/'")
	}
	for i, h := range g.HTTPHeaders {
		if h.Name == "" {
			errs.Required(p.Child("httpHeaders").Index(i).Child("name").String())
		}
	}
}

// validateProbePort checks a probe's port: a number from 1 to 65535, or
// the name of one of the container's ports.
func validateProbePort(c *Container, port IntOrString, p fieldPath, errs *FieldErrors) {
	if !port.IsString {
		validatePortNumber(port.IntVal, p, errs)
		return
	}
	if detail := checkPortName(port.StrVal); detail != "" {
		errs.Add(p.String(), "%s", detail)
		return
	}
	if !slices.ContainsFunc(c.Ports, func(cp ContainerPort) bool { return cp.Name == port.StrVal }) {
		errs.Add(p.String(), "names port %s, which the container does not declare in ports", quote(port.StrVal))
	}
}
