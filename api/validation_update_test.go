package api

import (
	"strings"
	"testing"
)

func TestValidateUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    Object
		new    Object
		paths  []string
		secret string
	}{
		{name: "pod image", old: validPod(), new: pod(func(p *Pod) { container(p).Image = "nginx:1.28" })},
		{name: "pod metadata", old: validPod(), new: pod(func(p *Pod) { p.Labels["version"] = "2"; p.Annotations = map[string]string{"a": "b"} })},
		{name: "pod status", old: validPod(), new: pod(func(p *Pod) { p.Status.Phase = PodRunning })},
		{name: "same quantity written differently", old: validPod(), new: pod(func(p *Pod) { container(p).Resources.Limits[ResourceCPU] = MustParseQuantity("1000m") })},
		{name: "nil and empty are the same", old: validPod(), new: pod(func(p *Pod) { p.Spec.NodeSelector = map[string]string{}; container(p).Args = []string{} })},
		{name: "empty uid and namespace mean unchanged", old: pod(func(p *Pod) { p.UID = "u1" }), new: pod(func(p *Pod) { p.Namespace = "" })},
		{name: "name", old: validPod(), new: pod(func(p *Pod) { p.Name = "web-2" }), paths: []string{"metadata.name"}},
		{name: "namespace", old: validPod(), new: pod(func(p *Pod) { p.Namespace = "other" }), paths: []string{"metadata.namespace"}},
		{name: "uid", old: pod(func(p *Pod) { p.UID = "u1" }), new: pod(func(p *Pod) { p.UID = "u2" }), paths: []string{"metadata.uid"}},
		{name: "kind", old: validPod(), new: validService(), paths: []string{"kind"}},
		{name: "pod env value", old: validPod(), new: pod(func(p *Pod) { container(p).Env[0].Value = "s3cret-value" }),
			paths: []string{"spec.containers[0].env[0].value"}, secret: "s3cret-value"},
		{name: "pod add container", old: validPod(), new: pod(func(p *Pod) {
			p.Spec.Containers = append(p.Spec.Containers, Container{Name: "side", Image: "x"})
		}), paths: []string{"spec.containers"}},
		{name: "pod node name", old: validPod(), new: pod(func(p *Pod) { p.Spec.NodeName = "node-1" }), paths: []string{"spec.nodeName"}},
		{name: "pod restart policy and limits", old: validPod(), new: pod(func(p *Pod) {
			p.Spec.RestartPolicy = RestartPolicyNever
			container(p).Resources.Limits[ResourceCPU] = MustParseQuantity("2")
			container(p).Image = "nginx:1.28"
		}), paths: []string{"spec.restartPolicy", "spec.containers[0].resources.limits[cpu]"}},
		{name: "pod node selector key", old: validPod(), new: pod(func(p *Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), paths: []string{"spec.nodeSelector[disk]"}},
		{name: "deployment template and replicas", old: validDeployment(), new: deployment(func(d *Deployment) {
			d.Spec.Replicas = ptr[int32](5)
			d.Spec.Template.Spec.Containers[0].Env = []EnvVar{{Name: "A", Value: "b"}}
		})},
		{name: "deployment selector", old: validDeployment(), new: deployment(func(d *Deployment) { d.Spec.Selector.MatchLabels["tier"] = "front" }), paths: []string{"spec.selector"}},
		{name: "deployment selector removed", old: validDeployment(), new: deployment(func(d *Deployment) { d.Spec.Selector = nil }), paths: []string{"spec.selector"}},
		{name: "deployment selector expression", old: validDeployment(), new: deployment(func(d *Deployment) {
			d.Spec.Selector.MatchExpressions = []LabelSelectorRequirement{{Key: "tier", Operator: LabelSelectorOpExists}}
		}), paths: []string{"spec.selector"}},
		{name: "service ports", old: validService(), new: service(func(s *Service) { s.Spec.Ports[0].Port = 8080 })},
		{name: "service cluster IP kept", old: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" }), new: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" })},
		{name: "service cluster IP left empty", old: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" }), new: validService()},
		{name: "service cluster IP changed", old: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" }), new: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.10" }), paths: []string{"spec.clusterIP"}},
		{name: "service made headless", old: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" }), new: service(func(s *Service) { s.Spec.ClusterIP = ClusterIPNone }), paths: []string{"spec.clusterIP"}},
		{name: "headless service given an IP", old: service(func(s *Service) { s.Spec.ClusterIP = ClusterIPNone }), new: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.9" }), paths: []string{"spec.clusterIP"}},
		{name: "namespace labels", old: validNamespace(), new: namespace(func(n *Namespace) { n.Labels = map[string]string{"a": "b"} })},
		{name: "nil", old: nil, new: validPod(), paths: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateUpdate(tt.old, tt.new)
			if len(tt.paths) == 0 {
				if len(errs) > 0 {
					t.Fatalf("want no errors, got %v", errs.Err("", ""))
				}
				return
			}
			if len(errs) != len(tt.paths) {
				t.Errorf("got %d errors, want %d: %v", len(errs), len(tt.paths), errs.Err("", ""))
			}
			for _, path := range tt.paths {
				found := false
				for _, fe := range errs {
					found = found || fe.Path == path
				}
				if !found {
					t.Errorf("no error at %s; got %v", path, errs.Err("", ""))
				}
			}
			if tt.secret != "" && strings.Contains(errs.Err("", "").Error(), tt.secret) {
				t.Errorf("error echoes the secret: %v", errs.Err("", ""))
			}
		})
	}
}

func TestValidateUpdateBoundsReport(t *testing.T) {
	old := validPod()
	next := validPod()
	for i := 0; i < 100; i++ {
		name := "c" + strings.Repeat("x", i%5) + string(rune('a'+i%26))
		old.Spec.Containers = append(old.Spec.Containers, Container{Name: name, Image: "a"})
		next.Spec.Containers = append(next.Spec.Containers, Container{Name: name, Image: "a", WorkingDir: "/x"})
	}
	if errs := ValidateUpdate(old, next); len(errs) != maxUpdateDiffs {
		t.Errorf("got %d errors, want %d", len(errs), maxUpdateDiffs)
	}
}
