package nodeagent

import (
	"maps"
	"slices"
	"strings"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/store"
)

// resolveEnv builds a container's environment, as kubelet does: first the
// service variables of the Pod's namespace (unless the Pod turns service
// links off), then every key of each envFrom source (with its prefix; keys
// that are not valid variable names are skipped, and a Warning event
// InvalidEnvironmentVariableNames names them), then env, whose entries
// win. A missing ConfigMap, Secret or key that is not optional is a
// configError naming it; values never appear in errors or events.
func (a *Agent) resolveEnv(pod *api.Pod, c *api.Container) ([]string, error) {
	var out []string
	var err error
	var skipped []skippedKeys
	a.store.View(func(tx store.ReadTx) {
		// Kubernetes' service links: NAME_SERVICE_HOST and friends for the
		// Services of the Pod's namespace, before the container's own.
		if pod.Spec.ServiceLinksEnabled() {
			out = discovery.EnvFor(store.List[*api.Service](tx, pod.Namespace), pod.Namespace)
		}
		for _, src := range c.EnvFrom {
			var data map[string]string
			if data, err = envSource(tx, pod.Namespace, src); err != nil {
				return
			}
			var invalid []string
			for _, k := range slices.Sorted(maps.Keys(data)) {
				if !api.ValidEnvVarName(src.Prefix + k) {
					invalid = append(invalid, src.Prefix+k)
					continue
				}
				out = append(out, src.Prefix+k+"="+data[k])
			}
			if len(invalid) > 0 {
				skipped = append(skipped, skippedKeys{src: src, keys: invalid})
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				out = append(out, e.Name+"="+e.Value)
				continue
			}
			var v string
			var ok bool
			if v, ok, err = envValue(tx, pod.Namespace, e.ValueFrom); err != nil {
				return
			}
			if ok {
				out = append(out, e.Name+"="+v)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		// As kubelet words it. Keys are names, never values.
		kind, name := "configMap", ""
		if s.src.ConfigMapRef != nil {
			name = s.src.ConfigMapRef.Name
		} else if s.src.SecretRef != nil {
			kind, name = "secret", s.src.SecretRef.Name
		}
		a.events.Warning(pod, reasonInvalidEnvNames,
			"Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
			strings.Join(s.keys, ", "), kind, pod.Namespace, name)
	}
	return out, nil
}

// reasonInvalidEnvNames is the reason of the event that names the keys of
// an envFrom source skipped because they are not valid variable names.
const reasonInvalidEnvNames = "InvalidEnvironmentVariableNames"

// skippedKeys are the keys of one envFrom source that are not valid
// variable names (with the source's prefix).
type skippedKeys struct {
	src  api.EnvFromSource
	keys []string
}

func envSource(tx store.ReadTx, namespace string, src api.EnvFromSource) (map[string]string, error) {
	switch {
	case src.ConfigMapRef != nil:
		cm, err := store.Get[*api.ConfigMap](tx, namespace, src.ConfigMapRef.Name)
		if err != nil {
			if optional(src.ConfigMapRef.Optional) {
				return nil, nil
			}
			return nil, configErrorf("configmap %q not found", src.ConfigMapRef.Name)
		}
		return cm.Data, nil
	case src.SecretRef != nil:
		sec, err := store.Get[*api.Secret](tx, namespace, src.SecretRef.Name)
		if err != nil {
			if optional(src.SecretRef.Optional) {
				return nil, nil
			}
			return nil, configErrorf("secret %q not found", src.SecretRef.Name)
		}
		out := make(map[string]string, len(sec.Data))
		for k, v := range sec.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// envValue looks up one valueFrom; ok is false when an optional source is
// missing.
func envValue(tx store.ReadTx, namespace string, src *api.EnvVarSource) (value string, ok bool, err error) {
	switch {
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := store.Get[*api.ConfigMap](tx, namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("configmap %q not found", ref.Name)
		}
		// As in Kubernetes, a configMapKeyRef reads data only.
		if v, found := cm.Data[ref.Key]; found {
			return v, true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		if _, binary := cm.BinaryData[ref.Key]; binary {
			return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s: it is in binaryData, and a configMapKeyRef reads only data (as in Kubernetes); move it to data, or mount the ConfigMap as a volume",
				ref.Key, namespace, ref.Name)
		}
		return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, namespace, ref.Name)
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		sec, err := store.Get[*api.Secret](tx, namespace, ref.Name)
		if err != nil {
			if optional(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("secret %q not found", ref.Name)
		}
		if v, found := sec.Data[ref.Key]; found {
			return string(v), true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
		}
		return "", false, configErrorf("couldn't find key %s in Secret %s/%s", ref.Key, namespace, ref.Name)
	}
	return "", false, nil
}
