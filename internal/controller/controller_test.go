package controller

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run starts c and returns a function that stops it and waits.
func run(t *testing.T, c *Controller) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func TestChangesAndExistingObjectsAreReconciled(t *testing.T) {
	s, _ := store.New()
	create := func(name string) {
		err := s.Update(func(tx store.Tx) error {
			return tx.Create(&api.Namespace{ObjectMeta: api.ObjectMeta{Name: name}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("before")
	seen := make(chan string, 10)
	c := New("test", Func(func(ctx context.Context, req Request) (Result, error) {
		seen <- req.Name
		return Result{}, nil
	}), Options{})
	c.Watch(s, api.KindNamespace, Same)
	stop := run(t, c)
	defer stop()
	if got := <-seen; got != "before" {
		t.Errorf("first reconcile %q, want the existing object", got)
	}
	create("after")
	if got := <-seen; got != "after" {
		t.Errorf("second reconcile %q, want the new object", got)
	}
}

func TestErrorsAreRetriedWithBackoffAndTerminalOnesAreNot(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	var calls sync.Map
	count := func(name string) int {
		v, _ := calls.LoadOrStore(name, new(atomic.Int32))
		return int(v.(*atomic.Int32).Add(1))
	}
	attempts := make(chan string, 10)
	c := New("test", Func(func(ctx context.Context, req Request) (Result, error) {
		n := count(req.Name)
		attempts <- req.Name
		switch {
		case req.Name == "terminal":
			return Result{}, Terminal(errors.New("cannot ever work"))
		case req.Name == "flaky" && n < 3:
			return Result{}, errors.New("not yet")
		case req.Name == "panics" && n == 1:
			panic("boom")
		}
		return Result{}, nil
	}), Options{Clock: fc})
	stop := run(t, c)
	defer stop()
	for _, name := range []string{"terminal", "flaky", "panics"} {
		c.Enqueue(Request{Name: name})
	}
	got := map[string]int{}
	for range 3 {
		got[<-attempts]++
	}
	// flaky and panics wait for their retry delay on the fake clock: fire
	// each retry once it is armed, and count attempts as they come. An
	// attempt is reported before its retry is armed, and a retry may be
	// armed before the previous attempt is read, so the loop polls for
	// either.
	deadline := time.Now().Add(10 * time.Second)
	for got["flaky"] < 3 || got["panics"] < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("retries stopped; attempts so far %v", got)
		}
		select {
		case name := <-attempts:
			got[name]++
			continue
		default:
		}
		if next, ok := fc.NextDeadline(); ok {
			fc.Set(next)
			continue
		}
		wait, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		_ = fc.WaitForTimers(wait, 1) // or time out, to look at attempts again
		cancel()
	}
	if got["terminal"] != 1 {
		t.Errorf("a terminal error was retried: %d attempts", got["terminal"])
	}
	fc.Advance(time.Hour)
	select {
	case name := <-attempts:
		t.Errorf("%s reconciled again after succeeding", name)
	default:
	}
}

func TestRequeueAfter(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	seen := make(chan struct{}, 10)
	c := New("test", Func(func(ctx context.Context, req Request) (Result, error) {
		seen <- struct{}{}
		return Result{RequeueAfter: time.Minute}, nil
	}), Options{Clock: fc})
	stop := run(t, c)
	defer stop()
	c.Enqueue(Request{Name: "x"})
	<-seen
	if err := fc.WaitForTimers(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(59 * time.Second)
	select {
	case <-seen:
		t.Fatal("requeued before RequeueAfter")
	default:
	}
	fc.Advance(time.Second)
	<-seen
}

type batch struct {
	mu      sync.Mutex
	batches [][]Request
	done    chan struct{}
}

func (b *batch) Reconcile(ctx context.Context, req Request) (Result, error) { return Result{}, nil }

func (b *batch) ReconcileBatch(ctx context.Context, reqs []Request) []Outcome {
	b.mu.Lock()
	b.batches = append(b.batches, reqs)
	b.mu.Unlock()
	b.done <- struct{}{}
	return make([]Outcome, len(reqs))
}

func TestBatchReconcilerGetsManyKeysAtOnce(t *testing.T) {
	b := &batch{done: make(chan struct{}, 10)}
	c := New("test", b, Options{BatchSize: 100})
	for i := range 250 {
		c.Enqueue(Request{Name: string(rune('a' + i%26)), Namespace: string(rune('a' + i/26))})
	}
	stop := run(t, c)
	defer stop()
	total := 0
	for total < 250 {
		<-b.done
		b.mu.Lock()
		total = 0
		for _, reqs := range b.batches {
			total += len(reqs)
			if len(reqs) > 100 {
				t.Errorf("batch of %d keys exceeds BatchSize", len(reqs))
			}
		}
		b.mu.Unlock()
	}
	if len(b.batches) != 3 {
		t.Errorf("%d batches for 250 keys, want 3", len(b.batches))
	}
}

// A key whose reconcile was slow is held back by Enqueue for a while, but
// not by EnqueueNow, which also releases one already held back.
func TestEnqueueNowSkipsPacing(t *testing.T) {
	ended := make(chan struct{}, 4)
	slow := true
	c := New("test", Func(func(ctx context.Context, req Request) (Result, error) {
		if slow {
			slow = false
			time.Sleep(60 * time.Millisecond) // the workload: a reconcile that waits on a runtime
		}
		ended <- struct{}{}
		return Result{}, nil
	}), Options{})
	stop := run(t, c)
	defer stop()
	key := Request{Name: "k"}
	c.Enqueue(key)
	<-ended
	// Once the controller has recorded that the reconcile took 60ms, the
	// key is paced for the next 100ms.
	for recorded := false; !recorded; {
		c.pacingMu.Lock()
		_, recorded = c.slow[key]
		c.pacingMu.Unlock()
		runtime.Gosched()
	}
	c.Enqueue(key)
	c.pacingMu.Lock()
	_, held := c.paced[key]
	c.pacingMu.Unlock()
	if !held {
		t.Fatal("Enqueue right after a slow reconcile did not hold the key back")
	}
	c.EnqueueNow(key)
	c.pacingMu.Lock()
	_, held = c.paced[key]
	c.pacingMu.Unlock()
	if held {
		t.Error("EnqueueNow left the key held back")
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("EnqueueNow did not reconcile the key")
	}
}
