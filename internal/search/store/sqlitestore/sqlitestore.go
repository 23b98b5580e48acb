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
	"encoding/binary"
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
}

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

	// Writer state, owned by the writer goroutine after Open.
	nextSeq int64
	lastTs  int64
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("create store dir %s: %w", cfg.Dir, err)
	}
	s := &Store{cfg: cfg, log: logger.With("component", "store"), changed: make(chan struct{}),
		queue: make(chan *appendReq, 64), closing: make(chan struct{}), dedupe: map[fileKey]int64{}}
	m, err := newMetrics(reg, s)
	if err != nil {
		return nil, err
	}
	s.m = m
	names, err := filepath.Glob(filepath.Join(cfg.Dir, "logs-*.db"))
	if err != nil {
		return nil, fmt.Errorf("list store files: %w", err)
	}
	slices.Sort(names)
	for _, name := range names {
		day, ok := parseDayName(filepath.Base(name))
		if !ok {
			continue
		}
		p, err := openPart(name, day)
		if err != nil {
			s.closeParts()
			return nil, err
		}
		s.parts = append(s.parts, p)
		if err := s.loadPart(p); err != nil {
			s.closeParts()
			return nil, err
		}
		if err := p.checkNewest(); err != nil {
			s.markDamaged(p, err)
		}
	}
	s.nextSeq = s.lastSeq.Load() + 1
	s.log.Info("store opened", "dir", cfg.Dir, "days", len(s.parts), "last_seq", s.lastSeq.Load(),
		"files_known", len(s.dedupe))
	return s, nil
}

// loadPart reads a day's newest position and file offsets into the writer state.
func (s *Store) loadPart(p *part) error {
	var maxSeq, maxTs sql.NullInt64
	if err := p.db.QueryRow(`SELECT max(id + n - 1), max(ts_last) FROM blocks`).Scan(&maxSeq, &maxTs); err != nil {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	if maxSeq.Valid {
		p.maxSeq.Store(maxSeq.Int64)
		s.lastSeq.Store(max(s.lastSeq.Load(), maxSeq.Int64))
		s.lastTs = max(s.lastTs, maxTs.Int64)
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
		case <-ctx.Done():
			s.closed.Store(true)
			close(s.closing)
			for {
				select {
				case req := <-s.queue:
					s.writeFrom(req)
				default:
					return nil
				}
			}
		}
	}
}

// Append encodes rows into blocks (in the caller's goroutine, so that the writer does
// only the SQLite work) and queues them for the writer; done is called after their
// commit.
func (s *Store) Append(ctx context.Context, rows []store.Row, done func()) error {
	if s.closed.Load() {
		return errors.New("store: closed")
	}
	req := &appendReq{blocks: buildBlocks(rows), lines: len(rows), done: done}
	select {
	case s.queue <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errors.New("store: closed")
	}
}

// maxTxRows bounds one group commit.
const maxTxRows = 32768

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
	seq, ts := s.nextSeq, s.lastTs
	lines := 0
	for _, b := range blocks {
		// Time never goes backwards in the store, so Seq order is time order: pages,
		// histograms and partitions all work on Seq ranges. A block's lines were made
		// non-decreasing when it was built; each line's stored time is max(b.ts, its own).
		b.seq, b.ts = seq, max(ts, b.t0)
		seq += int64(b.n)
		ts = b.lastTs()
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
	s.nextSeq, s.lastTs = seq, ts
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
	lines, _, err := decodeBlock(b.data, b.n, b.t0, nil)
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
	return reencode(blockHead{host: b.host, path: b.path, topic: b.topic, fileID: b.fileID, fields: b.fields}, lines[i:])
}

// commit writes blocks (numbered) in one transaction per day.
func (s *Store) commit(blocks []*block) error {
	for len(blocks) > 0 {
		day := dayOf(blocks[0].ts)
		n := 1
		for n < len(blocks) && dayOf(blocks[n].ts) == day {
			n++
		}
		p, err := s.partFor(day)
		if err != nil {
			return err
		}
		if err := p.insert(blocks[:n]); err != nil {
			return err
		}
		blocks = blocks[n:]
	}
	return nil
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
	p, err := openPart(filepath.Join(s.cfg.Dir, dayName(day)), day)
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

// Newest is the cursor of the newest stored row: a tail goes on from there.
func (s *Store) Newest(context.Context) (store.Cursor, error) {
	return seqCursor(s.lastSeq.Load()), nil
}

// seqCursor is the cursor of a Seq: its 8 bytes, big-endian (the API's ids and cursors
// are these bytes in base64, as they were when the API took Seqs).
func seqCursor(seq int64) store.Cursor {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return store.Cursor(b[:])
}

func cursorSeq(c store.Cursor) (int64, error) {
	if len(c) != 8 {
		return 0, store.ErrBadCursor
	}
	v := int64(binary.BigEndian.Uint64([]byte(c)))
	if v < 0 {
		return 0, store.ErrBadCursor
	}
	return v, nil
}

// Changed returns a channel closed at the next commit.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Close closes the databases. Call it after Run returned.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closePartsLocked()
}

func (s *Store) closeParts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.closePartsLocked()
}

func (s *Store) closePartsLocked() error {
	var errs []error
	for _, p := range s.parts {
		errs = append(errs, p.db.Close())
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
