package sqlitestore

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

// outOfOrderRows makes n lines of files files (interleaved, batches of one file), one
// per 10 ms from start, of which a tenth are stamped up to an hour earlier; offsets
// are per file. msg marks every third line "third".
func outOfOrderRows(start time.Time, n, files int, seed uint64) []store.Row {
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([]store.Row, n)
	for i := range rows {
		t := start.Add(time.Duration(i) * 10 * time.Millisecond)
		read := t
		if rng.IntN(10) == 0 {
			t = t.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
		}
		f := i % files
		msg := fmt.Sprintf("line %d", i)
		if i%3 == 0 {
			msg += " third"
		}
		rows[i] = store.Row{Time: t, ReadTime: read, Host: "h", Path: fmt.Sprintf("/f%d", f), Topic: "t",
			FileID: fmt.Sprintf("1:%d", f), Offset: int64(i) * 100, End: int64(i)*100 + 100, Message: msg}
	}
	return rows
}

// TestOutOfOrder: with a tenth of the lines stamped up to an hour before their
// neighbours, searches page every matching line exactly once, newest event time first
// (Seq breaking ties), histograms count each line in its own bucket, and a narrow range
// finds the late-stamped lines where their time puts them.
func TestOutOfOrder(t *testing.T) {
	s := open(t, Config{})
	ctx := context.Background()
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
	const n = 6000
	rows := outOfOrderRows(start, n, 3, 1)
	for i := 0; i < n; i += 500 {
		appendSync(t, s, rows[i:i+500])
	}
	from, to := start.Add(-2*time.Hour), start.Add(2*time.Hour)
	for _, tc := range []struct {
		q     string
		limit int
	}{{"", 77}, {"third", 50}, {"NOT third", 1000}, {"line", 13}} {
		t.Run(tc.q, func(t *testing.T) {
			want := wantOrder(rows, from, to, tc.q == "third", tc.q == "NOT third")
			var got []store.Row
			var before store.Cursor
			for pages := 0; ; pages++ {
				if pages > n+1 {
					t.Fatal("paging does not end")
				}
				res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, tc.q), From: from, To: to, Limit: tc.limit, Before: before})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, res.Rows...)
				if !res.More {
					break
				}
				before = res.Rows[len(res.Rows)-1].Cursor
			}
			if len(got) != len(want) {
				t.Fatalf("paged %d lines, want %d", len(got), len(want))
			}
			seen := map[int64]bool{}
			for i, r := range got {
				if r.Offset != want[i].Offset || !r.Time.Equal(want[i].Time) || !r.ReadTime.Equal(want[i].ReadTime) {
					t.Fatalf("hit %d: offset %d at %s (read %s), want offset %d at %s (read %s)", i, r.Offset, r.Time,
						r.ReadTime, want[i].Offset, want[i].Time, want[i].ReadTime)
				}
				if i > 0 && posOf(got[i-1]).less(posOf(r)) {
					t.Fatalf("hit %d is newer than hit %d", i, i-1)
				}
				if seen[r.Seq] {
					t.Fatalf("Seq %d twice", r.Seq)
				}
				seen[r.Seq] = true
			}
			hist, est, err := s.Histogram(ctx, mustParse(t, tc.q), from, to, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			wantHist := map[int64]int64{}
			for _, r := range want {
				wantHist[r.Time.Truncate(10*time.Minute).UnixNano()]++
			}
			for _, b := range hist {
				if b.Count != wantHist[b.Time.UnixNano()] {
					t.Errorf("bucket %s counts %d, want %d", b.Time.Format(time.TimeOnly), b.Count, wantHist[b.Time.UnixNano()])
				}
			}
			if est {
				t.Error("histogram estimated over 6000 lines")
			}
		})
	}
	// A range before the in-order lines' start holds only late-stamped ones.
	res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, ""), From: start.Add(-time.Hour), To: start, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	if want := wantOrder(rows, start.Add(-time.Hour), start, false, false); len(res.Rows) != len(want) || len(want) == 0 {
		t.Errorf("the hour before the first read: %d lines, want %d (> 0)", len(res.Rows), len(want))
	}
}

// wantOrder is the search order of rows in [from, to): newest first, Seq (here the row
// index within one Append order) breaking ties.
func wantOrder(rows []store.Row, from, to time.Time, third, notThird bool) []store.Row {
	type ix struct {
		r store.Row
		i int
	}
	var out []ix
	for i, r := range rows {
		isThird := (r.Offset/100)%3 == 0
		if r.Time.Before(from) || !r.Time.Before(to) || (third && !isThird) || (notThird && isThird) {
			continue
		}
		out = append(out, ix{r, i})
	}
	slices.SortStableFunc(out, func(a, b ix) int {
		if c := b.r.Time.Compare(a.r.Time); c != 0 {
			return c
		}
		return b.i - a.i
	})
	rs := make([]store.Row, len(out))
	for i, x := range out {
		rs[i] = x.r
	}
	return rs
}

// TestBackfillDays: a file read today whose lines are stamped over the last 10 days is
// stored in its lines' own days (one database each), found by day, charted by day,
// tailed in the order read, and retention by event time removes the old days' lines
// and keeps the rest, while a live file's lines stay.
func TestBackfillDays(t *testing.T) {
	s := open(t, Config{Retention: 4*24*time.Hour + time.Hour})
	ctx := context.Background()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	const perDay = 300
	var backfill []store.Row
	for d := 9; d >= 0; d-- {
		for i := range perDay {
			k := len(backfill)
			backfill = append(backfill, store.Row{Time: today.Add(-time.Duration(d)*24*time.Hour + time.Duration(i)*time.Second),
				ReadTime: now, Host: "h", Path: "/old.log", Topic: "t", FileID: "1:1", Offset: int64(k) * 10, End: int64(k)*10 + 10,
				Message: fmt.Sprintf("old day%d", 9-d)})
		}
	}
	live := rowsAt(now.Add(-time.Minute), 0, 100, func(i int) string { return "live" })
	first, err := s.Newest(ctx) // where a tail opened now starts
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, 0; i < len(backfill); i, j = i+700, j+20 { // the backfill beside live lines
		appendSync(t, s, backfill[i:min(i+700, len(backfill))])
		appendSync(t, s, live[j:j+20])
	}
	days, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "logs-*.db"))
	if len(days) < 10 {
		t.Fatalf("%d day files, want the backfill's 10", len(days))
	}
	for d := range 10 {
		day := today.Add(-time.Duration(9-d) * 24 * time.Hour)
		res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, fmt.Sprintf("day%d", d)), From: day, To: day.Add(24 * time.Hour), Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != perDay || !res.Rows[0].ReadTime.Equal(now) {
			t.Errorf("day %d: %d lines, want %d read at %s", d, len(res.Rows), perDay, now)
		}
	}
	from15, to15 := now.Add(-15*time.Minute), now.Add(time.Minute)
	last15, err := s.Search(ctx, store.SearchRequest{Query: &query.Node{Kind: query.All}, From: from15, To: to15, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// The live lines, and (run in the first minutes after midnight UTC) the backfill's
	// first lines of today, which are stamped at 00:00:00 onwards.
	want15 := wantOrder(append(slices.Clone(backfill), live...), from15, to15, false, false)
	if len(last15.Rows) != len(want15) || len(want15) < len(live) {
		t.Errorf("last 15 minutes: %d lines, want %d (the %d live ones and the backfill's in that range)",
			len(last15.Rows), len(want15), len(live))
	}
	hist, _, err := s.Histogram(ctx, &query.Node{Kind: query.All}, today.Add(-9*24*time.Hour), today.Add(24*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range hist {
		want := int64(perDay)
		if i == 9 {
			want += int64(len(live))
		}
		if b.Count != want {
			t.Errorf("day %d counts %d, want %d", i, b.Count, want)
		}
	}
	tail, err := s.Since(ctx, mustParse(t, ""), first, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if len(tail) != len(backfill)+len(live) {
		t.Fatalf("tail: %d lines, want %d", len(tail), len(backfill)+len(live))
	}
	for i := 1; i < len(tail); i++ {
		if tail[i].Seq <= tail[i-1].Seq {
			t.Fatalf("tail not in storage order at %d", i)
		}
	}
	if err := s.Retain(ctx, now); err != nil {
		t.Fatal(err)
	}
	cutoff := now.Add(-4*24*time.Hour - time.Hour)
	var kept int
	for _, r := range backfill {
		if !r.Time.Before(cutoff) {
			kept++
		}
	}
	res, err := s.Search(ctx, store.SearchRequest{Query: &query.Node{Kind: query.All}, From: today.Add(-30 * 24 * time.Hour), To: now.Add(time.Hour), Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != kept+len(live) {
		t.Errorf("after retention: %d lines, want %d (the backfill's newer than %s and the live ones)", len(res.Rows), kept+len(live), cutoff)
	}
	for _, r := range res.Rows {
		if r.Time.Before(cutoff) {
			t.Fatalf("a line of %s kept past the retention's cutoff %s", r.Time, cutoff)
		}
	}
	if after, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "logs-*.db")); len(after) > 6 {
		t.Errorf("%d day files after retention, want at most 6", len(after))
	}
}

// TestTimeSkewClamp: a line stamped more than max_time_skew after its read time, or
// before 1970, is stored at its read time and counted; a line stamped in the past is
// stored at its own time.
func TestTimeSkewClamp(t *testing.T) {
	s := open(t, Config{MaxTimeSkew: time.Hour})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rows := rowsAt(now, 0, 4, func(i int) string { return fmt.Sprintf("skew %d", i) })
	for i := range rows {
		rows[i].ReadTime = now
	}
	rows[0].Time = now.Add(30 * time.Minute)                     // within the skew: kept
	rows[1].Time = now.Add(48 * time.Hour)                       // beyond: clamped
	rows[2].Time = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) // before 1970: clamped
	rows[3].Time = now.Add(-50 * time.Hour)                      // the past: kept
	appendSync(t, s, rows)
	res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, "skew"), From: now.Add(-100 * time.Hour), To: now.Add(100 * time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"skew 0": now.Add(30 * time.Minute), "skew 1": now, "skew 2": now, "skew 3": now.Add(-50 * time.Hour)}
	if len(res.Rows) != 4 {
		t.Fatalf("%d lines, want 4 (none lost)", len(res.Rows))
	}
	for _, r := range res.Rows {
		if !r.Time.Equal(want[r.Message]) || !r.ReadTime.Equal(now) {
			t.Errorf("%q at %s read %s, want at %s", r.Message, r.Time, r.ReadTime, want[r.Message])
		}
	}
	if got := metrictest.Value(t, s.m.clamped); got != 2 {
		t.Errorf("clamped counter %v, want 2", got)
	}
}

// TestCommitOrderKeepsFilePrefix: a file's blocks over several days are committed in
// file order, so a crash between the days' transactions leaves a prefix of the file.
func TestCommitOrderKeepsFilePrefix(t *testing.T) {
	day := int64(24 * time.Hour)
	mk := func(file string, d int64) *block {
		return &block{host: "h", fileID: file, path: "/" + file, tMax: d * day}
	}
	a1, b1, a2, b2, a3 := mk("a", 10), mk("b", 12), mk("a", 11), mk("b", 12), mk("a", 10)
	txs := commitOrder([]*block{a1, b1, a2, b2, a3})
	pos := map[*block]int{}
	for i, tx := range txs {
		d := dayOf(tx[0].tMax)
		for _, b := range tx {
			pos[b] = i
			if dayOf(b.tMax) != d {
				t.Fatalf("transaction %d mixes days", i)
			}
		}
	}
	if !(pos[a1] < pos[a2] && pos[a2] < pos[a3] && pos[b1] <= pos[b2]) {
		t.Errorf("a file's blocks out of file order: %v", pos)
	}
	if len(txs) != 4 { // a:10 b:12 | a:11 | a:10
		t.Errorf("%d transactions, want 4", len(txs))
	}
}

// TestManyBlocksOneMillisecond: more blocks with their newest line in one millisecond
// than a key has ids take the next keys' ids; they are all found, in order, also after
// a restart (the widest span is read back).
func TestManyBlocksOneMillisecond(t *testing.T) {
	dir := t.TempDir()
	at := time.Now().UTC().Truncate(time.Second)
	const n = 1<<keyBits + 300
	rows := make([]store.Row, n)
	for i := range rows { // one file each: one block each
		rows[i] = store.Row{Time: at, Host: "h", Path: "/p", Topic: "t", FileID: fmt.Sprintf("1:%d", i), End: 10, Message: "same ms"}
	}
	check := func(s *Store) {
		t.Helper()
		res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "same"), From: at, To: at.Add(time.Nanosecond), Limit: 2 * n})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != n {
			t.Fatalf("%d lines, want %d", len(res.Rows), n)
		}
		for i := 1; i < n; i++ {
			if res.Rows[i].Seq >= res.Rows[i-1].Seq {
				t.Fatalf("lines of one time not newest Seq first at %d", i)
			}
		}
	}
	withStore(t, Config{Dir: dir}, func(s *Store) {
		appendSync(t, s, rows)
		check(s)
	})
	check(open(t, Config{Dir: dir}))
}

// TestPagesOfOneTime: 20,000 lines of one time, several files, paged 100 at a time: every
// line once, newest Seq first, while a search keeps only the lines that can still be on
// its page (newestFirst.trim).
func TestPagesOfOneTime(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)
	const n = 20000
	rows := make([]store.Row, n)
	for i := range rows {
		rows[i] = store.Row{Time: at, Host: "h", Path: "/p", Topic: "t", FileID: fmt.Sprintf("1:%d", i%7), Offset: int64(i / 7 * 10),
			End: int64(i/7*10 + 10), Message: fmt.Sprintf("line %d", i)}
	}
	s := open(t, Config{Dir: t.TempDir()})
	appendSync(t, s, rows)
	var seen []int64
	req := store.SearchRequest{Query: mustParse(t, ""), From: at, To: at.Add(time.Second), Limit: 100}
	for {
		res, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			if len(seen) > 0 && r.Seq >= seen[len(seen)-1] {
				t.Fatalf("line %d: Seq %d after %d, want newest Seq first", len(seen), r.Seq, seen[len(seen)-1])
			}
			seen = append(seen, r.Seq)
		}
		if !res.More {
			break
		}
		req.Before = res.Rows[len(res.Rows)-1].Cursor
	}
	if len(seen) != n {
		t.Fatalf("%d lines paged, want %d", len(seen), n)
	}
}

// TestTrimKeepsNewest: trim keeps the newest lines, still a heap.
func TestTrimKeepsNewest(t *testing.T) {
	var q newestFirst
	for i := range 1000 {
		heap.Push(&q, pending{pos: pos{time: int64(i % 3), seq: int64(i)}})
	}
	q.trim(10)
	var got []pos
	for q.Len() > 0 {
		got = append(got, heap.Pop(&q).(pending).pos)
	}
	if len(got) != 10 {
		t.Fatalf("%d kept, want 10", len(got))
	}
	for i, p := range got { // time 2 holds seqs 998, 995, …
		if want := (pos{time: 2, seq: int64(998 - 3*i)}); p != want {
			t.Fatalf("kept %d: %+v, want %+v", i, p, want)
		}
	}
}
