package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
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
// minute.
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
		if _, err := p.db.Exec(`UPDATE blocks SET mins = NULL WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM blocks) WHERE r % 2 = 0)`); err != nil {
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
	_, _, err := s.Histogram(context.Background(), &query.Node{Kind: query.All}, start, start.Add(2*time.Hour), 30*time.Minute)
	if !errors.Is(err, errCorrupt) {
		t.Errorf("histogram over corrupt counts: %v, want %v", err, errCorrupt)
	}
}

// TestDayWithoutMinutes: a day written before the per-minute counts (no mins column) is
// opened as it is, gains the column, keeps its layout version, and its histogram is
// exact over the old blocks and the new ones.
func TestDayWithoutMinutes(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Hour)
	if dayOf(start.UnixNano()) != dayOf(start.Add(3*time.Hour).UnixNano()) {
		start = start.Add(-4 * time.Hour) // one day's file, for the rewrite below
	}
	rows := spreadRows(start, 0, 6000)
	runOnce(t, dir, rows)
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP INDEX blocks_span`, `ALTER TABLE blocks DROP COLUMN mins`,
		`CREATE INDEX blocks_span ON blocks(ts_max, ts_min, n)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := open(t, Config{Dir: dir})
	more := spreadRows(start, 6000, 6000)
	appendSync(t, s, more)
	checkHistogramExact(t, s, append(rows, more...), start)
	if v := userVersion(t, path); v != layoutVersion {
		t.Errorf("user_version %d, want %d", v, layoutVersion)
	}
}
