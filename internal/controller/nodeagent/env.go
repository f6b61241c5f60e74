package nodeagent

import (
	"maps"
	"slices"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/discovery"
	"github.com/batonhq/baton/internal/store"
)

// resolveEnv builds a container's environment, as kubelet does: first the
// service variables of the Pod's namespace (unless the Pod turns service
// links off), then every key of each envFrom
// source (with its prefix; keys that are not
// valid variable names are skipped), then env, whose entries win. A
// missing ConfigMap, Secret or key that is not optional is a configError
// naming it; values never appear in errors.
func (a *Agent) resolveEnv(pod *api.Pod, c *api.Container) ([]string, error) {
	var out []string
	var err error
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
			for _, k := range slices.Sorted(maps.Keys(data)) {
				if api.ValidEnvVarName(src.Prefix + k) {
					out = append(out, src.Prefix+k+"="+data[k])
				}
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
	return out, err
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
		if v, found := cm.Data[ref.Key]; found {
			return v, true, nil
		}
		if optional(ref.Optional) {
			return "", false, nil
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
