package baton

import "github.com/batonhq/baton/api"

// Service gives a stable name to the Pods its selector matches.
type Service = api.Service

// ServiceSpec is the desired state of a Service.
type ServiceSpec = api.ServiceSpec

// ServicePort is one port of a Service.
type ServicePort = api.ServicePort

// ServiceType is ClusterIP or NodePort.
type ServiceType = api.ServiceType

// Service types.
const (
	ServiceTypeClusterIP = api.ServiceTypeClusterIP
	ServiceTypeNodePort  = api.ServiceTypeNodePort
)
