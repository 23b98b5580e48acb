package sqlitestore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// TestHistogramBounds: a range or a step the store cannot count is an error, never a
// panic (from=1600-01-01 once panicked in makeslice).
func TestHistogramBounds(t *testing.T) {
	s := open(t, Config{})
	now := time.Now().UTC()
	appendSync(t, s, rowsAt(now.Add(-time.Minute), 0, 10, accessLine))
	all := &query.Node{Kind: query.All}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		step     time.Duration
		want     string
	}{
		{"before 1678", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), now, 24 * time.Hour, "out of the store's range"},
		{"after 2262", now, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 24 * time.Hour, "out of the store's range"},
		{"too many buckets", now.Add(-24 * time.Hour), now, time.Second, "more than 10000 buckets"},
		{"a span int64 cannot hold", time.Date(1680, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2260, 1, 1, 0, 0, 0, 0, time.UTC),
			100 * 365 * 24 * time.Hour, "more than 10000 buckets"},
		{"no step", now.Add(-time.Hour), now, 0, "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Histogram(context.Background(), all, tc.from, tc.to, tc.step)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Histogram = %v, want an error with %q", err, tc.want)
			}
		})
	}
	bs, _, err := s.Histogram(context.Background(), all, now.Add(-time.Hour), now, time.Minute)
	if err != nil || len(bs) < 60 || len(bs) > 61 {
		t.Fatalf("Histogram over an hour by minutes = %d buckets, %v", len(bs), err)
	}
}

// TestReadsStopOnDeadline: a read with a context past its deadline returns its error.
func TestReadsStopOnDeadline(t *testing.T) {
	s := open(t, Config{})
	now := time.Now().UTC()
	appendSync(t, s, rowsAt(now.Add(-time.Minute), 0, 1000, accessLine))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	q := mustParse(t, "GET")
	_, err := s.Search(ctx, store.SearchRequest{Query: q, From: now.Add(-time.Hour), To: now.Add(time.Minute), Limit: 10})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Search past its deadline = %v, want the deadline's error", err)
	}
	_, _, err = s.Histogram(ctx, q, now.Add(-time.Hour), now.Add(time.Minute), time.Minute)
	if err == nil {
		t.Error("Histogram past its deadline: no error")
	}
}
