// Package await lets tests wait for a condition with a deadline instead of sleeping: the
// test goes on as soon as the condition holds and fails, naming what it waited for, when
// the deadline passes.
package await

import (
	"testing"
	"time"
)

// pollInterval is how often the condition is checked; it bounds the added latency only.
const pollInterval = 5 * time.Millisecond

// Until polls cond until it holds, or fails the test after within.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(pollInterval)
	}
}
