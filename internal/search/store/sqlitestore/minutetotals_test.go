package sqlitestore

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// withStore opens the store of cfg.Dir, runs its writer, calls fn, and closes it.
func withStore(t *testing.T, cfg Config, fn func(s *Store)) {
	t.Helper()
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	fn(s)
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkMinuteTotals fails unless every day's minute totals and early lines are fresh
// as wanted and, when fresh, equal to its lines per minute and its early lines (of each
// block, the lines farMinutes before its newest) found one by one in the blocks.
func checkMinuteTotals(t *testing.T, s *Store, wantTotals, wantEarly bool) {
	t.Helper()
	ctx := context.Background()
	for _, p := range s.snapshot() {
		var f freshness
		if err := p.db.QueryRow(`SELECT fresh, early_fresh FROM minute_totals_state`).Scan(&f.totals, &f.early); err != nil {
			t.Fatal(err)
		}
		if f != (freshness{wantTotals, wantEarly}) {
			t.Errorf("%s: fresh %+v, want %+v", p.path, f, freshness{wantTotals, wantEarly})
		}
		lines := map[int64]int64{}
		var early []int64
		if err := p.scanBlocks(ctx, `SELECT `+headCols+` FROM blocks b`, nil, func(h blockHead, ls []line) bool {
			limit := (floorDiv(h.tsMax, minuteNanos) - farMinutes + 1) * minuteNanos
			for _, l := range ls {
				lines[floorDiv(l.ts, minuteNanos)]++
				if l.ts < limit {
					early = append(early, l.ts)
				}
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if f.totals {
			totals := map[int64]int64{}
			if err := readMinuteTotals(ctx, p.db, -1<<40, 1<<40, func(h int64, counts *[minutesPerHour]int64) {
				for i, n := range counts {
					if n != 0 {
						totals[h*minutesPerHour+int64(i)] = n
					}
				}
			}); err != nil {
				t.Fatal(err)
			}
			if len(lines) == 0 || !maps.Equal(lines, totals) {
				t.Errorf("%s: minute totals of %d minutes differ from the %d minutes of the lines", p.path, len(totals), len(lines))
			}
		}
		if f.early {
			var got []int64
			rows, err := p.db.Query(`SELECT minute, times FROM early_lines`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var m int64
				var b []byte
				if err := rows.Scan(&m, &b); err != nil {
					t.Fatal(err)
				}
				if err := eachEarly(m, b, func(ts int64) { got = append(got, ts) }); err != nil {
					t.Fatal(err)
				}
			}
			rows.Close()
			slices.Sort(got)
			slices.Sort(early)
			if len(early) == 0 || !slices.Equal(got, early) {
				t.Errorf("%s: %d early lines stored, %d in the blocks (want them equal, and some)", p.path, len(got), len(early))
			}
		}
	}
}

// TestMinuteTotalsExact: a day's minute totals equal its lines per minute, its early
// lines those of its blocks, and the all-lines histogram from them is exact (ranges
// cutting minutes and 10-minute spans, across midnight), with a tenth of the lines up
// to an hour out of order: after commits, after a retention cut inside blocks and
// minutes, after a reopen; a writer without them (a raw DELETE, as an older
// logcollect's retention) leaves them stale and the histogram exact from the blocks;
// the next open builds the totals again.
func TestMinuteTotalsExact(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-2 * time.Hour) // 22:00 the day before
	rows := spreadRows(start, 0, 28800)                                    // 4 hours
	withStore(t, Config{Dir: dir}, func(s *Store) {
		for batch := range slices.Chunk(rows, 1000) {
			appendSync(t, s, batch)
		}
		if n := len(s.snapshot()); n < 2 {
			t.Fatalf("%d days, want the lines across midnight", n)
		}
		checkMinuteTotals(t, s, true, true)
		checkHistogramExact(t, s, rows, start)

		// Retention inside a minute, and inside blocks of lines out of order.
		cutoff := start.Add(8*time.Minute + 13500*time.Millisecond)
		p, err := s.partFor(dayOf(cutoff.UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.deleteBefore(ctx, cutoff.UnixNano()); err != nil {
			t.Fatal(err)
		}
		var kept []store.Row
		for _, r := range rows {
			if !r.Time.Before(cutoff) {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(rows) {
			t.Fatal("retention deleted nothing")
		}
		rows = kept
		checkMinuteTotals(t, s, true, true)
		checkHistogramExact(t, s, rows, start)
	})

	withStore(t, Config{Dir: dir}, func(s *Store) {
		checkMinuteTotals(t, s, true, true)
		checkHistogramExact(t, s, rows, start)

		// A writer without the totals deletes a block of the day before midnight.
		p, err := s.partFor(dayOf(start.UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		var gone []line
		if err := p.scanBlocks(ctx, `SELECT `+headCols+` FROM blocks b ORDER BY b.id DESC LIMIT 1 OFFSET 20`, nil,
			func(h blockHead, ls []line) bool {
				id, gone = h.id, append(gone, ls...)
				return true
			}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`DELETE FROM fts WHERE rowid = ?`, `DELETE FROM blocks WHERE id = ?`} {
			if _, err := p.db.Exec(q, id); err != nil {
				t.Fatal(err)
			}
		}
		offs := map[int64]bool{}
		for _, l := range gone {
			offs[l.off] = true
		}
		var kept []store.Row
		for _, r := range rows {
			if dayOf(r.Time.UnixNano()) != p.day || !offs[r.Offset] {
				kept = append(kept, r)
			}
		}
		if len(kept) != len(rows)-len(gone) {
			t.Fatalf("%d rows kept of %d, %d lines deleted", len(kept), len(rows), len(gone))
		}
		rows = kept
		var f freshness
		if err := p.db.QueryRow(`SELECT fresh, early_fresh FROM minute_totals_state`).Scan(&f.totals, &f.early); err != nil || f.totals || f.early {
			t.Errorf("fresh %+v (%v) after another writer's delete, want both stale", f, err)
		}
		checkHistogramExact(t, s, rows, start)
	})

	withStore(t, Config{Dir: dir}, func(s *Store) {
		// The totals are built again at open, the early lines are not (the other day
		// keeps both).
		p, err := s.partFor(dayOf(start.UnixNano()))
		if err != nil {
			t.Fatal(err)
		}
		var f freshness
		if err := p.db.QueryRow(`SELECT fresh, early_fresh FROM minute_totals_state`).Scan(&f.totals, &f.early); err != nil {
			t.Fatal(err)
		}
		if f != (freshness{totals: true}) {
			t.Errorf("after the reopen: fresh %+v, want the totals only", f)
		}
		checkHistogramExact(t, s, rows, start)
	})
}

// TestDayWithoutMinuteTotals: a day written before the minute totals and the early
// lines (no tables, no triggers) gets the totals at open, built from its blocks'
// per-minute counts, and keeps them exact as lines are added; its early lines stay
// stale (its cut minutes read the blocks).
func TestDayWithoutMinuteTotals(t *testing.T) {
	s, _ := oldDay(t)
	checkMinuteTotals(t, s, true, false)
}
