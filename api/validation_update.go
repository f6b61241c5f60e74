package api

import "reflect"

// maxUpdateDiffs bounds the changed fields reported for one update.
const maxUpdateDiffs = 20

// ValidateUpdate returns the problems with replacing oldObj by newObj that
// Validate cannot see on newObj alone: the kind, metadata.name,
// metadata.namespace and metadata.uid cannot change (an empty namespace or
// uid in newObj means "unchanged"); a Deployment's spec.selector cannot
// change; a Service's spec.clusterIP and an EndpointSlice's addressType
// cannot change; and a Pod's spec cannot change except for its
// containers' images.
// Changes to status are not checked.
//
// Callers validate newObj with ValidateFields as well, and run SetDefaults
// on it first, so that defaulted fields compare equal. Binding a Pod to a
// node (spec.nodeName) is done by Baton itself and never passes through
// this check. The list is empty when the update is allowed.
func ValidateUpdate(oldObj, newObj Object) FieldErrors {
	var errs FieldErrors
	if isNilObject(oldObj) || isNilObject(newObj) {
		errs.Add("", "object is nil")
		return errs
	}
	if oldObj.ObjectKind() != newObj.ObjectKind() {
		errs.Add("kind", "cannot be changed from %s to %s", oldObj.ObjectKind(), quote(newObj.ObjectKind()))
		return errs
	}
	validateObjectMetaUpdate(oldObj.GetObjectMeta(), newObj.GetObjectMeta(), oldObj.ObjectKind(), "metadata", &errs)
	switch o := oldObj.(type) {
	case *Pod:
		validatePodSpecUpdate(&o.Spec, &newObj.(*Pod).Spec, "spec", &errs)
	case *Deployment:
		validateSelectorUpdate(o.Spec.Selector, newObj.(*Deployment).Spec.Selector, "spec.selector", &errs)
	case *ReplicaSet:
		validateSelectorUpdate(o.Spec.Selector, newObj.(*ReplicaSet).Spec.Selector, "spec.selector", &errs)
	case *Service:
		n := newObj.(*Service)
		if o.Spec.ClusterIP != "" && n.Spec.ClusterIP != "" && o.Spec.ClusterIP != n.Spec.ClusterIP {
			errs.Add("spec.clusterIP", "cannot be changed from %s to %s; delete and create the Service again", quote(o.Spec.ClusterIP), quote(n.Spec.ClusterIP))
		}
	case *EndpointSlice:
		validateEndpointSliceUpdate(o, newObj.(*EndpointSlice), &errs)
	case *ConfigMap:
		n := newObj.(*ConfigMap)
		validateImmutableUpdate(o.Immutable, n.Immutable, reflect.DeepEqual(o.Data, n.Data) && reflect.DeepEqual(o.BinaryData, n.BinaryData), &errs)
	case *Secret:
		n := newObj.(*Secret)
		validateImmutableUpdate(o.Immutable, n.Immutable, reflect.DeepEqual(o.Data, n.Data) && len(n.StringData) == 0, &errs)
	}
	return errs
}

func validateObjectMetaUpdate(oldMeta, newMeta *ObjectMeta, kind string, p fieldPath, errs *FieldErrors) {
	if newMeta.Name != oldMeta.Name {
		errs.Add(p.Child("name").String(), "cannot be changed from %s to %s: create a new %s under the new name instead",
			quote(oldMeta.Name), quote(newMeta.Name), kind)
	}
	if newMeta.Namespace != "" && newMeta.Namespace != oldMeta.Namespace {
		errs.Add(p.Child("namespace").String(), "cannot be changed from %s to %s: create a new %s in that namespace instead",
			quote(oldMeta.Namespace), quote(newMeta.Namespace), kind)
	}
	if newMeta.UID != "" && newMeta.UID != oldMeta.UID {
		errs.Add(p.Child("uid").String(), "cannot be changed: Baton sets it on create (leave it empty, or as read)")
	}
}

// validatePodSpecUpdate reports every field of newSpec that differs from
// oldSpec, other than the containers' images.
func validatePodSpecUpdate(oldSpec, newSpec *PodSpec, p fieldPath, errs *FieldErrors) {
	candidate := *newSpec
	if len(newSpec.Containers) == len(oldSpec.Containers) {
		candidate.Containers = make([]Container, len(newSpec.Containers))
		for i := range newSpec.Containers {
			candidate.Containers[i] = newSpec.Containers[i]
			candidate.Containers[i].Image = oldSpec.Containers[i].Image
		}
	}
	var changed []fieldPath
	diffFields(reflect.ValueOf(oldSpec).Elem(), reflect.ValueOf(&candidate).Elem(), p, &changed, maxUpdateDiffs)
	for _, c := range changed {
		errs.Add(c.String(), "cannot be changed: a Pod's spec is immutable except for %s "+
			"(delete and recreate the Pod, or run it from a Deployment)", p.Child("containers[*].image"))
	}
}

// validateSelectorUpdate reports a change to a Deployment's selector, which
// apps/v1 makes immutable.
func validateSelectorUpdate(oldSel, newSel *LabelSelector, p fieldPath, errs *FieldErrors) {
	var changed []fieldPath
	diffFields(reflect.ValueOf(&oldSel).Elem(), reflect.ValueOf(&newSel).Elem(), p, &changed, 1)
	if len(changed) > 0 {
		errs.Add(p.String(), "cannot be changed: a Deployment's selector is immutable "+
			"(delete the Deployment and create it again with the new selector)")
	}
}
