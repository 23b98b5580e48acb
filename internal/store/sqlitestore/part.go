package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/logcollect/logcollect/internal/store"
)

// part is one day's database.
type part struct {
	day   int64
	path  string
	db    *sql.DB
	maxID atomic.Int64 // newest Seq in the day (0: none yet)
}

// schema of a day. The FTS index is contentless (the messages are in logs) with
// contentless_delete, so retention can delete rows from it by rowid. automerge 16 (FTS5's
// default is 4) merges index segments 16 at a time, not 4: half the merge work per line
// on ingest (merging was a fifth of the write path's CPU), for a few more segments a
// query looks into. detail=none keeps no word positions (which were most of the index's
// size and of its ingest work): a phrase is found as its words and checked on the line
// (lc_phrase). Days created before keep detail=full; the same queries work on both.
const schema = `
CREATE TABLE IF NOT EXISTS logs(
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, host TEXT NOT NULL, path TEXT NOT NULL,
  topic TEXT NOT NULL, file_id TEXT NOT NULL, off INTEGER NOT NULL, fields TEXT, msg TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_ts ON logs(ts);
CREATE INDEX IF NOT EXISTS logs_file ON logs(file_id, off);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(msg, content='', contentless_delete=1, detail=none);
INSERT INTO fts(fts, rank) VALUES('automerge', 16);
CREATE TABLE IF NOT EXISTS offsets(host TEXT NOT NULL, file_id TEXT NOT NULL, path TEXT NOT NULL,
  "end" INTEGER NOT NULL, PRIMARY KEY(host, file_id, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hosts(host TEXT PRIMARY KEY, last_ts INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points(ts INTEGER NOT NULL, measurement TEXT NOT NULL, field TEXT NOT NULL,
  host TEXT NOT NULL, tags TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS points_mf ON points(measurement, field, ts);
`

func openPart(path string, day int64) (*part, error) {
	// WAL with synchronous=FULL: a commit is on disk when it returns (the store
	// acknowledges lines after it), readers never block the writer. auto_vacuum lets the
	// size retention give freed pages back to the file system.
	q := url.Values{}
	for _, p := range []string{"auto_vacuum(incremental)", "journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &part{day: day, path: path, db: db}, nil
}

// rowsPerInsert is how many rows one INSERT statement carries (9 parameters each): one
// statement per row spent a fifth of the write path binding and stepping statements.
const rowsPerInsert = 128

// insertLogsSQL is the INSERT of n rows into logs.
func insertLogsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO logs(id, ts, host, path, topic, file_id, off, fields, msg) VALUES`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// insert writes rows of this day in one transaction, with the file offsets and hosts
// they reach. Rows are numbered consecutively (the writer assigns Seq one by one), so the
// full-text index is filled from logs by one id range.
func (p *part) insert(rows []*store.Row) (err error) {
	if len(rows) == 0 {
		return nil
	}
	ctx := context.Background()
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin %s: %w", p.path, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	full, err := tx.Prepare(insertLogsSQL(rowsPerInsert))
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer full.Close()
	ends := map[fileKey]int64{}
	hosts := map[string]int64{}
	args := make([]any, 0, 9*rowsPerInsert)
	for chunk := range slices.Chunk(rows, rowsPerInsert) {
		args = args[:0]
		for _, r := range chunk {
			var fields any // NULL when there is none
			if len(r.Fields) > 0 {
				b, err := json.Marshal(r.Fields)
				if err != nil {
					return fmt.Errorf("encode fields: %w", err)
				}
				fields = string(b)
			}
			ts := r.Time.UnixNano()
			args = append(args, r.Seq, ts, r.Host, r.Path, r.Topic, r.FileID, r.Offset, fields, r.Message)
			k := fileKey{r.Host, r.FileID, r.Path}
			ends[k] = max(ends[k], r.End)
			hosts[r.Host] = ts
		}
		if len(chunk) == rowsPerInsert {
			_, err = full.Exec(args...)
		} else {
			_, err = tx.Exec(insertLogsSQL(len(chunk)), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", p.path, err)
		}
	}
	first, last := rows[0].Seq, rows[len(rows)-1].Seq
	if _, err := tx.Exec(`INSERT INTO fts(rowid, msg) SELECT id, msg FROM logs WHERE id >= ? AND id <= ?`, first, last); err != nil {
		return fmt.Errorf("index into %s: %w", p.path, err)
	}
	for k, end := range ends {
		if _, err := tx.Exec(`INSERT INTO offsets(host, file_id, path, "end") VALUES(?,?,?,?)
			ON CONFLICT(host, file_id, path) DO UPDATE SET "end" = max("end", excluded."end")`, k.host, k.fileID, k.path, end); err != nil {
			return fmt.Errorf("save offsets in %s: %w", p.path, err)
		}
	}
	for h, ts := range hosts {
		if err := upsertHost(tx, h, ts); err != nil {
			return fmt.Errorf("save hosts in %s: %w", p.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	p.maxID.Store(last)
	return nil
}

func upsertHost(tx *sql.Tx, host string, ts int64) error {
	_, err := tx.Exec(`INSERT INTO hosts(host, last_ts) VALUES(?, ?)
		ON CONFLICT(host) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)`, host, ts)
	return err
}

// idAt returns the smallest id whose ts >= t, or maxID+1 when none.
func (p *part) idAt(ctx context.Context, t int64) (int64, error) {
	var id sql.NullInt64
	err := p.db.QueryRowContext(ctx, `SELECT id FROM logs WHERE ts >= ? ORDER BY ts, id LIMIT 1`, t).Scan(&id)
	if err == sql.ErrNoRows {
		return p.maxID.Load() + 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("seek %s: %w", p.path, err)
	}
	return id.Int64, nil
}

// covers says whether the day can hold rows of [from, to) (nanoseconds).
func (p *part) covers(from, to int64) bool {
	start := p.day * dayNanos
	return start < to && start+dayNanos > from
}
