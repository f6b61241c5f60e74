package containerd_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/containerd"
	"github.com/batonhq/baton/runtime/containerd/testimage"
)

// Run a busybox web server in a Pod with its own IP, on a machine without
// a registry: the image is built from the local busybox and imported.
// (No Output: it needs root and a running containerd.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rt, err := containerd.New(ctx, "/run/containerd/containerd.sock",
		containerd.WithStateDir("/var/lib/baton"),
		containerd.WithImageDir("/var/lib/baton/images"), // air-gapped images, if any
	)
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	// Offline: import an image archive instead of pulling.
	const ref = "localhost/example/busybox:1"
	archive, err := os.CreateTemp("", "busybox-*.tar")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(archive.Name())
	if err := (testimage.Image{Ref: ref}).WriteOCI(archive); err != nil {
		log.Fatal(err)
	}
	if _, err := archive.Seek(0, 0); err != nil {
		log.Fatal(err)
	}
	if _, err := rt.ImportImage(ctx, archive); err != nil {
		log.Fatal(err)
	}

	sb, err := rt.RunPodSandbox(ctx, runtime.SandboxConfig{
		Name: "web", Namespace: "default", UID: "web-1", Hostname: "web",
		PortMappings: []runtime.PortMapping{{Protocol: "TCP", ContainerPort: 8080, HostPort: 8080}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = runtime.TearDownSandbox(context.Background(), rt, sb.ID, 10*time.Second) }()

	c, err := runtime.StartContainer(ctx, rt, sb.ID, runtime.ContainerConfig{
		Name:    "httpd",
		Image:   ref,
		Command: []string{"httpd", "-f", "-p", "8080", "-h", "/var/www"},
		Resources: runtime.Resources{
			CPURequestMilli: 100, CPULimitMilli: 500, MemoryLimitBytes: 32 << 20,
		},
	}, runtime.PullNever)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("container %s is %s; try http://%s:8080/\n", c.ID, c.State, sb.IP)
}
