package kafkaout

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestTimeText: the time header's text is time.RFC3339Nano's in UTC, byte for byte, for
// times in the same second as the one before and not, zones other than UTC, whole
// seconds, every length of fraction, and years AppendFormat writes otherwise.
func TestTimeText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	paris := time.FixedZone("CET", 3600)
	var c timeText
	check := func(tm time.Time) {
		t.Helper()
		got := string(c.appendTo([]byte("x"), tm))
		if want := "x" + tm.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("%v: %q, want %q", tm, got, want)
		}
	}
	base := time.Date(2026, 11, 25, 23, 59, 58, 0, time.UTC)
	for i := range 20000 {
		tm := base.Add(time.Duration(r.Int64N(int64(3 * time.Second))))
		switch i % 5 {
		case 1:
			tm = tm.Truncate(time.Second)
		case 2:
			tm = tm.Truncate(time.Millisecond)
		case 3:
			tm = tm.In(paris)
		case 4:
			tm = time.Unix(r.Int64N(1<<34), r.Int64N(1e9)).Truncate(pow10(r.IntN(10)))
		}
		check(tm)
	}
	for _, tm := range []time.Time{{}, time.Date(-1, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Unix(0, 1)} {
		check(tm)
	}
}

func pow10(n int) time.Duration {
	d := time.Duration(1)
	for range n {
		d *= 10
	}
	return d
}
