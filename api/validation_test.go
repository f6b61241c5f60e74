package api

import (
	"errors"
	"strings"
	"testing"
)

func validPod() *Pod {
	p := &Pod{
		ObjectMeta: ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: PodSpec{Containers: []Container{{
			Name:  "web",
			Image: "nginx:1.27",
			Ports: []ContainerPort{{Name: "http", ContainerPort: 80}},
			Env:   []EnvVar{{Name: "MODE", Value: "prod"}},
			Resources: ResourceRequirements{
				Requests: ResourceList{ResourceCPU: MustParseQuantity("100m"), ResourceMemory: MustParseQuantity("64Mi")},
				Limits:   ResourceList{ResourceCPU: MustParseQuantity("1"), ResourceMemory: MustParseQuantity("128Mi")},
			},
		}}},
	}
	SetDefaults(p)
	return p
}

func validDeployment() *Deployment {
	d := &Deployment{
		ObjectMeta: ObjectMeta{Name: "web", Namespace: "default"},
		Spec: DeploymentSpec{
			Selector: &LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: PodTemplateSpec{
				ObjectMeta: ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec:       PodSpec{Containers: []Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}
	SetDefaults(d)
	return d
}

func validService() *Service {
	s := &Service{
		ObjectMeta: ObjectMeta{Name: "web", Namespace: "default"},
		Spec: ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []ServicePort{{Name: "http", Port: 80, TargetPort: FromString("http")}},
		},
	}
	SetDefaults(s)
	return s
}

func validNamespace() *Namespace {
	return &Namespace{ObjectMeta: ObjectMeta{Name: "shop"}}
}

func validNode() *Node {
	return &Node{
		ObjectMeta: ObjectMeta{Name: "node-1.example.com", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Status: NodeStatus{
			Capacity:    ResourceList{ResourceCPU: MustParseQuantity("4"), ResourceMemory: MustParseQuantity("8Gi"), ResourcePods: MustParseQuantity("110")},
			Allocatable: ResourceList{ResourceCPU: MustParseQuantity("3500m")},
		},
	}
}

func validEvent() *Event {
	return &Event{
		ObjectMeta:     ObjectMeta{Name: "web-1.17c3a", Namespace: "default"},
		InvolvedObject: ObjectReference{Kind: KindPod, Name: "web-1", Namespace: "default"},
		Reason:         "Scheduled",
		Type:           EventTypeNormal,
		Count:          1,
	}
}

func pod(mutate func(*Pod)) Object               { p := validPod(); mutate(p); return p }
func deployment(mutate func(*Deployment)) Object { d := validDeployment(); mutate(d); return d }
func service(mutate func(*Service)) Object       { s := validService(); mutate(s); return s }
func namespace(mutate func(*Namespace)) Object   { n := validNamespace(); mutate(n); return n }
func node(mutate func(*Node)) Object             { n := validNode(); mutate(n); return n }
func event(mutate func(*Event)) Object           { e := validEvent(); mutate(e); return e }

func container(p *Pod) *Container { return &p.Spec.Containers[0] }

type validationCase struct {
	name string
	obj  Object
	// paths that must be reported; none means the object is valid.
	paths []string
	// detail, when set, must appear in the detail of paths[0].
	detail string
	// secret, when set, must not appear anywhere in the error.
	secret string
}

func runValidationCases(t *testing.T, cases []validationCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := ValidateFields(tc.obj)
			err := Validate(tc.obj)
			if len(tc.paths) == 0 {
				if len(errs) != 0 || err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors at %v, got none", tc.paths)
			}
			var ve *ValidationError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *ValidationError matching ErrInvalid", err)
			}
			if len(ve.Fields) != len(errs) {
				t.Errorf("Validate found %d problems, ValidateFields %d", len(ve.Fields), len(errs))
			}
			for i, path := range tc.paths {
				found := false
				for _, fe := range errs {
					if fe.Path != path {
						continue
					}
					found = true
					if i == 0 && tc.detail != "" && !strings.Contains(fe.Detail, tc.detail) {
						t.Errorf("detail at %s = %q, want it to contain %q", path, fe.Detail, tc.detail)
					}
				}
				if !found {
					t.Errorf("no error at %s; got %v", path, err)
				}
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error echoes the secret: %v", err)
			}
		})
	}
}

func TestValidateMetadata(t *testing.T) {
	long := strings.Repeat("a", 254)
	runValidationCases(t, []validationCase{
		{name: "valid pod", obj: validPod()},
		{name: "undefaulted pod is valid", obj: &Pod{ObjectMeta: ObjectMeta{Name: "p"}, Spec: PodSpec{Containers: []Container{{Name: "c", Image: "i"}}}}},
		{name: "dotted name", obj: pod(func(p *Pod) { p.Name = "web.v1-2" })},
		{name: "generateName only", obj: pod(func(p *Pod) { p.Name, p.GenerateName = "", "web-" })},
		{name: "name required", obj: pod(func(p *Pod) { p.Name = "" }), paths: []string{"metadata.name"}, detail: "required"},
		{name: "name uppercase", obj: pod(func(p *Pod) { p.Name = "Web" }), paths: []string{"metadata.name"}, detail: "must be a DNS-1123 subdomain"},
		{name: "name too long", obj: pod(func(p *Pod) { p.Name = long }), paths: []string{"metadata.name"}, detail: "at most 253 characters"},
		{name: "name at limit", obj: pod(func(p *Pod) { p.Name = long[:253] })},
		{name: "generateName bad", obj: pod(func(p *Pod) { p.Name, p.GenerateName = "", "Web-" }), paths: []string{"metadata.generateName"}, detail: "must start a valid name"},
		{name: "generateName too long", obj: pod(func(p *Pod) { p.Name, p.GenerateName = "", long[:249] }), paths: []string{"metadata.generateName"}, detail: "at most 248 characters"},
		{name: "generateName at limit", obj: pod(func(p *Pod) { p.Name, p.GenerateName = "", long[:247]+"-" })},
		{name: "namespace bad", obj: pod(func(p *Pod) { p.Namespace = "Prod" }), paths: []string{"metadata.namespace"}, detail: "DNS-1123 label"},
		{name: "namespace empty means default", obj: pod(func(p *Pod) { p.Namespace = "" })},
		{name: "generation negative", obj: pod(func(p *Pod) { p.Generation = -1 }), paths: []string{"metadata.generation"}},
		{name: "deletion grace negative", obj: pod(func(p *Pod) { p.DeletionGracePeriodSeconds = ptr[int64](-1) }), paths: []string{"metadata.deletionGracePeriodSeconds"}},
		{name: "label key with prefix", obj: pod(func(p *Pod) { p.Labels["app.kubernetes.io/name"] = "web" })},
		{name: "label value empty", obj: pod(func(p *Pod) { p.Labels["app"] = "" })},
		{name: "label key bad", obj: pod(func(p *Pod) { p.Labels["-app"] = "x" }), paths: []string{"metadata.labels[-app]"}, detail: "key must be a name"},
		{name: "label key bad prefix", obj: pod(func(p *Pod) { p.Labels["Example.com/app"] = "x" }), paths: []string{"metadata.labels[Example.com/app]"}},
		{name: "label key empty prefix", obj: pod(func(p *Pod) { p.Labels["/app"] = "x" }), paths: []string{"metadata.labels[/app]"}},
		{name: "label key two slashes", obj: pod(func(p *Pod) { p.Labels["a/b/c"] = "x" }), paths: []string{"metadata.labels[a/b/c]"}},
		{name: "label key name too long", obj: pod(func(p *Pod) { p.Labels[strings.Repeat("k", 64)] = "x" }), paths: []string{"metadata.labels[" + strings.Repeat("k", 64) + "]"}},
		{name: "label key empty", obj: pod(func(p *Pod) { p.Labels[""] = "x" }), paths: []string{"metadata.labels[]"}},
		{name: "label value bad", obj: pod(func(p *Pod) { p.Labels["app"] = "has space" }), paths: []string{"metadata.labels[app]"}, detail: "value must be empty or"},
		{name: "label value too long", obj: pod(func(p *Pod) { p.Labels["app"] = strings.Repeat("v", 64) }), paths: []string{"metadata.labels[app]"}},
		{name: "annotation value free-form", obj: pod(func(p *Pod) { p.Annotations = map[string]string{"example.com/note": "any text: at all!"} })},
		{name: "annotation key bad", obj: pod(func(p *Pod) { p.Annotations = map[string]string{"bad key": "x"} }), paths: []string{"metadata.annotations[bad key]"}},
		{name: "annotations too large", obj: pod(func(p *Pod) { p.Annotations = map[string]string{"a": strings.Repeat("x", 256*1024)} }), paths: []string{"metadata.annotations"}, detail: "at most 262144 bytes"},
		{name: "owner reference incomplete", obj: pod(func(p *Pod) { p.OwnerReferences = []OwnerReference{{Kind: "Deployment"}} }),
			paths: []string{"metadata.ownerReferences[0].apiVersion", "metadata.ownerReferences[0].name", "metadata.ownerReferences[0].uid"}},
		{name: "two controllers", obj: pod(func(p *Pod) {
			ref := OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "a", UID: "u", Controller: ptr(true)}
			p.OwnerReferences = []OwnerReference{ref, ref}
		}), paths: []string{"metadata.ownerReferences[1].controller"}},
		{name: "kind mismatch", obj: pod(func(p *Pod) { p.Kind = "Deployment" }), paths: []string{"kind"}},
		{name: "apiVersion mismatch", obj: pod(func(p *Pod) { p.APIVersion = "apps/v1" }), paths: []string{"apiVersion"}, detail: "Pod is served as v1"},
		{name: "nil object", obj: nil, paths: []string{""}},
		{name: "nil pod", obj: (*Pod)(nil), paths: []string{""}},
	})
}

func TestValidatePod(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "restart policies", obj: pod(func(p *Pod) { p.Spec.RestartPolicy = RestartPolicyOnFailure })},
		{name: "duplicate env names are allowed", obj: pod(func(p *Pod) { container(p).Env = []EnvVar{{Name: "A"}, {Name: "A"}} })},
		{name: "env names with dots and dashes", obj: pod(func(p *Pod) { container(p).Env = []EnvVar{{Name: "app.mode"}, {Name: "-x_1"}} })},
		{name: "requests equal limits", obj: pod(func(p *Pod) { container(p).Resources.Requests[ResourceCPU] = MustParseQuantity("1000m") })},
		{name: "hostNetwork with matching hostPort", obj: pod(func(p *Pod) { p.Spec.HostNetwork = true; container(p).Ports[0].HostPort = 80 })},
		{name: "same port number for TCP and UDP", obj: pod(func(p *Pod) {
			container(p).Ports = []ContainerPort{{ContainerPort: 53, HostPort: 53, Protocol: ProtocolTCP}, {ContainerPort: 53, HostPort: 53, Protocol: ProtocolUDP}}
		})},
		{name: "no containers", obj: pod(func(p *Pod) { p.Spec.Containers = nil }), paths: []string{"spec.containers"}, detail: "at least one container"},
		{name: "container name required", obj: pod(func(p *Pod) { container(p).Name = "" }), paths: []string{"spec.containers[0].name"}},
		{name: "container name bad", obj: pod(func(p *Pod) { container(p).Name = "Web_1" }), paths: []string{"spec.containers[0].name"}, detail: "DNS-1123 label"},
		{name: "container name too long", obj: pod(func(p *Pod) { container(p).Name = strings.Repeat("a", 64) }), paths: []string{"spec.containers[0].name"}},
		{name: "container name duplicate", obj: pod(func(p *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "web", Image: "x"})
		}), paths: []string{"spec.containers[1].name"}, detail: `duplicate name "web", already used by spec.containers[0].name`},
		{name: "image required", obj: pod(func(p *Pod) { container(p).Image = "" }), paths: []string{"spec.containers[0].image"}, detail: "required"},
		{name: "image with whitespace", obj: pod(func(p *Pod) { container(p).Image = "nginx :1" }), paths: []string{"spec.containers[0].image"}, detail: "whitespace"},
		{name: "image with trailing newline", obj: pod(func(p *Pod) { container(p).Image = "nginx\n" }), paths: []string{"spec.containers[0].image"}},
		{name: "pull policy bad", obj: pod(func(p *Pod) { container(p).ImagePullPolicy = "Sometimes" }), paths: []string{"spec.containers[0].imagePullPolicy"}, detail: `unsupported value "Sometimes": must be Always, IfNotPresent or Never`},
		{name: "env name required", obj: pod(func(p *Pod) { container(p).Env = []EnvVar{{Value: "x"}} }), paths: []string{"spec.containers[0].env[0].name"}},
		{name: "env name bad, value not echoed", obj: pod(func(p *Pod) { container(p).Env = []EnvVar{{Name: "1PASSWORD", Value: "hunter2"}} }),
			paths: []string{"spec.containers[0].env[0].name"}, detail: "must not start with a digit", secret: "hunter2"},
		{name: "env name with space", obj: pod(func(p *Pod) { container(p).Env = []EnvVar{{Name: "A B"}} }), paths: []string{"spec.containers[0].env[0].name"}},
		{name: "container port zero", obj: pod(func(p *Pod) { container(p).Ports[0].ContainerPort = 0 }), paths: []string{"spec.containers[0].ports[0].containerPort"}, detail: "between 1 and 65535"},
		{name: "container port too big", obj: pod(func(p *Pod) { container(p).Ports[0].ContainerPort = 65536 }), paths: []string{"spec.containers[0].ports[0].containerPort"}},
		{name: "host port negative", obj: pod(func(p *Pod) { container(p).Ports[0].HostPort = -1 }), paths: []string{"spec.containers[0].ports[0].hostPort"}},
		{name: "host port too big", obj: pod(func(p *Pod) { container(p).Ports[0].HostPort = 70000 }), paths: []string{"spec.containers[0].ports[0].hostPort"}},
		{name: "protocol bad", obj: pod(func(p *Pod) { container(p).Ports[0].Protocol = "SCTP" }), paths: []string{"spec.containers[0].ports[0].protocol"}, detail: "must be TCP or UDP"},
		{name: "port name uppercase", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "HTTP" }), paths: []string{"spec.containers[0].ports[0].name"}, detail: "IANA service name"},
		{name: "port name double dash", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "web--x" }), paths: []string{"spec.containers[0].ports[0].name"}},
		{name: "port name leading dash", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "-web" }), paths: []string{"spec.containers[0].ports[0].name"}},
		{name: "port name digits only", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "8080" }), paths: []string{"spec.containers[0].ports[0].name"}},
		{name: "port name too long", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "abcdefghijklmnop" }), paths: []string{"spec.containers[0].ports[0].name"}},
		{name: "port name at limit", obj: pod(func(p *Pod) { container(p).Ports[0].Name = "abcdefghijklmno" })},
		{name: "port name duplicate across containers", obj: pod(func(p *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "side", Image: "x", Ports: []ContainerPort{{Name: "http", ContainerPort: 81}}})
		}), paths: []string{"spec.containers[1].ports[0].name"}, detail: "unique within a Pod"},
		{name: "host port duplicate", obj: pod(func(p *Pod) {
			container(p).Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "side", Image: "x", Ports: []ContainerPort{{ContainerPort: 81, HostPort: 8080}}})
		}), paths: []string{"spec.containers[1].ports[0].hostPort"}, detail: "duplicate host port 8080/TCP"},
		{name: "hostNetwork hostPort differs", obj: pod(func(p *Pod) { p.Spec.HostNetwork = true; container(p).Ports[0].HostPort = 8080 }), paths: []string{"spec.containers[0].ports[0].hostPort"}, detail: "must equal containerPort"},
		{name: "hostIP bad", obj: pod(func(p *Pod) { container(p).Ports[0].HostIP = "localhost" }), paths: []string{"spec.containers[0].ports[0].hostIP"}},
		{name: "hostIP good", obj: pod(func(p *Pod) { container(p).Ports[0].HostIP = "::1" })},
		{name: "dnsPolicy unknown", obj: pod(func(p *Pod) { p.Spec.DNSPolicy = "ClusterOnly" }), paths: []string{"spec.dnsPolicy"}},
		{name: "dnsPolicy None without nameservers", obj: pod(func(p *Pod) { p.Spec.DNSPolicy = DNSNone }), paths: []string{"spec.dnsConfig.nameservers"}, detail: "required when dnsPolicy is None"},
		{name: "dnsPolicy None with a nameserver", obj: pod(func(p *Pod) {
			p.Spec.DNSPolicy = DNSNone
			p.Spec.DNSConfig = &PodDNSConfig{Nameservers: []string{"192.0.2.53"}, Searches: []string{"example.com."}, Options: []PodDNSConfigOption{{Name: "ndots"}}}
		})},
		{name: "dnsConfig bad entries", obj: pod(func(p *Pod) {
			bad := "1 2"
			p.Spec.DNSConfig = &PodDNSConfig{
				Nameservers: []string{"192.0.2.1", "dns.example", "192.0.2.3", "192.0.2.4"},
				Searches:    []string{"Bad_Domain"},
				Options:     []PodDNSConfigOption{{Name: ""}, {Name: "ndots:2"}, {Name: "ndots", Value: &bad}},
			}
		}), paths: []string{
			"spec.dnsConfig.nameservers", "spec.dnsConfig.nameservers[1]", "spec.dnsConfig.searches[0]",
			"spec.dnsConfig.options[0].name", "spec.dnsConfig.options[1].name", "spec.dnsConfig.options[2].value",
		}},
		{name: "pods resource in container", obj: pod(func(p *Pod) { container(p).Resources.Limits[ResourcePods] = MustParseQuantity("1") }), paths: []string{"spec.containers[0].resources.limits[pods]"}, detail: "cpu and memory only"},
		{name: "other resource in container", obj: pod(func(p *Pod) { container(p).Resources.Requests["ephemeral-storage"] = MustParseQuantity("1Gi") }), paths: []string{"spec.containers[0].resources.requests[ephemeral-storage]"}},
		{name: "negative quantity", obj: pod(func(p *Pod) { container(p).Resources.Requests[ResourceCPU] = MustParseQuantity("-1") }), paths: []string{"spec.containers[0].resources.requests[cpu]"}, detail: "must not be negative"},
		{name: "request above limit", obj: pod(func(p *Pod) { container(p).Resources.Requests[ResourceMemory] = MustParseQuantity("1Gi") }), paths: []string{"spec.containers[0].resources.requests[memory]"}, detail: `less than or equal to the memory limit, "128Mi"`},
		{name: "restart policy bad", obj: pod(func(p *Pod) { p.Spec.RestartPolicy = "Sometimes" }), paths: []string{"spec.restartPolicy"}, detail: "Always, OnFailure or Never"},
		{name: "grace period negative", obj: pod(func(p *Pod) { p.Spec.TerminationGracePeriodSeconds = ptr[int64](-1) }), paths: []string{"spec.terminationGracePeriodSeconds"}},
		{name: "grace period zero", obj: pod(func(p *Pod) { p.Spec.TerminationGracePeriodSeconds = ptr[int64](0) })},
		{name: "node selector key bad", obj: pod(func(p *Pod) { p.Spec.NodeSelector = map[string]string{"disk type": "ssd"} }), paths: []string{"spec.nodeSelector[disk type]"}},
		{name: "node selector value bad", obj: pod(func(p *Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd!"} }), paths: []string{"spec.nodeSelector[disk]"}},
		{name: "node name bad", obj: pod(func(p *Pod) { p.Spec.NodeName = "Node_1" }), paths: []string{"spec.nodeName"}},
		{name: "every problem reported", obj: pod(func(p *Pod) {
			p.Name = "Bad"
			container(p).Image = ""
			container(p).Ports[0].ContainerPort = 0
			p.Spec.RestartPolicy = "x"
		}), paths: []string{"metadata.name", "spec.containers[0].image", "spec.containers[0].ports[0].containerPort", "spec.restartPolicy"}},
	})
}

func TestValidateDeployment(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "valid", obj: validDeployment()},
		{name: "undefaulted", obj: &Deployment{ObjectMeta: ObjectMeta{Name: "d"}, Spec: DeploymentSpec{
			Selector: SelectorFromSet(map[string]string{"a": "b"}),
			Template: PodTemplateSpec{ObjectMeta: ObjectMeta{Labels: map[string]string{"a": "b"}}, Spec: PodSpec{Containers: []Container{{Name: "c", Image: "i"}}}},
		}}},
		{name: "zero replicas", obj: deployment(func(d *Deployment) { d.Spec.Replicas = ptr[int32](0) })},
		{name: "recreate", obj: deployment(func(d *Deployment) { d.Spec.Strategy = DeploymentStrategy{Type: RecreateDeploymentStrategyType} })},
		{name: "expressions", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{
				{Key: "tier", Operator: LabelSelectorOpIn, Values: []string{"front", "back"}},
				{Key: "tier", Operator: LabelSelectorOpExists},
				{Key: "canary", Operator: LabelSelectorOpDoesNotExist},
				{Key: "tier", Operator: LabelSelectorOpNotIn, Values: []string{"db"}},
			}
		})},
		{name: "surge zero, unavailable one", obj: deployment(func(d *Deployment) {
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(FromInt(0)), MaxUnavailable: ptr(FromInt(1))}
		})},
		{name: "unavailable 100%", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(FromString("100%")) })},
		{name: "surge above 100%", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("200%")) })},
		{name: "replicas negative", obj: deployment(func(d *Deployment) { d.Spec.Replicas = ptr[int32](-1) }), paths: []string{"spec.replicas"}},
		{name: "selector required", obj: deployment(func(d *Deployment) { d.Spec.Selector = nil }), paths: []string{"spec.selector"}, detail: "required"},
		{name: "selector empty", obj: deployment(func(d *Deployment) { d.Spec.Selector = &LabelSelector{} }), paths: []string{"spec.selector"}, detail: "must not be empty"},
		{name: "selector does not match", obj: deployment(func(d *Deployment) { d.Spec.Selector.MatchLabels["app"] = "api" }),
			paths: []string{"spec.template.metadata.labels"}, detail: "does not match spec.selector"},
		{name: "selector expression does not match", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpNotIn, Values: []string{"front"}}}
		}), paths: []string{"spec.template.metadata.labels"}},
		{name: "In without values", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpIn}}
		}), paths: []string{"spec.selector.matchExpressions[0].values"}, detail: "needs at least one value"},
		{name: "NotIn without values", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpNotIn}}
		}), paths: []string{"spec.selector.matchExpressions[0].values"}},
		{name: "Exists with values", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpExists, Values: []string{"x"}}}
		}), paths: []string{"spec.selector.matchExpressions[0].values"}, detail: "takes no values"},
		{name: "DoesNotExist with values", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "x", Operator: LabelSelectorOpDoesNotExist, Values: []string{"x"}}}
		}), paths: []string{"spec.selector.matchExpressions[0].values"}},
		{name: "operator bad", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: "Equals", Values: []string{"x"}}}
		}), paths: []string{"spec.selector.matchExpressions[0].operator"}},
		{name: "operator missing", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier"}}
		}), paths: []string{"spec.selector.matchExpressions[0].operator"}},
		{name: "expression key bad", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "bad key", Operator: LabelSelectorOpExists}}
		}), paths: []string{"spec.selector.matchExpressions[0].key"}},
		{name: "expression key missing", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Operator: LabelSelectorOpExists}}
		}), paths: []string{"spec.selector.matchExpressions[0].key"}},
		{name: "expression value bad", obj: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpIn, Values: []string{"front", "a b"}}}
		}), paths: []string{"spec.selector.matchExpressions[0].values[1]"}},
		{name: "match label bad", obj: deployment(func(d *Deployment) { d.Spec.Selector.MatchLabels["app"] = "we b" }), paths: []string{"spec.selector.matchLabels[app]"}},
		{name: "template label bad", obj: deployment(func(d *Deployment) { d.Spec.Template.Labels["bad key"] = "x" }), paths: []string{"spec.template.metadata.labels[bad key]"}},
		{name: "template annotation bad", obj: deployment(func(d *Deployment) { d.Spec.Template.Annotations = map[string]string{"bad key": "x"} }), paths: []string{"spec.template.metadata.annotations[bad key]"}},
		{name: "template restart policy", obj: deployment(func(d *Deployment) { d.Spec.Template.Spec.RestartPolicy = RestartPolicyNever }),
			paths: []string{"spec.template.spec.restartPolicy"}, detail: "Deployments support only Always"},
		{name: "template image", obj: deployment(func(d *Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" }), paths: []string{"spec.template.spec.containers[0].image"}},
		{name: "template no containers", obj: deployment(func(d *Deployment) { d.Spec.Template.Spec.Containers = nil }), paths: []string{"spec.template.spec.containers"}},
		{name: "strategy type bad", obj: deployment(func(d *Deployment) { d.Spec.Strategy.Type = "BlueGreen" }), paths: []string{"spec.strategy.type"}, detail: "RollingUpdate or Recreate"},
		{name: "rollingUpdate with Recreate", obj: deployment(func(d *Deployment) { d.Spec.Strategy.Type = RecreateDeploymentStrategyType }),
			paths: []string{"spec.strategy.rollingUpdate"}, detail: "may not be set when spec.strategy.type is Recreate"},
		{name: "maxSurge negative", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromInt(-1)) }), paths: []string{"spec.strategy.rollingUpdate.maxSurge"}},
		{name: "maxSurge not a percentage", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("25")) }), paths: []string{"spec.strategy.rollingUpdate.maxSurge"}, detail: "percentage"},
		{name: "maxSurge negative percentage", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(FromString("-5%")) }), paths: []string{"spec.strategy.rollingUpdate.maxSurge"}},
		{name: "maxUnavailable above 100%", obj: deployment(func(d *Deployment) { d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(FromString("101%")) }), paths: []string{"spec.strategy.rollingUpdate.maxUnavailable"}, detail: "100%"},
		{name: "both zero", obj: deployment(func(d *Deployment) {
			d.Spec.Strategy.RollingUpdate = &RollingUpdateDeployment{MaxSurge: ptr(FromString("0%")), MaxUnavailable: ptr(FromInt(0))}
		}), paths: []string{"spec.strategy.rollingUpdate.maxUnavailable"}, detail: "may not be 0 when maxSurge is 0"},
		{name: "minReadySeconds negative", obj: deployment(func(d *Deployment) { d.Spec.MinReadySeconds = -1 }), paths: []string{"spec.minReadySeconds"}},
		{name: "revisionHistoryLimit negative", obj: deployment(func(d *Deployment) { d.Spec.RevisionHistoryLimit = ptr[int32](-1) }), paths: []string{"spec.revisionHistoryLimit"}},
		{name: "progress deadline not above minReady", obj: deployment(func(d *Deployment) { d.Spec.MinReadySeconds = 600 }),
			paths: []string{"spec.progressDeadlineSeconds"}, detail: "greater than minReadySeconds (600)"},
		{name: "progress deadline negative", obj: deployment(func(d *Deployment) { d.Spec.ProgressDeadlineSeconds = ptr[int32](-1) }), paths: []string{"spec.progressDeadlineSeconds"}},
		{name: "name bad", obj: deployment(func(d *Deployment) { d.Name = "Web" }), paths: []string{"metadata.name"}, detail: "DNS-1123 subdomain"},
	})
}

func TestValidateService(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "valid", obj: validService()},
		{name: "headless without ports", obj: service(func(s *Service) { s.Spec.ClusterIP = ClusterIPNone; s.Spec.Ports = nil })},
		{name: "node port", obj: service(func(s *Service) { s.Spec.Type = ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 })},
		{name: "single unnamed port", obj: service(func(s *Service) { s.Spec.Ports[0].Name = "" })},
		{name: "tcp and udp on one port", obj: service(func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "dns-tcp", Port: 53}, {Name: "dns-udp", Port: 53, Protocol: ProtocolUDP}}
		})},
		{name: "client ip affinity", obj: service(func(s *Service) { s.Spec.SessionAffinity = ServiceAffinityClientIP })},
		{name: "name must start with a letter", obj: service(func(s *Service) { s.Name = "1web" }), paths: []string{"metadata.name"}, detail: "DNS-1035 label"},
		{name: "name may not have dots", obj: service(func(s *Service) { s.Name = "web.v1" }), paths: []string{"metadata.name"}},
		{name: "type LoadBalancer", obj: service(func(s *Service) { s.Spec.Type = "LoadBalancer" }), paths: []string{"spec.type"}, detail: "Baton supports ClusterIP and NodePort"},
		{name: "cluster IP set", obj: service(func(s *Service) { s.Spec.ClusterIP = "10.0.0.1" })},
		{name: "headless NodePort", obj: service(func(s *Service) { s.Spec.ClusterIP = ClusterIPNone; s.Spec.Type = ServiceTypeNodePort }), paths: []string{"spec.clusterIP"}},
		{name: "no ports", obj: service(func(s *Service) { s.Spec.Ports = nil }), paths: []string{"spec.ports"}, detail: "at least one port"},
		{name: "port zero", obj: service(func(s *Service) { s.Spec.Ports[0].Port = 0 }), paths: []string{"spec.ports[0].port"}},
		{name: "port too big", obj: service(func(s *Service) { s.Spec.Ports[0].Port = 65536 }), paths: []string{"spec.ports[0].port"}},
		{name: "protocol bad", obj: service(func(s *Service) { s.Spec.Ports[0].Protocol = "SCTP" }), paths: []string{"spec.ports[0].protocol"}},
		{name: "names required with several ports", obj: service(func(s *Service) {
			s.Spec.Ports = []ServicePort{{Port: 80}, {Port: 443}}
		}), paths: []string{"spec.ports[0].name", "spec.ports[1].name"}, detail: "required when a Service has more than one port"},
		{name: "names unique", obj: service(func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "web", Port: 80}, {Name: "web", Port: 443}}
		}), paths: []string{"spec.ports[1].name"}, detail: "unique"},
		{name: "name bad", obj: service(func(s *Service) { s.Spec.Ports[0].Name = "Web" }), paths: []string{"spec.ports[0].name"}},
		{name: "port and protocol unique", obj: service(func(s *Service) {
			s.Spec.Ports = []ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80, Protocol: ProtocolTCP}}
		}), paths: []string{"spec.ports[1].port"}, detail: "duplicate port 80/TCP"},
		{name: "target port number bad", obj: service(func(s *Service) { s.Spec.Ports[0].TargetPort = FromInt(70000) }), paths: []string{"spec.ports[0].targetPort"}},
		{name: "target port negative", obj: service(func(s *Service) { s.Spec.Ports[0].TargetPort = FromInt(-1) }), paths: []string{"spec.ports[0].targetPort"}},
		{name: "target port name bad", obj: service(func(s *Service) { s.Spec.Ports[0].TargetPort = FromString("HTTP") }), paths: []string{"spec.ports[0].targetPort"}, detail: "IANA service name"},
		{name: "target port unset", obj: service(func(s *Service) { s.Spec.Ports[0].TargetPort = IntOrString{} })},
		{name: "node port on ClusterIP", obj: service(func(s *Service) { s.Spec.Ports[0].NodePort = 30080 }), paths: []string{"spec.ports[0].nodePort"}, detail: "only be set when spec.type is NodePort"},
		{name: "node port out of range", obj: service(func(s *Service) { s.Spec.Type = ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 80 }), paths: []string{"spec.ports[0].nodePort"}, detail: "between 30000 and 32767"},
		{name: "node port duplicate", obj: service(func(s *Service) {
			s.Spec.Type = ServiceTypeNodePort
			s.Spec.Ports = []ServicePort{{Name: "a", Port: 80, NodePort: 30080}, {Name: "b", Port: 81, NodePort: 30080}}
		}), paths: []string{"spec.ports[1].nodePort"}},
		{name: "session affinity bad", obj: service(func(s *Service) { s.Spec.SessionAffinity = "Sticky" }), paths: []string{"spec.sessionAffinity"}},
		{name: "selector key bad", obj: service(func(s *Service) { s.Spec.Selector["bad key"] = "x" }), paths: []string{"spec.selector[bad key]"}},
		{name: "selector value bad", obj: service(func(s *Service) { s.Spec.Selector["app"] = "x!" }), paths: []string{"spec.selector[app]"}},
	})
}

func TestValidateOtherKinds(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "namespace valid", obj: validNamespace()},
		{name: "namespace generateName", obj: namespace(func(n *Namespace) { n.Name, n.GenerateName = "", "team-" })},
		{name: "namespace name with dot", obj: namespace(func(n *Namespace) { n.Name = "a.b" }), paths: []string{"metadata.name"}, detail: "DNS-1123 label"},
		{name: "namespace name uppercase", obj: namespace(func(n *Namespace) { n.Name = "Shop" }), paths: []string{"metadata.name"}},
		{name: "namespace name missing", obj: namespace(func(n *Namespace) { n.Name = "" }), paths: []string{"metadata.name"}},
		{name: "namespace in a namespace", obj: namespace(func(n *Namespace) { n.Namespace = "default" }), paths: []string{"metadata.namespace"}, detail: "not namespaced"},
		{name: "node valid", obj: validNode()},
		{name: "node name bad", obj: node(func(n *Node) { n.Name = "Node_1" }), paths: []string{"metadata.name"}},
		{name: "node in a namespace", obj: node(func(n *Node) { n.Namespace = "default" }), paths: []string{"metadata.namespace"}},
		{name: "node capacity negative", obj: node(func(n *Node) { n.Status.Capacity[ResourceCPU] = MustParseQuantity("-1") }), paths: []string{"status.capacity[cpu]"}},
		{name: "node allocatable negative", obj: node(func(n *Node) { n.Status.Allocatable[ResourceMemory] = MustParseQuantity("-1Mi") }), paths: []string{"status.allocatable[memory]"}},
		{name: "node label bad", obj: node(func(n *Node) { n.Labels["bad key"] = "x" }), paths: []string{"metadata.labels[bad key]"}},
		{name: "event valid", obj: validEvent()},
		{name: "event warning", obj: event(func(e *Event) { e.Type = EventTypeWarning })},
		{name: "event involved kind", obj: event(func(e *Event) { e.InvolvedObject.Kind = "" }), paths: []string{"involvedObject.kind"}},
		{name: "event involved name", obj: event(func(e *Event) { e.InvolvedObject.Name = "" }), paths: []string{"involvedObject.name"}},
		{name: "event type bad", obj: event(func(e *Event) { e.Type = "Info" }), paths: []string{"type"}, detail: "Normal or Warning"},
		{name: "event type missing", obj: event(func(e *Event) { e.Type = "" }), paths: []string{"type"}},
		{name: "event count negative", obj: event(func(e *Event) { e.Count = -1 }), paths: []string{"count"}},
		{name: "event name bad", obj: event(func(e *Event) { e.Name = "Bad" }), paths: []string{"metadata.name"}},
	})
}

type alienObject struct{ ObjectMeta }

func (*alienObject) ObjectKind() string       { return "Alien" }
func (a *alienObject) DeepCopyObject() Object { c := *a; return &c }

func TestValidateUnknownObject(t *testing.T) {
	errs := ValidateFields(&alienObject{})
	if len(errs) != 1 || errs[0].Path != "kind" {
		t.Fatalf("ValidateFields(alien) = %v", errs)
	}
}

func TestValidationErrorText(t *testing.T) {
	p := validPod()
	p.Spec.Containers[0].Image = ""
	err := Validate(p)
	want := `Pod "web-1" is invalid: spec.containers[0].image: required: the image to run, such as "nginx:1.27"`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate = %v\nwant %s", err, want)
	}
}

func TestValidationTruncatesLongValues(t *testing.T) {
	p := validPod()
	long := strings.Repeat("x", 10000)
	p.Spec.RestartPolicy = RestartPolicy(long)
	p.Labels[long] = long
	p.Spec.Containers[0].Resources.Limits[ResourceName(long)] = MustParseQuantity("1")
	err := Validate(p)
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	if len(err.Error()) > 2000 {
		t.Fatalf("error is %d bytes long: %.300s...", len(err.Error()), err)
	}
}
