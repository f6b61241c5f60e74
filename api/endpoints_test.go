package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The EndpointSlice is not in allKinds (fill_test.go is not this file's),
// so the every-kind tests are repeated for it here.

func TestEndpointSliceDeepCopyCoversEveryField(t *testing.T) {
	orig := filled(t, &EndpointSlice{})
	want := filled(t, &EndpointSlice{})
	cp := orig.DeepCopyObject()
	if !reflect.DeepEqual(cp, orig) {
		t.Fatalf("copy differs from the original:\n copy %#v\n orig %#v", cp, orig)
	}
	mutate(reflect.ValueOf(cp).Elem())
	if reflect.DeepEqual(cp, want) {
		t.Fatal("mutate changed nothing")
	}
	if !reflect.DeepEqual(orig, want) {
		t.Fatalf("changing the copy changed the original; endpoints_deepcopy.go misses a field:\n got %#v\nwant %#v", orig, want)
	}
	if (*EndpointSlice)(nil).DeepCopy() != nil {
		t.Error("DeepCopy of nil is not nil")
	}
}

func TestEndpointSliceRoundTrip(t *testing.T) {
	obj := filled(t, &EndpointSlice{})
	*typeMetaOf(obj) = TypeMeta{APIVersion: DiscoveryV1, Kind: KindEndpointSlice}
	data, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := DecodeManifest(data)
	if err != nil {
		t.Fatalf("DecodeManifest(JSON): %v", err)
	}
	if !reflect.DeepEqual(fromJSON, obj) {
		t.Errorf("JSON manifest round trip:\n got %#v\nwant %#v", fromJSON, obj)
	}
	manifest, err := EncodeManifest(obj)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := DecodeManifest(manifest)
	if err != nil {
		t.Fatalf("DecodeManifest(YAML): %v\n%s", err, manifest)
	}
	if !reflect.DeepEqual(fromYAML, obj) {
		t.Errorf("YAML manifest round trip:\n got %#v\nwant %#v", fromYAML, obj)
	}
}

// TestDecodeKubectlEndpointSlice decodes what "kubectl get endpointslice
// -o yaml" prints, unchanged.
func TestDecodeKubectlEndpointSlice(t *testing.T) {
	const manifest = `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
  ownerReferences:
  - apiVersion: v1
    kind: Service
    name: web
    uid: "1234"
    controller: true
    blockOwnerDeletion: true
addressType: IPv4
endpoints:
- addresses: ["10.1.2.3"]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  targetRef: {kind: Pod, namespace: default, name: web-1, uid: "5678"}
ports:
- name: http
  port: 8080
  protocol: TCP
`
	obj, err := DecodeManifest([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	s := obj.(*EndpointSlice)
	if s.Labels[LabelServiceName] != "web" || len(s.Endpoints) != 1 || !s.Endpoints[0].Conditions.IsReady() ||
		s.Ports[0].PortName() != "http" || s.Ports[0].PortNumber() != 8080 || s.Ports[0].PortProtocol() != ProtocolTCP {
		t.Errorf("decoded %+v", s)
	}
	var errs FieldErrors
	validateEndpointSlice(s, &errs)
	if len(errs) != 0 {
		t.Errorf("kubectl's slice is invalid: %v", errs)
	}
}

func TestEndpointConditionsDefaults(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		c                           EndpointConditions
		ready, serving, terminating bool
	}{
		{EndpointConditions{}, true, true, false},
		{EndpointConditions{Ready: &no}, false, false, false},
		{EndpointConditions{Ready: &no, Serving: &yes, Terminating: &yes}, false, true, true},
	} {
		if tc.c.IsReady() != tc.ready || tc.c.IsServing() != tc.serving || tc.c.IsTerminating() != tc.terminating {
			t.Errorf("%+v: ready %v serving %v terminating %v", tc.c, tc.c.IsReady(), tc.c.IsServing(), tc.c.IsTerminating())
		}
	}
	var p EndpointPort
	if p.PortName() != "" || p.PortProtocol() != ProtocolTCP || p.PortNumber() != 0 {
		t.Errorf("unset port reads %q %q %d", p.PortName(), p.PortProtocol(), p.PortNumber())
	}
}

func TestSetEndpointSliceDefaults(t *testing.T) {
	s := &EndpointSlice{Ports: []EndpointPort{{}}}
	SetEndpointSliceDefaults(s)
	if s.APIVersion != DiscoveryV1 || s.Kind != KindEndpointSlice || s.Ports[0].Protocol == nil || *s.Ports[0].Protocol != ProtocolTCP {
		t.Errorf("defaulted %+v", s)
	}
}

func validEndpointSlice() *EndpointSlice {
	name, port, node := "http", int32(8080), "node-1"
	return &EndpointSlice{
		ObjectMeta:  ObjectMeta{Name: "web-x1", Namespace: "default", Labels: map[string]string{LabelServiceName: "web"}},
		AddressType: AddressTypeIPv4,
		Endpoints:   []Endpoint{{Addresses: []string{"127.88.0.2"}, NodeName: &node}},
		Ports:       []EndpointPort{{Name: &name, Port: &port}},
	}
}

func TestValidateEndpointSlice(t *testing.T) {
	bad := "Bad_Name"
	udp, sctp := ProtocolUDP, Protocol("SCTP")
	zero := int32(0)
	for _, tc := range []struct {
		name   string
		mutate func(*EndpointSlice)
		paths  []string
		detail string
	}{
		{name: "valid", mutate: func(*EndpointSlice) {}},
		{name: "udp", mutate: func(s *EndpointSlice) { s.Ports[0].Protocol = &udp }},
		{name: "ipv6", mutate: func(s *EndpointSlice) { s.AddressType = AddressTypeIPv6; s.Endpoints[0].Addresses = []string{"::1"} }},
		{name: "no address type", mutate: func(s *EndpointSlice) { s.AddressType = "" }, paths: []string{"addressType"}, detail: "required"},
		{name: "FQDN", mutate: func(s *EndpointSlice) { s.AddressType = "FQDN" }, paths: []string{"addressType"}, detail: "Baton supports IPv4 and IPv6"},
		{name: "no addresses", mutate: func(s *EndpointSlice) { s.Endpoints[0].Addresses = nil }, paths: []string{"endpoints[0].addresses"}},
		{name: "not an IP", mutate: func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"web"} }, paths: []string{"endpoints[0].addresses[0]"}},
		{name: "wrong family", mutate: func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"::1"} }, paths: []string{"endpoints[0].addresses[0]"}, detail: "IPv4"},
		{name: "bad hostname", mutate: func(s *EndpointSlice) { s.Endpoints[0].Hostname = &bad }, paths: []string{"endpoints[0].hostname"}},
		{name: "bad node name", mutate: func(s *EndpointSlice) { s.Endpoints[0].NodeName = &bad }, paths: []string{"endpoints[0].nodeName"}},
		{name: "bad port name", mutate: func(s *EndpointSlice) { s.Ports[0].Name = &bad }, paths: []string{"ports[0].name"}},
		{name: "duplicate port name", mutate: func(s *EndpointSlice) { s.Ports = append(s.Ports, s.Ports[0]) }, paths: []string{"ports[1].name"}, detail: "duplicate"},
		{name: "SCTP", mutate: func(s *EndpointSlice) { s.Ports[0].Protocol = &sctp }, paths: []string{"ports[0].protocol"}},
		{name: "port zero", mutate: func(s *EndpointSlice) { s.Ports[0].Port = &zero }, paths: []string{"ports[0].port"}},
		{name: "bad name", mutate: func(s *EndpointSlice) { s.Name = "Web" }, paths: []string{"metadata.name"}},
		{name: "wrong apiVersion", mutate: func(s *EndpointSlice) { s.APIVersion = "v1" }, paths: []string{"apiVersion"}, detail: "discovery.k8s.io/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validEndpointSlice()
			tc.mutate(s)
			var errs FieldErrors
			validateEndpointSlice(s, &errs)
			if len(tc.paths) == 0 {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			for i, path := range tc.paths {
				found := false
				for _, fe := range errs {
					if fe.Path == path {
						found = true
						if i == 0 && tc.detail != "" && !strings.Contains(fe.Detail, tc.detail) {
							t.Errorf("detail at %s = %q, want it to contain %q", path, fe.Detail, tc.detail)
						}
					}
				}
				if !found {
					t.Errorf("no error at %s; got %v", path, errs)
				}
			}
		})
	}
}

func TestValidateServiceClusterIP(t *testing.T) {
	runValidationCases(t, []validationCase{
		{name: "loopback cluster IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "127.64.0.10" })},
		{name: "private cluster IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "10.0.0.1" })},
		{name: "multicast cluster IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "224.0.0.1" }), paths: []string{"spec.clusterIP"}, detail: "service CIDR"},
		{name: "unspecified cluster IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "0.0.0.0" }), paths: []string{"spec.clusterIP"}},
		{name: "IPv6 cluster IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "::1" }), paths: []string{"spec.clusterIP"}},
		{name: "not an IP", obj: service(func(s *Service) { s.Spec.ClusterIP = "web" }), paths: []string{"spec.clusterIP"}},
	})
}

func TestAPIVersionOfEndpointSlice(t *testing.T) {
	if v := APIVersionOf(KindEndpointSlice); v != DiscoveryV1 {
		t.Errorf("APIVersionOf(EndpointSlice) = %q", v)
	}
}

func endpointSlice(mutate func(*EndpointSlice)) Object {
	s := validEndpointSlice()
	mutate(s)
	return s
}

// TestValidateFieldsEndpointSlice: ValidateFields and Validate check
// EndpointSlices, naming each bad field by path.
func TestValidateFieldsEndpointSlice(t *testing.T) {
	bad, app := "Bad_Name", "not a protocol"
	udp := ProtocolUDP
	runValidationCases(t, []validationCase{
		{name: "valid", obj: validEndpointSlice()},
		{name: "undefaulted ports", obj: endpointSlice(func(s *EndpointSlice) { s.Ports = []EndpointPort{{}} })},
		{name: "no ports, no endpoints", obj: endpointSlice(func(s *EndpointSlice) { s.Ports, s.Endpoints = nil, nil })},
		{name: "loopback endpoint", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"127.0.0.1"} })},
		{name: "remote endpoint", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.1.2.3"} })},
		{name: "someone else's controller", obj: endpointSlice(func(s *EndpointSlice) { s.Labels[LabelManagedBy] = "my-controller.example.com" })},
		{name: "generateName", obj: endpointSlice(func(s *EndpointSlice) { s.Name, s.GenerateName = "", "web-" })},
		{name: "addressType missing", obj: endpointSlice(func(s *EndpointSlice) { s.AddressType = "" }),
			paths: []string{"addressType"}, detail: "required"},
		{name: "addressType unknown", obj: endpointSlice(func(s *EndpointSlice) { s.AddressType = "IPv5" }),
			paths: []string{"addressType"}, detail: `unsupported value "IPv5"`},
		{name: "addressType FQDN", obj: endpointSlice(func(s *EndpointSlice) { s.AddressType = "FQDN" }),
			paths: []string{"addressType"}, detail: "Baton supports IPv4 and IPv6"},
		{name: "address not an IP", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"127.0.0.1", "db.example.com"} }),
			paths: []string{"endpoints[0].addresses[1]"}, detail: `must be an IP address, not "db.example.com"`},
		{name: "address with a zone", obj: endpointSlice(func(s *EndpointSlice) {
			s.AddressType = AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"fe80::1%eth0"}
		}), paths: []string{"endpoints[0].addresses[0]"}, detail: "must be an IP address"},
		{name: "IPv6 in an IPv4 slice", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"::1"} }),
			paths: []string{"endpoints[0].addresses[0]"}, detail: "must be an IPv4 address"},
		{name: "mapped IPv4 in an IPv6 slice", obj: endpointSlice(func(s *EndpointSlice) {
			s.AddressType = AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"::ffff:127.0.0.1"}
		}), paths: []string{"endpoints[0].addresses[0]"}, detail: "must be an IPv6 address"},
		{name: "unspecified address", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"0.0.0.0"} }),
			paths: []string{"endpoints[0].addresses[0]"}, detail: "unspecified"},
		{name: "link-local address", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"169.254.169.254"} }),
			paths: []string{"endpoints[0].addresses[0]"}, detail: "link-local"},
		{name: "IPv6 link-local address", obj: endpointSlice(func(s *EndpointSlice) {
			s.AddressType = AddressTypeIPv6
			s.Endpoints[0].Addresses = []string{"fe80::1"}
		}), paths: []string{"endpoints[0].addresses[0]"}, detail: "link-local"},
		{name: "link-local multicast address", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Addresses = []string{"224.0.0.251"} }),
			paths: []string{"endpoints[0].addresses[0]"}, detail: "link-local multicast"},
		{name: "endpoint without addresses", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints = append(s.Endpoints, Endpoint{}) }),
			paths: []string{"endpoints[1].addresses"}, detail: "required"},
		{name: "too many endpoints", obj: endpointSlice(func(s *EndpointSlice) {
			s.Endpoints = make([]Endpoint, maxEndpointsPerSliceValid+1)
			for i := range s.Endpoints {
				s.Endpoints[i].Addresses = []string{"127.0.0.1"}
			}
		}), paths: []string{"endpoints"}, detail: "at most 1000"},
		{name: "bad hostname", obj: endpointSlice(func(s *EndpointSlice) { s.Endpoints[0].Hostname = &bad }),
			paths: []string{"endpoints[0].hostname"}},
		{name: "duplicate port names", obj: endpointSlice(func(s *EndpointSlice) {
			s.Ports = append(s.Ports, EndpointPort{Name: s.Ports[0].Name, Protocol: &udp, Port: ptr(int32(53))})
		}), paths: []string{"ports[1].name"}, detail: `duplicate name "http", already used by ports[0].name`},
		{name: "duplicate unnamed ports", obj: endpointSlice(func(s *EndpointSlice) { s.Ports = []EndpointPort{{}, {Name: ptr("")}} }),
			paths: []string{"ports[1].name"}, detail: "duplicate"},
		{name: "bad port name", obj: endpointSlice(func(s *EndpointSlice) { s.Ports[0].Name = &bad }), paths: []string{"ports[0].name"}},
		{name: "port out of range", obj: endpointSlice(func(s *EndpointSlice) { s.Ports[0].Port = ptr(int32(70000)) }),
			paths: []string{"ports[0].port"}, detail: "between 1 and 65535"},
		{name: "bad protocol", obj: endpointSlice(func(s *EndpointSlice) { s.Ports[0].Protocol = ptr(Protocol("SCTP")) }),
			paths: []string{"ports[0].protocol"}, detail: "TCP or UDP"},
		{name: "bad appProtocol", obj: endpointSlice(func(s *EndpointSlice) { s.Ports[0].AppProtocol = &app }),
			paths: []string{"ports[0].appProtocol"}},
		{name: "bad name", obj: endpointSlice(func(s *EndpointSlice) { s.Name = "Web_1" }), paths: []string{"metadata.name"}},
		{name: "bad label", obj: endpointSlice(func(s *EndpointSlice) { s.Labels[LabelServiceName] = "not a name!" }),
			paths: []string{"metadata.labels[kubernetes.io/service-name]"}},
		{name: "wrong kind", obj: endpointSlice(func(s *EndpointSlice) { s.Kind = "Endpoints" }), paths: []string{"kind"}},
		{name: "claims Baton's controller", obj: endpointSlice(func(s *EndpointSlice) { s.Labels[LabelManagedBy] = EndpointSliceControllerName }),
			paths: []string{"metadata.labels[endpointslice.kubernetes.io/managed-by]"}, detail: "reserved for Baton's endpoints controller"},
		{name: "every problem at once", obj: endpointSlice(func(s *EndpointSlice) {
			s.AddressType = "IPv5"
			s.Endpoints[0].Addresses = []string{"nope"}
			s.Ports = append(s.Ports, s.Ports[0])
			s.Labels[LabelManagedBy] = EndpointSliceControllerName
		}), paths: []string{"addressType", "endpoints[0].addresses[0]", "ports[1].name", "metadata.labels[endpointslice.kubernetes.io/managed-by]"}},
	})
}

// TestValidateEndpointSliceUpdate: addressType cannot change, as in
// Kubernetes; everything else may.
func TestValidateEndpointSliceUpdate(t *testing.T) {
	old := validEndpointSlice()
	next := validEndpointSlice()
	next.Endpoints = nil
	next.Ports[0].Port = ptr(int32(9090))
	if errs := ValidateUpdate(old, next); len(errs) != 0 {
		t.Errorf("changing endpoints and ports: %v", errs)
	}
	next.AddressType = AddressTypeIPv6
	errs := ValidateUpdate(old, next)
	if len(errs) != 1 || errs[0].Path != "addressType" || !strings.Contains(errs[0].Detail, `cannot be changed from "IPv4" to "IPv6"`) {
		t.Errorf("changing addressType: %v", errs)
	}
}

// TestSetDefaultsThenValidateEndpointSlice: what SetDefaults fills in is
// valid and stays as Kubernetes would store it.
func TestSetDefaultsThenValidateEndpointSlice(t *testing.T) {
	s := &EndpointSlice{
		ObjectMeta:  ObjectMeta{Name: "db-1", Labels: map[string]string{LabelServiceName: "db"}},
		AddressType: AddressTypeIPv4,
		Endpoints:   []Endpoint{{Addresses: []string{"127.0.0.9"}}},
		Ports:       []EndpointPort{{Port: ptr(int32(5432))}},
	}
	SetDefaults(s)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if s.APIVersion != DiscoveryV1 || s.Kind != KindEndpointSlice || *s.Ports[0].Name != "" || *s.Ports[0].Protocol != ProtocolTCP {
		t.Errorf("defaulted to %+v, ports %+v", s.TypeMeta, s.Ports[0])
	}
	if s.Endpoints[0].Conditions != (EndpointConditions{}) {
		t.Errorf("conditions defaulted to %+v; unset means ready, as in Kubernetes", s.Endpoints[0].Conditions)
	}
}
