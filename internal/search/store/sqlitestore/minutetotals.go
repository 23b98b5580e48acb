package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A day's minute totals are its lines per UTC minute of event time, summed over its
// blocks: one row per hour holding a line (minute_totals: hour since 1970, then 60
// uvarint counts), kept by the writer in the transaction that inserts or deletes the
// blocks, so that they are exact after a kill -9 as the blocks are.
//
// Why: an all-lines histogram of whole-minute steps adds a day's minute totals (≤ 24
// rows) instead of every block's per-minute counts. With a tenth of a file's lines up
// to an hour out of order, every block spans up to an hour and holds ~17 minutes
// against ~4 in order (and the hour after midnight has ~40 % more blocks): several times
// the counts to read and add; the totals are the same in order or not. The minutes a
// range's ends cut are still counted from line times (countCutMinutes).
//
// A day written without them (by a logcollect before them) gets them built at open
// from its blocks' per-minute counts (rebuildMinuteTotals) when every block has those.
// A logcollect without them that writes to a day keeps writing it as before: triggers
// on blocks, plain SQL any writer runs, mark the totals stale (minute_totals_state.fresh
// 0) at every block it inserts, deletes or changes; this writer's own changes mark them
// too, and set them fresh again in the same transaction when they were fresh before it.
// A histogram over a day whose totals are stale reads the blocks' counts as before.
const minuteTotalsSchema = `
CREATE TABLE IF NOT EXISTS minute_totals(hour INTEGER PRIMARY KEY, counts BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS minute_totals_state(fresh INTEGER NOT NULL, early_fresh INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS blocks_totals_insert AFTER INSERT ON blocks
  BEGIN UPDATE minute_totals_state SET fresh = 0, early_fresh = 0 WHERE fresh OR early_fresh; END;
CREATE TRIGGER IF NOT EXISTS blocks_totals_delete AFTER DELETE ON blocks
  BEGIN UPDATE minute_totals_state SET fresh = 0, early_fresh = 0 WHERE fresh OR early_fresh; END;
CREATE TRIGGER IF NOT EXISTS blocks_totals_update AFTER UPDATE ON blocks
  BEGIN UPDATE minute_totals_state SET fresh = 0, early_fresh = 0 WHERE fresh OR early_fresh; END;
INSERT INTO minute_totals_state(fresh, early_fresh) SELECT NOT EXISTS(SELECT 1 FROM blocks), NOT EXISTS(SELECT 1 FROM blocks)
  WHERE NOT EXISTS(SELECT 1 FROM minute_totals_state);
`

// minutesPerHour is the number of counts in a row of minute_totals.
const minutesPerHour = 60

// minuteDeltas are changes to a day's minute totals: lines per minute since 1970.
type minuteDeltas map[int64]int64

// add adds the per-minute counts of blocks (encoder.minutes, concatenated), times sign.
func (d minuteDeltas) add(mins []byte, sign int64) error {
	var counts []minuteCount
	for len(mins) > 0 {
		var unit int64
		var err error
		counts, unit, mins, err = nextCounts(mins, counts)
		if err != nil {
			return err
		}
		if unit != 1 {
			return fmt.Errorf("%w: 10-minute counts among minutes", errCorrupt)
		}
		for _, c := range counts {
			d[c.minute] += sign * c.n
		}
	}
	return nil
}

// addBlocks adds the per-minute counts of blocks made by this process (never nil).
func (d minuteDeltas) addBlocks(blocks []*block, sign int64) error {
	for _, b := range blocks {
		if err := d.add(b.mins, sign); err != nil {
			return fmt.Errorf("block %d: %w", b.id, err)
		}
	}
	return nil
}

// freshness says which of a day's summaries match its blocks: the minute totals and
// the early lines (earlylines.go).
type freshness struct{ totals, early bool }

// readFreshness reads the day's freshness in tx, before it changes blocks (whose
// triggers mark both stale).
func readFreshness(ctx context.Context, tx *sql.Tx) (freshness, error) {
	var f freshness
	if err := tx.QueryRowContext(ctx, `SELECT fresh, early_fresh FROM minute_totals_state`).Scan(&f.totals, &f.early); err != nil {
		return f, fmt.Errorf("read minute totals state: %w", err)
	}
	return f, nil
}

// setFreshness marks the day's summaries fresh or stale in tx, after this writer
// changed them with its blocks.
func setFreshness(ctx context.Context, tx *sql.Tx, f freshness) error {
	if _, err := tx.ExecContext(ctx, `UPDATE minute_totals_state SET fresh = ?, early_fresh = ?`, f.totals, f.early); err != nil {
		return fmt.Errorf("write minute totals state: %w", err)
	}
	return nil
}

// updateSummaries brings the day's summaries that were fresh before tx (f) up to date
// with its changes to blocks: d for the minute totals, added the early lines of
// blocks, cutoff (> 0) the retention's; and marks them fresh again.
func updateSummaries(ctx context.Context, tx *sql.Tx, f freshness, d minuteDeltas, added []*block, cutoff int64) error {
	if !f.totals && !f.early {
		return nil // the triggers marked them stale
	}
	if f.totals {
		ok, err := applyMinuteTotals(ctx, tx, d)
		if err != nil {
			return err
		}
		f.totals = ok
	}
	if f.early && len(added) > 0 {
		ok, err := writeEarlyLines(ctx, tx, added)
		if err != nil {
			return err
		}
		f.early = ok
	}
	if f.early && cutoff > 0 {
		if err := trimEarlyLines(ctx, tx, cutoff); err != nil {
			return err
		}
	}
	return setFreshness(ctx, tx, f)
}

// applyMinuteTotals adds d (nil: none) to the day's minute totals in tx. A total that
// would go below 0 (the totals did not match the blocks: a bug) returns false and
// changes nothing: the totals are then left stale, and the histograms read the
// blocks, which stay exact.
func applyMinuteTotals(ctx context.Context, tx *sql.Tx, d minuteDeltas) (bool, error) {
	hours := map[int64]*[minutesPerHour]int64{}
	for m := range d {
		if h := floorDiv(m, minutesPerHour); hours[h] == nil {
			hours[h] = &[minutesPerHour]int64{}
		}
	}
	if len(hours) == 0 {
		return true, nil
	}
	keys := slices.Sorted(maps.Keys(hours))
	if err := readMinuteTotals(ctx, tx, keys[0], keys[len(keys)-1]+1, func(h int64, counts *[minutesPerHour]int64) {
		if c := hours[h]; c != nil {
			*c = *counts
		}
	}); err != nil {
		return false, err
	}
	for m, n := range d {
		c := &hours[floorDiv(m, minutesPerHour)][m-floorDiv(m, minutesPerHour)*minutesPerHour]
		if *c += n; *c < 0 {
			return false, nil
		}
	}
	var del []any
	var ins strings.Builder
	var args []any
	for _, h := range keys {
		c := hours[h]
		if *c == ([minutesPerHour]int64{}) {
			del = append(del, h)
			continue
		}
		var blob []byte
		for _, n := range c {
			blob = binary.AppendUvarint(blob, uint64(n))
		}
		if len(args) > 0 {
			ins.WriteByte(',')
		}
		ins.WriteString("(?,?)")
		args = append(args, h, blob)
	}
	if len(args) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO minute_totals(hour, counts) VALUES`+ins.String(), args...); err != nil {
			return false, fmt.Errorf("write minute totals: %w", err)
		}
	}
	if len(del) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM minute_totals WHERE hour IN (?`+strings.Repeat(",?", len(del)-1)+`)`, del...); err != nil {
			return false, fmt.Errorf("write minute totals: %w", err)
		}
	}
	return true, nil
}

// querier is what reads the minute totals: a transaction, or the day's database.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readMinuteTotals calls fn with the totals of each hour in [lo, hi) that has a row.
func readMinuteTotals(ctx context.Context, q querier, lo, hi int64, fn func(h int64, counts *[minutesPerHour]int64)) error {
	rows, err := q.QueryContext(ctx, `SELECT hour, counts FROM minute_totals WHERE hour >= ? AND hour < ?`, lo, hi)
	if err != nil {
		return fmt.Errorf("read minute totals: %w", err)
	}
	defer rows.Close()
	var counts [minutesPerHour]int64
	for rows.Next() {
		var h int64
		var blob sql.RawBytes
		if err := rows.Scan(&h, &blob); err != nil {
			return fmt.Errorf("read minute totals: %w", err)
		}
		if err := decodeHour(blob, &counts); err != nil {
			return fmt.Errorf("read minute totals: hour %d: %w", h, err)
		}
		fn(h, &counts)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read minute totals: %w", err)
	}
	return nil
}

// decodeHour decodes a row of minute_totals.
func decodeHour(blob []byte, counts *[minutesPerHour]int64) error {
	for i := range counts {
		v, n := binary.Uvarint(blob)
		if n <= 0 || v > 1<<62 {
			return fmt.Errorf("%w: minute totals", errCorrupt)
		}
		counts[i], blob = int64(v), blob[n:]
	}
	if len(blob) != 0 {
		return fmt.Errorf("%w: %d bytes after the minute totals", errCorrupt, len(blob))
	}
	return nil
}

// rebuildMinuteTotals builds the day's minute totals from its blocks' per-minute
// counts, read from blocks_span, when they are stale and every block has counts (a day
// written before the totals, or by a logcollect without them since); otherwise it
// leaves them stale. One read of the index at open (~2 bytes per minute per block).
func (p *part) rebuildMinuteTotals(ctx context.Context) error {
	if p.noMins.Load() || !p.minsIndexed {
		return nil
	}
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin %s: %w", p.path, err)
	}
	defer func() { _ = tx.Rollback() }()
	f, err := readFreshness(ctx, tx)
	if err != nil || f.totals {
		return err
	}
	var all []byte
	var nulls int
	if err := tx.QueryRowContext(ctx, `SELECT group_concat(mins, ''), count(*) - count(mins) FROM blocks`).Scan(&all, &nulls); err != nil {
		return fmt.Errorf("rebuild minute totals of %s: %w", p.path, err)
	}
	if nulls > 0 {
		return nil
	}
	d := minuteDeltas{}
	if err := d.add(all, 1); err != nil {
		return fmt.Errorf("rebuild minute totals of %s: %w", p.path, err) // stale: histograms name the block
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM minute_totals`); err != nil {
		return fmt.Errorf("rebuild minute totals of %s: %w", p.path, err)
	}
	ok, err := applyMinuteTotals(ctx, tx, d)
	if err != nil {
		return fmt.Errorf("rebuild minute totals of %s: %w", p.path, err)
	}
	if err := setFreshness(ctx, tx, freshness{totals: ok, early: f.early}); err != nil {
		return fmt.Errorf("rebuild minute totals of %s: %w", p.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	return nil
}

// countFromTotals adds the day's lines of [from, to) at the start of their minute (add
// puts them in their bucket of a whole-minute step), from its minute totals and, for a minute from or to cuts, the
// line times; false when the totals are stale (nothing counted). The state and the
// totals are read in one statement: one snapshot of the day.
func (p *part) countFromTotals(ctx context.Context, from, to int64, add func(ts int64, weight float64)) (bool, error) {
	lo, hi := -floorDiv(-from, minuteNanos), floorDiv(to, minuteNanos) // the minutes wholly in [from, to)
	st, err := p.stmt(ctx, `SELECT -1, fresh + 2 * early_fresh FROM minute_totals_state
		UNION ALL SELECT hour, counts FROM minute_totals WHERE hour >= ? AND hour < ?`)
	if err != nil {
		return false, fmt.Errorf("count in %s: %w", p.path, err)
	}
	rows, err := st.QueryContext(ctx, floorDiv(lo, minutesPerHour), floorDiv(hi-1, minutesPerHour)+1)
	if err != nil {
		return false, fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	fresh, early := false, false
	type hour struct {
		h      int64
		counts [minutesPerHour]int64
	}
	var hours []hour // added once the state says fresh (a day has at most 24)
	for rows.Next() {
		var h int64
		var v sql.RawBytes
		if err := rows.Scan(&h, &v); err != nil {
			return false, fmt.Errorf("count in %s: %w", p.path, err)
		}
		if h < 0 {
			fresh = string(v) == "1" || string(v) == "3"
			early = string(v) == "3"
			continue
		}
		hours = append(hours, hour{h: h})
		if err := decodeHour(v, &hours[len(hours)-1].counts); err != nil {
			return false, fmt.Errorf("count in %s: hour %d: %w", p.path, h, err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("count in %s: %w", p.path, err)
	}
	if !fresh {
		return false, nil
	}
	for _, x := range hours {
		for i, n := range x.counts {
			if m := x.h*minutesPerHour + int64(i); n > 0 && m >= lo && m < hi {
				add(m*minuteNanos, float64(n))
			}
		}
	}
	return true, p.countCutMinutes(ctx, from, to, "", nil, early, add)
}
