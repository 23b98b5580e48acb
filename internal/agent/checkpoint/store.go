// Package checkpoint keeps, per file identity, the offset up to which the output has
// acknowledged every event (a Watermark), and stores those offsets durably in the agent's
// data_dir (a Store) so that reading resumes exactly there after any restart, kill -9
// included.
package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/atomicfile"
)

// RegistryFile is the name of the registry inside the store's directory.
const RegistryFile = "registry.json"

// registryVersion is written in the file; any other version is treated as corrupt.
const registryVersion = 1

// State is one file's checkpoint.
type State struct {
	Key string `json:"key"` // fileid.ID.Key()
	// Path is the last path seen, for operators and copytruncate lookups. JSON carries only
	// UTF-8: bytes of a path that are not valid UTF-8 come back as U+FFFD after a restart.
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"` // size when last seen: lag = Size - Offset
	// Fingerprint is the hex hash of the file's first FingerprintLen bytes (fileid.Prefix);
	// it equals the ID's fingerprint once FingerprintLen reaches the fingerprint size.
	Fingerprint    string    `json:"fingerprint"`
	FingerprintLen int       `json:"fingerprint_len"`
	Updated        time.Time `json:"updated"` // refreshed by the engine while the file is live; Prune uses it
}

// Prefix returns the state's fileid.Prefix.
func (st State) Prefix() fileid.Prefix {
	return fileid.Prefix{Len: st.FingerprintLen, Sum: st.Fingerprint}
}

// record is a state and its JSON encoding, kept between flushes so that a flush re-encodes
// only the files that changed: with 10,000 files, most idle, encoding is most of a flush's
// CPU.
type record struct {
	st  State
	enc []byte // nil when st changed since it was last encoded
	ver uint64 // bumped when st changes, so a flush knows whether its encoding is current
}

type registry struct {
	Version int `json:"version"`
	// JournalEpoch is the epoch of the journal that continues this registry; a journal
	// of another epoch was folded into it already (or belongs to another registry).
	JournalEpoch uint64  `json:"journal_epoch"`
	Files        []State `json:"files"`
}

// Store holds the checkpoints of all files in memory and writes them to one registry file
// in its directory. It is safe for concurrent use.
type Store struct {
	dir    string
	path   string
	logger *slog.Logger

	mu      sync.Mutex
	states  map[string]*record
	gen     uint64 // bumped by every change
	written uint64 // gen of the last successful write
	// order is the records sorted by key as of keysGen, so that a flush sorts only when
	// files came or went; sorting 10,000 keys was most of a flush's CPU.
	order    []*record
	orderGen uint64
	keysGen  uint64 // bumped when a key is added or removed

	// jdirty holds the keys changed since they were last journaled, each with the gen
	// of its change: a registry write clears those it covers.
	jdirty map[string]uint64
	epoch  uint64        // the journal's epoch, the registry's journal_epoch
	kick   chan struct{} // a change was made: Run journals it within its interval

	// flushMu: one registry or journal write at a time, so an older snapshot never
	// replaces a newer one and a frame never lands in a journal being reset.
	flushMu  sync.Mutex
	jpath    string
	jbuf     []byte // reused frame buffer
	jsize    int64  // bytes in the journal
	jbroken  bool   // a journal write failed: the journal may end torn, fold before appending
	lastFold time.Time

	stats storeStats
}

// foldInterval and foldBytes say when Run writes the registry and starts a new journal:
// often enough that the journal stays short to replay, rarely enough that the registry's
// fsyncs and full encoding are not paid every checkpoint interval.
const (
	foldInterval = 10 * time.Second
	foldBytes    = 8 << 20
)

// storeStats are the counters behind the metrics (metrics.go), atomics so that keeping
// them costs next to nothing.
type storeStats struct {
	writes, writeErrors, corrupt, pruned        atomic.Uint64
	journalWrites, journalErrors, journalTorn   atomic.Uint64
	lastWriteNanos, registryBytes, journalBytes atomic.Int64
}

// Open loads the registry in dir, creating dir if needed, and replays the journal over it
// (see JournalFile): its intact frames are applied, a torn or corrupt frame and all after
// it are ignored with a warning. A registry that cannot be read or decoded (bad JSON,
// wrong version, truncated) is renamed to registry.json.corrupt-<unix time> with a warning
// and the store starts empty: a damaged file must never keep the agent from starting.
// Open fails only when dir cannot be created or written.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		dir:    dir,
		path:   filepath.Join(dir, RegistryFile),
		jpath:  filepath.Join(dir, JournalFile),
		logger: logger.With("component", "checkpoint"),
		states: make(map[string]*record),
		jdirty: make(map[string]uint64),
		kick:   make(chan struct{}, 1),
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create checkpoint dir %s: %w", dir, err)
	}
	if err := s.removeTemps(); err != nil {
		return nil, err
	}
	// Prove the directory writable now rather than at the first flush, seconds later.
	probe, err := os.CreateTemp(dir, atomicfile.TempPattern(RegistryFile))
	if err != nil {
		return nil, fmt.Errorf("checkpoint dir %s is not writable: %w", dir, err)
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		return nil, fmt.Errorf("remove %s: %w", probe.Name(), err)
	}

	states, epoch, err := readRegistry(s.path)
	registryOK := err == nil || errors.Is(err, fs.ErrNotExist)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.logger.Info("no checkpoint registry yet, starting empty", "path", s.path)
	case err != nil:
		aside, mvErr := s.moveAside(time.Now())
		if mvErr != nil {
			return nil, fmt.Errorf("registry %s is unusable (%v) and cannot be moved aside: %w", s.path, err, mvErr)
		}
		s.stats.corrupt.Add(1)
		s.logger.Warn("checkpoint registry is corrupt; moved aside, starting with no checkpoints",
			"path", s.path, "moved_to", aside, "error", err)
	default:
		for _, st := range states {
			s.states[st.Key] = &record{st: st}
		}
		s.epoch = epoch
		s.logger.Info("checkpoint registry loaded", "path", s.path, "files", len(states))
	}
	if err := s.replayJournal(registryOK); err != nil {
		return nil, err
	}
	s.lastFold = time.Now()
	return s, nil
}

// replayJournal applies the journal of the registry's epoch and leaves a journal that
// can be appended to: an empty one of the current epoch.
func (s *Store) replayJournal(registryOK bool) error {
	jc, err := readJournal(s.jpath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s.resetJournalFile()
	case err != nil:
		s.stats.journalTorn.Add(1)
		s.logger.Warn("checkpoint journal unreadable; ignored", "path", s.jpath, "error", err)
		return s.resetJournalFile()
	case !registryOK || jc.epoch != s.epoch:
		// Folded into the registry already (a crash between the registry write and the
		// journal reset), or the registry it continued is gone.
		s.logger.Info("checkpoint journal of another registry; ignored", "path", s.jpath,
			"journal_epoch", jc.epoch, "registry_epoch", s.epoch)
		return s.resetJournalFile()
	}
	if jc.torn {
		s.stats.journalTorn.Add(1)
		s.logger.Warn("checkpoint journal ends with a torn or corrupt frame; it and anything after it are ignored",
			"path", s.jpath, "intact_bytes", jc.valid, "frames", len(jc.frames))
	}
	if len(jc.frames) == 0 {
		if jc.torn {
			return s.resetJournalFile()
		}
		s.jsize = jc.valid
		return nil
	}
	ops := 0
	for _, fr := range jc.frames {
		for _, op := range fr {
			if op.del {
				delete(s.states, op.st.Key)
			} else {
				s.states[op.st.Key] = &record{st: op.st}
			}
			ops++
		}
	}
	s.gen++
	s.keysGen++
	s.logger.Info("checkpoint journal replayed", "path", s.jpath, "frames", len(jc.frames), "changes", ops)
	// Fold what was replayed into the registry, which starts a fresh journal.
	if err := s.Flush(); err != nil {
		return fmt.Errorf("fold the replayed checkpoint journal: %w", err)
	}
	return nil
}

func (s *Store) resetJournalFile() error {
	if err := resetJournal(s.jpath, s.epoch); err != nil {
		return err
	}
	s.jsize = journalHeaderSize
	s.stats.journalBytes.Store(s.jsize)
	return nil
}

// Path returns the registry file's path.
func (s *Store) Path() string { return s.path }

func readRegistry(path string) ([]State, uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err // fs.ErrNotExist is branched on by Open
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var reg registry
	if err := dec.Decode(&reg); err != nil {
		return nil, 0, fmt.Errorf("decode %s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("decode %s: trailing data after the registry object", path)
	}
	if reg.Version != registryVersion {
		return nil, 0, fmt.Errorf("registry %s has version %d, want %d", path, reg.Version, registryVersion)
	}
	seen := make(map[string]bool, len(reg.Files))
	for i, st := range reg.Files {
		switch {
		case st.Key == "":
			return nil, 0, fmt.Errorf("registry %s: file %d has no key", path, i)
		case st.Offset < 0 || st.Size < 0 || st.FingerprintLen < 0:
			return nil, 0, fmt.Errorf("registry %s: file %q has a negative offset, size or fingerprint length", path, st.Key)
		case seen[st.Key]:
			return nil, 0, fmt.Errorf("registry %s: file %q appears twice", path, st.Key)
		}
		seen[st.Key] = true
	}
	return reg.Files, reg.JournalEpoch, nil
}

// moveAside renames the registry to registry.json.corrupt-<unix time>, adding a counter if
// that name is taken, and returns the new path.
func (s *Store) moveAside(now time.Time) (string, error) {
	base := s.path + ".corrupt-" + strconv.FormatInt(now.Unix(), 10)
	aside := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			break
		}
		aside = base + "-" + strconv.Itoa(i)
	}
	if err := os.Rename(s.path, aside); err != nil {
		return "", fmt.Errorf("rename %s: %w", s.path, err)
	}
	return aside, syncDir(s.dir)
}

func (s *Store) removeTemps() error {
	temps, err := filepath.Glob(filepath.Join(s.dir, atomicfile.TempPattern(RegistryFile)))
	if err != nil {
		return fmt.Errorf("list temporary registry files: %w", err)
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale %s: %w", t, err)
		}
	}
	return nil
}

// Get returns the state stored under key.
func (s *Store) Get(key string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.states[key]
	if !ok {
		return State{}, false
	}
	// Copy the state under the lock: Set updates the same record in place.
	return r.st, true
}

// Set stores st under st.Key. Setting a state equal to the stored one is not a change.
func (s *Store) Set(st State) {
	st.Updated = st.Updated.Round(0) // no monotonic reading: it does not survive a restart
	s.mu.Lock()
	s.setLocked(st)
	s.mu.Unlock()
}

func (s *Store) setLocked(st State) {
	r, ok := s.states[st.Key]
	switch {
	case !ok:
		s.states[st.Key] = &record{st: st}
		s.keysGen++
	case sameState(r.st, st):
		return
	default:
		r.st, r.enc = st, nil
		r.ver++
	}
	s.gen++
	s.jdirty[st.Key] = s.gen
	s.poke()
}

// poke tells Run that a change waits for the journal. It never blocks.
func (s *Store) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func sameState(a, b State) bool {
	return a.Key == b.Key && a.Path == b.Path && a.Offset == b.Offset && a.Size == b.Size &&
		a.Fingerprint == b.Fingerprint && a.FingerprintLen == b.FingerprintLen && a.Updated.Equal(b.Updated)
}

// MoveBack sets the offset of the file under key back to offset, when it is ahead of it,
// and returns the state as it was before. The output lost lines it had acknowledged (an
// embedded store whose WAL was deleted): reading resumes at offset, so they are read
// again. ok is false, and nothing changes, when the key is unknown or its offset is not
// ahead of offset.
func (s *Store) MoveBack(key string, offset int64) (before State, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.states[key]
	if !found || r.st.Offset <= offset || offset < 0 {
		return State{}, false
	}
	before = r.st
	st := r.st
	st.Offset = offset
	s.setLocked(st)
	return before, true
}

// Delete removes the state stored under key, if any.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	if _, ok := s.states[key]; ok {
		delete(s.states, key)
		s.gen++
		s.keysGen++
		s.jdirty[key] = s.gen
		s.poke()
	}
	s.mu.Unlock()
}

// All returns a copy of every state, sorted by key.
func (s *Store) All() []State {
	s.mu.Lock()
	all := make([]State, 0, len(s.states))
	for _, r := range s.states {
		all = append(all, r.st)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b State) int { return strings.Compare(a.Key, b.Key) })
	return all
}

// Prune removes the states not updated within olderThan before now and returns how many.
// The engine refreshes Updated of the files it still sees, so what is pruned is files gone
// for longer than the horizon.
func (s *Store) Prune(olderThan time.Duration, now time.Time) int {
	horizon := now.Add(-olderThan)
	n := 0
	s.mu.Lock()
	for k, r := range s.states {
		if r.st.Updated.Before(horizon) {
			delete(s.states, k)
			s.jdirty[k] = s.gen + 1
			n++
		}
	}
	if n > 0 {
		s.gen++
		s.keysGen++
		s.stats.pruned.Add(uint64(n))
		s.poke()
	}
	s.mu.Unlock()
	return n
}

// Lookup finds the checkpoint of the file open as f, whose identity and prefix the engine
// got from fileid.Of. It returns ok=false when no checkpoint belongs to this file.
//
// A file's key changes once: while it is shorter than the fingerprint size its key is
// "dev:ino:" (no fingerprint), afterwards "dev:ino:<fingerprint>". Lookup tries the full key
// first, then the short one; a short-key state is trusted only if the file still starts
// with the bytes hashed in the state's prefix (so a reused inode holding another file is not
// mistaken for the old one) and that prefix covers everything up to the state's offset
// (otherwise the check proves nothing about the bytes that would be skipped). When a
// short-key state matches a file that now has its fingerprint, it is moved to the full key.
func (s *Store) Lookup(id fileid.ID, p fileid.Prefix, f io.ReaderAt) (State, bool, error) {
	if id.Fingerprint != "" {
		if st, ok := s.Get(id.Key()); ok {
			return st, true, nil
		}
	}
	shortKey := fileid.ID{Dev: id.Dev, Ino: id.Ino}.Key()
	st, ok := s.Get(shortKey)
	if !ok {
		return State{}, false, nil
	}
	if int64(st.FingerprintLen) < st.Offset && st.FingerprintLen < p.Len {
		s.logger.Warn("checkpoint prefix does not cover its offset; not trusted",
			"key", shortKey, "path", st.Path, "offset", st.Offset, "prefix_len", st.FingerprintLen)
		return State{}, false, nil
	}
	match, err := st.Prefix().Matches(f)
	if err != nil {
		return State{}, false, fmt.Errorf("verify checkpoint %s of %s: %w", shortKey, st.Path, err)
	}
	if !match {
		return State{}, false, nil
	}
	if id.Fingerprint != "" {
		st.Key = id.Key()
		st.Fingerprint, st.FingerprintLen = p.Sum, p.Len
		s.mu.Lock()
		delete(s.states, shortKey)
		s.setLocked(st)
		s.gen++
		s.keysGen++
		s.jdirty[shortKey] = s.gen
		s.mu.Unlock()
	}
	return st, true, nil
}

// Flush writes the registry if anything changed since the last write ("folds" the
// journal into it): to a temporary file in the same directory, fsync, rename over the
// registry, fsync the directory; then it starts a new, empty journal. A crash at any point
// leaves either the old or the new registry, never a mix, and never a journal replayed
// over a registry that already holds it.
func (s *Store) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	return s.flushLocked()
}

func (s *Store) flushLocked() error {
	s.mu.Lock()
	if s.gen == s.written && !s.jbroken {
		s.mu.Unlock()
		return nil
	}
	gen, keysGen, epoch := s.gen, s.keysGen, s.epoch+1
	// Copy under the lock, encode outside it: Set runs on the engine's paths.
	sorted := s.orderGen == keysGen && s.order != nil
	order := s.order
	if !sorted {
		order = make([]*record, 0, len(s.states))
		for _, r := range s.states {
			order = append(order, r)
		}
	}
	snap := make([]snapshot, len(order))
	for i, r := range order {
		snap[i] = snapshot{rec: r, key: r.st.Key, enc: r.enc, ver: r.ver}
		if r.enc == nil {
			snap[i].st = r.st
		}
	}
	s.mu.Unlock()
	if !sorted {
		// Sorted so that the file is stable and diffable for operators.
		slices.SortFunc(snap, func(a, b snapshot) int { return strings.Compare(a.key, b.key) })
	}

	size := 0
	for i := range snap {
		if snap[i].enc == nil {
			enc, err := json.Marshal(snap[i].st)
			if err != nil {
				return fmt.Errorf("encode checkpoint %s: %w", snap[i].key, err)
			}
			snap[i].enc, snap[i].fresh = enc, true
		}
		size += len(snap[i].enc) + 1
	}
	data := make([]byte, 0, size+64)
	data = append(data, `{"version":`...)
	data = strconv.AppendInt(data, registryVersion, 10)
	data = append(data, `,"journal_epoch":`...)
	data = strconv.AppendUint(data, epoch, 10)
	data = append(data, `,"files":[`...)
	for i := range snap {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, snap[i].enc...)
	}
	data = append(data, "]}\n"...)

	if err := atomicfile.Write(s.path, data, 0o600); err != nil {
		s.stats.writeErrors.Add(1)
		return err
	}
	s.stats.writes.Add(1)
	s.stats.lastWriteNanos.Store(time.Now().UnixNano())
	s.stats.registryBytes.Store(int64(len(data)))
	s.lastFold = time.Now()
	s.mu.Lock()
	s.written = gen // changes made during the write keep the store dirty
	s.epoch = epoch
	for k, g := range s.jdirty {
		if g <= gen {
			delete(s.jdirty, k) // in the registry now
		}
	}
	for _, sn := range snap {
		if sn.fresh && sn.rec.ver == sn.ver {
			sn.rec.enc = sn.enc
		}
	}
	if !sorted && s.keysGen == keysGen {
		s.order = s.order[:0]
		for _, sn := range snap {
			s.order = append(s.order, sn.rec)
		}
		s.orderGen = keysGen
	}
	s.mu.Unlock()
	// The registry holds everything journaled so far; the old journal's epoch no longer
	// matches it, so even if this reset is lost the old frames are not replayed.
	if err := s.resetJournalFile(); err != nil {
		s.jbroken = true
		s.stats.journalErrors.Add(1)
		return err
	}
	s.jbroken = false
	return nil
}

// WriteJournal appends the checkpoints changed since the last journal or registry write
// to the journal, as one frame with one write and no fsync: cheap enough to run every
// 100 ms. After a failed append (the journal may end with a torn frame) it writes the
// registry instead, which starts a new journal.
func (s *Store) WriteJournal() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.jbroken {
		return s.flushLocked()
	}
	s.mu.Lock()
	if len(s.jdirty) == 0 {
		s.mu.Unlock()
		return nil
	}
	buf := append(s.jbuf[:0], make([]byte, frameHeaderSize)...)
	for k := range s.jdirty {
		if r, ok := s.states[k]; ok {
			buf = appendSetOp(buf, r.st)
		} else {
			buf = appendDeleteOp(buf, k)
		}
	}
	clear(s.jdirty)
	s.mu.Unlock()
	frame := sealFrame(buf)
	if cap(buf) <= 1<<20 {
		s.jbuf = buf // keep a buffer of everyday size, not one of a burst
	}
	if err := appendJournal(s.jpath, frame); err != nil {
		s.jbroken = true // the changes are in memory: the registry write will carry them
		s.stats.journalErrors.Add(1)
		return err
	}
	s.jsize += int64(len(frame))
	s.stats.journalWrites.Add(1)
	s.stats.journalBytes.Store(s.jsize)
	return nil
}

// snapshot is one record as a flush saw it.
type snapshot struct {
	rec   *record
	key   string
	st    State // only when enc is nil
	enc   []byte
	ver   uint64
	fresh bool // enc was encoded by this flush
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Run appends changed checkpoints to the journal within interval of the change (and no
// more often than once per interval), and writes the registry every foldInterval (or once
// the journal holds foldBytes) until ctx ends, then writes the registry once more and
// returns that write's error. A quiet store writes nothing. A failed write is logged and
// retried a second later (the store stays dirty); it does not stop the agent.
//
// Cancel Run's ctx only after the engine has stopped and its in-flight acknowledgements are
// in (or call Flush then), so the final write holds the final offsets.
func (s *Store) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("checkpoint interval %v: must be positive", interval)
	}
	fold := time.NewTicker(foldInterval)
	defer fold.Stop()
	gap := time.NewTimer(interval)
	defer gap.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			if err := s.Flush(); err != nil {
				return fmt.Errorf("final checkpoint write: %w", err)
			}
			return nil
		case <-fold.C:
			err = s.Flush()
		case <-s.kick:
			err = s.tick()
			// Gather what changes during the next interval into one write.
			gap.Reset(interval)
			select {
			case <-ctx.Done():
			case <-gap.C:
			}
		}
		if err != nil {
			// Retry in a second, not every interval: a full disk must not flood the log.
			s.logger.Warn("checkpoint write failed; retrying in a second", "error", err)
			gap.Reset(max(interval, time.Second))
			select {
			case <-ctx.Done():
			case <-gap.C:
				s.poke()
			}
		}
	}
}

// tick is one periodic write: the journal, or the registry when it is time to fold.
func (s *Store) tick() error {
	s.flushMu.Lock()
	fold := time.Since(s.lastFold) >= foldInterval || s.jsize >= foldBytes
	s.flushMu.Unlock()
	if fold {
		return s.Flush()
	}
	return s.WriteJournal()
}
