package baton

import "github.com/batonhq/baton/api"

// ConfigMap holds configuration consumed by Pods as environment variables
// or files.
type ConfigMap = api.ConfigMap

// Secret holds sensitive data consumed like a ConfigMap; Baton never logs
// its values and encrypts them on disk.
type Secret = api.Secret

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference = api.LocalObjectReference

// EnvVarSource takes a variable's value from a ConfigMap or Secret key.
type EnvVarSource = api.EnvVarSource

// ConfigMapKeySelector picks one key of a ConfigMap.
type ConfigMapKeySelector = api.ConfigMapKeySelector

// SecretKeySelector picks one key of a Secret.
type SecretKeySelector = api.SecretKeySelector

// EnvFromSource sets a variable for every key of a ConfigMap or Secret.
type EnvFromSource = api.EnvFromSource

// ConfigMapEnvSource names the ConfigMap of an envFrom.
type ConfigMapEnvSource = api.ConfigMapEnvSource

// SecretEnvSource names the Secret of an envFrom.
type SecretEnvSource = api.SecretEnvSource

// Volume is a directory a Pod's containers can mount.
type Volume = api.Volume

// VolumeSource is where a volume's files come from.
type VolumeSource = api.VolumeSource

// ConfigMapVolumeSource projects a ConfigMap as files.
type ConfigMapVolumeSource = api.ConfigMapVolumeSource

// SecretVolumeSource projects a Secret as files.
type SecretVolumeSource = api.SecretVolumeSource

// KeyToPath projects one key to a path.
type KeyToPath = api.KeyToPath

// EmptyDirVolumeSource is a scratch directory for the Pod's life.
type EmptyDirVolumeSource = api.EmptyDirVolumeSource

// HostPathVolumeSource mounts a host directory or file.
type HostPathVolumeSource = api.HostPathVolumeSource

// VolumeMount mounts a volume into a container.
type VolumeMount = api.VolumeMount

// Storage media.
const StorageMediumMemory = api.StorageMediumMemory
