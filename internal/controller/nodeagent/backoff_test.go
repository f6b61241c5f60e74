package nodeagent

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// With jitter, each delay lies between the doubled base and 10% above it,
// and never past the maximum.
func TestCrashBackoffJitterStaysWithinItsFractionAndTheMaximum(t *testing.T) {
	b := newCrashBackoff(10*time.Second, 300*time.Second, 600*time.Second, 0.1)
	now := t0
	b.next("k", now) // the first restart: the next waits the initial delay
	for _, base := range []time.Duration{10, 20, 40, 80, 160, 300, 300, 300} {
		base *= time.Second
		got := b.current("k")
		if got < base || got > base+base/10 || got > 300*time.Second {
			t.Fatalf("delay %s; want within [%s, %s] and at most 300s", got, base, min(base+base/10, 300*time.Second))
		}
		if w := b.wait("k", now, now); w != got {
			t.Fatalf("wait right after the exit = %s; want the whole delay %s", w, got)
		}
		now = now.Add(got)
		b.next("k", now)
	}
}

// A container that ran longer than the reset period starts over from the
// initial delay; one that ran less does not.
func TestCrashBackoffResetsAfterTheResetPeriod(t *testing.T) {
	b := newCrashBackoff(10*time.Second, 300*time.Second, time.Minute, 0)
	b.next("k", t0) // 10s
	b.next("k", t0) // 20s
	ranShort := t0.Add(50 * time.Second)
	if w := b.wait("k", ranShort, ranShort); w != 20*time.Second {
		t.Errorf("after 50s of running, wait = %s; want the 20s back-off kept", w)
	}
	ranLong := t0.Add(61 * time.Second)
	if w := b.wait("k", ranLong, ranLong); w != 0 {
		t.Errorf("after 61s of running with a 1m reset, wait = %s; want an immediate restart", w)
	}
	b.next("k", ranLong)
	if d := b.current("k"); d != 10*time.Second {
		t.Errorf("after the reset the delay is %s; want the initial 10s", d)
	}
}

// Keys carry the spec hash: a container whose spec changed has no delay,
// and forgetting one container leaves a namesake prefix alone.
func TestCrashBackoffKeysBySpecHash(t *testing.T) {
	b := newCrashBackoff(10*time.Second, 300*time.Second, 600*time.Second, 0)
	old := crashBackoffKey("uid", "web", "h1")
	b.next(old, t0)
	if w := b.wait(old, t0, t0); w != 10*time.Second {
		t.Fatalf("wait = %s; want 10s", w)
	}
	if w := b.wait(crashBackoffKey("uid", "web", "h2"), t0, t0); w != 0 {
		t.Errorf("a changed spec waits %s; want an immediate restart", w)
	}
	other := crashBackoffKey("uid", "web2", "h1")
	b.next(other, t0)
	b.forget("uid/web/")
	if w := b.wait(old, t0, t0); w != 0 {
		t.Errorf("forgotten key still waits %s", w)
	}
	if w := b.wait(other, t0, t0); w != 10*time.Second {
		t.Errorf("forgetting web also forgot web2 (wait %s, want 10s)", w)
	}
}
