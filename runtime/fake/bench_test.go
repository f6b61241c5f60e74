package fake_test

import (
	"context"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/batonhq/baton/runtime"
	"github.com/batonhq/baton/runtime/fake"
)

// benchPod is what the node agent asks of a runtime for one pod: a sandbox
// and a container labelled for adoption.
type benchPod struct {
	sandbox   runtime.SandboxConfig
	container runtime.ContainerConfig
}

// benchPods makes n distinct pods before the timer starts, so that the
// benchmark measures the runtime, not the making of names.
func benchPods(n int) []benchPod {
	pods := make([]benchPod, n)
	for i := range pods {
		name := "web-" + strconv.Itoa(i)
		uid := "0b1c2d3e-0000-4000-8000-" + strconv.Itoa(100000000000+i)
		pods[i] = benchPod{
			sandbox: runtime.SandboxConfig{
				Name: name, Namespace: "default", UID: uid, Hostname: name,
				Labels: map[string]string{
					runtime.LabelPodNamespace: "default",
					runtime.LabelPodName:      name,
					runtime.LabelPodUID:       uid,
				},
			},
			container: runtime.ContainerConfig{
				Name:  "app",
				Image: testImage,
				Labels: map[string]string{
					runtime.LabelPodNamespace:  "default",
					runtime.LabelPodName:       name,
					runtime.LabelPodUID:        uid,
					runtime.LabelContainerName: "app",
					runtime.LabelContainerHash: "5f0c9a1e",
				},
			},
		}
	}
	return pods
}

func runPod(b *testing.B, ctx context.Context, rt *fake.Runtime, p *benchPod) (sandboxID, containerID string) {
	sb, err := rt.RunPodSandbox(ctx, p.sandbox)
	if err != nil {
		b.Fatal(err)
	}
	c, err := rt.CreateContainer(ctx, sb.ID, p.container)
	if err != nil {
		b.Fatal(err)
	}
	if err := rt.StartContainer(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	return sb.ID, c.ID
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkRunCreateStart measures RunPodSandbox + CreateContainer +
// StartContainer for one new pod, with the pods kept: B/op counts every
// allocation (including the copies the verbs return), retained-B/pod the
// heap still held per pod afterwards.
func BenchmarkRunCreateStart(b *testing.B) {
	ctx := context.Background()
	rt := fake.New(fake.WithImages(testImage), fake.WithPodCIDR("10.0.0.0/8"))
	pods := benchPods(b.N)
	before := heapInUse()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range pods {
		runPod(b, ctx, rt, &pods[i])
	}
	b.StopTimer()
	after := heapInUse()
	if rt.Running() != b.N {
		b.Fatalf("%d running; want %d", rt.Running(), b.N)
	}
	b.ReportMetric(float64(int64(after)-int64(before))/float64(b.N), "retained-B/pod")
	goruntime.KeepAlive(pods)
}

// BenchmarkRunCreateStartParallel is BenchmarkRunCreateStart from
// GOMAXPROCS goroutines on one runtime: it measures contention on its lock.
func BenchmarkRunCreateStartParallel(b *testing.B) {
	ctx := context.Background()
	rt := fake.New(fake.WithImages(testImage), fake.WithPodCIDR("10.0.0.0/8"))
	pods := benchPods(b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			runPod(b, ctx, rt, &pods[next.Add(1)-1])
		}
	})
}

// BenchmarkRunCreateStartSubscribed is BenchmarkRunCreateStart with one
// Events subscriber reading every event, as a node agent does.
func BenchmarkRunCreateStartSubscribed(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := fake.New(fake.WithImages(testImage), fake.WithPodCIDR("10.0.0.0/8"))
	events, err := rt.Events(ctx)
	if err != nil {
		b.Fatal(err)
	}
	pods := benchPods(b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 * b.N { // Created and Started per pod
			<-events
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range pods {
		runPod(b, ctx, rt, &pods[i])
	}
	<-done
}

// BenchmarkPodLifecycle measures a pod's whole life: run, create, start,
// then runtime.TearDownSandbox; the runtime holds no pods between
// iterations.
func BenchmarkPodLifecycle(b *testing.B) {
	ctx := context.Background()
	rt := fake.New(fake.WithImages(testImage))
	pods := benchPods(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range pods {
		sandboxID, _ := runPod(b, ctx, rt, &pods[i])
		if err := runtime.TearDownSandbox(ctx, rt, sandboxID, 0); err != nil {
			b.Fatal(err)
		}
	}
}
