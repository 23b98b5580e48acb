package sqlitestore

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// TestFirstPage: a first page and its histogram in one call (FirstPage) are Search's
// page and the lines' counts by step, over two days: exact when not flagged estimated,
// and never below the page's hits when estimated; its histogram is exact when
// Histogram's is; and it reads no candidate block twice.
func TestFirstPage(t *testing.T) {
	const n = 24 * defaultBlockLines
	// 10 hours to 08:00 UTC: two days.
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: 10 * time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	s := open(t, Config{})
	for i := 0; i < n; i += 2 * defaultBlockLines {
		appendSync(t, s, rows[i:i+2*defaultBlockLines])
	}
	if days := len(s.snapshot()); days != 2 {
		t.Fatalf("%d days, want 2", days)
	}
	ctx := context.Background()
	from, to := gen.End.Add(-11*time.Hour), gen.End.Add(time.Minute)
	step := 10 * time.Minute
	for _, qs := range []string{gen.ID(n / 2), gen.ID(n - 3), `"` + gen.IP(n/3) + `"`, "kube", "GET 404", "status:503",
		loadgen.Prefix + "*", loadgen.Absent, "kube -GET", "web1"} {
		q := mustParse(t, qs)
		want := exactBuckets(rows, q, from, to, step)
		for _, limit := range []int{1, 3, 100} {
			r := store.SearchRequest{Query: q, From: from, To: to, Limit: limit}
			page, err := s.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			_, hest, err := s.Histogram(ctx, q, from, to, step)
			if err != nil {
				t.Fatal(err)
			}
			days, err := listDays(ctx, covering(s.snapshot(), from.UnixNano(), to.UnixNano()), q, from.UnixNano(), to.UnixNano())
			if err != nil {
				t.Fatal(err)
			}
			listed := 0
			for _, d := range days {
				listed += len(d.ids)
			}
			before := s.blocksRead.Load()
			got, bs, est, err := s.FirstPage(ctx, r, step)
			if err != nil {
				t.Fatalf("%s, limit %d: %v", qs, limit, err)
			}
			if read := s.blocksRead.Load() - before; read > int64(listed) {
				t.Errorf("%s, limit %d: %d blocks read for %d candidates", qs, limit, read, listed)
			}
			if got.More != page.More || len(got.Rows) != len(page.Rows) {
				t.Fatalf("%s, limit %d: %d rows (more %v), Search's %d (%v)", qs, limit, len(got.Rows), got.More, len(page.Rows), page.More)
			}
			for i := range got.Rows {
				if got.Rows[i].Seq != page.Rows[i].Seq || got.Rows[i].Message != page.Rows[i].Message {
					t.Fatalf("%s, limit %d: row %d is %d, Search's %d", qs, limit, i, got.Rows[i].Seq, page.Rows[i].Seq)
				}
			}
			if len(bs) != len(want) {
				t.Fatalf("%s: %d buckets, want %d", qs, len(bs), len(want))
			}
			if est && !hest {
				t.Errorf("%s, limit %d: estimated where Histogram is exact", qs, limit)
			}
			hits := map[int64]int64{}
			for _, row := range got.Rows {
				hits[row.Time.UnixNano()/int64(step)]++
			}
			for i, b := range bs {
				if !b.Time.Equal(want[i].Time) {
					t.Fatalf("%s: bucket %d at %s, want %s", qs, i, b.Time, want[i].Time)
				}
				if !est && b.Count != want[i].Count {
					t.Errorf("%s, limit %d: bucket %s counts %d, want %d (exact)", qs, limit, b.Time, b.Count, want[i].Count)
				}
				if h := hits[b.Time.UnixNano()/int64(step)]; b.Count < h {
					t.Errorf("%s, limit %d: bucket %s estimates %d, below the page's %d hits there", qs, limit, b.Time, b.Count, h)
				}
			}
		}
	}
}

// exactBuckets counts the rows q matches in [from, to) by step, from the step's multiple
// at or before from.
func exactBuckets(rows []store.Row, q *query.Node, from, to time.Time, step time.Duration) []store.Bucket {
	first := from.Truncate(step)
	bs := make([]store.Bucket, int(math.Ceil(float64(to.Sub(first))/float64(step))))
	for i := range bs {
		bs[i].Time = first.Add(time.Duration(i) * step)
	}
	m := query.NewMatcher(q)
	for _, r := range rows {
		if !r.Time.Before(from) && r.Time.Before(to) && m.Match(refLine{r, store.NewFieldParser(r.Format).LineFields(r.Message, r.Fields)}) {
			bs[r.Time.Sub(first)/step].Count++
		}
	}
	return bs
}

// TestFirstPageReadsOnce: the page's search leaves to its histogram only the candidate
// blocks it did not read, with the times of the matching lines of those it did; the
// histogram then counts those and checks the rest, exactly.
func TestFirstPageReadsOnce(t *testing.T) {
	const n = 16 * defaultBlockLines
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	s := open(t, Config{})
	for i := 0; i < n; i += defaultBlockLines {
		appendSync(t, s, rows[i:i+defaultBlockLines])
	}
	parts := s.snapshot()
	if len(parts) != 1 {
		t.Fatalf("%d days, want 1", len(parts))
	}
	ctx := context.Background()
	from, to := gen.End.Add(-2*time.Hour), gen.End.Add(time.Minute)
	f, tt := from.UnixNano(), to.UnixNano()
	q := mustParse(t, "GET 404")
	var total int64
	for _, b := range exactBuckets(rows, q, from, to, time.Minute) {
		total += b.Count
	}
	// The page full in the newest block, in the blocks read ahead (past notAhead of
	// the 16), and never.
	for _, want := range []int{2, int(total) * 13 / 16, 1 << 20} {
		days, err := listDays(ctx, parts, q, f, tt)
		if err != nil {
			t.Fatal(err)
		}
		listed := len(days[0].ids)
		if listed < 8 {
			t.Fatalf("%d candidate blocks, want most of 16", listed)
		}
		before := s.blocksRead.Load()
		out, err := parts[0].search(ctx, compile(q), f, tt, pos{}, want, nil, &days[0])
		if err != nil {
			t.Fatal(err)
		}
		read, left := int(s.blocksRead.Load()-before), len(days[0].ids)
		switch {
		case left != listed-read:
			t.Errorf("page of %d: %d blocks read, %d of %d candidates left to count: want the %d not read", want, read, left, listed, listed-read)
		case want == 2 && left == 0:
			t.Errorf("page of 2: none of %d candidates left to count, want some", listed)
		case want < 1<<20 && len(days[0].known) < len(out):
			t.Errorf("page of %d: %d lines noted, want at least the page's %d", want, len(days[0].known), len(out))
		case want == 1<<20 && int64(len(days[0].known)) != int64(len(out)):
			t.Errorf("every match: %d lines noted, want the page's %d", len(days[0].known), len(out))
		}
		step := 5 * time.Minute
		bs, first, err := newBuckets(from, to, step)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]float64, len(bs))
		if _, err := countListed(ctx, parts, q, f, tt, first, int64(step), days, counts); err != nil {
			t.Fatal(err)
		}
		for i, b := range exactBuckets(rows, q, from, to, step) {
			if int64(counts[i]) != b.Count {
				t.Errorf("page of %d: bucket %s counts %v, want %d", want, b.Time, counts[i], b.Count)
			}
		}
	}
}
