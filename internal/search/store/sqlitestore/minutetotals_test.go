package sqlitestore

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// withStore opens the store of dir, runs its writer, calls fn, and closes it.
func withStore(t *testing.T, dir string, fn func(s *Store)) {
	t.Helper()
	s, err := Open(Config{Dir: dir}, nil, nil)
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

// checkMinuteTotals fails unless every day's minute totals are fresh (want) and, when
// fresh, equal to its lines per minute counted one by one from the blocks.
func checkMinuteTotals(t *testing.T, s *Store, want bool) {
	t.Helper()
	ctx := context.Background()
	for _, p := range s.snapshot() {
		var fresh bool
		if err := p.db.QueryRow(`SELECT fresh FROM minute_totals_state`).Scan(&fresh); err != nil {
			t.Fatal(err)
		}
		if fresh != want {
			t.Errorf("%s: minute totals fresh %v, want %v", p.path, fresh, want)
		}
		if !fresh {
			continue
		}
		lines := map[int64]int64{}
		if err := p.scanBlocks(ctx, `SELECT `+headCols+` FROM blocks b`, nil, func(_ blockHead, ls []line) bool {
			for _, l := range ls {
				lines[floorDiv(l.ts, minuteNanos)]++
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
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
			for m, n := range lines {
				if totals[m] != n {
					t.Errorf("minute %s: total %d, lines %d", time.Unix(m*60, 0).UTC().Format(time.RFC3339), totals[m], n)
					break
				}
			}
		}
	}
}

// TestMinuteTotalsExact: a day's minute totals equal its lines per minute, and the
// all-lines histogram from them is exact (ranges cutting minutes and 10-minute spans,
// across midnight), with a tenth of the lines up to an hour out of order: after
// commits, after a retention cut inside blocks and minutes, after a reopen; a writer
// without them (a raw DELETE, as an older logcollect's retention) leaves them stale and
// the histogram exact from the blocks; the next open builds them again.
func TestMinuteTotalsExact(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-2 * time.Hour) // 22:00 the day before
	rows := spreadRows(start, 0, 28800)                                    // 4 hours
	withStore(t, dir, func(s *Store) {
		for batch := range slices.Chunk(rows, 1000) {
			appendSync(t, s, batch)
		}
		if n := len(s.snapshot()); n < 2 {
			t.Fatalf("%d days, want the lines across midnight", n)
		}
		checkMinuteTotals(t, s, true)
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
		checkMinuteTotals(t, s, true)
		checkHistogramExact(t, s, rows, start)
	})

	withStore(t, dir, func(s *Store) {
		checkMinuteTotals(t, s, true)
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
		var fresh bool
		if err := p.db.QueryRow(`SELECT fresh FROM minute_totals_state`).Scan(&fresh); err != nil || fresh {
			t.Errorf("minute totals fresh %v (%v) after another writer's delete, want stale", fresh, err)
		}
		checkHistogramExact(t, s, rows, start)
	})

	withStore(t, dir, func(s *Store) {
		checkMinuteTotals(t, s, true) // built again at open
		checkHistogramExact(t, s, rows, start)
	})
}

// TestDayWithoutMinuteTotals: a day written before the minute totals (no table, no
// triggers) gets them at open, built from its blocks' per-minute counts, and keeps them
// exact as lines are added.
func TestDayWithoutMinuteTotals(t *testing.T) {
	s, _ := oldDay(t)
	checkMinuteTotals(t, s, true)
}
