package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// part is one day's database.
type part struct {
	day    int64
	path   string
	db     *sql.DB
	codec  *codec        // the store's
	reads  *atomic.Int64 // the store's count of blocks read (Store.blocksRead)
	maxSeq atomic.Int64  // newest Seq in the day (0: none yet)
	// readers counts the reads that hold the day (Store.readParts): a dropped day is
	// closed once they are done.
	readers sync.WaitGroup
	// maxSpan bounds, over the day's blocks, the latest time their row id allows
	// (upperOf) minus their oldest line's: a block holding a line before t has a row id
	// below keyBefore(t + maxSpan), which bounds the row ids a range reads.
	maxSpan atomic.Int64
	// keyBits is the low bits of the day's row ids that tell apart blocks of one
	// millisecond: keyBits, or keyBitsWide in a day created before layout 7.
	keyBits int
	// noMins says the day has blocks without per-minute counts (written before them, or
	// by a logcollect without them), whose line times an all-lines histogram reads.
	noMins atomic.Bool
	// minsIndexed says the day's blocks_span index holds mins (a day created before them
	// keeps its index without), so that an all-lines histogram reads every block's counts
	// from the index alone.
	minsIndexed bool
	// tensIndexed says blocks_span holds tens too (a day created before them keeps its
	// index without): a histogram of whole 10-minute steps then reads a block's
	// per-10-minute counts where it has them.
	tensIndexed bool
	// stmts are the day's prepared statements of the all-lines histogram (part.stmt),
	// by their SQL.
	stmts sync.Map
	// wrote says the day took a commit since the writer's last tick; settled that its
	// free pages were given back since its last commit (Store.tidy).
	wrote, settled atomic.Bool
	// merged says the day's index was merged into one segment since the store opened it,
	// or that merging it failed (Store.tidy). Only Run's goroutine reads or sets it.
	merged bool
	// grouped says the day seals its blocks' pair filters into groups (layoutVersion,
	// pairgroups.go), groupBlocks at a time (a field for the tests' small groups), once
	// that many wait in the pairs table; pendingPairs counts them (-1: not yet counted).
	grouped      bool
	groupBlocks  int
	pendingPairs atomic.Int64
}

// mergePages is how many pages of merged index one FTS5 'merge' step writes (~256 KiB):
// a step is a short transaction, so the writer's commits wait for at most one.
const mergePages = 64

// mergeIndex merges the day's index segments into one, in steps of mergePages, for at
// most budget, and reports whether the merge is done. FTS5's 'merge' with a negative
// page count, repeated until it changes nothing, is its 'optimize' done in steps: one
// 'optimize' of a day of 10M lines would hold the writer for seconds.
func (p *part) mergeIndex(ctx context.Context, budget time.Duration) (bool, error) {
	done, err := p.mergeSteps(ctx, time.Now().Add(budget))
	if err != nil {
		return false, fmt.Errorf("merge the index of %s: %w", p.path, err)
	}
	return done, nil
}

// mergeSteps is mergeIndex's loop: merge steps until one changes nothing (done) or the
// deadline has passed.
func (p *part) mergeSteps(ctx context.Context, deadline time.Time) (bool, error) {
	conn, err := p.db.Conn(ctx) // total_changes() counts the changes of one connection
	if err != nil {
		return false, err
	}
	defer conn.Close()
	changes := func() (n int64, err error) {
		err = conn.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&n)
		return n, err
	}
	for {
		before, err := changes()
		if err != nil {
			return false, err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO fts(fts, rank) VALUES('merge', ?)`, -mergePages); err != nil {
			return false, err
		}
		after, err := changes()
		if err != nil {
			return false, err
		}
		if after-before < 2 { // FTS5's documented end of an incremental optimize
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
	}
}

// minFreePages is the fewest free pages of an idle day worth giving back (1 MiB).
const minFreePages = 256

// giveBackFree gives the day's free pages back to the file system when it has at least
// minFreePages of them. The checkpoint is PASSIVE: it never waits for a search still
// reading the day (the writer's goroutine runs this, and every day's commits wait for
// it); the file shrinks once a checkpoint has copied the last of the moved pages.
func (p *part) giveBackFree(ctx context.Context) error {
	var free int64
	if err := p.db.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
		return fmt.Errorf("free pages of %s: %w", p.path, err)
	}
	if free < minFreePages {
		return nil
	}
	for _, q := range []string{`PRAGMA incremental_vacuum`, `PRAGMA wal_checkpoint(PASSIVE)`} {
		if _, err := p.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s in %s: %w", q, p.path, err)
		}
	}
	return nil
}

// stmt returns the day's prepared statement of query (one of a few fixed strings),
// preparing it on first use: an all-lines histogram runs 2–3 short statements per day,
// which cost about as much to compile as to run (the out-of-order minute a range cuts
// takes one more).
func (p *part) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// close closes the day's statements and database.
func (p *part) close() error {
	var errs []error
	p.stmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, p.db.Close())...)
}

// initFile sets what a day's file keeps, on one connection: the page size first, since
// setting auto_vacuum or WAL on a new file fixes its page size, then auto_vacuum, then
// WAL. In the connection string they ran in the driver's alphabetical order, which put
// page_size last, where it did nothing. A day that exists keeps its own: SQLite changes
// neither the page size of a file in WAL nor the auto_vacuum of one that has tables
// (short of a VACUUM, which the store never runs).
func initFile(db *sql.DB) error {
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, p := range []string{fmt.Sprintf("page_size=%d", pageSize), "auto_vacuum=incremental", "journal_mode=WAL"} {
		if _, err := c.ExecContext(ctx, "PRAGMA "+p); err != nil {
			return fmt.Errorf("pragma %s: %w", p, err)
		}
	}
	return nil
}

// layoutVersion is the PRAGMA user_version of a day in this layout: blocks keyed by
// their newest event time, lines with event and read time, blocks with their entry's
// format, new blocks compressed with zstd (their times too, their bodies split into
// columns first: blockZstdSplit), of up to 640 lines, row ids of keyBits, long numbers
// in the numbers table's filters and not in the index (pairs.go), each block's sets of
// a salt of its own (gcsMix). 0 with a blocks table is the layout ordered by read time.
// 13 is this layout with sets without a salt (read as they are: a set says which it
// is), 12 that with row ids of keyBitsWide. 11 is 13 with the numbers' filter in a
// block's pairs row, 9 with long numbers in the index, 7 also with bodies not split;
// 10 and 8 are 11 and 9 with row ids of keyBitsWide, 6 is 7 with those, 5 also with
// blocks of at most 256 lines and uncompressed times, 4 with blocks of at most 128
// lines, 3 before zstd (S2 blocks) and 2 before blocks held the format: all are opened
// as they are (each block's version byte says how to read it, its filter whether its
// numbers are in the index, and a block of fewer lines is read as any), their blocks
// listed in numbers_any (createSchema). 7, 9, 11 and 13 are marked 15; 2 to 6, 8, 10 and
// 12 are marked 14 (layoutVersionWide: they keep their row ids), so that a logcollect
// that knows only 2 to 11 refuses the day instead of writing blocks in neither numbers
// nor numbers_any, which this one would never read for a number, and one that knows
// only 13 refuses it instead of reading a salted set as an empty one (a set of 13 that
// starts with 0 is empty). 16 is 15 with its blocks' pair filters sealed into groups
// (pairgroups.go): a block without a pairs row is in one; 15 and those marked 15 are read
// and written as they are, their blocks' filters one per block. 17, 18 and 19 are 16, 15
// and 14 with new blocks of typed columns (blockZstdTyped): 16 is marked 17, 15 and those
// marked 15 are marked 18, 14 and those marked 14 are marked 19, so that a logcollect
// that knows only 16 refuses the day instead of failing on each new block. 20, 21 and
// 22 are 17, 18 and 19 with new blocks of up to 640 lines (maxBlockLines, cut to fill
// their pages: rowfit.go), where those had at most 512: 17 and 16 are marked 20, 18 and
// those marked 18 are marked 21, 19 and those marked 19 are marked 22, so that a
// logcollect that knows only 17 refuses the day instead of reading a longer block as
// corrupt. A new day is 20.
const (
	layoutVersion         = 20
	layoutVersionPairs    = 21
	layoutVersionWide     = 22
	layoutVersionTyped    = 17
	layoutVersionPairs18  = 18
	layoutVersionWide19   = 19
	layoutVersionUntyped  = 16
	layoutVersionPairs15  = 15
	layoutVersionWide14   = 14
	layoutVersionUnsalted = 13
	layoutVersionUnsaltW  = 12
	layoutVersionFilter   = 11
	layoutVersionFilterW  = 10
	layoutVersionSplit    = 9
	layoutVersionSplitW   = 8
	layoutVersionWhole    = 7
	layoutVersionWide6    = 6
	layoutVersion256      = 5
	layoutVersion128      = 4
	layoutVersionS2       = 3
	layoutVersionNoFormat = 2
)

// A block's row id is its key by newest event time: the high bits are that time's
// millisecond in the day (< 2^27), the low keyBits tell apart blocks of the same
// millisecond. Row ids in order are blocks by newest line, which is the order a search
// reads them in, straight from the FTS5 index (its documents' rowids are the blocks').
// The unit and bits keep the index small: FTS5 stores a term's first posting in a
// segment as the whole rowid and the rest as varint deltas from the one before, and an
// access log's ids and sizes are words of one block or a few. With keyBits a row id is
// under 2^31 (5 bytes, where days before layout 7, of keyBitsWide, took 6) and blocks
// 9 s apart are 2^17 apart (3 bytes, where they took 4): the index 14 % smaller
// (docs/store.md). When a millisecond's 16 ids are taken (16,000 blocks a second whose
// newest lines share a millisecond: lines stamped with whole seconds), a block takes
// the next free id after them: its id then says a later time than its newest line's,
// which maxSpan covers.
const (
	keyBits     = 4
	keyBitsWide = 12 // days created before layout 7
	keyUnit     = int64(time.Millisecond)
)

// keyAt is the smallest row id of a block whose newest line is at t or later (t within
// the day, clamped to it).
func (p *part) keyAt(t int64) int64 {
	start := p.day * dayNanos
	t = min(max(t, start), start+dayNanos)
	return floorDiv(t-start, keyUnit) << p.keyBits
}

// keyBefore is the smallest row id past every block whose newest line is before t.
func (p *part) keyBefore(t int64) int64 { return p.keyAt(t-1) + 1<<p.keyBits }

// upperOf is the latest newest-line time a block of row id id can have.
func (p *part) upperOf(id int64) int64 { return p.day*dayNanos + (id>>p.keyBits)*keyUnit + keyUnit - 1 }

// spanSQL is upperOf(id) - ts_min in SQL, for the day starting at ?1.
func (p *part) spanSQL() string {
	return fmt.Sprintf("?1 + (id >> %d) * %d + %d - ts_min", p.keyBits, keyUnit, keyUnit-1)
}

// schema of a day. A row of blocks is up to maxBlockLines consecutive lines of one file
// (block.go has the encoding of data); id is its key by newest event time (keyBits), seq
// its first line's Seq, n its line count, ts_min and ts_max its oldest and newest line's
// event time, off its first line's offset, mins its lines per minute of event time
// (block.go: encoder.minutes; NULL in blocks written before it), tens its lines per 10
// minutes when that is much shorter (encoder.tens; else NULL), both in blocks_span so
// that an all-lines histogram counts the blocks from the index alone (read.go:
// countByMinutes). fts holds one
// document per block: the distinct case-folded words of its lines, separated by spaces
// (query.EachWord splits them, so the index, the line check and highlighting agree).
// The ascii tokenizer splits that document at the spaces and nowhere else (a word has
// no ASCII character but letters and digits; its other bytes are word bytes to ascii)
// and folds nothing the words did not already fold. Contentless with contentless_delete
// (retention deletes by rowid), detail=none (no word positions: a phrase is found as
// its words, then checked on the lines), automerge 16 (half the merge work of FTS5's
// default 4, for a few more segments a query looks into), crisismerge 64 and usermerge
// 16. FTS5 merges a level's segments a few pages per commit only while the level holds
// fewer than crisismerge of them; at that many it merges them whole, inside the commit
// that made the last. With crisismerge at its default 16, the same as automerge, every
// merge was such a whole one: at 100M lines a day of 50M merged 16 segments of 16
// commits each in one insert, and the writer and every commit behind it waited 1.0–1.7
// s (issue 22's append → searchable p99 of 2 s). At 4× automerge, FTS5's own ratio (4
// and 16), a level is merged along with the commits that follow, but FTS5's steps alone
// let a level grow to 28 segments while its merge caught up (commits of 10,000 lines),
// each a b-tree more that a word's lookup looks into (issue 22's 2M-line day: 28
// segments against 11, the absent word 0.8 → 1.9 ms). So each commit also takes a step
// of mergePages ('merge' of a positive count, part.insert), which merges only a merge
// under way or a level of usermerge segments: the same merges, sooner (at most 16
// segments a level in TestIndexMergedAlongCommits). pairs holds a block's filter of
// adjacent numbers; its numbers' filters are in numbersSchema's tables.
const schema = `
CREATE TABLE IF NOT EXISTS blocks(
  id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, n INTEGER NOT NULL, ts_min INTEGER NOT NULL, ts_max INTEGER NOT NULL,
  host TEXT NOT NULL, path TEXT NOT NULL, topic TEXT NOT NULL, file_id TEXT NOT NULL,
  off INTEGER NOT NULL, "end" INTEGER NOT NULL, mins BLOB, tens BLOB, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_seq ON blocks(seq);
CREATE INDEX IF NOT EXISTS blocks_span ON blocks(ts_max, ts_min, n, mins, tens);
CREATE INDEX IF NOT EXISTS blocks_file ON blocks(file_id, off);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(words, content='', contentless_delete=1, detail=none, tokenize='ascii');
INSERT INTO fts(fts, rank) VALUES('automerge', 16);
INSERT INTO fts(fts, rank) VALUES('crisismerge', 64);
INSERT INTO fts(fts, rank) VALUES('usermerge', 16);
CREATE TABLE IF NOT EXISTS pairs(id INTEGER PRIMARY KEY, filter BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS blocks_pairs AFTER DELETE ON blocks BEGIN DELETE FROM pairs WHERE id = old.id; END;
CREATE TABLE IF NOT EXISTS cols(id INTEGER PRIMARY KEY, mask INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS blocks_cols AFTER DELETE ON blocks BEGIN DELETE FROM cols WHERE id = old.id; END;
CREATE TABLE IF NOT EXISTS offsets(host TEXT NOT NULL, file_id TEXT NOT NULL, path TEXT NOT NULL,
  "end" INTEGER NOT NULL, PRIMARY KEY(host, file_id, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hosts(host TEXT PRIMARY KEY, last_ts INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS points(ts INTEGER NOT NULL, measurement TEXT NOT NULL, field TEXT NOT NULL,
  host TEXT NOT NULL, tags TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS points_mf ON points(measurement, field, ts);
`

// ErrOldLayout is returned by Open for a day written by an older logcollect: one row per
// line, or blocks ordered by read time.
var ErrOldLayout = errors.New("the day was written by an older logcollect")

// What a day's database may hold in memory, per connection (SQLite's page cache is per
// connection) and in connections: a store keeps every day of its retention open, so the
// memory of a day not being written or searched is what bounds the standalone's memory
// over weeks of days (docs/store.md, "Memory").
const (
	// cacheKiB is each connection's page cache: SQLite's default, stated. The writer's
	// inserts touch the right edge of four b-trees and FTS5's newest segments, a few
	// hundred pages; readers read a block once per search from the kernel's file cache,
	// so what a reader's cache keeps is the index pages a search walks (a word's
	// postings, a prefix's terms). The append benchmark measured 512 KiB no different
	// from 2,000 (3.80–3.94 against 3.67–3.92 CPU µs per line, alternating, 400,000
	// lines), but with 1 MiB a prefix search after a 2M-line ingest was slower in five
	// runs of six (docs/store.md, "Memory"), for at most 4 MiB saved per day searched;
	// what bounds the caches is the connections below.
	cacheKiB = 2000
	// pageSize is a new day's page size (a day keeps the one it was created with): 4 KiB.
	// 2 KiB pages took 5.9 % less disk at 2M lines and 4.4 % at 100M, at the same ingest
	// cost, but at 100M the searches that read many blocks were 16–33 % slower (a block
	// is twice the pages to read): the prefix 340 ms p95 against 255, over the 300 ms
	// target (docs/store.md, "Tried, not taken: pages of 2 KiB, again").
	pageSize = 4096
	// maxConns are a day's connections at once: the writer and three searches (the
	// API runs a page's search, histogram and total at once), one of them a histogram
	// counting with countWorkers connections. maxIdleConns of them stay
	// open when unused, for at most connIdle: a day that is not being written or
	// searched closes its connections and frees their caches.
	maxConns     = 5
	maxIdleConns = 2
	connIdle     = time.Minute
	// journalLimit truncates a day's write-ahead log back to this size after a
	// checkpoint (SQLite keeps it at its largest otherwise: a burst, or checkpoints
	// held back by long searches, left it at hundreds of MB until the day was closed).
	journalLimit = 16 << 20
)

func openPart(path string, day int64, c *codec, reads *atomic.Int64) (*part, error) {
	// WAL with synchronous=FULL: a commit is on disk when it returns (the store
	// acknowledges lines after it), readers never block the writer. auto_vacuum lets the
	// size retention give freed pages back to the file system. mmap_size 0 (SQLite's
	// default, set so that it stays): pages read through mmap are the process's resident
	// memory (a search over a day would add the day's size to its RSS), pages read with
	// read(2) are the kernel's file cache, shared and given back under pressure.
	// The settings the file keeps (page size, auto_vacuum, WAL) are set once, by
	// initFile; the connection string has those of each connection.
	q := url.Values{}
	for _, p := range []string{"synchronous(FULL)", "busy_timeout(10000)",
		fmt.Sprintf("cache_size(%d)", -cacheKiB), "mmap_size(0)", fmt.Sprintf("journal_size_limit(%d)", journalLimit)} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	conn, err := newConnector("file:" + path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connIdle)
	if err := initFile(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	version, err := checkLayout(db, path)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := createSchema(db, version); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema in %s: %w", path, err)
	}
	var minsIndexed, tensIndexed bool
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE name = 'mins') > 0, count(*) FILTER (WHERE name = 'tens') > 0
		FROM pragma_index_info('blocks_span')`).Scan(&minsIndexed, &tensIndexed); err != nil {
		db.Close()
		return nil, fmt.Errorf("read the indexes of %s: %w", path, err)
	}
	bits := keyBits
	if version == layoutVersionWide {
		bits = keyBitsWide
	}
	p := &part{day: day, path: path, db: db, codec: c, reads: reads, keyBits: bits, minsIndexed: minsIndexed, tensIndexed: tensIndexed,
		grouped: version == layoutVersion, groupBlocks: groupBlocks}
	p.pendingPairs.Store(-1) // counted by the day's first commit (sealPairs)
	return p, nil
}

// schemaSQL is the schema, then the layout version the day is marked with.
func schemaSQL(version int) string {
	return schema + numbersSchema() + pairGroupsSchema + fmt.Sprintf("PRAGMA user_version = %d;\n", version)
}

// numbersSchema is the tables of the blocks' numbers' filters (pairs.go): numbersTable(i)
// holds each block's filter of shard i, numbers_pending all of a block's filters in one
// row until they move there (appendPending, insertNumbers), numbers_any the ids of the
// blocks that have none (of an older layout, or with more numbers than a filter takes);
// a block is in every shard's table or in one of the other two. A table per shard, not
// one keyed by shard and id: a block's rows are then each appended at the end of a
// table, where SQLite fills a page before it starts the next; rows inserted in the
// middle of one table (at the end of each shard's keys) left its pages part empty, the
// filters taking 5 bytes per line more on disk.
func numbersSchema() string {
	var b strings.Builder
	for i := range numberShards {
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s(id INTEGER PRIMARY KEY, filter BLOB NOT NULL);\n", numbersTable(i))
	}
	b.WriteString("CREATE TABLE IF NOT EXISTS numbers_any(id INTEGER PRIMARY KEY);\n")
	b.WriteString("CREATE TABLE IF NOT EXISTS numbers_pending(id INTEGER PRIMARY KEY, filter BLOB NOT NULL);\n")
	b.WriteString("CREATE TRIGGER IF NOT EXISTS blocks_numbers AFTER DELETE ON blocks BEGIN\n")
	for i := range numberShards {
		fmt.Fprintf(&b, "  DELETE FROM %s WHERE id = old.id;\n", numbersTable(i))
	}
	b.WriteString("  DELETE FROM numbers_any WHERE id = old.id;\n")
	b.WriteString("  DELETE FROM numbers_pending WHERE id = old.id; END;\n")
	return b.String()
}

// numbersTable is the table of the blocks' filters of numbers of shard i (shardOf).
func numbersTable(i int) string { return fmt.Sprintf("numbers_%d", i) }

// createSchema creates the day's tables and sets its layout version in one transaction:
// a kill between the two would leave a blocks table of user_version 0, which the next
// start takes for the layout ordered by read time and refuses. A day written before the
// numbers table has its blocks listed in numbers_any in the same transaction: none of
// them has numbers rows.
func createSchema(db *sql.DB, version int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	var hadNumbers int
	if err := tx.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'numbers_any'`).Scan(&hadNumbers); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Exec(schemaSQL(version)); err != nil {
		tx.Rollback()
		return err
	}
	if hadNumbers == 0 {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO numbers_any(id) SELECT id FROM blocks`); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := addCountColumns(tx); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Exec(minuteTotalsSchema + earlyLinesSchema); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// addCountColumns adds the mins and tens columns to a day written before them. Its
// blocks keep NULL there (an all-lines histogram reads their times, or their minutes,
// as before) and the day keeps its layout version: a logcollect without the columns
// reads and writes the day as before (naming its columns, leaving them NULL), and this
// one reads what that one writes. The day's blocks_span index stays as it was
// (rebuilding it would read every block at start): without mins, its histograms read
// mins from the table; without tens, they read the minutes of every block.
func addCountColumns(tx *sql.Tx) error {
	for _, col := range []string{"mins", "tens"} {
		var has int
		if err := tx.QueryRow(`SELECT count(*) FROM pragma_table_info('blocks') WHERE name = ?`, col).Scan(&has); err != nil {
			return err
		}
		if has > 0 {
			continue
		}
		if _, err := tx.Exec(`ALTER TABLE blocks ADD COLUMN ` + col + ` BLOB`); err != nil {
			return err
		}
	}
	return nil
}

// checkLayout refuses a day of an older layout: one row per line (a logs table), or
// blocks ordered by read time (a blocks table, user_version 0). Converting would
// re-encode every line of the day at start-up, and the layouts were days old. A day of
// a newer layout is refused too (its blocks would not decode). Layouts 2 to 22 are read
// as they are (layoutVersion).
//
// It returns the layout version the day is marked with once open: layoutVersion for a
// new day or one of this layout, layoutVersionPairs or layoutVersionWide for one read as
// it is.
func checkLayout(db *sql.DB, path string) (int, error) {
	var logs, blocks, version int
	err := db.QueryRow(`SELECT count(*) FILTER (WHERE name = 'logs'), count(*) FILTER (WHERE name = 'blocks') FROM sqlite_master`).
		Scan(&logs, &blocks)
	if err == nil {
		err = db.QueryRow(`PRAGMA user_version`).Scan(&version)
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	what := ""
	switch {
	case logs > 0:
		what = "one row per line"
	case blocks == 0 || version == layoutVersion || version == layoutVersionTyped || version == layoutVersionUntyped:
		return layoutVersion, nil
	case version == layoutVersionWide || version == layoutVersionWide19 || version == layoutVersionWide14:
		return layoutVersionWide, nil
	case version == layoutVersionPairs || version == layoutVersionPairs18:
		return layoutVersionPairs, nil
	case version > layoutVersionWide:
		return 0, fmt.Errorf("open %s: the day's layout %d is newer than this logcollect's (%d): run a logcollect at least as new as the one that wrote it",
			path, version, layoutVersionWide)
	case version == layoutVersionPairs15 || version == layoutVersionUnsalted || version == layoutVersionFilter || version == layoutVersionSplit || version == layoutVersionWhole:
		return layoutVersionPairs, nil
	case version == layoutVersionUnsaltW || version == layoutVersionFilterW || version == layoutVersionSplitW || version == layoutVersionWide6 || version == layoutVersion256 ||
		version == layoutVersion128 || version == layoutVersionS2 || version == layoutVersionNoFormat:
		return layoutVersionWide, nil
	default:
		what = "lines ordered by read time"
	}
	return 0, fmt.Errorf("open %s: %w (%s); this version orders lines by their event time and does not convert it: "+
		"move the file (and its -wal and -shm files) out of the store directory to start afresh", path, ErrOldLayout, what)
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

const blockCols = `id, seq, n, ts_min, ts_max, host, path, topic, file_id, off, "end", mins, tens, data`

// blockColCount is the number of blockCols.
const blockColCount = 14

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
	if err := p.assignIDs(tx, blocks); err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	fresh, err := readFreshness(ctx, tx)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	if err := insertBlocks(tx, blocks, p.grouped); err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	pending, err := p.sealPairs(tx, int64(len(blocks)))
	if err != nil {
		return fmt.Errorf("seal pair filters in %s: %w", p.path, err)
	}
	d := minuteDeltas{}
	if err := d.addBlocks(blocks, 1); err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	if err := updateSummaries(ctx, tx, fresh, d, blocks, 0); err != nil {
		return fmt.Errorf("insert into %s: %w", p.path, err)
	}
	// A step of the merge FTS5 left under way, or of one of a level of usermerge
	// segments, in the commit's transaction (schema: crisismerge): ~256 KiB of index at
	// most, nothing when no level is due.
	if _, err := tx.Exec(`INSERT INTO fts(fts, rank) VALUES('merge', ?)`, mergePages); err != nil {
		return fmt.Errorf("merge step of the index of %s: %w", p.path, err)
	}
	ends := map[fileKey]int64{}
	hosts := map[string]int64{}
	for _, b := range blocks {
		k := fileKey{b.host, b.fileID, b.path}
		ends[k] = max(ends[k], b.endMax)
		hosts[b.host] = max(hosts[b.host], b.rMax)
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
	p.pendingPairs.Store(pending)
	for _, b := range blocks {
		p.maxSeq.Store(max(p.maxSeq.Load(), b.seq+int64(b.n)-1))
		p.maxSpan.Store(max(p.maxSpan.Load(), p.upperOf(b.id)-b.tMin))
	}
	return nil
}

// assignIDs gives each block its row id: its newest line's key (keyAt), plus one past
// the largest id the day (or this commit) has under that key; when the key's ids are
// taken, the next key's.
func (p *part) assignIDs(tx *sql.Tx, blocks []*block) error {
	next := map[int64]int64{}
	for _, b := range blocks {
		for k := p.keyAt(b.tMax); ; k += 1 << p.keyBits {
			id, ok := next[k]
			if !ok {
				var top sql.NullInt64
				if err := tx.QueryRow(`SELECT max(id) FROM blocks WHERE id >= ? AND id < ?`, k, k+1<<p.keyBits).Scan(&top); err != nil {
					return err
				}
				id = k
				if top.Valid {
					id = top.Int64 + 1
				}
			}
			next[k] = id
			if id < k+1<<p.keyBits {
				b.id, next[k] = id, id+1
				break
			}
		}
	}
	return nil
}

// insertBlocks writes blocks and their index documents, blocksPerInsert per statement;
// grouped for a day whose pair filters are sealed into groups (part.grouped).
func insertBlocks(tx *sql.Tx, blocks []*block, grouped bool) error {
	full, err := tx.Prepare(insertSQL("blocks", blockCols, blockColCount, blocksPerInsert))
	if err != nil {
		return err
	}
	defer full.Close()
	fullFTS, err := tx.Prepare(insertSQL("fts", "rowid, words", 2, blocksPerInsert))
	if err != nil {
		return err
	}
	defer fullFTS.Close()
	args := make([]any, 0, blockColCount*blocksPerInsert)
	ftsArgs := make([]any, 0, 2*blocksPerInsert)
	var pairArgs, colArgs []any
	for chunk := range slices.Chunk(blocks, blocksPerInsert) {
		args, ftsArgs, pairArgs, colArgs = args[:0], ftsArgs[:0], pairArgs[:0], colArgs[:0]
		for _, b := range chunk {
			args = append(args, b.id, b.seq, b.n, b.tMin, b.tMax, b.host, b.path, b.topic, b.fileID, b.off0, b.endLast, b.mins, b.tens, b.data)
			ftsArgs = append(ftsArgs, b.id, b.words)
			switch {
			case b.pairs != nil:
				pairArgs = append(pairArgs, b.id, b.pairs)
			case grouped: // a block of a grouped day without a row is in a group
				pairArgs = append(pairArgs, b.id, noPairFilter())
			}
			if b.cols != nil {
				colArgs = append(colArgs, b.id, b.colsMask, b.cols)
			}
		}
		// OR REPLACE: whatever deleted a block of this id before (the triggers
		// blocks_pairs and blocks_cols delete its filter and columns with it), the new
		// block's are the ones.
		if len(pairArgs) > 0 {
			if _, err := tx.Exec(strings.Replace(insertSQL("pairs", "id, filter", 2, len(pairArgs)/2), "INSERT", "INSERT OR REPLACE", 1), pairArgs...); err != nil {
				return err
			}
		}
		if len(colArgs) > 0 {
			if _, err := tx.Exec(strings.Replace(insertSQL("cols", "id, mask, data", 3, len(colArgs)/3), "INSERT", "INSERT OR REPLACE", 1), colArgs...); err != nil {
				return err
			}
		}
		if len(chunk) == blocksPerInsert {
			_, err = full.Exec(args...)
			if err == nil {
				_, err = fullFTS.Exec(ftsArgs...)
			}
		} else {
			_, err = tx.Exec(insertSQL("blocks", blockCols, blockColCount, len(chunk)), args...)
			if err == nil {
				_, err = tx.Exec(insertSQL("fts", "rowid, words", 2, len(chunk)), ftsArgs...)
			}
		}
		if err != nil {
			return err
		}
	}
	return insertNumbers(tx, blocks)
}

// directBlocks and foldBlocks: a commit of fewer than directBlocks blocks writes their
// numbers' filters to numbers_pending, one row per block, until foldBlocks wait there;
// then they are moved to the shards' tables with the commit's own (insertNumbers). Why:
// a block's filters are a row in each of numberShards tables, a page written in each
// per commit, which doubled the bytes a commit of one line wrote (81 → 151 KB); a
// search reads the waiting blocks' filters whole, at most foldBlocks of them a day.
const (
	directBlocks = 8
	foldBlocks   = 64
)

// insertNumbers writes the blocks' numbers' filters (pairs.go): a block without any in
// numbers_any, the others in the shards' tables or in numbers_pending (directBlocks).
func insertNumbers(tx *sql.Tx, blocks []*block) error {
	var waiting int
	if err := tx.QueryRow(`SELECT count(*) FROM numbers_pending`).Scan(&waiting); err != nil {
		return err
	}
	return writeNumbers(tx, blocks, len(blocks) >= directBlocks || waiting+len(blocks) >= foldBlocks, waiting > 0)
}

// writeNumbers is insertNumbers with the blocks' filters in the shards' tables when
// direct, with those waiting in numbers_pending when fold too.
func writeNumbers(tx *sql.Tx, blocks []*block, direct, fold bool) error {
	var shards [numberShards][]any
	var pending, anys []any
	for _, b := range blocks {
		switch {
		case b.numbers == nil:
			anys = append(anys, b.id)
		case direct:
			for i := range shards {
				shards[i] = append(shards[i], b.id, b.numberFilter(i))
			}
		default:
			pending = append(pending, b.id, appendPending(nil, b.numbers, b.numberEnds))
		}
	}
	if direct && fold {
		var err error
		if anys, err = foldPending(tx, &shards, anys); err != nil {
			return err
		}
	}
	for i, rows := range shards {
		if err := insertRows(tx, numbersTable(i), "id, filter", 2, rows); err != nil {
			return err
		}
	}
	if err := insertRows(tx, "numbers_pending", "id, filter", 2, pending); err != nil {
		return err
	}
	return insertRows(tx, "numbers_any", "id", 1, anys)
}

// foldPending moves the blocks of numbers_pending to the shards' rows (args of id,
// filter), or to anys (ids) when their row does not read (damaged: it may hold any).
func foldPending(tx *sql.Tx, shards *[numberShards][]any, anys []any) ([]any, error) {
	rows, err := tx.Query(`SELECT id, filter FROM numbers_pending`)
	if err != nil {
		return nil, err
	}
	err = eachFilter(rows, func(id int64, f []byte) {
		split, ok := splitPending(slices.Clone(f))
		if !ok {
			anys = append(anys, id)
			return
		}
		for i := range shards {
			shards[i] = append(shards[i], id, split[i])
		}
	})
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(`DELETE FROM numbers_pending`)
	return anys, err
}

// eachFilter calls fn with the id and filter of each row of rows, a query of (id,
// filter), the filter valid only during the call, and closes rows.
func eachFilter(rows *sql.Rows, fn func(id int64, f []byte)) error {
	defer rows.Close()
	for rows.Next() {
		var id int64
		var f sql.RawBytes
		if err := rows.Scan(&id, &f); err != nil {
			return err
		}
		fn(id, f)
	}
	return rows.Err()
}

// rowsPerInsert bounds the rows of one insertRows statement (SQLite's bound on a
// statement's variables is 32,766).
const rowsPerInsert = 1024

// insertRows inserts (or replaces: whatever deleted a block of the same id before, its
// row is the new one) rows of ncols values each, args flat, into table.
func insertRows(tx *sql.Tx, table, cols string, ncols int, args []any) error {
	for chunk := range slices.Chunk(args, rowsPerInsert*ncols) {
		q := strings.Replace(insertSQL(table, cols, ncols, len(chunk)/ncols), "INSERT", "INSERT OR REPLACE", 1)
		if _, err := tx.Exec(q, chunk...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
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
	id, seq, tsMin, tsMax     int64
	n                         int
	host, path, topic, fileID string
	entryInfo
	// parser is made for the first line whose fields are read: once per block, which
	// for a regex entry compiles its pattern (kept with the block, in format).
	parser *store.FieldParser
	cols   fieldCols // its field columns, when the query read them (scanner.cols)
}

// fieldParser returns the parser of the block's format.
func (h *blockHead) fieldParser() store.FieldParser {
	if h.parser == nil {
		fp := store.NewFieldParser(h.format)
		h.parser = &fp
	}
	return *h.parser
}

// headCols are the columns scanBlock reads (blocks as b).
const headCols = headColsBeforeData + ", b.data"

// headColsBeforeData are headCols but the block's data (plan.scanCols may read another
// expression in its place).
const headColsBeforeData = "b.id, b.seq, b.n, b.ts_min, b.ts_max, b.host, b.path, b.topic, b.file_id"

// scanner reads blocks from query results, reusing its buffers: a scan over many blocks
// allocates per block only what it keeps.
type scanner struct {
	codec *codec
	words [][]byte // plan.numWords: a body lacking one is ruled out before it is joined
	// skip, when set, rules a block out from its body: scan returns no lines for it.
	skip func(body []byte) bool
	// cols: the rows have the block's columns (fc.data) after those, and lineView reads
	// a field from them. timesOnly: a block holding every column of need is given as its
	// lines' times alone, its messages not decompressed (matchTimes, for a plan whose
	// query its columns answer: plan.colsOnly).
	cols      bool
	timesOnly bool
	need      []string
	lines     []line
	buf, cbuf []byte
	// keep: each block gets memory of its own (a search keeps lines of several blocks).
	keep bool
}

// scan reads one block of rows (headCols) and decodes its lines; the lines (and their
// messages) are valid until the next scan: lineView.row copies what it returns.
func (sc *scanner) scan(rows *sql.Rows) (blockHead, []line, error) {
	var h blockHead
	var raw, colData sql.RawBytes // the driver's memory, valid until the next Next
	dest := []any{&h.id, &h.seq, &h.n, &h.tsMin, &h.tsMax, &h.host, &h.path, &h.topic, &h.fileID, &raw}
	if sc.cols {
		dest = append(dest, &colData)
	}
	if err := rows.Scan(dest...); err != nil {
		return h, nil, fmt.Errorf("read block: %w", err)
	}
	if sc.keep {
		sc.lines, sc.buf, sc.cbuf = nil, nil, nil
	}
	if len(colData) > 0 {
		var err error
		if h.cols, sc.cbuf, err = decodeCols(sc.codec, colData, h.n, sc.cbuf); err != nil {
			return h, nil, fmt.Errorf("block %d: %w", h.id, err)
		}
		if sc.timesOnly && h.cols.has(sc.need) {
			return sc.timesOf(h)
		}
	}
	if len(raw) > 0 && !compressed(raw[0]) { // the messages would point into the driver's memory
		sc.buf = append(sc.buf[:0], raw...)
		raw = sc.buf
	}
	times, body, err := sc.codec.inflate(raw, sc.buf, sc.words)
	if err != nil {
		return h, nil, fmt.Errorf("block %d: %w", h.id, err)
	}
	if body == nil && (raw[0] == blockZstdSplit || raw[0] == blockZstdTyped) { // it lacks one of words
		return h, nil, nil
	}
	if compressed(raw[0]) && cap(body) > cap(sc.buf) {
		sc.buf = body
	}
	if sc.skip != nil && sc.skip(body) {
		return h, nil, nil
	}
	lines, e, err := decodeLines(raw[0], times, body, h.n, sc.lines)
	if err != nil {
		return h, nil, fmt.Errorf("block %d: %w", h.id, err)
	}
	sc.lines, h.entryInfo = lines, e
	return h, lines, nil
}

// timesOf gives the block's lines with their times alone, from its columns
// (scanner.timesOnly).
func (sc *scanner) timesOf(h blockHead) (blockHead, []line, error) {
	var err error
	if sc.lines, err = timeLines(h.cols.times, h.n, sc.lines); err != nil {
		return h, nil, fmt.Errorf("block %d: %w", h.id, err)
	}
	return h, sc.lines, nil
}

// covers says whether the day can hold rows of [from, to) (nanoseconds).
func (p *part) covers(from, to int64) bool {
	start := p.day * dayNanos
	return start < to && start+dayNanos > from
}
