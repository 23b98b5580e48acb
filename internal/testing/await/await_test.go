package await

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestUntilReturnsWhenConditionHolds(t *testing.T) {
	var calls atomic.Int32
	Until(t, time.Second, "third call", func() bool { return calls.Add(1) >= 3 })
	if got := calls.Load(); got != 3 {
		t.Fatalf("condition checked %d times, want 3", got)
	}
}

type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

func TestUntilFailsAfterDeadline(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != r {
				t.Fatalf("Until did not fail the test (panic %v)", p)
			}
		}()
		Until(r, 20*time.Millisecond, "never", func() bool { return false })
	}()
	if r.failed == "" {
		t.Fatal("no failure recorded")
	}
}
