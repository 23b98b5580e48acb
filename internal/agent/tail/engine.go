// Package tail is the tailing engine: it finds the files of each collect entry, reads
// their complete lines from where the checkpoint says, follows rotation, truncation and
// deletion, and publishes events to a pipeline.Sink. A file's checkpoint moves only when
// the sink acknowledges, through the file's checkpoint.Watermark.
//
// One runner goroutine per entry owns that entry's file table (discovery, stat-based
// rescans, opening and closing); one harvester goroutine per open file reads and
// publishes. The engine owns what entries share: the descriptor budget, file ownership
// (a file matched by two entries is read once), the inotify watcher and the metrics.
//
// Known limits, by design or not yet handled:
//   - A truncation is seen when the size drops below the read offset or the first bytes
//     change; a file truncated and rewritten with the same first 1 KiB and past the old
//     offset within one poll (500 ms while it grows) is not seen as truncated.
//   - copytruncate: the copy is found by fingerprint beside the file. Two copytruncates
//     of one file within one poll leave the generation between them unread (it is in the
//     newer copy, whose fingerprint is not known).
//   - A file renamed out of the entry's glob is read to its end and closed after
//     close_inactive; if the agent is down meanwhile, what it gained after the checkpoint
//     is not read (its new name is not matched).
//   - Files shorter than the fingerprint (1 KiB) identify by device+inode and a prefix hash.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/linefilter"
	"github.com/logcollect/logcollect/internal/agent/lines"
	"github.com/logcollect/logcollect/internal/agent/multiline"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/logformat"
)

// checkpointSyncGap is the shortest time between two moves of acknowledged offsets into
// the checkpoint store. A move starts as soon as an acknowledgement arrives after a quiet
// spell (the store then saves it within agent.checkpoint_interval); under a steady stream
// of acknowledgements they are gathered for this long, so the cost stays a few hundred
// small moves a second whatever the line rate.
const checkpointSyncGap = 2 * time.Millisecond

// devIno is a file's stat identity, the key of the file tables.
type devIno struct{ dev, ino uint64 }

// Engine runs the collect entries.
type Engine struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	m     *metrics
	slots chan struct{} // one token per harvester's descriptor: max_open_files - 1 (see probeMu)
	// probeMu guards the one descriptor kept outside the harvesters' slots: a file opened
	// to identify it when found, or a copytruncate copy looked for and read. Together
	// they never exceed max_open_files (with max_open_files: 1 the probe is one more).
	probeMu sync.Mutex
	// waiting counts files that have data but no descriptor; harvesters at the end of
	// their file give theirs up while it is not zero, so idle files cannot starve busy ones.
	waiting atomic.Int64
	poll    atomic.Bool // polling mode: inotify is off or failed
	readers sync.Map    // poolKey -> *sync.Pool of *lines.Reader: idle files hold no buffer
	ckq     ckQueue     // generations whose acknowledged offset is not in the store yet
	reuse   bool        // the sink is a syncSink: batches are reused

	mu      sync.Mutex
	desired map[string]spec
	runners map[string]*runner
	runCtx  context.Context // nil until Run; set back to nil when Run ends
	wg      sync.WaitGroup  // runners, including stopping ones
	owners  map[devIno]*runner
	known   map[devIno][]checkpoint.State // checkpoints at start, by inode, for restarts
	errSeen map[string]string             // path -> reason already logged
	watcher *watcher
}

// spec is a validated entry with its compiled parts.
type spec struct {
	e       entry.Entry // WithDefaults applied
	pat     pattern
	filter  *linefilter.Filter
	hasMult bool
	parser  *logformat.Parser // the event time, and the format's envelope
	format  string            // the entry's format name for events; "" is plain
	pattern string            // format regex: the entry's pattern, for events
}

// New validates the configuration and allocates the engine; nothing runs until Run.
func New(cfg Config, deps Deps) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	if deps.Sink == nil {
		return nil, errors.New("tail: a sink is required")
	}
	if deps.Store == nil {
		return nil, errors.New("tail: a checkpoint store is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Logger.With("component", "tail"),
		slots:   make(chan struct{}, max(cfg.MaxOpenFiles-1, 1)),
		desired: map[string]spec{},
		runners: map[string]*runner{},
		owners:  map[devIno]*runner{},
		errSeen: map[string]string{},
	}
	e.ckq.kick = make(chan struct{}, 1)
	// A sink done with a batch when Publish returns (the file output writes synchronously,
	// the Kafka output copies what its records need) lets the engine reuse the batch's
	// memory for the next one: next to no garbage per line.
	if s, ok := deps.Sink.(pipeline.Synchronous); ok && s.DoneOnReturn() {
		e.reuse = true
	}
	m, err := newMetrics(deps.Registerer, e)
	if err != nil {
		return nil, fmt.Errorf("tail: register metrics: %w", err)
	}
	e.m = m
	e.poll.Store(cfg.Watch == WatchPoll)
	return e, nil
}

// Update replaces the desired entries with a whole snapshot. The snapshot is validated
// first and refused as a whole on any error, leaving what runs untouched. Then new entries
// start, removed ones stop once their in-flight events are acknowledged (or after
// shutdown_timeout), changed ones restart with the new settings from their checkpoints,
// and untouched ones keep running. It may be called before Run.
func (e *Engine) Update(entries []entry.Entry) error {
	desired := make(map[string]spec, len(entries))
	for _, en := range entries {
		if err := en.Validate(e.cfg.AllowedPaths); err != nil {
			return fmt.Errorf("tail: %w", err)
		}
		if _, dup := desired[en.Path]; dup {
			return fmt.Errorf("tail: entry %q: path: listed twice", en.Path)
		}
		s, err := compile(en)
		if err != nil {
			return fmt.Errorf("tail: entry %q: %w", en.Path, err)
		}
		desired[en.Path] = s
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.desired = desired
	if e.runCtx != nil {
		e.reconcile()
	}
	return nil
}

func compile(en entry.Entry) (spec, error) {
	en = en.WithDefaults()
	s := spec{e: en, pat: newPattern(en.Path, en.Exclude)}
	f, err := linefilter.New(en.IncludeLines, en.ExcludeLines)
	if err != nil {
		return spec{}, fmt.Errorf("line filters: %w", err)
	}
	if len(en.IncludeLines) > 0 || len(en.ExcludeLines) > 0 {
		s.filter = f
	}
	p, err := logformat.New(en.LogFormat())
	if err != nil {
		return spec{}, err
	}
	s.parser = p
	if en.Format != logformat.Plain {
		s.format = string(en.Format)
	}
	if en.Format == logformat.Regex {
		s.pattern = en.Pattern
	}
	if en.Multiline != nil {
		if _, err := multiline.New(*en.Multiline, en.MaxLineBytes); err != nil {
			return spec{}, fmt.Errorf("multiline: %w", err)
		}
		s.hasMult = true
	}
	return s, nil
}

// reconcile diffs the desired entries against the running ones. Called with e.mu held.
func (e *Engine) reconcile() {
	for path, r := range e.runners {
		want, ok := e.desired[path]
		if ok && entry.Equal(want.e, r.spec.e) {
			continue
		}
		delete(e.runners, path)
		r.cancel() // it waits for its in-flight events, then releases its files
		if ok {
			e.log.Info("entry changed, restarting it", "entry", path)
		} else {
			e.log.Info("entry removed, stopping it", "entry", path)
		}
	}
	for path, s := range e.desired {
		if _, ok := e.runners[path]; ok {
			continue
		}
		r := newRunner(e, s)
		e.runners[path] = r
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			r.run()
		}()
	}
}

// Run starts the entries given to Update and blocks until ctx ends. Then it stops reading,
// waits up to shutdown_timeout for the in-flight events to be acknowledged and returns;
// the caller writes the final checkpoint (Store.Flush) after its sink has drained.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.runCtx != nil {
		e.mu.Unlock()
		return errors.New("tail: Run called twice")
	}
	e.known = map[devIno][]checkpoint.State{}
	for _, st := range e.deps.Store.All() {
		if dk, ok := parseKey(st.Key); ok {
			e.known[dk] = append(e.known[dk], st)
		}
	}
	if !e.poll.Load() {
		w, err := newWatcher(e)
		if err != nil {
			e.fallbackToPoll(err)
		} else {
			e.watcher = w
		}
	}
	e.runCtx = ctx
	e.reconcile()
	e.mu.Unlock()

	var bg sync.WaitGroup
	if e.watcher != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			e.watcher.run(ctx)
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		e.pruneLoop(ctx)
	}()
	bg.Add(1)
	go func() {
		defer bg.Done()
		e.ckq.run(ctx)
	}()

	<-ctx.Done()
	e.mu.Lock()
	for path, r := range e.runners {
		r.cancel()
		delete(e.runners, path)
	}
	e.mu.Unlock()
	e.wg.Wait()
	bg.Wait()
	e.ckq.sync()
	if e.watcher != nil {
		e.watcher.close()
	}
	e.mu.Lock()
	e.runCtx = nil
	e.mu.Unlock()
	return nil
}

// pruneLoop refreshes the checkpoints of files still present, so that only files gone
// longer than checkpoint_prune_after age out, then prunes.
func (e *Engine) pruneLoop(ctx context.Context) {
	every := min(e.cfg.CheckpointPrune/2, time.Hour)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.mu.Lock()
		rs := make([]*runner, 0, len(e.runners))
		for _, r := range e.runners {
			rs = append(rs, r)
		}
		e.mu.Unlock()
		for _, r := range rs {
			select {
			case r.touch <- struct{}{}:
			default:
			}
		}
		if n := e.deps.Store.Prune(e.cfg.CheckpointPrune, time.Now()); n > 0 {
			e.log.Info("pruned checkpoints of files gone for long", "count", n, "older_than", e.cfg.CheckpointPrune)
		}
	}
}

// takeKnown returns, once, the checkpoints the inode had when the engine started.
func (e *Engine) takeKnown(dk devIno) []checkpoint.State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.known[dk]
	delete(e.known, dk)
	return st
}

// claim makes r the reader of the file; false when another entry already reads it.
func (e *Engine) claim(dk devIno, r *runner) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if o, ok := e.owners[dk]; ok && o != r {
		return false
	}
	e.owners[dk] = r
	return true
}

// release gives the file up and lets the other entries look at it again.
func (e *Engine) release(dk devIno, r *runner) {
	e.mu.Lock()
	if e.owners[dk] == r {
		delete(e.owners, dk)
	}
	e.mu.Unlock()
}

// smallReadBuffer is the read buffer of a file with little unread data: a thousand files
// written a few lines a second must not each take read_buffer_bytes while they read.
const smallReadBuffer = 16 << 10

type poolKey struct {
	maxLine int
	small   bool
}

// readerPool returns the pool of line readers cutting lines at maxLine, with a small
// buffer when unread is small.
func (e *Engine) readerPool(maxLine int, unread int64) *sync.Pool {
	k := poolKey{maxLine, unread < 4*smallReadBuffer && e.cfg.ReadBufferBytes > smallReadBuffer}
	if p, ok := e.readers.Load(k); ok {
		return p.(*sync.Pool)
	}
	size := e.cfg.ReadBufferBytes
	if k.small {
		size = smallReadBuffer
	}
	p, _ := e.readers.LoadOrStore(k, &sync.Pool{New: func() any {
		return lines.NewReader(nil, 0, maxLine, size)
	}})
	return p.(*sync.Pool)
}

// kickAll asks every running entry for a rescan, e.g. when a stopping entry released files.
func (e *Engine) kickAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.runners {
		r.kickScan()
	}
}

// reportError logs and counts a file problem once per path and reason: a rescan meeting
// the same unreadable file every few seconds neither floods the log nor the counter.
func (e *Engine) reportError(path, reason string, err error) {
	e.mu.Lock()
	seen := e.errSeen[path] == reason
	e.errSeen[path] = reason
	e.mu.Unlock()
	if !seen {
		e.m.readErrors.WithLabelValues(reason).Inc()
		e.log.Warn("cannot read file; other files carry on", "path", path, "reason", reason, "err", err)
	}
}

// clearError forgets a logged problem once the path reads again, so a new one is logged.
func (e *Engine) clearError(path string) {
	e.mu.Lock()
	delete(e.errSeen, path)
	e.mu.Unlock()
}

// warnOnce logs a warning the first time only.
func (e *Engine) warnOnce(msg string, err error) {
	e.mu.Lock()
	seen := e.errSeen["\x00"+msg] != ""
	e.errSeen["\x00"+msg] = "warned"
	e.mu.Unlock()
	if !seen {
		e.log.Warn(msg, "err", err)
	}
}

func (e *Engine) fallbackToPoll(err error) {
	if e.poll.Swap(true) {
		return
	}
	e.log.Warn("inotify unavailable, polling files instead", "err", err,
		"scan_interval", e.cfg.PollScanInterval)
}

// lags returns each known file's unacknowledged bytes, for the lag metric.
func (e *Engine) lags() map[string]int64 {
	e.mu.Lock()
	rs := make([]*runner, 0, len(e.runners))
	for _, r := range e.runners {
		rs = append(rs, r)
	}
	e.mu.Unlock()
	out := map[string]int64{}
	for _, r := range rs {
		r.lagMu.Lock()
		for _, f := range r.lagFiles {
			g, wm := f.current()
			lag := g.sizeNow() - wm.Offset()
			if lag < 0 {
				lag = 0
			}
			out[g.pathNow()] = lag
		}
		r.lagMu.Unlock()
	}
	return out
}
