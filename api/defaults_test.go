package api

import (
	"reflect"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestDefaultPullPolicy(t *testing.T) {
	tests := []struct {
		image string
		want  PullPolicy
	}{
		{"nginx", PullAlways},
		{"nginx:latest", PullAlways},
		{"nginx:1.27", PullIfNotPresent},
		{"library/nginx:1.27", PullIfNotPresent},
		{"host:5000/img", PullAlways},
		{"host:5000/img:1.0", PullIfNotPresent},
		{"host:5000/team/img:latest", PullAlways},
		{"img@sha256:0123456789abcdef", PullIfNotPresent},
		{"img:latest@sha256:0123456789abcdef", PullIfNotPresent},
		{"localhost:5000/img", PullAlways},
		{"", PullAlways},
	}
	for _, tt := range tests {
		if got := defaultPullPolicy(tt.image); got != tt.want {
			t.Errorf("defaultPullPolicy(%q) = %s, want %s", tt.image, got, tt.want)
		}
	}
}

func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Object
		want Object
	}{
		{
			name: "pod",
			in: &Pod{
				ObjectMeta: ObjectMeta{Name: "p"},
				Spec: PodSpec{Containers: []Container{
					{Name: "a", Image: "nginx", Ports: []ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: ProtocolUDP}}},
					{Name: "b", Image: "nginx:1.27", ImagePullPolicy: PullNever,
						Resources: ResourceRequirements{
							Limits:   ResourceList{ResourceCPU: MustParseQuantity("1"), ResourceMemory: MustParseQuantity("1Gi")},
							Requests: ResourceList{ResourceCPU: MustParseQuantity("500m")},
						}},
					{Name: "c", Image: "busybox:1.36", Resources: ResourceRequirements{
						Limits: ResourceList{ResourceMemory: MustParseQuantity("64Mi")},
					}},
				}},
			},
			want: &Pod{
				TypeMeta:   TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: ObjectMeta{Name: "p"},
				Spec: PodSpec{
					RestartPolicy:                 RestartPolicyAlways,
					TerminationGracePeriodSeconds: ptr[int64](30),
					Containers: []Container{
						{Name: "a", Image: "nginx", ImagePullPolicy: PullAlways,
							Ports: []ContainerPort{{ContainerPort: 80, Protocol: ProtocolTCP}, {ContainerPort: 53, Protocol: ProtocolUDP}}},
						{Name: "b", Image: "nginx:1.27", ImagePullPolicy: PullNever,
							Resources: ResourceRequirements{
								Limits:   ResourceList{ResourceCPU: MustParseQuantity("1"), ResourceMemory: MustParseQuantity("1Gi")},
								Requests: ResourceList{ResourceCPU: MustParseQuantity("500m"), ResourceMemory: MustParseQuantity("1Gi")},
							}},
						{Name: "c", Image: "busybox:1.36", ImagePullPolicy: PullIfNotPresent, Resources: ResourceRequirements{
							Limits:   ResourceList{ResourceMemory: MustParseQuantity("64Mi")},
							Requests: ResourceList{ResourceMemory: MustParseQuantity("64Mi")},
						}},
					},
				},
			},
		},
		{
			name: "pod keeps what is set",
			in: &Pod{
				TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Pod"},
				Spec: PodSpec{RestartPolicy: RestartPolicyNever, TerminationGracePeriodSeconds: ptr[int64](0),
					Containers: []Container{{Name: "a", Image: "nginx", ImagePullPolicy: PullIfNotPresent}}},
			},
			want: &Pod{
				TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Pod"},
				Spec: PodSpec{RestartPolicy: RestartPolicyNever, TerminationGracePeriodSeconds: ptr[int64](0),
					Containers: []Container{{Name: "a", Image: "nginx", ImagePullPolicy: PullIfNotPresent}}},
			},
		},
		{
			name: "deployment",
			in: &Deployment{
				Spec: DeploymentSpec{Template: PodTemplateSpec{Spec: PodSpec{
					Containers: []Container{{Name: "a", Image: "nginx:1.27", Resources: ResourceRequirements{
						Limits: ResourceList{ResourceCPU: MustParseQuantity("1")},
					}}},
				}}},
			},
			want: &Deployment{
				TypeMeta: TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				Spec: DeploymentSpec{
					Replicas: ptr[int32](1),
					Strategy: DeploymentStrategy{Type: RollingUpdateDeploymentStrategyType, RollingUpdate: &RollingUpdateDeployment{
						MaxSurge: ptr(FromString("25%")), MaxUnavailable: ptr(FromString("25%")),
					}},
					RevisionHistoryLimit:    ptr[int32](10),
					ProgressDeadlineSeconds: ptr[int32](600),
					Template: PodTemplateSpec{Spec: PodSpec{
						RestartPolicy:                 RestartPolicyAlways,
						TerminationGracePeriodSeconds: ptr[int64](30),
						// Templates do not get requests from limits; the Pods made from them do.
						Containers: []Container{{Name: "a", Image: "nginx:1.27", ImagePullPolicy: PullIfNotPresent,
							Resources: ResourceRequirements{Limits: ResourceList{ResourceCPU: MustParseQuantity("1")}}}},
					}},
				},
			},
		},
		{
			name: "deployment with partial rolling update",
			in: &Deployment{Spec: DeploymentSpec{Replicas: ptr[int32](0), Strategy: DeploymentStrategy{
				RollingUpdate: &RollingUpdateDeployment{MaxSurge: ptr(FromInt(0))},
			}}},
			want: &Deployment{
				TypeMeta: TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				Spec: DeploymentSpec{
					Replicas: ptr[int32](0),
					Strategy: DeploymentStrategy{Type: RollingUpdateDeploymentStrategyType, RollingUpdate: &RollingUpdateDeployment{
						MaxSurge: ptr(FromInt(0)), MaxUnavailable: ptr(FromString("25%")),
					}},
					RevisionHistoryLimit:    ptr[int32](10),
					ProgressDeadlineSeconds: ptr[int32](600),
					Template: PodTemplateSpec{Spec: PodSpec{
						RestartPolicy: RestartPolicyAlways, TerminationGracePeriodSeconds: ptr[int64](30),
					}},
				},
			},
		},
		{
			name: "deployment with Recreate gets no rollingUpdate",
			in:   &Deployment{Spec: DeploymentSpec{Strategy: DeploymentStrategy{Type: RecreateDeploymentStrategyType}}},
			want: &Deployment{
				TypeMeta: TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				Spec: DeploymentSpec{
					Replicas:                ptr[int32](1),
					Strategy:                DeploymentStrategy{Type: RecreateDeploymentStrategyType},
					RevisionHistoryLimit:    ptr[int32](10),
					ProgressDeadlineSeconds: ptr[int32](600),
					Template: PodTemplateSpec{Spec: PodSpec{
						RestartPolicy: RestartPolicyAlways, TerminationGracePeriodSeconds: ptr[int64](30),
					}},
				},
			},
		},
		{
			name: "service",
			in: &Service{Spec: ServiceSpec{Ports: []ServicePort{
				{Name: "http", Port: 80},
				{Name: "dns", Port: 53, Protocol: ProtocolUDP, TargetPort: FromInt(5353)},
				{Name: "named", Port: 8080, TargetPort: FromString("web")},
				{Name: "empty-string", Port: 9090, TargetPort: FromString("")},
			}}},
			want: &Service{
				TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Service"},
				Spec: ServiceSpec{
					Type:            ServiceTypeClusterIP,
					SessionAffinity: ServiceAffinityNone,
					Ports: []ServicePort{
						{Name: "http", Port: 80, Protocol: ProtocolTCP, TargetPort: FromInt(80)},
						{Name: "dns", Port: 53, Protocol: ProtocolUDP, TargetPort: FromInt(5353)},
						{Name: "named", Port: 8080, Protocol: ProtocolTCP, TargetPort: FromString("web")},
						{Name: "empty-string", Port: 9090, Protocol: ProtocolTCP, TargetPort: FromInt(9090)},
					},
				},
			},
		},
		{
			name: "service keeps what is set",
			in:   &Service{Spec: ServiceSpec{Type: ServiceTypeNodePort, SessionAffinity: ServiceAffinityClientIP}},
			want: &Service{
				TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Service"},
				Spec:     ServiceSpec{Type: ServiceTypeNodePort, SessionAffinity: ServiceAffinityClientIP},
			},
		},
		{
			name: "namespace",
			in:   &Namespace{ObjectMeta: ObjectMeta{Name: "a"}},
			want: &Namespace{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: ObjectMeta{Name: "a"}},
		},
		{
			name: "node",
			in:   &Node{},
			want: &Node{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Node"}},
		},
		{
			name: "event",
			in:   &Event{},
			want: &Event{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "Event"}},
		},
		{
			name: "endpointslice",
			in: &EndpointSlice{Ports: []EndpointPort{
				{Port: ptr(int32(80))},
				{Name: ptr("dns"), Protocol: ptr(ProtocolUDP), Port: ptr(int32(53))},
			}},
			want: &EndpointSlice{
				TypeMeta: TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
				Ports: []EndpointPort{
					{Name: ptr(""), Protocol: ptr(ProtocolTCP), Port: ptr(int32(80))},
					{Name: ptr("dns"), Protocol: ptr(ProtocolUDP), Port: ptr(int32(53))},
				},
			},
		},
		{
			name: "type meta already set is kept",
			in:   &Namespace{TypeMeta: TypeMeta{APIVersion: "v9", Kind: "Odd"}},
			want: &Namespace{TypeMeta: TypeMeta{APIVersion: "v9", Kind: "Odd"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SetDefaults(tt.in)
			if !reflect.DeepEqual(tt.in, tt.want) {
				t.Fatalf("SetDefaults:\n got %#v\nwant %#v", tt.in, tt.want)
			}
			again := tt.in.DeepCopyObject()
			SetDefaults(again)
			if !reflect.DeepEqual(again, tt.want) {
				t.Fatalf("SetDefaults is not idempotent:\n got %#v\nwant %#v", again, tt.want)
			}
		})
	}
}

func TestSetDefaultsNil(t *testing.T) {
	SetDefaults(nil)
	SetDefaults((*Pod)(nil))
	SetDefaults((*Deployment)(nil))
	SetDefaults((*Service)(nil))
	SetDefaults((*Namespace)(nil))
	SetDefaults((*Node)(nil))
	SetDefaults((*Event)(nil))
	SetDefaults((*EndpointSlice)(nil))
}
