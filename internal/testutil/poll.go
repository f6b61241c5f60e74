// Package testutil holds what the tests of several packages share. Only
// tests import it.
package testutil

import (
	"testing"
	"time"
)

// Eventually calls cond every interval until it holds, and fails t after
// timeout with what cond said last. It is for conditions nothing signals
// (a kernel's state, a file, another process), where no watch will do.
func Eventually(t testing.TB, what string, timeout, interval time.Duration, cond func() (ok bool, detail string)) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, detail := cond()
		if ok {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not so after %v: %s", what, timeout, detail)
		}
	}
}
