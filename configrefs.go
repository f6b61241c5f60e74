package baton

import (
	"fmt"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/internal/store"
)

// checkConfigRefs reports keys that a Pod spec (of a Pod, or the template
// of a Deployment or ReplicaSet) takes from a ConfigMap or Secret that
// exists but lacks them, unless optional. A reference to an object that
// does not exist yet is fine: the container waits for it.
func checkConfigRefs(tx store.ReadTx, obj api.Object) api.FieldErrors {
	var spec *api.PodSpec
	var p string
	switch o := obj.(type) {
	case *api.Pod:
		spec, p = &o.Spec, "spec"
	case *api.Deployment:
		spec, p = &o.Spec.Template.Spec, "spec.template.spec"
	case *api.ReplicaSet:
		spec, p = &o.Spec.Template.Spec, "spec.template.spec"
	default:
		return nil
	}
	ns := obj.GetObjectMeta().Namespace
	var errs api.FieldErrors
	// lookup finds key in an existing object: in its data, or in a
	// ConfigMap's binaryData.
	lookup := func(kind, name, key string) (exists, inData, inBinary bool) {
		obj, err := tx.Get(kind, ns, name)
		if err != nil {
			return false, false, false
		}
		switch o := obj.(type) {
		case *api.ConfigMap:
			_, inData = o.Data[key]
			_, inBinary = o.BinaryData[key]
		case *api.Secret:
			_, inData = o.Data[key]
		}
		return true, inData, inBinary
	}
	// check refuses a required reference to a key an existing object
	// lacks; forEnv, as in Kubernetes, finds a ConfigMap's key in data
	// only, as an environment variable cannot take binaryData.
	check := func(path, kind, name, key string, optional *bool, forEnv bool) {
		if optional != nil && *optional {
			return
		}
		exists, inData, inBinary := lookup(kind, name, key)
		switch {
		case !exists || inData || (inBinary && !forEnv):
		case inBinary:
			errs.Add(path, "%s %q holds %q in binaryData, which an environment variable cannot take; move it to data, or mount it as a file", kind, name, key)
		default:
			errs.Add(path, "%s %q has no key %q; add it, or mark the reference optional", kind, name, key)
		}
	}
	for i, c := range spec.Containers {
		for j, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			ep := fmt.Sprintf("%s.containers[%d].env[%d].valueFrom", p, i, j)
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				check(ep+".configMapKeyRef.key", api.KindConfigMap, r.Name, r.Key, r.Optional, true)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				check(ep+".secretKeyRef.key", api.KindSecret, r.Name, r.Key, r.Optional, true)
			}
		}
	}
	for i, v := range spec.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p, i)
		if c := v.ConfigMap; c != nil {
			for j, it := range c.Items {
				check(fmt.Sprintf("%s.configMap.items[%d].key", vp, j), api.KindConfigMap, c.Name, it.Key, c.Optional, false)
			}
		}
		if s := v.Secret; s != nil {
			for j, it := range s.Items {
				check(fmt.Sprintf("%s.secret.items[%d].key", vp, j), api.KindSecret, s.SecretName, it.Key, s.Optional, false)
			}
		}
	}
	return errs
}
