package workqueue

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, q *Queue[string]) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	k, ok := q.Get(ctx)
	if !ok {
		t.Fatal("no key within 5s")
	}
	return k
}

func TestAddDeduplicates(t *testing.T) {
	q := New[string]()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if q.Len() != 2 {
		t.Fatalf("len = %d, want 2", q.Len())
	}
	if k := get(t, q); k != "a" {
		t.Errorf("first key %q, want a", k)
	}
}

func TestKeyAddedWhileProcessingIsProcessedAgainAfterDone(t *testing.T) {
	q := New[string]()
	q.Add("a")
	k := get(t, q)
	q.Add("a") // arrives while a worker holds "a"
	if q.Len() != 0 {
		t.Fatalf("a key being processed was handed out twice: len %d", q.Len())
	}
	q.Done(k)
	if q.Len() != 1 {
		t.Fatalf("after Done, len = %d, want 1", q.Len())
	}
	q.Done(get(t, q))
	if q.Len() != 0 {
		t.Errorf("len = %d, want 0", q.Len())
	}
}

func TestGetBatch(t *testing.T) {
	q := New[int]()
	for i := range 5 {
		q.Add(i)
	}
	keys, ok := q.GetBatch(context.Background(), 3)
	if !ok || len(keys) != 3 || keys[0] != 0 || keys[2] != 2 {
		t.Fatalf("batch %v, %v; want [0 1 2]", keys, ok)
	}
	if q.Len() != 2 {
		t.Errorf("len = %d, want 2", q.Len())
	}
}

func TestAddAfterWaitsForTheClock(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New[string](WithClock(fc))
	defer q.ShutDown()
	q.AddAfter("a", 10*time.Second)
	q.AddAfter("a", 5*time.Second) // the earlier delay wins
	fc.Advance(4 * time.Second)
	if q.Len() != 0 {
		t.Fatal("key arrived before its delay")
	}
	fc.Advance(time.Second)
	if k := get(t, q); k != "a" {
		t.Errorf("got %q", k)
	}
}

func TestRateLimitedRetriesGrowAndForgetResets(t *testing.T) {
	q := New[string](WithRetry(10*time.Millisecond, time.Second))
	var delays []time.Duration
	for range 8 {
		delays = append(delays, q.NextRetry("a"))
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] > time.Second+time.Second/10 {
			t.Errorf("delay %v exceeds the maximum with jitter", delays[i])
		}
	}
	if delays[4] < 4*delays[0] {
		t.Errorf("delays do not grow: %v", delays)
	}
	q.Forget("a")
	if d := q.NextRetry("a"); d > 12*time.Millisecond {
		t.Errorf("after Forget the delay is %v, want about 10ms", d)
	}
}

func TestShutDownReleasesWaitersAndTimers(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New[string](WithClock(fc))
	q.AddAfter("a", time.Hour)
	done := make(chan bool)
	go func() {
		_, ok := q.Get(context.Background())
		done <- ok
	}()
	q.ShutDown()
	if ok := <-done; ok {
		t.Error("Get returned a key after shutdown")
	}
	if fc.Timers() != 0 {
		t.Errorf("%d timers still armed after shutdown", fc.Timers())
	}
	q.Add("b")
	if q.Len() != 0 {
		t.Error("Add after shutdown queued a key")
	}
}

func TestGetHonoursContext(t *testing.T) {
	q := New[string]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := q.Get(ctx); ok {
		t.Error("Get on a cancelled context returned a key")
	}
}

func TestDrainedQueueLetsGoOfABurst(t *testing.T) {
	q := New[int]()
	for i := range 10_000 {
		q.Add(i)
	}
	keys, ok := q.GetBatch(context.Background(), 10_000)
	if !ok || len(keys) != 10_000 {
		t.Fatalf("GetBatch returned %d keys, ok=%v; want 10000", len(keys), ok)
	}
	if cap(q.order) != 0 {
		t.Errorf("order keeps a backing array of %d keys after draining; want it released", cap(q.order))
	}
	// The queue still works, and a key re-added while processing is queued
	// again by Done in the fresh map.
	q.Add(7)
	q.Done(7)
	if q.Len() != 1 {
		t.Errorf("len = %d after re-adding a processing key and Done; want 1", q.Len())
	}
}
