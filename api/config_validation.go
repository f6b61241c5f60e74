package api

import (
	"path"
	"regexp"
	"strings"
)

// maxConfigSize bounds the data of one ConfigMap or Secret, as in
// Kubernetes.
const maxConfigSize = 1 << 20

var configKeyPattern = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// checkConfigKey checks a ConfigMap or Secret key, as Kubernetes does:
// letters, digits, '-', '_' and '.', at most 253 characters, and neither
// "." nor ".." nor starting with "..".
func checkConfigKey(k string) string {
	switch {
	case k == "":
		return "must not be empty"
	case len(k) > 253:
		return "must be at most 253 characters"
	case !configKeyPattern.MatchString(k):
		return "must consist of letters, digits, '-', '_' and '.'"
	case k == "." || k == ".." || strings.HasPrefix(k, ".."):
		return "must not be '.' or '..' or start with '..'"
	}
	return ""
}

func validateConfigMap(c *ConfigMap, errs *FieldErrors) {
	validateTypeMeta(c.TypeMeta, KindConfigMap, errs)
	validateObjectMeta(&c.ObjectMeta, KindConfigMap, namespaced, checkDNS1123Subdomain, "metadata", errs)
	size := 0
	for k, v := range c.Data {
		if d := checkConfigKey(k); d != "" {
			errs.Add(fieldPath("data").Key(truncate(k, 64)).String(), "%s", d)
		}
		if _, dup := c.BinaryData[k]; dup {
			errs.Add(fieldPath("binaryData").Key(truncate(k, 64)).String(), "duplicate of data[%s]: a key may be in data or binaryData, not both", truncate(k, 64))
		}
		size += len(k) + len(v)
	}
	for k, v := range c.BinaryData {
		if d := checkConfigKey(k); d != "" {
			errs.Add(fieldPath("binaryData").Key(truncate(k, 64)).String(), "%s", d)
		}
		size += len(k) + len(v)
	}
	if size > maxConfigSize {
		errs.Add("data", "the data is %d bytes, more than the limit of %d", size, maxConfigSize)
	}
}

func validateSecret(s *Secret, errs *FieldErrors) {
	validateTypeMeta(s.TypeMeta, KindSecret, errs)
	validateObjectMeta(&s.ObjectMeta, KindSecret, namespaced, checkDNS1123Subdomain, "metadata", errs)
	if s.Type != "" && s.Type != SecretTypeOpaque {
		errs.Add("type", "unsupported value %s: Baton supports %s", quote(string(s.Type)), SecretTypeOpaque)
	}
	size := 0
	// Keys are checked and counted; values are never quoted: they are
	// secret.
	for k, v := range s.Data {
		if d := checkConfigKey(k); d != "" {
			errs.Add(fieldPath("data").Key(truncate(k, 64)).String(), "%s", d)
		}
		size += len(k) + len(v)
	}
	for k, v := range s.StringData {
		if d := checkConfigKey(k); d != "" {
			errs.Add(fieldPath("stringData").Key(truncate(k, 64)).String(), "%s", d)
		}
		size += len(k) + len(v)
	}
	if size > maxConfigSize {
		errs.Add("data", "the data is %d bytes, more than the limit of %d", size, maxConfigSize)
	}
}

func validateImmutableUpdate(oldImmutable, newImmutable *bool, dataUnchanged bool, errs *FieldErrors) {
	if oldImmutable == nil || !*oldImmutable {
		return
	}
	if newImmutable == nil || !*newImmutable {
		errs.Add("immutable", "cannot be unset once true; delete and create the object again")
	}
	if !dataUnchanged {
		errs.Add("data", "cannot be changed: the object is immutable; delete and create it again")
	}
}

// validateVolumes checks a Pod's volumes and returns their names.
func validateVolumes(spec *PodSpec, p fieldPath, errs *FieldErrors) map[string]*Volume {
	names := map[string]*Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		vp := p.Child("volumes").Index(i)
		switch {
		case v.Name == "":
			errs.Required(vp.Child("name").String())
		case checkDNS1123Label(v.Name, false) != "":
			errs.Add(vp.Child("name").String(), "%s", dns1123LabelDetail)
		case names[v.Name] != nil:
			errs.Add(vp.Child("name").String(), "duplicate volume name %s", quote(v.Name))
		default:
			names[v.Name] = v
		}
		sources := 0
		if c := v.ConfigMap; c != nil {
			sources++
			if c.Name == "" {
				errs.Required(vp.Child("configMap").Child("name").String())
			} else if d := checkDNS1123Subdomain(c.Name, false); d != "" {
				errs.Add(vp.Child("configMap").Child("name").String(), "%s", d)
			}
			validateProjection(c.Items, c.DefaultMode, vp.Child("configMap"), errs)
		}
		if s := v.Secret; s != nil {
			sources++
			if s.SecretName == "" {
				errs.Required(vp.Child("secret").Child("secretName").String())
			} else if d := checkDNS1123Subdomain(s.SecretName, false); d != "" {
				errs.Add(vp.Child("secret").Child("secretName").String(), "%s", d)
			}
			validateProjection(s.Items, s.DefaultMode, vp.Child("secret"), errs)
		}
		if e := v.EmptyDir; e != nil {
			sources++
			validateEnum(e.Medium, vp.Child("emptyDir").Child("medium"), errs, "", StorageMediumMemory)
			if e.SizeLimit != nil && e.SizeLimit.MilliValue() < 0 {
				errs.Add(vp.Child("emptyDir").Child("sizeLimit").String(), "must not be negative")
			}
		}
		if h := v.HostPath; h != nil {
			sources++
			hp := vp.Child("hostPath")
			if !path.IsAbs(h.Path) {
				errs.Add(hp.Child("path").String(), "must be an absolute path")
			} else if hasDotDot(h.Path) {
				errs.Add(hp.Child("path").String(), "must not contain '..'")
			}
			if h.Type != nil {
				validateEnum(*h.Type, hp.Child("type"), errs, HostPathUnset, HostPathDirectoryOrCreate, HostPathDirectory, HostPathFileOrCreate, HostPathFile)
			}
		}
		switch sources {
		case 0:
			errs.Add(vp.String(), "must have exactly one source: configMap, secret, emptyDir or hostPath")
		case 1:
		default:
			errs.Add(vp.String(), "may not have more than one source")
		}
	}
	return names
}

// validateProjection checks the items and modes of a ConfigMap or Secret
// volume.
func validateProjection(items []KeyToPath, defaultMode *int32, p fieldPath, errs *FieldErrors) {
	if defaultMode != nil {
		validateMode(*defaultMode, p.Child("defaultMode"), errs)
	}
	seen := map[string]bool{}
	for i, it := range items {
		ip := p.Child("items").Index(i)
		if d := checkConfigKey(it.Key); d != "" {
			errs.Add(ip.Child("key").String(), "%s", d)
		}
		if d := checkItemPath(it.Path); d != "" {
			errs.Add(ip.Child("path").String(), "%s", d)
		} else if seen[it.Path] {
			errs.Add(ip.Child("path").String(), "duplicate path %s", quote(it.Path))
		}
		seen[it.Path] = true
		if it.Mode != nil {
			validateMode(*it.Mode, ip.Child("mode"), errs)
		}
	}
}

func validateMode(mode int32, p fieldPath, errs *FieldErrors) {
	if mode < 0 || mode > 0o777 {
		errs.Add(p.String(), "must be a file mode from 0 to 0777 (511), not %d", mode)
	}
}

// checkRelativePath checks a path inside a volume: relative, with no ".."
// element, so that it cannot escape the volume. A subPath is checked with
// it alone, as in Kubernetes; one into a ConfigMap or Secret volume that
// starts with ".." is refused when the container starts, since it would
// name the writer's own entries.
func checkRelativePath(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case path.IsAbs(p):
		return "must be a relative path, not start with '/'"
	case hasDotDot(p):
		return "must not contain '..'"
	}
	return ""
}

// checkItemPath checks where an item of a ConfigMap or Secret volume is
// projected, as Kubernetes does: a path inside the volume that does not
// start with "..", since the writer keeps its versions and its ..data link
// under such names (internal/atomicdir).
func checkItemPath(p string) string {
	if d := checkRelativePath(p); d != "" {
		return d
	}
	if strings.HasPrefix(p, "..") {
		return "must not start with '..'"
	}
	return ""
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// validateContainerConfig checks a container's env sources and volume
// mounts against the Pod's volumes.
func validateContainerConfig(c *Container, volumes map[string]*Volume, p fieldPath, errs *FieldErrors) {
	for i, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		vp := p.Child("env").Index(i).Child("valueFrom")
		if e.Value != "" {
			errs.Add(p.Child("env").Index(i).Child("value").String(), "may not be set together with valueFrom")
		}
		refs := 0
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			refs++
			validateKeyRef(r.Name, r.Key, vp.Child("configMapKeyRef"), errs)
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			refs++
			validateKeyRef(r.Name, r.Key, vp.Child("secretKeyRef"), errs)
		}
		if refs != 1 {
			errs.Add(vp.String(), "must have exactly one of configMapKeyRef and secretKeyRef")
		}
	}
	for i, e := range c.EnvFrom {
		ep := p.Child("envFrom").Index(i)
		if e.Prefix != "" {
			if d := checkEnvVarName(e.Prefix); d != "" {
				errs.Add(ep.Child("prefix").String(), "%s", d)
			}
		}
		refs := 0
		if e.ConfigMapRef != nil {
			refs++
			validateRefName(e.ConfigMapRef.Name, ep.Child("configMapRef").Child("name"), errs)
		}
		if e.SecretRef != nil {
			refs++
			validateRefName(e.SecretRef.Name, ep.Child("secretRef").Child("name"), errs)
		}
		if refs != 1 {
			errs.Add(ep.String(), "must have exactly one of configMapRef and secretRef")
		}
	}
	mounted := map[string]int{}
	for i, m := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(i)
		switch {
		case m.Name == "":
			errs.Required(mp.Child("name").String())
		case volumes[m.Name] == nil:
			errs.Add(mp.Child("name").String(), "no volume named %s in spec.volumes", quote(m.Name))
		}
		switch {
		case !path.IsAbs(m.MountPath):
			errs.Add(mp.Child("mountPath").String(), "must be an absolute path")
		case hasDotDot(m.MountPath):
			errs.Add(mp.Child("mountPath").String(), "must not contain '..'")
		default:
			clean := path.Clean(m.MountPath)
			if j, dup := mounted[clean]; dup {
				errs.Add(mp.Child("mountPath").String(), "%s is already mounted by volumeMounts[%d]", quote(clean), j)
			}
			mounted[clean] = i
		}
		if m.SubPath != "" {
			if d := checkRelativePath(m.SubPath); d != "" {
				errs.Add(mp.Child("subPath").String(), "%s", d)
			}
		}
	}
}

func validateKeyRef(name, key string, p fieldPath, errs *FieldErrors) {
	validateRefName(name, p.Child("name"), errs)
	if d := checkConfigKey(key); d != "" {
		errs.Add(p.Child("key").String(), "%s", d)
	}
}

func validateRefName(name string, p fieldPath, errs *FieldErrors) {
	if name == "" {
		errs.Required(p.String())
	} else if d := checkDNS1123Subdomain(name, false); d != "" {
		errs.Add(p.String(), "%s", d)
	}
}
