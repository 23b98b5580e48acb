// Package sqlitestore is the embedded log store's engine: one SQLite database per UTC day
// (logs-YYYYMMDD.db in the store's directory) holding the rows, an FTS5 full-text index of
// the messages, the per-file end offsets of what is stored, the hosts seen and the
// host-metric points. Retention drops whole days, and rows of the oldest day, by age and
// by size.
//
// Why SQLite (docs/store.md has the numbers): a commit is atomic and durable, and the
// rows and the file offsets they reach are committed in the same transaction, so what
// the store holds after kill -9 is exactly what it acknowledged, and a line re-read after
// a restart is recognised and skipped.
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/logcollect/logcollect/internal/search/store"
)

var (
	_ store.Store         = (*Store)(nil)
	_ store.Reader        = (*Store)(nil)
	_ store.MetricsReader = (*Store)(nil)
)

// Config is the engine's settings.
type Config struct {
	Dir       string
	Retention time.Duration // rows older than this are dropped; 0: kept forever
	MaxBytes  int64         // 0: no size limit
	// RetentionInterval is how often Run applies the retention (default 10s).
	RetentionInterval time.Duration
	// MaxTimeSkew is how far after its read time a line's event time may be; a line
	// stamped later (or before 1970) is stored at its read time and counted
	// (logcollect_store_time_clamped_total). 0: DefaultMaxTimeSkew; negative: no limit.
	MaxTimeSkew time.Duration
}

// DefaultMaxTimeSkew is store.max_time_skew's default: clocks and time zones a day
// apart are errors to show, not lines to hide in the future.
const DefaultMaxTimeSkew = 24 * time.Hour

// Store is the SQLite engine. Appends are written by Run's single writer goroutine,
// which groups the batches waiting into one transaction per day.
type Store struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu       sync.RWMutex
	parts    []*part    // oldest first
	createMu sync.Mutex // one day created at a time
	// changed is closed and replaced at each commit of new rows.
	changed chan struct{}

	queue   chan *appendReq
	closing chan struct{}
	closed  atomic.Bool
	lastSeq atomic.Int64

	// encoding holds a slot per append being encoded and not yet queued for the writer
	// (Append): at most maxEncoding, so that the agent reads its next batch while the last
	// is encoded, and no further ahead.
	encoding chan struct{}
	// queuedMu guards lastQueued, closed once the newest append handed over is queued:
	// each append is queued after the one before it, in the order Append was called (a
	// file's lines are stored in order, which skipStored's offsets rely on).
	queuedMu   sync.Mutex
	lastQueued chan struct{}
	// owned holds *ownedRows for Append to reuse.
	owned sync.Pool
	// codecMu: an encode holds it to read while the codec is open; Close takes it to
	// close the codec (codecClosed).
	codecMu     sync.RWMutex
	codecClosed bool

	codec *codec // the blocks' compression, for the writer and every reader
	// blocksRead counts the blocks the days' queries read (part.reads): what searches
	// cost, logcollect_store_blocks_read_total.
	blocksRead atomic.Int64

	// Writer state, owned by the writer goroutine after Open.
	nextSeq int64
	// dedupe holds, per file, the end offset stored before this process started; rows
	// re-read up to it are skipped. A file's entry goes once a row beyond it arrives.
	dedupe map[fileKey]int64

	health health
}

type fileKey struct{ host, fileID, path string }

type appendReq struct {
	blocks []*block
	lines  int
	done   func()
}

// Open opens (or creates) the store in cfg.Dir and loads each day's state. reg may be nil.
func Open(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("store.path: required")
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("store.retention: must not be negative, got %s", cfg.Retention)
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("store.max_bytes: must not be negative, got %d", cfg.MaxBytes)
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = 10 * time.Second
	}
	if cfg.MaxTimeSkew == 0 {
		cfg.MaxTimeSkew = DefaultMaxTimeSkew
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create store dir %s: %w", cfg.Dir, err)
	}
	c, err := newCodec()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: logger.With("component", "store"), changed: make(chan struct{}),
		queue: make(chan *appendReq, queueDepth), closing: make(chan struct{}), dedupe: map[fileKey]int64{}, codec: c,
		encoding: make(chan struct{}, maxEncoding), lastQueued: make(chan struct{})}
	close(s.lastQueued) // the first append waits for none
	if err := s.openDays(reg); err != nil {
		_ = s.Close() // the days opened, and the codec
		return nil, err
	}
	s.nextSeq = s.lastSeq.Load() + 1
	s.log.Info("store opened", "dir", cfg.Dir, "days", len(s.parts), "last_seq", s.lastSeq.Load(),
		"files_known", len(s.dedupe))
	return s, nil
}

// openDays registers the store's metrics and opens the days in its directory.
func (s *Store) openDays(reg prometheus.Registerer) error {
	m, err := newMetrics(reg, s)
	if err != nil {
		return err
	}
	s.m = m
	names, err := filepath.Glob(filepath.Join(s.cfg.Dir, "logs-*.db"))
	if err != nil {
		return fmt.Errorf("list store files: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		day, ok := parseDayName(filepath.Base(name))
		if !ok {
			continue
		}
		p, err := openPart(name, day, s.codec, &s.blocksRead)
		if err != nil {
			return err
		}
		s.parts = append(s.parts, p)
		if err := s.loadPart(p); err != nil {
			return err
		}
		if err := p.checkNewest(); err != nil {
			s.markDamaged(p, err)
		}
	}
	return nil
}

// loadPart reads a day's newest position and file offsets into the writer state.
func (s *Store) loadPart(p *part) error {
	var maxSeq, maxSpan sql.NullInt64
	if err := p.db.QueryRow(`SELECT max(seq + n - 1), max(`+p.spanSQL()+`) FROM blocks`, p.day*dayNanos).Scan(&maxSeq, &maxSpan); err != nil {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	var noMins bool
	if err := p.db.QueryRow(`SELECT EXISTS(SELECT 1 FROM blocks WHERE mins IS NULL)`).Scan(&noMins); err != nil {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	p.noMins.Store(noMins)
	if err := p.rebuildMinuteTotals(context.Background()); err != nil {
		// Not fatal: the day's histograms read its blocks' counts, as before the totals.
		s.log.Warn("build a day's minute totals", "path", p.path, "error", err)
	}
	if maxSeq.Valid {
		p.maxSeq.Store(maxSeq.Int64)
		p.maxSpan.Store(maxSpan.Int64)
		s.lastSeq.Store(max(s.lastSeq.Load(), maxSeq.Int64))
	}
	rows, err := p.db.Query(`SELECT host, file_id, path, "end" FROM offsets`)
	if err != nil {
		return fmt.Errorf("read offsets of %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k fileKey
		var end int64
		if err := rows.Scan(&k.host, &k.fileID, &k.path, &end); err != nil {
			return fmt.Errorf("read offsets of %s: %w", p.path, err)
		}
		s.dedupe[k] = max(s.dedupe[k], end)
	}
	return rows.Err()
}

// Run writes the appended rows and applies the retention until ctx ends; then it writes
// what was already handed over and returns. Call Close after Run returned.
func (s *Store) Run(ctx context.Context) error {
	// A store that was down for days drops what expired before taking new rows.
	if err := s.Retain(ctx, time.Now()); err != nil && ctx.Err() == nil {
		s.log.Warn("retention pass failed", "error", err)
	}
	tick := time.NewTicker(s.cfg.RetentionInterval)
	defer tick.Stop()
	for {
		select {
		case req := <-s.queue:
			s.writeFrom(req)
		case <-tick.C:
			if err := s.Retain(ctx, time.Now()); err != nil && ctx.Err() == nil {
				s.log.Warn("retention pass failed", "error", err)
			}
			s.tidy(ctx, time.Now())
		case <-ctx.Done():
			s.closed.Store(true)
			close(s.closing)
			s.drain()
			s.giveBack()
			return nil
		}
	}
}

// giveBack gives each day's free pages back to the file system as the store stops: a
// day whose index was being merged, or whose pair filters were sealed, since its last
// tidy (Store.tidy) kept them until the next run (0.3–2.9 MB of issue 22's 2M-line store
// after shutdown, run by run).
func (s *Store) giveBack() {
	for _, p := range s.snapshot() {
		if err := p.giveBackFree(context.Background()); err != nil {
			s.log.Warn("giving back free pages failed", "error", err)
		}
	}
}

// drain writes what was handed over before the store closed: it takes every encoding
// slot, so that the appends still being encoded are queued first, and writes the queue
// meanwhile and then to its end.
func (s *Store) drain() {
	for taken := 0; taken < cap(s.encoding); {
		select {
		case req := <-s.queue:
			s.writeFrom(req)
		case s.encoding <- struct{}{}:
			taken++
		}
	}
	for {
		select {
		case req := <-s.queue:
			s.writeFrom(req)
		default:
			return
		}
	}
}

// maxEncoding is how many appends are encoded at once (Store.encoding): the agent's next
// batch is read, and another file's encoded, while one is. An append held holds a copy of
// its lines (~1 MB for 4,096 access-log lines).
const maxEncoding = 2

// Append hands rows over to be encoded into blocks, in a goroutine of their own so that
// the caller reads its next batch meanwhile, and then queued for the writer; done is
// called after their commit. It copies the messages (the caller reuses their memory once
// Append returned: store.Store) and waits while maxEncoding appends are still encoding.
func (s *Store) Append(ctx context.Context, rows []store.Row, done func()) error {
	if s.closed.Load() {
		return errors.New("store: closed")
	}
	select {
	case s.encoding <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errors.New("store: closed")
	}
	own := s.ownRows(rows)
	s.queuedMu.Lock()
	prev, queued := s.lastQueued, make(chan struct{})
	s.lastQueued = queued
	s.queuedMu.Unlock()
	go s.encode(own, prev, queued, done)
	return nil
}

// encode encodes an append's rows into blocks and queues them for the writer once the
// append before it is queued (prev), then closes queued and frees its encoding slot.
// Nothing handed over is dropped: Run's drain waits for it. Only a store closed without
// Run (Close) leaves it unencoded, and unacknowledged.
func (s *Store) encode(own *ownedRows, prev <-chan struct{}, queued chan struct{}, done func()) {
	defer func() { <-s.encoding }()
	defer close(queued)
	lines := len(own.rows)
	s.codecMu.RLock()
	if s.codecClosed {
		s.codecMu.RUnlock()
		return
	}
	blocks, clamped := buildBlocks(own.rows, s.cfg.MaxTimeSkew, s.codec)
	s.codecMu.RUnlock()
	s.putOwned(own)
	if clamped > 0 {
		s.m.clamped.Add(float64(clamped))
	}
	<-prev
	s.queue <- &appendReq{blocks: blocks, lines: lines, done: done}
}

// ownedRows are an append's rows with their messages copied into arena.
type ownedRows struct {
	rows  []store.Row
	arena []byte
}

// ownRows copies rows and their messages into an ownedRows of the pool's.
func (s *Store) ownRows(rows []store.Row) *ownedRows {
	own, _ := s.owned.Get().(*ownedRows)
	if own == nil {
		own = new(ownedRows)
	}
	size := 0
	for i := range rows {
		size += len(rows[i].Message)
	}
	own.arena = slices.Grow(own.arena[:0], size)
	own.rows = append(own.rows[:0], rows...)
	for i := range own.rows {
		r := &own.rows[i]
		if r.Message == "" {
			continue
		}
		at := len(own.arena) // arena does not grow past size: the messages before stay put
		own.arena = append(own.arena, r.Message...)
		r.Message = unsafe.String(unsafe.SliceData(own.arena[at:]), len(r.Message))
	}
	return own
}

// putOwned gives own back to the pool once its blocks are made (they keep none of its
// bytes).
func (s *Store) putOwned(own *ownedRows) {
	clear(own.rows) // nothing kept alive by the pool
	own.rows = own.rows[:0]
	s.owned.Put(own)
}

// maxTxRows bounds one group commit.
const maxTxRows = 32768

// queueDepth is how many appends wait for the writer: at the agent's batches of up to
// 4,096 lines, two full group commits (maxTxRows), so that the writer finds the next one
// ready while the agent encodes more. Each waiting append holds its encoded blocks (~300
// KB per 4,096 access-log lines with their index words); 64 held ~20 MB, and the Go heap
// grows to twice what is live.
const queueDepth = 2 * maxTxRows / 4096

// writeFrom commits req and whatever else is queued (up to maxTxRows), retrying a failed
// commit until it succeeds: acknowledging would lose the lines, and dropping the
// batch would too, so the pipeline waits (the files are the buffer).
func (s *Store) writeFrom(first *appendReq) {
	reqs := []*appendReq{first}
	n := first.lines
	for n < maxTxRows {
		select {
		case r := <-s.queue:
			reqs = append(reqs, r)
			n += r.lines
			continue
		default:
		}
		break
	}
	start := time.Now()
	blocks := make([]*block, 0, n/maxBlockLines+len(reqs))
	for _, r := range reqs {
		for _, b := range r.blocks {
			if b = s.skipStored(b); b != nil {
				blocks = append(blocks, b)
			}
		}
	}
	seq := s.nextSeq
	lines := 0
	for _, b := range blocks {
		b.seq = seq // Seq is the storage order (the live tail's), not time order
		seq += int64(b.n)
		lines += b.n
	}
	for attempt := 0; ; attempt++ {
		err := s.commit(blocks)
		s.setWriteErr(err)
		if err == nil {
			break
		}
		s.m.writeErrors.Inc()
		s.log.Error("store write failed; retrying", "error", err, "lines", lines, "attempt", attempt+1)
		time.Sleep(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second))
	}
	s.nextSeq = seq
	s.noteCommitted(blocks)
	if lines > 0 {
		s.lastSeq.Store(seq - 1)
		s.m.rows.Add(float64(lines))
		s.mu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	s.m.commitSeconds.Observe(time.Since(start).Seconds())
	for _, r := range reqs {
		if r.done != nil {
			r.done()
		}
	}
}

// skipStored drops the lines of b that the store held before this process started
// (re-read after a restart: the file's lines up to its stored end); nil when none is
// left. A file's skip window closes at its first line past the stored end.
func (s *Store) skipStored(b *block) *block {
	k := fileKey{b.host, b.fileID, b.path}
	end, ok := s.dedupe[k]
	if !ok {
		return b
	}
	if b.end0 > end {
		delete(s.dedupe, k)
		return b
	}
	lines, _, err := s.codec.decodeBlock(b.data, b.n, nil)
	if err != nil { // a block encoded by this process: a bug, not bad input
		panic(fmt.Sprintf("decode a block just encoded: %v", err))
	}
	i := 0
	for i < len(lines) && lines[i].end <= end {
		i++
	}
	s.m.duplicates.Add(float64(i))
	if i == len(lines) {
		return nil
	}
	delete(s.dedupe, k)
	return reencode(blockHead{host: b.host, path: b.path, topic: b.topic, fileID: b.fileID, entryInfo: b.entryInfo}, lines[i:], s.codec)
}

// commit writes blocks (numbered) in one transaction per day and layer (commitOrder),
// so that after a crash between two of them what the store holds of each file is still
// a prefix of its lines, which its offsets then describe.
func (s *Store) commit(blocks []*block) error {
	for _, tx := range commitOrder(blocks) {
		p, err := s.partFor(dayOf(tx[0].tMax))
		if err != nil {
			return err
		}
		if err := p.insert(tx); err != nil {
			return err
		}
		p.wrote.Store(true)
		p.settled.Store(false)
	}
	return nil
}

// mergeBudget bounds the time one tick of the writer spends merging finished days'
// indexes (Store.tidy): the commits queued meanwhile wait for it.
const mergeBudget = 100 * time.Millisecond

// tidy finishes each day that took no commit since the last tick, once after its last
// commit, on Run's goroutine after each retention pass.
//   - A day before today's (by now) gets its index merged into one segment, in steps
//     of at most mergeBudget a tick, once while the store is open: FTS5 merges a day's
//     segments only 16 at a time as it is written (automerge), and a finished day's
//     index of one segment is ~15 % smaller and is one b-tree for a query to look into.
//     A day still taking lines is not merged: a merge after every few commits would
//     rewrite the whole index again and again.
//   - Then its free pages go back to the file system: FTS5 frees the pages of the
//     segments it merged, and a day being written reuses them, but a finished one kept
//     them until the retention dropped it (0–16 MB of a 95 MB day after issue 22's 2M
//     lines, run by run: the store's size on disk varied by as much).
//
// Yesterday's day is tidied after midnight, a day's after its backfill, every day's
// after an ingest ends.
func (s *Store) tidy(ctx context.Context, now time.Time) {
	today := dayOf(now.UnixNano())
	budget := mergeBudget
	for _, p := range s.snapshot() {
		if p.wrote.Swap(false) {
			continue
		}
		if p.day < today && !p.merged && !s.merge(ctx, p, &budget) {
			continue // the next tick goes on
		}
		if p.settled.Swap(true) {
			continue
		}
		if err := p.giveBackFree(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("giving back free pages failed", "error", err)
		}
	}
}

// merge merges p's index for what is left of budget, takes the time it took from it,
// and reports whether p is merged: then its freed pages are to be given back (settled
// false). A failed merge is not tried again while the store runs.
func (s *Store) merge(ctx context.Context, p *part, budget *time.Duration) bool {
	if *budget <= 0 {
		return false
	}
	start := time.Now()
	done, err := p.mergeIndex(ctx, *budget)
	*budget -= time.Since(start)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("merging a finished day's index failed; it stays as it is until a restart", "error", err)
		done = true
	}
	if done {
		p.merged = true
		p.settled.Store(false)
	}
	return done
}

// commitOrder splits blocks (each file's in file order) into transactions of one day
// each, in an order that commits each file's blocks in file order: a file's block is in
// the layer of the file's block before, or the next layer when its day differs; layers
// are committed in order, each as one transaction per day. Days are separate databases
// and SQLite's commit across attached WAL databases is not atomic; this order is what
// keeps exactly-once when a file's lines span days (a backfill, lines around midnight).
// The usual commit (each file's lines in one day) is one layer: one transaction per day.
func commitOrder(blocks []*block) [][]*block {
	type last struct {
		layer int
		day   int64
	}
	files := map[fileKey]last{}
	type txKey struct {
		layer int
		day   int64
	}
	byTx := map[txKey][]*block{}
	var keys []txKey
	for _, b := range blocks {
		k := fileKey{b.host, b.fileID, b.path}
		d := dayOf(b.tMax)
		l, seen := files[k]
		layer := 0
		if seen {
			layer = l.layer
			if l.day != d {
				layer++
			}
		}
		files[k] = last{layer, d}
		tk := txKey{layer, d}
		if byTx[tk] == nil {
			keys = append(keys, tk)
		}
		byTx[tk] = append(byTx[tk], b)
	}
	slices.SortStableFunc(keys, func(a, b txKey) int { return a.layer - b.layer })
	out := make([][]*block, len(keys))
	for i, k := range keys {
		out[i] = byTx[k]
	}
	return out
}

// partFor returns the day's partition, creating it. The writer and WritePoints may ask
// for a new day at once: creation is serialised so a day is opened once.
func (s *Store) partFor(day int64) (*part, error) {
	if p := s.findPart(day); p != nil {
		return p, nil
	}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	if p := s.findPart(day); p != nil {
		return p, nil
	}
	p, err := openPart(filepath.Join(s.cfg.Dir, dayName(day)), day, s.codec, &s.blocksRead)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.parts = append(s.parts, p)
	slices.SortFunc(s.parts, func(a, b *part) int { return int(a.day - b.day) })
	s.mu.Unlock()
	return p, nil
}

func (s *Store) findPart(day int64) *part {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := len(s.parts) - 1; i >= 0; i-- {
		if s.parts[i].day == day {
			return s.parts[i]
		}
	}
	return nil
}

// LastSeq is the newest stored row's Seq.
func (s *Store) LastSeq() int64 { return s.lastSeq.Load() }

// Newest is where a tail starts: after the newest stored row's Seq (Since follows Seq
// alone, so the cursor's time is left zero).
func (s *Store) Newest(context.Context) (store.Cursor, error) {
	return pos{seq: s.lastSeq.Load()}.cursor(), nil
}

// Changed returns a channel closed at the next commit.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Close closes the databases and the codec. Call it after Run returned (or when Open
// failed half way).
func (s *Store) Close() error {
	s.codecMu.Lock()
	s.codecClosed = true // an append left encoding by a store that never ran stops
	s.codecMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.codec.close()
	return s.closePartsLocked()
}

func (s *Store) closePartsLocked() error {
	var errs []error
	for _, p := range s.parts {
		errs = append(errs, p.close())
	}
	s.parts = nil
	return errors.Join(errs...)
}

// snapshot returns the partitions, oldest first.
func (s *Store) snapshot() []*part {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.parts)
}

// readParts is snapshot for a read, with a release to call when the read is done: a day
// the retention drops meanwhile is closed only after that (closing it under a running
// query failed the query: "sql: database is closed", a 500 in the API). The writer's
// goroutine, which drops days, uses snapshot.
func (s *Store) readParts() ([]*part, func()) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	parts := slices.Clone(s.parts)
	for _, p := range parts {
		p.readers.Add(1)
	}
	return parts, func() {
		for _, p := range parts {
			p.readers.Done()
		}
	}
}

const dayNanos = int64(24 * time.Hour)

func dayOf(ts int64) int64 { return floorDiv(ts, dayNanos) }

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func dayName(day int64) string {
	return "logs-" + time.Unix(0, day*dayNanos).UTC().Format("20060102") + ".db"
}

func parseDayName(name string) (int64, bool) {
	d, ok := strings.CutPrefix(name, "logs-")
	if !ok {
		return 0, false
	}
	d, ok = strings.CutSuffix(d, ".db")
	if !ok {
		return 0, false
	}
	t, err := time.Parse("20060102", d)
	if err != nil {
		return 0, false
	}
	return dayOf(t.UnixNano()), true
}
