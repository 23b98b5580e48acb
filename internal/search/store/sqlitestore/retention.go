package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Retain drops what is older than the retention, then, oldest first, what exceeds
// max_bytes: whole days while more than one is left, then the oldest rows of the last.
func (s *Store) Retain(ctx context.Context, now time.Time) error {
	if s.cfg.Retention > 0 {
		cutoff := now.Add(-s.cfg.Retention).UnixNano()
		for _, p := range s.snapshot() {
			switch {
			case (p.day+1)*dayNanos <= cutoff:
				if err := s.dropPart(p); err != nil {
					return err
				}
			case p.day*dayNanos < cutoff:
				if err := p.deleteBefore(ctx, cutoff); err != nil {
					return err
				}
			}
		}
	}
	if s.cfg.MaxBytes <= 0 {
		return nil
	}
	for range 64 { // each round frees a day or a tenth of the oldest day
		used := s.diskBytes()
		if used <= s.cfg.MaxBytes {
			return nil
		}
		parts := s.snapshot()
		if len(parts) == 0 {
			return nil
		}
		if len(parts) > 1 {
			if err := s.dropPart(parts[0]); err != nil {
				return err
			}
			continue
		}
		if err := parts[0].deleteOldestFraction(ctx, 0.1+float64(used-s.cfg.MaxBytes)/float64(used)); err != nil {
			return err
		}
	}
	return nil
}

// dropPart closes and removes one day.
func (s *Store) dropPart(p *part) error {
	s.mu.Lock()
	for i, x := range s.parts {
		if x == p {
			s.parts = append(s.parts[:i:i], s.parts[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if err := s.retireOffsets(p); err != nil {
		// Removing the day matters more (the disk may be full); the cost is that the
		// standalone's start may take that day's files for lost and read them again.
		s.log.Warn("keep the offsets of a dropped day", "path", p.path, "error", err)
	}
	// Reads that took the day before it left the list finish first (each is bounded by
	// store.query_timeout); the writer, whose goroutine this is, waits meanwhile and rows
	// wait in the files.
	p.readers.Wait()
	if err := p.close(); err != nil {
		s.log.Warn("close dropped day", "path", p.path, "error", err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(p.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p.path+suffix, err)
		}
	}
	s.m.droppedDays.Inc()
	s.log.Info("retention dropped a day", "path", p.path)
	return nil
}

// deleteBefore deletes the lines and points older than cutoff (ns, event time) and
// gives the pages back to the file system. A block with lines on both sides keeps its
// newer lines: it is written again without the older ones, under the same row id (its
// newest line stays) and Seq (its lines keep their order; those after a removed one
// take a lower Seq, which only a page cursor at that very line can notice).
func (p *part) deleteBefore(ctx context.Context, cutoff int64) error {
	if _, err := p.db.ExecContext(ctx, `DELETE FROM points WHERE ts < ?`, cutoff); err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin %s: %w", p.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	var rest []*block
	// The blocks_span index bounds what is read: a block with a line before cutoff has
	// its newest line before cutoff + the day's widest block.
	limit := cutoff + p.maxSpan.Load()
	rows, err := tx.QueryContext(ctx, `SELECT `+headCols+` FROM blocks b WHERE b.ts_max >= ? AND b.ts_max < ? AND b.ts_min < ?`,
		cutoff, limit, cutoff)
	if err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	sc := scanner{codec: p.codec}
	for rows.Next() {
		h, lines, err := sc.scan(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("retention in %s: %w", p.path, err)
		}
		kept := slices.DeleteFunc(slices.Clone(lines), func(l line) bool { return l.ts < cutoff })
		b := reencode(h, kept, p.codec) // copies the messages before the next scan reuses them
		b.id, b.seq = h.id, h.seq
		rest = append(rest, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	fresh, err := readFreshness(ctx, tx)
	if err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	// The per-minute counts of the blocks deleted (those rewritten included), taken off
	// the minute totals; a block without them leaves the totals stale.
	var gone []byte
	var nulls int
	if err := tx.QueryRowContext(ctx, `SELECT group_concat(mins, ''), count(*) - count(mins) FROM blocks WHERE ts_max < ? AND ts_min < ?`,
		limit, cutoff).Scan(&gone, &nulls); err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	for _, q := range []string{
		`DELETE FROM fts WHERE rowid IN (SELECT id FROM blocks WHERE ts_max < ? AND ts_min < ?)`,
		`DELETE FROM blocks WHERE ts_max < ? AND ts_min < ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, limit, cutoff); err != nil {
			return fmt.Errorf("retention in %s: %w", p.path, err)
		}
	}
	if len(rest) > 0 {
		if err := insertBlocks(tx, rest, p.grouped); err != nil {
			return fmt.Errorf("retention in %s: %w", p.path, err)
		}
	}
	// A pair group goes with the last block of its range (its bitmaps with it: the
	// trigger pair_groups_slices); one with blocks left keeps the ids of those deleted,
	// which a search then looks for in vain.
	if _, err := tx.ExecContext(ctx, `DELETE FROM pair_groups WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE id >= pair_groups.lo AND id < pair_groups.hi)`); err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	// Counts that do not decode (a damaged block) leave the totals stale: the
	// retention goes on, and the day's histograms read the blocks (naming the bad one).
	d := minuteDeltas{}
	if nulls > 0 || d.add(gone, -1) != nil || d.addBlocks(rest, 1) != nil {
		fresh.totals = false
	}
	if err := updateSummaries(ctx, tx, fresh, d, nil, cutoff); err != nil {
		return fmt.Errorf("retention in %s: %w", p.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	for _, q := range []string{`PRAGMA incremental_vacuum`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := p.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s in %s: %w", q, p.path, err)
		}
	}
	return nil
}

// deleteOldestFraction deletes about that fraction of the day's lines, oldest first: the
// lines before the newest line of the block at that fraction of the blocks by newest
// line, and that block.
func (p *part) deleteOldestFraction(ctx context.Context, frac float64) error {
	var n int64
	if err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM blocks`).Scan(&n); err != nil {
		return fmt.Errorf("size retention in %s: %w", p.path, err)
	}
	if n == 0 {
		_, err := p.db.ExecContext(ctx, `DELETE FROM points`)
		return err
	}
	k := max(1, int64(float64(n)*min(frac, 1)))
	var ts int64
	if err := p.db.QueryRowContext(ctx, `SELECT ts_max FROM blocks ORDER BY id LIMIT 1 OFFSET ?`, k-1).Scan(&ts); err != nil {
		return fmt.Errorf("size retention in %s: %w", p.path, err)
	}
	return p.deleteBefore(ctx, ts+1)
}

// diskBytes is the size of the store's files.
func (s *Store) diskBytes() int64 {
	var n int64
	for _, p := range s.snapshot() {
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(p.path + suffix); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

type metrics struct {
	rows, duplicates, writeErrors, droppedDays prometheus.Counter
	clamped                                    prometheus.Counter
	lostFiles, rereadBytes, damagedDays        prometheus.Counter
	writeFailing                               prometheus.Gauge
	commitSeconds                              prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Store) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_rows_total",
			Help: "Log lines committed to the store."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_duplicates_skipped_total",
			Help: "Lines re-read after a restart that the store already held, skipped."}),
		clamped: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_time_clamped_total",
			Help: "Lines whose event time was more than store.max_time_skew after their read time (or before 1970), stored at their read time."}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_write_errors_total",
			Help: "Failed commits (retried)."}),
		droppedDays: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_retention_dropped_days_total",
			Help: "Day partitions removed by the retention."}),
		lostFiles: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_lost_files_total",
			Help: "Files whose acknowledged lines the store had lost at start (WAL or database damaged), read again."}),
		rereadBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_reread_bytes_total",
			Help: "Bytes of files read again because the store had lost lines it acknowledged."}),
		damagedDays: prometheus.NewCounter(prometheus.CounterOpts{Name: "logcollect_store_damaged_days_total",
			Help: "Days whose newest lines could not be read when the store opened."}),
		writeFailing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logcollect_store_write_failing",
			Help: "1 while the store's commits fail (disk full, I/O error; retried, lines wait), else 0."}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logcollect_store_commit_seconds",
			Help: "Time of one group commit.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	disk := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logcollect_store_disk_bytes",
		Help: "Size of the store's files."}, func() float64 { return float64(s.diskBytes()) })
	read := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "logcollect_store_blocks_read_total",
		Help: "Blocks of lines read by searches, counts and tails (each up to 640 lines, decompressed and checked): what queries cost."},
		func() float64 { return float64(s.blocksRead.Load()) })
	for _, c := range []prometheus.Collector{m.rows, m.duplicates, m.clamped, m.writeErrors, m.droppedDays,
		m.lostFiles, m.rereadBytes, m.damagedDays, m.writeFailing, m.commitSeconds, disk, read} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register store metrics: %w", err)
		}
	}
	return m, nil
}
