package events

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/batonhq/baton/api"
	"github.com/batonhq/baton/clock"
	"github.com/batonhq/baton/internal/store"
)

// observed returns a recorder whose log goes to an observer at level.
func observed(t *testing.T, level zapcore.Level, opts Options) (*store.Store, *Recorder, *observer.ObservedLogs) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := store.New(store.WithClock(fc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx store.Tx) error {
		return tx.Create(&api.Namespace{ObjectMeta: api.ObjectMeta{Name: "default"}})
	}); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(level)
	return s, New(s, fc, zap.New(core), opts), logs
}

// Every event recorded is mirrored to the log at Debug, by the "events"
// logger, with its message, type, reason and object.
func TestEventsAreMirroredToTheLogAtDebug(t *testing.T) {
	_, r, logs := observed(t, zap.DebugLevel, Options{})
	src := r.For("node-agent", "n1")
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-1", UID: "uid-1"}}
	src.Normal(p, "Started", "Started container %s", "app")
	src.Warning(p, "BackOff", "Back-off restarting failed container app")
	want := []struct{ message, typ, reason string }{
		{"Started container app", api.EventTypeNormal, "Started"},
		{"Back-off restarting failed container app", api.EventTypeWarning, "BackOff"},
	}
	got := logs.All()
	if len(got) != len(want) {
		t.Fatalf("%d log entries for %d events: %v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		fields := e.ContextMap()
		if e.Level != zap.DebugLevel || e.LoggerName != "events" || e.Message != w.message ||
			fields["type"] != w.typ || fields["reason"] != w.reason || fields["object"] != "Pod default/web-1" {
			t.Errorf("entry %d: %s %q %q %v; want debug from \"events\": %q type %s reason %s object Pod default/web-1",
				i, e.Level, e.LoggerName, e.Message, fields, w.message, w.typ, w.reason)
		}
	}
	// The mirror is at Debug: a logger at Info, the usual production
	// level, does not repeat every event.
	_, quiet, quietLogs := observed(t, zap.InfoLevel, Options{})
	quiet.For("node-agent", "n1").Normal(p, "Started", "Started container app")
	if quietLogs.Len() != 0 {
		t.Errorf("an event was logged above Debug: %v", quietLogs.All())
	}
}

// An event about a Secret names the Secret and, at most, its keys: the
// log mirror and the stored event show none of its values.
func TestTheEventMirrorShowsNoSecretValue(t *testing.T) {
	const canary = "canary-5f0e1d2c3b4a"
	s, r, logs := observed(t, zap.DebugLevel, Options{})
	secret := &api.Secret{
		TypeMeta:   api.TypeMeta{APIVersion: api.CoreV1, Kind: api.KindSecret},
		ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "db", UID: "uid-db"},
		Data:       map[string][]byte{"password": []byte(canary)},
		StringData: map[string]string{"token": canary},
	}
	src := r.For("node-agent", "n1")
	src.Warning(secret, "FailedMount", "secret %s has no key %q", secret.Name, "user")
	src.Normal(secret, "Used", "%v", secret) // a careless caller formatting the object
	r.Flush()
	if logs.Len() != 2 {
		t.Fatalf("%d log entries, want 2", logs.Len())
	}
	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		if strings.Contains(line, canary) {
			t.Errorf("the log mirror shows the Secret's value: %s", line)
		}
	}
	var stored []*api.Event
	s.View(func(tx store.ReadTx) { stored = store.List[*api.Event](tx, "") })
	if len(stored) != 2 {
		t.Fatalf("%d events stored, want 2", len(stored))
	}
	for _, e := range stored {
		if strings.Contains(fmt.Sprintf("%+v", *e), canary) {
			t.Errorf("the stored event shows the Secret's value: %+v", *e)
		}
		if e.InvolvedObject.Kind != api.KindSecret || e.InvolvedObject.Name != "db" || e.InvolvedObject.UID != "uid-db" {
			t.Errorf("involved object %+v; want the Secret default/db", e.InvolvedObject)
		}
	}
}

// The token bucket admits events, repeats included, as Kubernetes' spam
// filter does: once it is empty, a repeat of a stored event is turned
// away like a new one, counted by Dropped, and still logged.
func TestTheRateLimitCountsRepeatsAndTheLogStillMirrorsThem(t *testing.T) {
	s, r, logs := observed(t, zap.DebugLevel, Options{Burst: 2, PerSecond: 1})
	src := r.For("node-agent", "n1")
	p := &api.Pod{ObjectMeta: api.ObjectMeta{Namespace: "default", Name: "web-1", UID: "uid-1"}}
	src.Warning(p, "BackOff", "Back-off restarting failed container app")
	src.Warning(p, "BackOff", "Back-off restarting failed container app") // the bucket's last token
	for range 3 {
		src.Warning(p, "BackOff", "Back-off restarting failed container app")
	}
	r.Flush()
	var count int32
	s.View(func(tx store.ReadTx) {
		for _, e := range store.List[*api.Event](tx, "") {
			if e.Reason == "BackOff" {
				count = e.Count
			}
		}
	})
	if count != 2 || r.Dropped() != 3 {
		t.Errorf("the BackOff event counts %d with %d dropped; want 2 admitted by a burst of 2, and 3 dropped", count, r.Dropped())
	}
	if n := logs.FilterMessage("Back-off restarting failed container app").Len(); n != 5 {
		t.Errorf("%d of 5 events logged; want every one, dropped or not", n)
	}
}
