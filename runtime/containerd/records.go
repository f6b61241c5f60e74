package containerd

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/containers"
	ctrdlabels "github.com/containerd/containerd/v2/pkg/labels"
	"github.com/containerd/typeurl/v2"

	"github.com/batonhq/baton/runtime"
)

// Everything the Runtime knows lives in containerd's metadata store, on
// containerd container records, so a restarted Baton (or a second Runtime
// on the same containerd) finds it by listing:
//
//   - A sandbox is a record with kind "sandbox" and no task: its labels hold
//     its state, network namespace and IP; an extension holds its
//     SandboxConfig (DNS included, so that a restarted Runtime mounts the
//     same resolv.conf into the sandbox's new containers). containerd
//     persists it across restarts of Baton and of containerd, next to the
//     containers it owns, so there is one store to keep consistent rather
//     than containerd plus files of our own.
//   - A container is a record with kind "container", its snapshot and spec;
//     an extension holds its ContainerConfig less the values of its
//     environment (see containerConfig), and labels its sandbox, image ID,
//     start and exit. Whether it runs is its task's status.
//
// The labels below are the Runtime's own. They live under
// runtime.LabelPrefix, so an image's labels never set them, and a
// config's labels never override them.
const (
	labelKind       = "io.baton.runtime.kind" // kindSandbox or kindContainer
	labelSandbox    = "io.baton.runtime.sandbox"
	labelName       = "io.baton.runtime.name"
	labelAttempt    = "io.baton.runtime.attempt"
	labelPodUID     = "io.baton.runtime.pod-uid"
	labelState      = "io.baton.runtime.state" // a sandbox's: stateReady or stateNotReady
	labelIP         = "io.baton.runtime.ip"
	labelNetNS      = "io.baton.runtime.netns"
	labelImageID    = "io.baton.runtime.image-id"
	labelStopSignal = "io.baton.runtime.stop-signal"
	labelStartedAt  = "io.baton.runtime.started-at"
	labelFinishedAt = "io.baton.runtime.finished-at"
	labelExitCode   = "io.baton.runtime.exit-code"
	labelReason     = "io.baton.runtime.reason"
	labelMessage    = "io.baton.runtime.message"

	kindSandbox   = "sandbox"
	kindContainer = "container"

	stateReady    = "ready"
	stateNotReady = "notready"

	// Extensions holding the configs.
	extSandboxConfig   = "io.baton.runtime.sandbox-config"
	extContainerConfig = "io.baton.runtime.container-config"
)

// runtimeLabelPrefix marks the labels above.
const runtimeLabelPrefix = "io.baton.runtime."

// sandboxConfig and containerConfig are the configs as stored in record
// extensions (as JSON, through typeurl).
type sandboxConfig struct{ runtime.SandboxConfig }

// containerConfig is a ContainerConfig as its record's extension stores
// it: with the names of its environment variables but not their values
// (Env is empty, EnvNames set), because the node agent resolves Secrets
// into Env, and the extension is Baton's own copy in containerd's metadata
// store on disk. The values are read back from the container's OCI spec
// (decodeContainer), which must carry them for the process to get them: it
// is containerd's, on disk in containerd's metadata store as well, as a
// Kubernetes container's spec is under the kubelet's CRI runtime. Records
// written before EnvNames existed hold Env itself, and are read as they
// are.
type containerConfig struct {
	runtime.ContainerConfig
	// EnvNames are the names of Env's variables, in order.
	EnvNames []string `json:",omitempty"`
}

// storedConfig returns cfg as its record's extension stores it.
func storedConfig(cfg runtime.ContainerConfig) *containerConfig {
	out := &containerConfig{ContainerConfig: cfg}
	out.Env = nil
	for _, kv := range cfg.Env {
		name, _, _ := strings.Cut(kv, "=")
		out.EnvNames = append(out.EnvNames, name)
	}
	return out
}

// envFromSpec returns the variables called names as the OCI spec (a
// containers.Container's Spec) gives them to the process: "NAME=value", or
// "NAME" alone for a name the spec does not set. A name given twice gets
// the value the process got, the last one, both times.
func envFromSpec(spec typeurl.Any, names []string) ([]string, error) {
	var s struct {
		Process *struct {
			Env []string `json:"env"`
		} `json:"process"`
	}
	if spec == nil {
		return nil, errors.New("the record has no OCI spec")
	}
	if err := json.Unmarshal(spec.GetValue(), &s); err != nil {
		return nil, fmt.Errorf("read the environment from the OCI spec: %w", err)
	}
	values := map[string]string{}
	if s.Process != nil {
		for _, kv := range s.Process.Env {
			if k, v, ok := strings.Cut(kv, "="); ok {
				values[k] = v
			}
		}
	}
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = name
		if v, ok := values[name]; ok {
			out[i] = name + "=" + v
		}
	}
	return out, nil
}

func init() {
	typeurl.Register(&sandboxConfig{}, "github.com/batonhq/baton/runtime/containerd", "SandboxConfig")
	typeurl.Register(&containerConfig{}, "github.com/batonhq/baton/runtime/containerd", "ContainerConfig")
}

// newID returns a random ID of 32 hex digits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// timeLabel formats a time for a label; parseTimeLabel reads it back, or
// the zero time.
func timeLabel(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTimeLabel(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// containerLabels returns the labels of a new container record: the
// image's labels (less Baton's and containerd's reserved ones), then the
// config's, then the Runtime's own.
func containerLabels(imageLabels, configLabels, own map[string]string) map[string]string {
	out := make(map[string]string, len(imageLabels)+len(configLabels)+len(own))
	for k, v := range imageLabels {
		if strings.HasPrefix(k, runtime.LabelPrefix) || ctrdlabels.IsReserved(k) {
			continue
		}
		out[k] = v
	}
	for k, v := range configLabels {
		if strings.HasPrefix(k, runtimeLabelPrefix) {
			continue // ours; the config keeps it in the extension
		}
		out[k] = v
	}
	maps.Copy(out, own)
	return out
}

// sandboxRecord is a sandbox as read from its containerd record.
type sandboxRecord struct {
	id        string
	config    runtime.SandboxConfig
	state     string
	ip        string
	netns     string
	createdAt time.Time
}

func decodeSandbox(c containers.Container) (sandboxRecord, error) {
	if c.Labels[labelKind] != kindSandbox {
		return sandboxRecord{}, fmt.Errorf("containerd record %s is not a Baton sandbox: %w", c.ID, runtime.ErrNotFound)
	}
	var cfg sandboxConfig
	if err := decodeExtension(c, extSandboxConfig, &cfg); err != nil {
		return sandboxRecord{}, err
	}
	return sandboxRecord{
		id:        c.ID,
		config:    cfg.SandboxConfig,
		state:     c.Labels[labelState],
		ip:        c.Labels[labelIP],
		netns:     c.Labels[labelNetNS],
		createdAt: c.CreatedAt,
	}, nil
}

// containerRecord is a container as read from its containerd record.
type containerRecord struct {
	id         string
	sandboxID  string
	config     runtime.ContainerConfig
	labels     map[string]string // the record's, for events
	imageID    string
	stopSignal string
	createdAt  time.Time
	startedAt  time.Time
	finishedAt time.Time
	exitCode   int32
	reason     string
	message    string
}

func decodeContainer(c containers.Container) (containerRecord, error) {
	if c.Labels[labelKind] != kindContainer {
		return containerRecord{}, fmt.Errorf("containerd record %s is not a Baton container: %w", c.ID, runtime.ErrNotFound)
	}
	var cfg containerConfig
	if err := decodeExtension(c, extContainerConfig, &cfg); err != nil {
		return containerRecord{}, err
	}
	if len(cfg.EnvNames) > 0 {
		env, err := envFromSpec(c.Spec, cfg.EnvNames)
		if err != nil {
			return containerRecord{}, fmt.Errorf("containerd record %s: %w", c.ID, err)
		}
		cfg.Env = env
	}
	code, _ := strconv.ParseInt(c.Labels[labelExitCode], 10, 32)
	return containerRecord{
		id:         c.ID,
		sandboxID:  c.Labels[labelSandbox],
		config:     cfg.ContainerConfig,
		labels:     c.Labels,
		imageID:    c.Labels[labelImageID],
		stopSignal: c.Labels[labelStopSignal],
		createdAt:  c.CreatedAt,
		startedAt:  parseTimeLabel(c.Labels[labelStartedAt]),
		finishedAt: parseTimeLabel(c.Labels[labelFinishedAt]),
		exitCode:   int32(code),
		reason:     c.Labels[labelReason],
		message:    c.Labels[labelMessage],
	}, nil
}

func decodeExtension(c containers.Container, name string, into any) error {
	ext, ok := c.Extensions[name]
	if !ok || ext == nil {
		return fmt.Errorf("containerd record %s lacks its Baton extension %s; it was not made by this package: %w", c.ID, name, runtime.ErrNotFound)
	}
	v, err := typeurl.UnmarshalAny(ext)
	if err != nil {
		return fmt.Errorf("decode extension %s of containerd record %s: %w", name, c.ID, err)
	}
	switch dst := into.(type) {
	case *sandboxConfig:
		src, ok := v.(*sandboxConfig)
		if !ok {
			return fmt.Errorf("extension %s of containerd record %s holds %T", name, c.ID, v)
		}
		*dst = *src
	case *containerConfig:
		src, ok := v.(*containerConfig)
		if !ok {
			return fmt.Errorf("extension %s of containerd record %s holds %T", name, c.ID, v)
		}
		*dst = *src
	}
	return nil
}

// copyContainerConfig returns a copy of cfg that shares no memory with it.
func copyContainerConfig(cfg runtime.ContainerConfig) runtime.ContainerConfig {
	cfg.Command = slices.Clone(cfg.Command)
	cfg.Args = slices.Clone(cfg.Args)
	cfg.Env = slices.Clone(cfg.Env)
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Mounts = slices.Clone(cfg.Mounts)
	return cfg
}

// copySandboxConfig returns a copy of cfg that shares no memory with it.
func copySandboxConfig(cfg runtime.SandboxConfig) runtime.SandboxConfig {
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.PortMappings = slices.Clone(cfg.PortMappings)
	if cfg.DNS != nil {
		cfg.DNS = &runtime.DNSConfig{
			Servers:  slices.Clone(cfg.DNS.Servers),
			Searches: slices.Clone(cfg.DNS.Searches),
			Options:  slices.Clone(cfg.DNS.Options),
		}
	}
	return cfg
}
