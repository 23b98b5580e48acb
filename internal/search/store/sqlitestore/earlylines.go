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

// A day's early lines are the event times of the lines stored in a block whose newest
// line is at least farMinutes minutes later (by their UTC minutes): a line that
// arrived out of order by that much, or one of a block that spans many minutes. They
// are kept in early_lines by minute, one row per minute per commit (the line times,
// sorted), in the transaction that inserts the blocks; the retention drops them by
// event time as it does the lines.
//
// Why: an all-lines histogram counts the lines of a minute that its range's from or to
// cuts from line times. With a tenth of a file's lines up to an hour out of order, the
// blocks holding a line of a given minute are ~60 of the hour after it, each read
// whole for one or two lines, where in order a few blocks hold the minute: the
// 5-hour histogram took 2–3 times as long out of order. With the early lines, the
// blocks read are only those whose newest line is within farMinutes after the minute
// (the lines of the minute in any other block are early lines), as in order, plus a row
// or a few of this table. In order, blocks of files writing more than ~26 lines a
// minute span under farMinutes and have no early lines (a block is at most 256 lines).
//
// Their freshness is minute_totals_state.early_fresh, marked stale by the same
// triggers as the minute totals; a day written without them (before them, or by a
// logcollect without them since) is not rebuilt (that would read every block's line
// times at open): its cut minutes read the blocks as before.
const earlyLinesSchema = `
CREATE TABLE IF NOT EXISTS early_lines(minute INTEGER NOT NULL, seq INTEGER NOT NULL, times BLOB NOT NULL,
  PRIMARY KEY(minute, seq)) WITHOUT ROWID;
`

// farMinutes is how many minutes before its block's newest line a line is early.
const farMinutes = 10

// farTimes returns the event times of the block's early lines (rows idx, times as
// stored, tMax the block's newest), nil when there are none.
func farTimes(times [][2]int64, idx []int, tMin, tMax int64) []int64 {
	limit := (floorDiv(tMax, minuteNanos) - farMinutes + 1) * minuteNanos // early: before this
	if tMin >= limit {
		return nil
	}
	var far []int64
	for _, i := range idx {
		if t := times[i][0]; t < limit {
			far = append(far, t)
		}
	}
	return far
}

// earlyRowsPerInsert bounds the rows of one INSERT into early_lines.
const earlyRowsPerInsert = 100

// writeEarlyLines adds the early lines of blocks (numbered: seq set) to the day's
// early_lines in tx, one row per minute, keyed by the smallest seq of the blocks (no
// other commit's rows left have it: their lines, whose Seqs are below, are still
// stored). False when a row was there already (a bug): the early lines are then left
// stale, and cut minutes read the blocks, instead of failing the commit.
func writeEarlyLines(ctx context.Context, tx *sql.Tx, blocks []*block) (bool, error) {
	byMinute := map[int64][]int64{}
	seq := blocks[0].seq
	for _, b := range blocks {
		seq = min(seq, b.seq)
		for _, t := range b.far {
			m := floorDiv(t, minuteNanos)
			byMinute[m] = append(byMinute[m], t)
		}
	}
	var args []any
	var written int64
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		q := `INSERT OR IGNORE INTO early_lines(minute, seq, times) VALUES(?,?,?)` + strings.Repeat(",(?,?,?)", len(args)/3-1)
		res, err := tx.ExecContext(ctx, q, args...)
		args = args[:0]
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		written += n
		return err
	}
	for _, m := range slices.Sorted(maps.Keys(byMinute)) {
		args = append(args, m, seq, encodeEarly(m, byMinute[m]))
		if len(args) == 3*earlyRowsPerInsert {
			if err := flush(); err != nil {
				return false, fmt.Errorf("write early lines: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return false, fmt.Errorf("write early lines: %w", err)
	}
	return written == int64(len(byMinute)), nil
}

// encodeEarly encodes the times of one minute m (sorted here): the first's offset from
// the minute's start, then each one's from the one before, uvarints.
func encodeEarly(m int64, times []int64) []byte {
	slices.Sort(times)
	out := make([]byte, 0, 4*len(times))
	prev := m * minuteNanos
	for _, t := range times {
		out = binary.AppendUvarint(out, uint64(t-prev))
		prev = t
	}
	return out
}

// eachEarly calls fn with each time of a row of minute m.
func eachEarly(m int64, b []byte, fn func(t int64)) error {
	t := m * minuteNanos
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		if n <= 0 || d >= uint64(minuteNanos) || t+int64(d) >= (m+1)*minuteNanos {
			return fmt.Errorf("%w: early line times of minute %d", errCorrupt, m)
		}
		t, b = t+int64(d), b[n:]
		fn(t)
	}
	return nil
}

// trimEarlyLines drops the early lines before cutoff from the day's early_lines in tx
// (the retention deletes those lines).
func trimEarlyLines(ctx context.Context, tx *sql.Tx, cutoff int64) error {
	cm := floorDiv(cutoff, minuteNanos)
	if _, err := tx.ExecContext(ctx, `DELETE FROM early_lines WHERE minute < ?`, cm); err != nil {
		return fmt.Errorf("trim early lines: %w", err)
	}
	if cutoff == cm*minuteNanos {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, times FROM early_lines WHERE minute = ?`, cm)
	if err != nil {
		return fmt.Errorf("trim early lines: %w", err)
	}
	type row struct {
		seq   int64
		times []int64
	}
	var trimmed []row
	for rows.Next() {
		var r row
		var b []byte
		if err := rows.Scan(&r.seq, &b); err != nil {
			rows.Close()
			return fmt.Errorf("trim early lines: %w", err)
		}
		if err := eachEarly(cm, b, func(t int64) {
			if t >= cutoff {
				r.times = append(r.times, t)
			}
		}); err != nil {
			rows.Close()
			return fmt.Errorf("trim early lines: %w", err)
		}
		trimmed = append(trimmed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("trim early lines: %w", err)
	}
	for _, r := range trimmed {
		var err error
		if len(r.times) == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM early_lines WHERE minute = ? AND seq = ?`, cm, r.seq)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE early_lines SET times = ? WHERE minute = ? AND seq = ?`, encodeEarly(cm, r.times), cm, r.seq)
		}
		if err != nil {
			return fmt.Errorf("trim early lines: %w", err)
		}
	}
	return nil
}

// countEarlyLines adds the day's early lines of minute m in [lo, hi).
func (p *part) countEarlyLines(ctx context.Context, m, lo, hi int64, add func(ts int64, weight float64)) error {
	st, err := p.stmt(ctx, `SELECT times FROM early_lines WHERE minute = ?`)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	rows, err := st.QueryContext(ctx, m)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b sql.RawBytes
		if err := rows.Scan(&b); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
		if err := eachEarly(m, b, func(t int64) {
			if t >= lo && t < hi {
				add(t, 1)
			}
		}); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	return nil
}
