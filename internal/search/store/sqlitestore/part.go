package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// part is one day's database.
type part struct {
	day    int64
	path   string
	db     *sql.DB
	maxSeq atomic.Int64 // newest Seq in the day (0: none yet)
}

// schema of a day. A row of blocks is up to maxBlockLines consecutive lines of one file
// (block.go has the encoding of data); id is its first line's Seq, n its line count, ts
// and ts_last its first and last line's time, off its first line's offset. fts holds one
// document per block: the distinct case-folded words of its lines, separated by spaces
// (query.EachWord splits them, so the index, the line check and highlighting agree).
// The ascii tokenizer splits that document at the spaces and nowhere else (a word has
// no ASCII character but letters and digits; its other bytes are word bytes to ascii)
// and folds nothing the words did not already fold. Contentless with contentless_delete
// (retention deletes by rowid), detail=none (no word positions: a phrase is found as
// its words, then checked on the lines), automerge 16 (half the merge work of FTS5's
// default 4, for a few more segments a query looks into).
const schema = `
CREATE TABLE IF NOT EXISTS blocks(
  id INTEGER PRIMARY KEY, n INTEGER NOT NULL, ts INTEGER NOT NULL, ts_last INTEGER NOT NULL,
  host TEXT NOT NULL, path TEXT NOT NULL, topic TEXT NOT NULL, file_id TEXT NOT NULL,
  off INTEGER NOT NULL, "end" INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_ts ON blocks(ts_last);
CREATE INDEX IF NOT EXISTS blocks_file ON blocks(file_id, off);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(words, content='', contentless_delete=1, detail=none, tokenize='ascii');
INSERT INTO fts(fts, rank) VALUES('automerge', 16);
CREATE TABLE IF NOT EXISTS offsets(host TEXT NOT NULL, file_id TEXT NOT NULL, path TEXT NOT NULL,
  "end" INTEGER NOT NULL, PRIMARY KEY(host, file_id, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hosts(host TEXT PRIMARY KEY, last_ts INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points(ts INTEGER NOT NULL, measurement TEXT NOT NULL, field TEXT NOT NULL,
  host TEXT NOT NULL, tags TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS points_mf ON points(measurement, field, ts);
`

// ErrOldLayout is returned by Open for a day written by a logcollect that stored one row
// per line.
var ErrOldLayout = errors.New("the day was written by an older logcollect (one row per line)")

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
	var old int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'logs'`).Scan(&old); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if old > 0 {
		db.Close()
		return nil, fmt.Errorf("open %s: %w; this version stores blocks of lines and does not convert it: "+
			"move the file (and its -wal and -shm files) out of the store directory to start afresh", path, ErrOldLayout)
	}
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	return &part{day: day, path: path, db: db}, nil
}

// blocksPerInsert is how many blocks one INSERT statement carries: one statement per
// row spends its time binding and stepping statements.
const blocksPerInsert = 32

// insertSQL is an INSERT of n rows of cols into table.
func insertSQL(table, cols string, ncols, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + "(" + cols + ") VALUES")
	one := "(" + strings.Repeat("?,", ncols-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}

const blockCols = `id, n, ts, ts_last, host, path, topic, file_id, off, "end", data`

// insert writes blocks of this day (numbered) in one transaction, with the file offsets
// and hosts they reach.
func (p *part) insert(blocks []*block) (err error) {
	if len(blocks) == 0 {
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
	if err := insertBlocks(tx, blocks); err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	ends := map[fileKey]int64{}
	hosts := map[string]int64{}
	for _, b := range blocks {
		k := fileKey{b.host, b.fileID, b.path}
		ends[k] = max(ends[k], b.endMax)
		hosts[b.host] = b.lastTs()
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
	last := blocks[len(blocks)-1]
	p.maxSeq.Store(max(p.maxSeq.Load(), last.seq+int64(last.n)-1))
	return nil
}

// insertBlocks writes blocks and their index documents, blocksPerInsert per statement.
func insertBlocks(tx *sql.Tx, blocks []*block) error {
	full, err := tx.Prepare(insertSQL("blocks", blockCols, 11, blocksPerInsert))
	if err != nil {
		return err
	}
	defer full.Close()
	fullFTS, err := tx.Prepare(insertSQL("fts", "rowid, words", 2, blocksPerInsert))
	if err != nil {
		return err
	}
	defer fullFTS.Close()
	args := make([]any, 0, 11*blocksPerInsert)
	ftsArgs := make([]any, 0, 2*blocksPerInsert)
	for chunk := range slices.Chunk(blocks, blocksPerInsert) {
		args, ftsArgs = args[:0], ftsArgs[:0]
		for _, b := range chunk {
			args = append(args, b.seq, b.n, b.ts, b.lastTs(), b.host, b.path, b.topic, b.fileID, b.off0, b.endLast, b.data)
			ftsArgs = append(ftsArgs, b.seq, b.words)
		}
		if len(chunk) == blocksPerInsert {
			_, err = full.Exec(args...)
			if err == nil {
				_, err = fullFTS.Exec(ftsArgs...)
			}
		} else {
			_, err = tx.Exec(insertSQL("blocks", blockCols, 11, len(chunk)), args...)
			if err == nil {
				_, err = tx.Exec(insertSQL("fts", "rowid, words", 2, len(chunk)), ftsArgs...)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func upsertHost(tx *sql.Tx, host string, ts int64) error {
	_, err := tx.Exec(`INSERT INTO hosts(host, last_ts) VALUES(?, ?)
		ON CONFLICT(host) DO UPDATE SET last_ts = max(last_ts, excluded.last_ts)`, host, ts)
	return err
}

// blockHead is a stored block's row without its lines.
type blockHead struct {
	id, ts                    int64
	n                         int
	host, path, topic, fileID string
	fields                    map[string]string
}

// headCols are the columns scanBlock reads (blocks as b).
const headCols = "b.id, b.n, b.ts, b.host, b.path, b.topic, b.file_id, b.data"

// scanner reads blocks from query results, reusing its buffers: a scan over many blocks
// allocates per block only what it keeps.
type scanner struct {
	lines []line
	buf   []byte
}

// scan reads one block of rows (headCols) and decodes its lines; the lines (and their
// messages) are valid until the next scan: lineView.row copies what it returns.
func (sc *scanner) scan(rows *sql.Rows) (blockHead, []line, error) {
	var h blockHead
	var raw sql.RawBytes // the driver's memory, valid until the next Next
	if err := rows.Scan(&h.id, &h.n, &h.ts, &h.host, &h.path, &h.topic, &h.fileID, &raw); err != nil {
		return h, nil, fmt.Errorf("read block: %w", err)
	}
	var body []byte
	var err error
	if len(raw) > 0 && raw[0] == blockPlain {
		sc.buf = append(sc.buf[:0], raw...)
		body = sc.buf[1:]
	} else if body, err = inflate(raw, sc.buf); err == nil && cap(body) > cap(sc.buf) {
		sc.buf = body
	}
	if err != nil {
		return h, nil, fmt.Errorf("block %d: %w", h.id, err)
	}
	lines, fields, err := decodeLines(body, h.n, h.ts, sc.lines)
	if err != nil {
		return h, nil, fmt.Errorf("block %d: %w", h.id, err)
	}
	sc.lines, h.fields = lines, fields
	return h, lines, nil
}

// seqAt returns the Seq of the first line with a time >= t, or maxSeq+1 when none: one
// index seek and one block decoded.
func (p *part) seqAt(ctx context.Context, t int64) (int64, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT `+headCols+` FROM blocks b WHERE b.ts_last >= ? ORDER BY b.ts_last, b.id LIMIT 1`, t)
	if err != nil {
		return 0, fmt.Errorf("seek %s: %w", p.path, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("seek %s: %w", p.path, err)
		}
		return p.maxSeq.Load() + 1, nil
	}
	var sc scanner
	h, lines, err := sc.scan(rows)
	if err != nil {
		return 0, fmt.Errorf("seek %s: %w", p.path, err)
	}
	for i, l := range lines {
		if l.ts >= t {
			return h.id + int64(i), nil
		}
	}
	return h.id + int64(h.n), nil
}

// covers says whether the day can hold rows of [from, to) (nanoseconds).
func (p *part) covers(from, to int64) bool {
	start := p.day * dayNanos
	return start < to && start+dayNanos > from
}
