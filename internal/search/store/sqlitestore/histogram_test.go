package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// spreadRows makes n lines of 3 files, one per 500 ms from start, of which a tenth are
// stamped up to an hour earlier: blocks span up to an hour, across bucket edges.
func spreadRows(start time.Time, first, n int) []store.Row {
	rng := rand.New(rand.NewPCG(uint64(first), 3))
	rows := make([]store.Row, n)
	for k := range rows {
		i := first + k
		read := start.Add(time.Duration(i) * 500 * time.Millisecond)
		t := read
		if rng.IntN(10) == 0 {
			t = t.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
		}
		f := i % 3
		rows[k] = store.Row{Time: t, ReadTime: read, Host: "h", Path: fmt.Sprintf("/f%d", f), Topic: "t",
			FileID: fmt.Sprintf("1:%d", f), Offset: int64(i) * 100, End: int64(i)*100 + 100, Message: fmt.Sprintf("line %d", i)}
	}
	return rows
}

// checkHistogramExact compares the all-lines histogram with the rows counted one by
// one: whole-minute steps (from the blocks' per-minute counts), ranges whose ends cut a
// minute, a step that is not whole minutes (from the line times), a range inside one
// minute, steps of whole 10 minutes (from the per-10-minute counts) with ranges whose
// ends cut a 10-minute span or that lie inside one.
func checkHistogramExact(t *testing.T, s *Store, rows []store.Row, start time.Time) {
	t.Helper()
	for _, tc := range []struct {
		name     string
		from, to time.Time
		step     time.Duration
	}{
		{"30m", start.Add(-2 * time.Hour), start.Add(4 * time.Hour), 30 * time.Minute},
		{"1m, cut ends", start.Add(-17*time.Minute - 300*time.Millisecond), start.Add(time.Hour + 41*time.Second), time.Minute},
		{"5m, cut ends", start.Add(13 * time.Second), start.Add(2*time.Hour + 7*time.Second), 5 * time.Minute},
		{"7s", start.Add(-time.Hour), start.Add(time.Hour), 7 * time.Second},
		{"inside a minute", start.Add(20*time.Minute + 5*time.Second), start.Add(20*time.Minute + 50*time.Second), time.Minute},
		// Steps of whole 10 minutes: the per-10-minute counts, and the minutes of the
		// spans the range's ends cut.
		{"10m, cut ends", start.Add(-17*time.Minute - 300*time.Millisecond), start.Add(2*time.Hour + 41*time.Second), 10 * time.Minute},
		{"30m, ends inside 10-minute spans", start.Add(13 * time.Minute), start.Add(3*time.Hour + 47*time.Minute), 30 * time.Minute},
		{"1h, inside one 10-minute span", start.Add(21*time.Minute + 5*time.Second), start.Add(27 * time.Minute), time.Hour},
	} {
		got, est, err := s.Histogram(context.Background(), &query.Node{Kind: query.All}, tc.from, tc.to, tc.step)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if est {
			t.Errorf("%s: estimated, want exact", tc.name)
		}
		want := make([]int64, len(got))
		f, st := tc.from.UnixNano(), int64(tc.step)
		first := floorDiv(f, st) * st
		total := int64(0)
		for _, r := range rows {
			if ts := r.Time.UnixNano(); !r.Time.Before(tc.from) && r.Time.Before(tc.to) {
				want[(ts-first)/st]++
				total++
			}
		}
		if total == 0 {
			t.Fatalf("%s: no lines in the range: the case tests nothing", tc.name)
		}
		for i := range got {
			if got[i].Count != want[i] {
				t.Errorf("%s: bucket %d (%s) counts %d, want %d", tc.name, i, got[i].Time.Format(time.RFC3339), got[i].Count, want[i])
			}
		}
	}
}

// TestHistogramOutOfOrderExact: with a tenth of the lines up to an hour out of order,
// the all-lines histogram counts every line in its bucket, from the per-minute counts,
// from blocks without them (written before them: mins NULL) and from the line times.
func TestHistogramOutOfOrderExact(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
	rows := spreadRows(start, 0, 12000)
	for i := 0; i < len(rows); i += 1000 {
		appendSync(t, s, rows[i:i+1000])
	}
	checkHistogramExact(t, s, rows, start)

	for _, p := range s.snapshot() { // half the blocks as written before the counts
		if _, err := p.db.Exec(`UPDATE blocks SET mins = NULL, tens = NULL WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM blocks) WHERE r % 2 = 0)`); err != nil {
			t.Fatal(err)
		}
		p.noMins.Store(true) // what Open finds in a day with such blocks
	}
	checkHistogramExact(t, s, rows, start)
	var with, without int
	for _, p := range s.snapshot() {
		var a, b int
		if err := p.db.QueryRow(`SELECT count(mins), count(*) - count(mins) FROM blocks`).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		with, without = with+a, without+b
	}
	if with == 0 || without == 0 {
		t.Fatalf("%d blocks with counts, %d without: want both", with, without)
	}

	for _, p := range s.snapshot() { // counts that do not decode: an error naming a block
		if _, err := p.db.Exec(`UPDATE blocks SET mins = x'00' WHERE mins IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
	}
	// A step of 15 minutes reads the minutes (a step of whole 10 minutes would read the
	// blocks' 10-minute counts).
	_, _, err := s.Histogram(context.Background(), &query.Node{Kind: query.All}, start, start.Add(2*time.Hour), 15*time.Minute)
	if !errors.Is(err, errCorrupt) {
		t.Errorf("histogram over corrupt counts: %v, want %v", err, errCorrupt)
	}
}

// TestDayWithoutMinutes: a day written before the per-minute counts (no mins column) is
// opened as it is, gains the column, keeps its layout version, and its histogram is
// exact over the old blocks and the new ones.
func TestDayWithoutMinutes(t *testing.T) {
	_, path := oldDay(t, `DROP INDEX blocks_span`, `ALTER TABLE blocks DROP COLUMN mins`,
		`CREATE INDEX blocks_span ON blocks(ts_max, ts_min, n)`)
	if v := userVersion(t, path); v != layoutVersion {
		t.Errorf("user_version %d, want %d", v, layoutVersion)
	}
}

// noMinuteTotals makes a day as a logcollect before the minute totals wrote it.
func noMinuteTotals() []string {
	return []string{`DROP TRIGGER blocks_totals_insert`, `DROP TRIGGER blocks_totals_delete`,
		`DROP TRIGGER blocks_totals_update`, `DROP TABLE minute_totals`, `DROP TABLE minute_totals_state`, `DROP TABLE early_lines`}
}

// oldDay writes 6,000 lines in one day's file, rewrites its schema with the statements
// (as an older logcollect left it), opens the store, appends 6,000 more, checks the
// all-lines histogram exact over both, and returns the store and the day's path.
func oldDay(t *testing.T, rewrite ...string) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	// One day's file, for the rewrite below: the lines run from start to 1 h 40 min after
	// it, a tenth of them up to an hour earlier (spreadRows).
	start := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
	if dayOf(start.Add(-time.Hour).UnixNano()) != dayOf(start.Add(3*time.Hour).UnixNano()) {
		start = start.Add(-4 * time.Hour)
	}
	rows := spreadRows(start, 0, 6000)
	runOnce(t, dir, rows)
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// A day written before the minute totals has neither them nor their triggers.
	for _, q := range append(noMinuteTotals(), rewrite...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := open(t, Config{Dir: dir})
	more := spreadRows(start, 6000, 6000)
	appendSync(t, s, more)
	checkHistogramExact(t, s, append(rows, more...), start)
	return s, path
}

// TestTenMinuteCounts: a block spanning many minutes (lines out of order) has its lines
// per 10 minutes beside its minutes, one in order over a few minutes has none; the
// all-lines histogram counts exactly from them; counts that do not decode are an error
// naming the block.
func TestTenMinuteCounts(t *testing.T) {
	e := newEncoder(nil)
	base := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixNano()
	for _, tc := range []struct {
		name  string
		times []int64 // event times
		want  []minuteCount
	}{
		{"in order, 3 minutes", []int64{base, base + 30e9, base + 70e9, base + 150e9}, nil},
		{"an hour, one line a minute", func() []int64 {
			var ts []int64
			for i := range 60 {
				ts = append(ts, base+int64(i)*minuteNanos)
			}
			return ts
		}(), []minuteCount{{2993676, 10}, {2993677, 10}, {2993678, 10}, {2993679, 10}, {2993680, 10}, {2993681, 10}}},
		{"out of order", []int64{base + 50*minuteNanos, base, base + 51*minuteNanos, base + 5*minuteNanos, base + 52*minuteNanos,
			base + 23*minuteNanos, base + 53*minuteNanos, base + 54*minuteNanos, base + 55*minuteNanos, base + 12*minuteNanos},
			[]minuteCount{{2993676, 2}, {2993677, 1}, {2993678, 1}, {2993681, 6}}},
		{"many minutes, as many spans", func() []int64 {
			var ts []int64
			for i := range 8 {
				ts = append(ts, base+int64(i)*10*minuteNanos)
			}
			return ts
		}(), nil},
	} {
		times := make([][2]int64, len(tc.times))
		idx := make([]int, len(tc.times))
		for i, ts := range tc.times {
			times[i], idx[i] = [2]int64{ts, ts}, i
		}
		e.minutes(times, idx)
		tens := e.tens()
		if tc.want == nil {
			if tens != nil {
				t.Errorf("%s: 10-minute counts %x, want none", tc.name, tens)
			}
			continue
		}
		got, unit, rest, err := nextCounts(tens, nil)
		if err != nil || unit != tenMinutes || len(rest) != 0 || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v in units of %d minutes (%d bytes left, %v), want %v", tc.name, got, unit, len(rest), err, tc.want)
		}
	}

	s := open(t, Config{})
	start := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
	rows := spreadRows(start, 0, 12000)
	for i := 0; i < len(rows); i += 1000 {
		appendSync(t, s, rows[i:i+1000])
	}
	var with, without int
	for _, p := range s.snapshot() {
		if !p.tensIndexed {
			t.Errorf("%s: blocks_span without tens", p.path)
		}
		var a, b int
		if err := p.db.QueryRow(`SELECT count(tens), count(*) - count(tens) FROM blocks`).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		with, without = with+a, without+b
	}
	if with == 0 {
		t.Fatalf("%d blocks with 10-minute counts, %d without: want some with", with, without)
	}
	checkHistogramExact(t, s, rows, start)

	for _, p := range s.snapshot() {
		if _, err := p.db.Exec(`UPDATE blocks SET tens = x'00' WHERE tens IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.Histogram(context.Background(), &query.Node{Kind: query.All}, start, start.Add(2*time.Hour), 30*time.Minute)
	if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(), "block ") {
		t.Errorf("histogram over corrupt 10-minute counts: %v, want %v naming a block", err, errCorrupt)
	}
}

// TestDayWithoutTens: a day written before the per-10-minute counts (a tens column
// neither in the table nor in blocks_span) is opened as it is, gains the column (its
// new blocks fill it), keeps its index and layout version, and its histograms are exact
// from the minutes of the old blocks and the new ones.
func TestDayWithoutTens(t *testing.T) {
	s, path := oldDay(t, `DROP INDEX blocks_span`, `ALTER TABLE blocks DROP COLUMN tens`,
		`CREATE INDEX blocks_span ON blocks(ts_max, ts_min, n, mins)`)
	for _, p := range s.snapshot() {
		if p.path != path {
			continue
		}
		var tens int
		if err := p.db.QueryRow(`SELECT count(tens) FROM blocks`).Scan(&tens); err != nil {
			t.Fatal(err)
		}
		if p.tensIndexed || !p.minsIndexed || tens == 0 {
			t.Errorf("tens indexed %v, mins indexed %v, %d new blocks with tens: want false, true, some", p.tensIndexed, p.minsIndexed, tens)
		}
	}
	if v := userVersion(t, path); v != layoutVersion {
		t.Errorf("user_version %d, want %d", v, layoutVersion)
	}
}

// TestHistogramSmallBlocksExact: more candidate blocks than sampleBlocks that hold few
// lines (each a line long: the entry's fields alternate, as lines out of order across
// midnight alternate days) are counted exactly, not sampled, however many they are (up
// to histogramLines lines).
func TestHistogramSmallBlocksExact(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	rowsOf := func(first, n int) []store.Row {
		rows := make([]store.Row, n)
		for k := range rows {
			i := first + k
			rows[k] = store.Row{Time: start.Add(time.Duration(i) * 10 * time.Millisecond), Host: "h", Path: "/f", Topic: "t",
				FileID: "1:1", Offset: int64(i) * 10, End: int64(i)*10 + 10, Fields: map[string]string{"k": strconv.Itoa(i % 2)},
				Message: "word " + strconv.Itoa(i)}
		}
		return rows
	}
	count := func() (int64, bool) {
		t.Helper()
		bs, est, err := s.Histogram(context.Background(), mustParse(t, "word"), start, start.Add(time.Hour), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, b := range bs {
			n += b.Count
		}
		return n, est
	}
	appendSync(t, s, rowsOf(0, 3*sampleBlocks))
	if n, est := count(); n != 3*sampleBlocks || est {
		t.Errorf("%d one-line blocks: counted %d (estimated %v), want them exactly", 3*sampleBlocks, n, est)
	}
	appendSync(t, s, rowsOf(3*sampleBlocks, 7*sampleBlocks))
	if n, est := count(); n != 10*sampleBlocks || est {
		t.Errorf("%d one-line blocks: counted %d (estimated %v), want them exactly", 10*sampleBlocks, n, est)
	}
}

// TestHistogramAcrossDays: a query's histogram over several days counts each day's
// lines into the right buckets (the days are counted side by side: countDays).
func TestHistogramAcrossDays(t *testing.T) {
	s := open(t, Config{Retention: 10 * 24 * time.Hour})
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	var rows []store.Row
	for d := -4; d <= -1; d++ { // whole days in the past: no line ahead of its read time
		day := midnight.Add(time.Duration(d) * 24 * time.Hour)
		for i := range 300 {
			msg := fmt.Sprintf("line %d of day %d", i, d)
			if i%(5+d) == 0 { // a different share of each day's lines
				msg += " needle"
			}
			rows = append(rows, store.Row{Time: day.Add(time.Duration(i) * 4 * time.Minute), Host: "h", Path: "/a", Topic: "t",
				FileID: "1:1", Offset: int64(len(rows)), End: int64(len(rows) + 1), Message: msg})
		}
	}
	appendSync(t, s, rows)
	from, to, step := midnight.Add(-4*24*time.Hour), midnight, 6*time.Hour
	got, est, err := s.Histogram(context.Background(), mustParse(t, "needle"), from, to, step)
	if err != nil || est {
		t.Fatalf("histogram: %v (estimated %v)", err, est)
	}
	want := make([]int64, len(got))
	for _, r := range rows {
		if strings.Contains(r.Message, "needle") && r.Time.Before(to) {
			want[r.Time.Sub(from)/step]++
		}
	}
	for i := range got {
		if got[i].Count != want[i] {
			t.Errorf("bucket %s: %d lines, want %d", got[i].Time.Format(time.RFC3339), got[i].Count, want[i])
		}
	}
}

// TestCandidatesFromIndex: the candidate blocks of a query the index does not narrow
// (a field's value, NOT alone) are read from blocks_span, not from the blocks' rows,
// which hold their data; and they are the blocks of the range, ascending.
func TestCandidatesFromIndex(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	appendSync(t, s, rowsAt(start, 0, 3*defaultBlockLines, func(i int) string { return fmt.Sprintf("GET /item/%d", i) }))
	p := s.snapshot()[0]
	from, to := start.UnixNano(), start.Add(time.Hour).UnixNano()
	var all []int64
	rows, err := p.db.Query(`SELECT id FROM blocks ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		all = append(all, id)
	}
	rows.Close()
	for _, qs := range []string{"status:503", "NOT kube"} {
		pl := compile(mustParse(t, qs))
		lo, hi := p.span(from, to)
		q, args := pl.blocksSQL("b.id", lo, hi, from, to, false)
		var plan []string
		rows, err := p.db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "; "), "COVERING INDEX blocks_span") {
			t.Errorf("%s: the candidates' plan is %q, want blocks_span alone", qs, plan)
		}
		ids, err := p.candidates(context.Background(), pl, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, all) {
			t.Errorf("%s: candidates %v, want every block %v", qs, ids, all)
		}
	}
}
