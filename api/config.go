package api

import (
	"fmt"
	"slices"
)

// ConfigMap holds configuration for Pods: key-value pairs consumed as
// environment variables or as files in a volume.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	// Data holds UTF-8 values.
	Data map[string]string `json:"data,omitempty"`
	// BinaryData holds binary values (base64 in YAML and JSON).
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
	// Immutable, when true, forbids changing Data and BinaryData.
	Immutable *bool `json:"immutable,omitempty"`
}

// ObjectKind returns "ConfigMap".
func (*ConfigMap) ObjectKind() string { return KindConfigMap }

// Secret holds sensitive data for Pods, consumed like a ConfigMap. Baton
// never writes a Secret's values to logs, events, errors or metric labels,
// and encrypts them whenever it writes them to disk. Its String, GoString
// and Format methods print the keys and never the values.
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata,omitempty"`
	// Data holds the values (base64 in YAML and JSON).
	Data map[string][]byte `json:"data,omitempty"`
	// StringData is a write-only convenience: its entries are merged into
	// Data on write and it is never stored or returned.
	StringData map[string]string `json:"stringData,omitempty"`
	// Type is Opaque (the default).
	Type SecretType `json:"type,omitempty"`
	// Immutable, when true, forbids changing Data.
	Immutable *bool `json:"immutable,omitempty"`
}

// ObjectKind returns "Secret".
func (*Secret) ObjectKind() string { return KindSecret }

// SecretType says how a Secret's data is to be read. Baton supports
// Opaque.
type SecretType string

// SecretTypeOpaque is arbitrary user data.
const SecretTypeOpaque SecretType = "Opaque"

// String describes a Secret without its values.
func (s Secret) String() string {
	keys := make([]string, 0, len(s.Data)+len(s.StringData))
	for k := range s.Data {
		keys = append(keys, k)
	}
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return fmt.Sprintf("Secret %s (keys %v; values redacted)", s.Key(), keys)
}

// GoString is String, so that %#v cannot print the values either.
func (s Secret) GoString() string { return s.String() }

// Format prints String for every verb, so that no formatting of a Secret,
// or of a pointer to one, reveals its values.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = fmt.Fprint(f, s.String()) }

// MergeStringData folds StringData into Data, as Kubernetes does on write
// (an entry of StringData wins over one of Data with the same key), and
// clears it. An entry whose key is not valid stays in StringData, so that
// validation, which refuses it, names the field the caller wrote
// (stringData[key], not data[key]).
func (s *Secret) MergeStringData() {
	var invalid map[string]string
	for k, v := range s.StringData {
		if checkConfigKey(k) != "" {
			if invalid == nil {
				invalid = map[string]string{}
			}
			invalid[k] = v
			continue
		}
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		s.Data[k] = []byte(v)
	}
	s.StringData = invalid
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	Name string `json:"name,omitempty"`
}

// EnvVarSource takes an environment variable's value from elsewhere.
type EnvVarSource struct {
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
	SecretKeyRef    *SecretKeySelector    `json:"secretKeyRef,omitempty"`
}

// ConfigMapKeySelector picks one key of a ConfigMap.
type ConfigMapKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	// Optional lets the container start when the ConfigMap or key is
	// missing; the variable is then unset.
	Optional *bool `json:"optional,omitempty"`
}

// SecretKeySelector picks one key of a Secret.
type SecretKeySelector struct {
	LocalObjectReference `json:",inline"`
	Key                  string `json:"key"`
	Optional             *bool  `json:"optional,omitempty"`
}

// EnvFromSource sets a variable for every key of a ConfigMap or Secret.
type EnvFromSource struct {
	// Prefix is prepended to every variable name.
	Prefix       string              `json:"prefix,omitempty"`
	ConfigMapRef *ConfigMapEnvSource `json:"configMapRef,omitempty"`
	SecretRef    *SecretEnvSource    `json:"secretRef,omitempty"`
}

// ConfigMapEnvSource names the ConfigMap of an envFrom.
type ConfigMapEnvSource struct {
	LocalObjectReference `json:",inline"`
	Optional             *bool `json:"optional,omitempty"`
}

// SecretEnvSource names the Secret of an envFrom.
type SecretEnvSource struct {
	LocalObjectReference `json:",inline"`
	Optional             *bool `json:"optional,omitempty"`
}

// Volume is a directory the Pod's containers can mount. Exactly one
// source is set.
type Volume struct {
	// Name is a DNS-1123 label, unique within the Pod.
	Name         string `json:"name"`
	VolumeSource `json:",inline"`
}

// VolumeSource is where a volume's files come from.
type VolumeSource struct {
	ConfigMap *ConfigMapVolumeSource `json:"configMap,omitempty"`
	Secret    *SecretVolumeSource    `json:"secret,omitempty"`
	EmptyDir  *EmptyDirVolumeSource  `json:"emptyDir,omitempty"`
	HostPath  *HostPathVolumeSource  `json:"hostPath,omitempty"`
}

// ConfigMapVolumeSource projects a ConfigMap's keys as files.
type ConfigMapVolumeSource struct {
	LocalObjectReference `json:",inline"`
	// Items, when set, projects only these keys, at these paths.
	Items []KeyToPath `json:"items,omitempty"`
	// DefaultMode is the files' permission bits; the default is
	// DefaultConfigMapMode (0444).
	DefaultMode *int32 `json:"defaultMode,omitempty"`
	Optional    *bool  `json:"optional,omitempty"`
}

// SecretVolumeSource projects a Secret's keys as files.
type SecretVolumeSource struct {
	SecretName string      `json:"secretName,omitempty"`
	Items      []KeyToPath `json:"items,omitempty"`
	// DefaultMode is the files' permission bits; the default is
	// DefaultSecretMode (0400), where Kubernetes has 0644.
	DefaultMode *int32 `json:"defaultMode,omitempty"`
	Optional    *bool  `json:"optional,omitempty"`
}

// KeyToPath projects one key to a relative path.
type KeyToPath struct {
	Key string `json:"key"`
	// Path is relative, has no ".." element and does not start with "..".
	Path string `json:"path"`
	// Mode is the file's permission bits; the default is the volume's
	// defaultMode.
	Mode *int32 `json:"mode,omitempty"`
}

// EmptyDirVolumeSource is a scratch directory that lives as long as the
// Pod.
type EmptyDirVolumeSource struct {
	// Medium is "" (the node's disk) or Memory (tmpfs).
	Medium    StorageMedium `json:"medium,omitempty"`
	SizeLimit *Quantity     `json:"sizeLimit,omitempty"`
}

// StorageMedium is where an emptyDir lives.
type StorageMedium string

// StorageMediumMemory is tmpfs.
const StorageMediumMemory StorageMedium = "Memory"

// HostPathVolumeSource mounts a directory or file of the host: for edge
// devices, where a workload needs a device or a host directory.
type HostPathVolumeSource struct {
	Path string        `json:"path"`
	Type *HostPathType `json:"type,omitempty"`
}

// HostPathType checks what a hostPath is before it is mounted.
type HostPathType string

// Host path types, as in Kubernetes.
const (
	HostPathUnset             HostPathType = ""
	HostPathDirectoryOrCreate HostPathType = "DirectoryOrCreate"
	HostPathDirectory         HostPathType = "Directory"
	HostPathFileOrCreate      HostPathType = "FileOrCreate"
	HostPathFile              HostPathType = "File"
)

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	// Name is the volume's.
	Name string `json:"name"`
	// MountPath is the absolute path in the container.
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	// SubPath mounts one path inside the volume instead of its root. A
	// subPath mount does not see updates of a ConfigMap or Secret, as in
	// Kubernetes.
	SubPath string `json:"subPath,omitempty"`
}

// Default modes of projected files, when neither defaultMode nor an
// item's mode is set. Kubernetes defaults both to 0644; Baton is stricter,
// since nothing on the host nor in another container should read a Pod's
// configuration, and containers run as root, who owns the files: ConfigMap
// files are read-only (0444) and Secret files readable by their owner only
// (0400). The node's directories above them are their owner's only
// (0700), and so is the root of a Secret volume unless its files' modes
// open it. A container whose image runs it as another user than root
// reads a Secret volume only with a wider defaultMode, such as 0444.
const (
	DefaultConfigMapMode int32 = 0o444
	DefaultSecretMode    int32 = 0o400
)

// References reports whether the spec uses the ConfigMap or Secret (kind
// KindConfigMap or KindSecret) called name, in a volume, an env valueFrom
// or an envFrom.
func (s *PodSpec) References(kind, name string) bool {
	for _, v := range s.Volumes {
		if (kind == KindConfigMap && v.ConfigMap != nil && v.ConfigMap.Name == name) ||
			(kind == KindSecret && v.Secret != nil && v.Secret.SecretName == name) {
			return true
		}
	}
	for _, c := range s.Containers {
		for _, e := range c.EnvFrom {
			if (kind == KindConfigMap && e.ConfigMapRef != nil && e.ConfigMapRef.Name == name) ||
				(kind == KindSecret && e.SecretRef != nil && e.SecretRef.Name == name) {
				return true
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if (kind == KindConfigMap && e.ValueFrom.ConfigMapKeyRef != nil && e.ValueFrom.ConfigMapKeyRef.Name == name) ||
				(kind == KindSecret && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == name) {
				return true
			}
		}
	}
	return false
}
