package api

import (
	"reflect"
	"sort"
	"strings"
)

// Validate checks obj and returns nil, or a *ValidationError (which matches
// ErrInvalid) listing every problem found, each with its field path such as
// "spec.template.spec.containers[0].image".
//
// Validate follows Kubernetes' rules for each kind. It runs after
// SetDefaults, but an optional field left empty is accepted as meaning its
// default, so an undefaulted object validates the same way. Validate does
// not modify obj and never panics, whatever obj holds.
func Validate(obj Object) error {
	errs := ValidateFields(obj)
	if len(errs) == 0 {
		return nil
	}
	kind, name := "", ""
	if !isNilObject(obj) {
		kind, name = obj.ObjectKind(), obj.GetObjectMeta().Name
	}
	return errs.Err(kind, name)
}

// ValidateFields runs the same checks as Validate and returns the problems
// as a list, so that a caller can append problems only it can see (such as
// a namespace that does not exist) before building the error with
// FieldErrors.Err. The list is empty when obj is valid.
func ValidateFields(obj Object) FieldErrors {
	var errs FieldErrors
	if isNilObject(obj) {
		errs.Add("", "object is nil")
		return errs
	}
	switch o := obj.(type) {
	case *Pod:
		validatePod(o, &errs)
	case *Deployment:
		validateDeployment(o, &errs)
	case *Service:
		validateService(o, &errs)
	case *Namespace:
		validateNamespace(o, &errs)
	case *Node:
		validateNode(o, &errs)
	case *Event:
		validateEvent(o, &errs)
	case *ReplicaSet:
		validateReplicaSet(o, &errs)
	case *ConfigMap:
		validateConfigMap(o, &errs)
	case *Secret:
		validateSecret(o, &errs)
	case *HorizontalPodAutoscaler:
		validateHPA(o, &errs)
	case *EndpointSlice:
		validateEndpointSlice(o, &errs)
	default:
		errs.Add("kind", "unsupported kind %s: %s", quote(obj.ObjectKind()), supportedKindsDetail)
	}
	return errs
}

// isNilObject reports whether obj is nil or a nil pointer.
func isNilObject(obj Object) bool {
	if obj == nil {
		return true
	}
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// validateTypeMeta checks that apiVersion and kind, when set, are those of
// kind. Both may be empty; SetDefaults fills them.
func validateTypeMeta(tm TypeMeta, kind string, errs *FieldErrors) {
	if tm.Kind != "" && tm.Kind != kind {
		errs.Add("kind", "must be %s for a %s, not %s", kind, kind, quote(tm.Kind))
	}
	if want := APIVersionOf(kind); tm.APIVersion != "" && tm.APIVersion != want {
		errs.Add("apiVersion", "%s is served as %s, not %s", kind, want, quote(tm.APIVersion))
	}
}

// scope says whether a kind's objects live in a namespace.
type scope int

const (
	namespaced scope = iota
	clusterScoped
)

// validateObjectMeta checks the metadata of a top-level object of kind.
func validateObjectMeta(meta *ObjectMeta, kind string, sc scope, checkName nameCheck, p fieldPath, errs *FieldErrors) {
	switch {
	case meta.Name != "":
		if detail := checkName(meta.Name, false); detail != "" {
			errs.Add(p.Child("name").String(), "%s", detail)
		}
	case meta.GenerateName == "":
		errs.Add(p.Child("name").String(), "required: set metadata.name, or metadata.generateName for Baton to pick a name")
	}
	if meta.GenerateName != "" {
		if detail := checkName(meta.GenerateName, true); detail != "" {
			errs.Add(p.Child("generateName").String(), "%s", detail)
		}
	}
	switch {
	case sc == clusterScoped && meta.Namespace != "":
		errs.Add(p.Child("namespace").String(), "must be empty: a %s is not namespaced", kind)
	case sc == namespaced && meta.Namespace != "":
		if detail := checkDNS1123Label(meta.Namespace, false); detail != "" {
			errs.Add(p.Child("namespace").String(), "%s", detail)
		}
	}
	if meta.Generation < 0 {
		errs.Add(p.Child("generation").String(), "must not be negative")
	}
	if meta.DeletionGracePeriodSeconds != nil && *meta.DeletionGracePeriodSeconds < 0 {
		errs.Add(p.Child("deletionGracePeriodSeconds").String(), "must not be negative")
	}
	validateLabels(meta.Labels, p.Child("labels"), errs)
	validateAnnotations(meta.Annotations, p.Child("annotations"), errs)
	validateOwnerReferences(meta.OwnerReferences, p.Child("ownerReferences"), errs)
}

// validateTemplateMeta checks the metadata of a Pod template, where only
// labels and annotations matter.
func validateTemplateMeta(meta *ObjectMeta, p fieldPath, errs *FieldErrors) {
	validateLabels(meta.Labels, p.Child("labels"), errs)
	validateAnnotations(meta.Annotations, p.Child("annotations"), errs)
}

// sortedKeys returns the keys of m in order, so errors come out the same
// way every time.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// validateLabels checks label keys and values (and node selectors and
// Service selectors, which are written the same way).
func validateLabels(labels map[string]string, p fieldPath, errs *FieldErrors) {
	for _, k := range sortedKeys(labels) {
		if detail := checkQualifiedName(k); detail != "" {
			errs.Add(p.Key(k).String(), "key %s", detail)
		}
		if detail := checkLabelValue(labels[k]); detail != "" {
			errs.Add(p.Key(k).String(), "value %s", detail)
		}
	}
}

// validateAnnotations checks annotation keys and the total size.
func validateAnnotations(annotations map[string]string, p fieldPath, errs *FieldErrors) {
	total := 0
	for _, k := range sortedKeys(annotations) {
		total += len(k) + len(annotations[k])
		if detail := checkQualifiedName(k); detail != "" {
			errs.Add(p.Key(k).String(), "key %s", detail)
		}
	}
	if total > totalAnnotationSizeLimit {
		errs.Add(p.String(), "must be at most %d bytes in all (keys and values), not %d: keep large data elsewhere",
			totalAnnotationSizeLimit, total)
	}
}

func validateOwnerReferences(refs []OwnerReference, p fieldPath, errs *FieldErrors) {
	controllers := 0
	for i, ref := range refs {
		rp := p.Index(i)
		if ref.APIVersion == "" {
			errs.Required(rp.Child("apiVersion").String())
		}
		if ref.Kind == "" {
			errs.Required(rp.Child("kind").String())
		}
		if ref.Name == "" {
			errs.Required(rp.Child("name").String())
		}
		if ref.UID == "" {
			errs.Required(rp.Child("uid").String())
		}
		if ref.Controller != nil && *ref.Controller {
			controllers++
			if controllers > 1 {
				errs.Add(rp.Child("controller").String(), "only one owner reference may be the controller")
			}
		}
	}
}

// validateLabelSelector checks the syntax of a selector; it does not
// require it to be non-empty.
func validateLabelSelector(s *LabelSelector, p fieldPath, errs *FieldErrors) {
	if s == nil {
		return
	}
	validateLabels(s.MatchLabels, p.Child("matchLabels"), errs)
	for i, req := range s.MatchExpressions {
		rp := p.Child("matchExpressions").Index(i)
		if req.Key == "" {
			errs.Required(rp.Child("key").String())
		} else if detail := checkQualifiedName(req.Key); detail != "" {
			errs.Add(rp.Child("key").String(), "%s", detail)
		}
		switch req.Operator {
		case LabelSelectorOpIn, LabelSelectorOpNotIn:
			if len(req.Values) == 0 {
				errs.Add(rp.Child("values").String(), "required: operator %s needs at least one value", req.Operator)
			}
		case LabelSelectorOpExists, LabelSelectorOpDoesNotExist:
			if len(req.Values) > 0 {
				errs.Add(rp.Child("values").String(), "must be empty: operator %s takes no values", req.Operator)
			}
		case "":
			errs.Add(rp.Child("operator").String(), "required: In, NotIn, Exists or DoesNotExist")
		default:
			errs.Add(rp.Child("operator").String(), "unsupported value %s: must be In, NotIn, Exists or DoesNotExist",
				quote(string(req.Operator)))
		}
		for j, v := range req.Values {
			if detail := checkLabelValue(v); detail != "" {
				errs.Add(rp.Child("values").Index(j).String(), "%s", detail)
			}
		}
	}
}

// validateEnum reports value at p unless it is empty (meaning the default)
// or one of allowed.
func validateEnum[T ~string](value T, p fieldPath, errs *FieldErrors, allowed ...T) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	errs.Add(p.String(), "unsupported value %s: must be %s", quote(string(value)), oneOf(allowed))
}

// oneOf writes allowed as "A, B or C".
func oneOf[T ~string](allowed []T) string {
	var b strings.Builder
	for i, a := range allowed {
		switch {
		case i == 0:
		case i == len(allowed)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// validatePortNumber reports port at p unless it is in 1-65535.
func validatePortNumber(port int32, p fieldPath, errs *FieldErrors) {
	if port < 1 || port > 65535 {
		errs.Add(p.String(), "must be a port number between 1 and 65535, not %d", port)
	}
}

// validateNonNegative reports v at p if it is negative.
func validateNonNegative[T int32 | int64](v T, p fieldPath, errs *FieldErrors) {
	if v < 0 {
		errs.Add(p.String(), "must not be negative, not %d", v)
	}
}

// validateQuantities checks that every quantity of l is non-negative.
func validateQuantities(l ResourceList, p fieldPath, errs *FieldErrors) {
	for _, name := range sortedKeys(l) {
		if q := l[name]; q.MilliValue() < 0 {
			errs.Add(p.Key(string(name)).String(), "must not be negative, not %s", quote(q.String()))
		}
	}
}

func validateNamespace(ns *Namespace, errs *FieldErrors) {
	validateTypeMeta(ns.TypeMeta, KindNamespace, errs)
	validateObjectMeta(&ns.ObjectMeta, KindNamespace, clusterScoped, checkDNS1123Label, "metadata", errs)
}

func validateNode(n *Node, errs *FieldErrors) {
	validateTypeMeta(n.TypeMeta, KindNode, errs)
	validateObjectMeta(&n.ObjectMeta, KindNode, clusterScoped, checkDNS1123Subdomain, "metadata", errs)
	validateTaints(n.Spec.Taints, "spec.taints", errs)
	validateQuantities(n.Status.Capacity, "status.capacity", errs)
	validateQuantities(n.Status.Allocatable, "status.allocatable", errs)
}

func validateEvent(e *Event, errs *FieldErrors) {
	validateTypeMeta(e.TypeMeta, KindEvent, errs)
	validateObjectMeta(&e.ObjectMeta, KindEvent, namespaced, checkDNS1123Subdomain, "metadata", errs)
	if e.InvolvedObject.Kind == "" {
		errs.Add("involvedObject.kind", "required: the kind of the object the event is about")
	}
	if e.InvolvedObject.Name == "" {
		errs.Add("involvedObject.name", "required: the name of the object the event is about")
	}
	switch e.Type {
	case EventTypeNormal, EventTypeWarning:
	case "":
		errs.Add("type", "required: %s or %s", EventTypeNormal, EventTypeWarning)
	default:
		errs.Add("type", "unsupported value %s: must be %s or %s", quote(e.Type), EventTypeNormal, EventTypeWarning)
	}
	validateNonNegative(e.Count, "count", errs)
}

// supportedKindsDetail lists the kinds Baton serves, for errors about an
// unknown kind.
const supportedKindsDetail = "the supported kinds are Pod, Service, Namespace, Node, Event, ConfigMap and Secret " +
	"(apiVersion v1), Deployment and ReplicaSet (apiVersion apps/v1), " +
	"HorizontalPodAutoscaler (apiVersion autoscaling/v2) and EndpointSlice (apiVersion discovery.k8s.io/v1)"
