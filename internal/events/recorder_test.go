package events

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setup(t *testing.T, opts Options) (*store.Store, *Recorder, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := store.New(store.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx store.Tx) error {
		return tx.Create(&api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, New(s, fc, zap.NewNop(), opts), fc
}

func pod(name string) *api.Pod {
	return &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: name, UID: "uid-" + name}}
}

func events(s *store.Store) []*api.Event {
	var out []*api.Event
	s.View(func(tx store.ReadTx) { out = store.List[*api.Event](tx, "") })
	return out
}

func TestRepeatsFoldIntoOneEventWithACount(t *testing.T) {
	s, r, fc := setup(t, Options{})
	src := r.For("node-agent", "local")
	first := fc.Now()
	for range 3 {
		src.Warning(pod("p"), "BackOff", "Back-off restarting failed container %s", "app")
		fc.Advance(10 * time.Second)
	}
	src.Normal(pod("p"), "Started", "Started container app")
	r.Flush()
	got := events(s)
	if len(got) != 2 {
		t.Fatalf("%d events, want 2", len(got))
	}
	for _, e := range got {
		if e.Reason != "BackOff" {
			continue
		}
		if e.Count != 3 || !e.FirstTimestamp.Equal(first) || !e.LastTimestamp.Equal(first.Add(20*time.Second)) {
			t.Errorf("folded event: count %d, first %v, last %v", e.Count, e.FirstTimestamp, e.LastTimestamp)
		}
		if e.Type != api.EventTypeWarning || e.Source.Component != "node-agent" || e.InvolvedObject.Name != "p" {
			t.Errorf("event %+v", e)
		}
	}
}

func TestTheOldestEventsGoBeyondTheBound(t *testing.T) {
	s, r, fc := setup(t, Options{MaxEvents: 5})
	src := r.For("test", "")
	for i := range 8 {
		src.Normal(pod(strings.Repeat("p", i+1)), "Started", "Started container app")
		fc.Advance(time.Second)
		r.Flush()
	}
	got := events(s)
	if len(got) != 5 {
		t.Fatalf("%d events kept, want 5", len(got))
	}
	for _, e := range got {
		if len(e.InvolvedObject.Name) <= 3 {
			t.Errorf("event of %s, one of the three oldest, was kept", e.InvolvedObject.Name)
		}
	}
}

func TestAStormIsRateLimited(t *testing.T) {
	s, r, _ := setup(t, Options{Burst: 10, PerSecond: 1})
	src := r.For("test", "")
	for i := range 50 {
		src.Normal(pod(strings.Repeat("x", i+1)), "Scheduled", "Successfully assigned")
	}
	r.Flush()
	if got := len(events(s)); got != 10 {
		t.Errorf("%d events stored from a storm of 50 with a burst of 10", got)
	}
	if r.Dropped() != 40 {
		t.Errorf("Dropped() = %d, want 40", r.Dropped())
	}
}

func TestEventsOfADeletedNamespaceAreDropped(t *testing.T) {
	s, r, _ := setup(t, Options{})
	p := pod("p")
	p.Namespace = "gone"
	r.For("test", "").Normal(p, "Started", "x")
	r.Flush()
	if got := len(events(s)); got != 0 {
		t.Errorf("%d events in a namespace that does not exist", got)
	}
}
