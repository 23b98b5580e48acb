// Package etcdconf keeps the agent's collect entries in step with etcd: it reads every
// collect key at one revision, merges them with the static entries, validates them, hands
// whole snapshots to the tailing engine, and watches the keys from the revision of that
// read so no change is missed. A rejected value keeps the previous value of its key; the
// last good values are cached in data_dir so an agent can start while etcd is down.
package etcdconf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// Options configure a Watcher.
type Options struct {
	// Client talks to etcd; nil means no etcd: only the static entries are applied.
	Client *clientv3.Client
	// Keys are the expanded collect keys in increasing precedence (ExpandKeys).
	Keys []string
	// Static are the agent.collect entries; every etcd key overrides them per path.
	Static []entry.Entry
	// AllowedPaths is agent.allowed_paths.
	AllowedPaths []string
	// CacheFile keeps the last good values (CachePath(data_dir)); "" disables the cache.
	CacheFile string
	// ReadTimeout bounds one read of all keys; default 5s (use etcd.dial_timeout).
	ReadTimeout time.Duration
	// MinBackoff and MaxBackoff pace retries while etcd is unreachable; default 200ms, 5s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Registerer             prometheus.Registerer
}

// Watcher follows the collect keys. Build it with New, then call Run once.
type Watcher struct {
	opts Options
	log  *slog.Logger
	m    *metrics
	// static carries SetStatic's new lists to Run's goroutine, the only one that merges.
	static chan staticUpdate
}

// staticUpdate is one SetStatic call: the new list and where Run answers.
type staticUpdate struct {
	entries []entry.Entry
	done    chan error
}

// New validates the options and allocates; it does not talk to etcd.
func New(opts Options) (*Watcher, error) {
	if opts.Client != nil && len(opts.Keys) == 0 {
		return nil, errors.New("etcdconf: no collect keys (etcd.collect_keys is empty)")
	}
	seen := make(map[string]bool, len(opts.Static))
	for _, e := range opts.Static {
		if err := e.Validate(opts.AllowedPaths); err != nil {
			return nil, fmt.Errorf("agent.collect: %w", err)
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("agent.collect: entry %q: path: listed twice", e.Path)
		}
		seen[e.Path] = true
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 5 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &Watcher{opts: opts, log: opts.Logger.With("component", "etcdconf"), m: m,
		static: make(chan staticUpdate)}, nil
}

// SetStatic replaces the static entries (agent.collect, re-read on SIGHUP) and returns once
// Run has applied the merged snapshot. An invalid list, or a snapshot the engine refuses,
// is refused with an error and the previous static entries keep running. It waits for Run,
// so it must not be called before Run starts or after it returned (ctx bounds the wait).
func (w *Watcher) SetStatic(ctx context.Context, entries []entry.Entry) error {
	if err := validateList(entries, w.opts.AllowedPaths); err != nil {
		return fmt.Errorf("agent.collect: %w", err)
	}
	u := staticUpdate{entries: entries, done: make(chan error, 1)}
	select {
	case w.static <- u:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-u.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keyState is the last good value of one collect key.
type keyState struct {
	entries []entry.Entry
	modRev  int64
	// rejectedRev is the mod revision of the last rejected value, so a value that is read
	// again after a broken watch is not logged and counted twice.
	rejectedRev int64
}

// state belongs to one Run call.
type state struct {
	w       *Watcher
	apply   func([]entry.Entry) error
	static  []entry.Entry
	keys    map[string]*keyState
	rev     int64
	applied []entry.Entry
	// pending is true while the latest snapshot has not been applied (apply failed).
	pending    bool
	everApply  bool
	cacheDirty bool
}

// Run applies the entries and follows etcd until ctx ends, then returns nil. If etcd cannot
// be read at start, the cached entries are applied first and etcd is retried with backoff.
//
// apply receives each new whole snapshot of desired entries, sorted by path, from Run's
// goroutine only, one call at a time. An error means the snapshot was not applied and the
// previous one keeps running; Run logs it and offers the snapshot again later.
func (w *Watcher) Run(ctx context.Context, apply func([]entry.Entry) error) error {
	if apply == nil {
		return errors.New("etcdconf: Run needs an apply function")
	}
	s := &state{w: w, apply: apply, static: w.opts.Static, keys: make(map[string]*keyState, len(w.opts.Keys))}
	for _, k := range w.opts.Keys {
		s.keys[k] = &keyState{}
	}
	if w.opts.Client == nil {
		s.reconcile("static")
		for {
			select {
			case <-ctx.Done():
				return nil
			case u := <-w.static:
				s.setStatic(u)
			}
		}
	}
	// The cached values are the previous good values: a key whose current etcd value is
	// invalid keeps its cached value even right after a restart.
	cached := s.loadCache()

	rev, err := s.read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("etcd unreachable at start; running on the cached entries and retrying",
			"cache", w.opts.CacheFile, "cache_loaded", cached, "err", err)
		w.m.fromCache.Set(1)
		s.reconcile("cache")
		var ok bool
		if rev, ok = s.readUntilOK(ctx, true); !ok {
			return nil
		}
	}
	for {
		err := s.watch(ctx, rev)
		if ctx.Err() != nil {
			return nil
		}
		w.m.watchRestarts.Inc()
		w.log.Warn("watch broken; reading the collect keys again", "revision", rev, "err", err)
		var ok bool
		if rev, ok = s.readUntilOK(ctx, false); !ok {
			return nil
		}
	}
}

func (s *state) loadCache() bool {
	w := s.w
	if w.opts.CacheFile == "" {
		return false
	}
	c, err := readCache(w.opts.CacheFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			w.log.Warn("entries cache unreadable; ignoring it", "err", err)
		}
		return false
	}
	for _, k := range w.opts.Keys {
		list, ok := c.Keys[k]
		if !ok {
			continue
		}
		// allowed_paths may have changed since the cache was written.
		if err := validateList(list, w.opts.AllowedPaths); err != nil {
			w.log.Error("cached entries rejected", "key", k, "reason", err)
			w.m.rejected.WithLabelValues(k).Inc()
			continue
		}
		s.keys[k].entries = list
	}
	return true
}

func validateList(list []entry.Entry, allowed []string) error {
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		if err := e.Validate(allowed); err != nil {
			return err
		}
		if seen[e.Path] {
			return fmt.Errorf("entry %q: path: listed twice", e.Path)
		}
		seen[e.Path] = true
	}
	return nil
}

// read gets every key at one revision (a single transaction) and applies the result.
func (s *state) read(ctx context.Context) (int64, error) {
	w := s.w
	rctx, cancel := context.WithTimeout(ctx, w.opts.ReadTimeout)
	defer cancel()
	ops := make([]clientv3.Op, len(w.opts.Keys))
	for i, k := range w.opts.Keys {
		ops[i] = clientv3.OpGet(k)
	}
	resp, err := w.opts.Client.Txn(rctx).Then(ops...).Commit()
	if err != nil {
		w.m.readErrors.Inc()
		return 0, fmt.Errorf("read collect keys: %w", err)
	}
	changed := false
	for i, r := range resp.Responses {
		k := w.opts.Keys[i]
		rr := r.GetResponseRange()
		if rr == nil || len(rr.Kvs) == 0 {
			changed = s.set(k, nil, false, 0) || changed
			continue
		}
		changed = s.set(k, rr.Kvs[0].Value, true, rr.Kvs[0].ModRevision) || changed
	}
	s.rev = resp.Header.Revision
	w.m.fromCache.Set(0)
	w.m.revision.Set(float64(s.rev))
	// A first read always reconciles, so the snapshot is applied even when it is empty.
	if changed || !s.everApply || s.pending {
		s.reconcile("etcd")
	}
	s.saveCache()
	return s.rev, nil
}

// readUntilOK retries read with exponential backoff and jitter; false when ctx ended.
func (s *state) readUntilOK(ctx context.Context, waitFirst bool) (int64, bool) {
	w := s.w
	delay := w.opts.MinBackoff
	for attempt := 0; ; attempt++ {
		if waitFirst || attempt > 0 {
			// Jitter spreads the retries of many agents after an etcd restart.
			d := delay/2 + rand.N(delay/2+1)
			t := time.NewTimer(d)
		wait:
			for {
				select {
				case <-ctx.Done():
					t.Stop()
					return 0, false
				case u := <-w.static:
					s.setStatic(u)
				case <-t.C:
					break wait
				}
			}
			delay = min(delay*2, w.opts.MaxBackoff)
		}
		rev, err := s.read(ctx)
		if err == nil {
			w.log.Info("collect keys read", "revision", rev, "attempts", attempt+1)
			return rev, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		w.log.Warn("etcd read failed; retrying", "attempt", attempt+1, "next_in", delay, "err", err)
	}
}

// set records a new value of key (exists=false: the key is absent or deleted, which means
// no entries). It reports whether the key's good value changed.
func (s *state) set(key string, value []byte, exists bool, modRev int64) bool {
	ks := s.keys[key]
	if !exists {
		if ks.entries == nil && ks.modRev == 0 {
			return false
		}
		ks.entries, ks.modRev = nil, 0
		s.cacheDirty = true
		return true
	}
	if modRev != 0 && modRev == ks.modRev {
		return false
	}
	list, err := parseValue(value, s.w.opts.AllowedPaths)
	if err != nil {
		if modRev != ks.rejectedRev {
			ks.rejectedRev = modRev
			s.w.log.Error("collect entries rejected; the key keeps its previous value",
				"key", key, "mod_revision", modRev, "reason", err)
			s.w.m.rejected.WithLabelValues(key).Inc()
		}
		return false
	}
	ks.entries, ks.modRev = list, modRev
	s.cacheDirty = true
	return true
}

// parseValue decodes one key's value. An empty value means no entries, like a deleted key.
func parseValue(value []byte, allowed []string) ([]entry.Entry, error) {
	if len(trimSpace(value)) == 0 {
		return nil, nil
	}
	return entry.ParseList(value, allowed)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// merged is the desired snapshot: static < keys in the order of collect_keys.
func (s *state) merged() []entry.Entry {
	lists := make([][]entry.Entry, 0, len(s.w.opts.Keys)+1)
	lists = append(lists, s.static)
	for _, k := range s.w.opts.Keys {
		lists = append(lists, s.keys[k].entries)
	}
	return entry.Merge(lists...)
}

// setStatic applies a SetStatic list; when the engine refuses the snapshot the previous
// list is put back, so the retry loop does not offer the refused one again.
func (s *state) setStatic(u staticUpdate) {
	prev := s.static
	s.static = u.entries
	err := s.reconcile("reload")
	if err != nil {
		s.static = prev
	}
	u.done <- err
}

// reconcile hands the merged snapshot to apply when it differs from the one running; the
// error is apply's, already logged and counted.
func (s *state) reconcile(source string) error {
	w := s.w
	next := s.merged()
	if s.everApply && !s.pending && equalLists(next, s.applied) {
		return nil
	}
	start := time.Now()
	if err := s.apply(next); err != nil {
		s.pending = true
		w.m.applyErrors.Inc()
		w.log.Error("applying collect entries failed; the previous entries keep running",
			"source", source, "entries", len(next), "err", err)
		return err
	}
	s.applied, s.pending, s.everApply = next, false, true
	w.m.applied.Inc()
	w.m.entries.Set(float64(len(next)))
	w.m.lastApplied.Set(float64(time.Now().UnixNano()) / 1e9)
	w.log.Info("collect entries applied", "source", source, "entries", len(next),
		"revision", s.rev, "took", time.Since(start))
	return nil
}

func (s *state) saveCache() {
	w := s.w
	if w.opts.CacheFile == "" || !s.cacheDirty {
		return
	}
	c := cacheFile{Revision: s.rev, Written: time.Now().UTC(), Keys: make(map[string][]entry.Entry, len(s.keys))}
	for k, ks := range s.keys {
		if ks.entries != nil {
			c.Keys[k] = ks.entries
		}
	}
	if err := writeCache(w.opts.CacheFile, c); err != nil {
		w.log.Warn("saving the entries cache failed", "err", err)
		return
	}
	s.cacheDirty = false
}

func equalLists(a, b []entry.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !entry.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

type watchMsg struct {
	key    string
	resp   clientv3.WatchResponse
	closed bool
}

// watch follows every key from rev+1 until a watch breaks or ctx ends. The client resumes
// a watch by itself across connection losses, from the last revision it delivered, so an
// etcd outage does not end it; compaction or cancellation does, and the caller re-reads.
func (s *state) watch(ctx context.Context, rev int64) error {
	w := s.w
	// WithRequireLeader cancels the watch when the member loses its leader, so a
	// partitioned member cannot keep an agent on stale entries silently.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	msgs := make(chan watchMsg)
	for _, k := range w.opts.Keys {
		wch := w.opts.Client.Watch(wctx, k, clientv3.WithRev(rev+1))
		wg.Go(func() {
			for resp := range wch {
				select {
				case msgs <- watchMsg{key: k, resp: resp}:
				case <-wctx.Done():
					return
				}
			}
			select {
			case msgs <- watchMsg{key: k, closed: true}:
			case <-wctx.Done():
			}
		})
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		if s.pending {
			// The engine refused the latest snapshot: offer it again even if etcd stays
			// quiet, since the cause (say, a full disk) may pass.
			retry.Reset(w.opts.MaxBackoff)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-retry.C:
			s.reconcile("retry")
			s.saveCache()
		case u := <-w.static:
			s.setStatic(u)
		case m := <-msgs:
			if m.closed {
				return fmt.Errorf("watch of %s closed", m.key)
			}
			if err := m.resp.Err(); err != nil {
				return fmt.Errorf("watch of %s: %w", m.key, err)
			}
			if m.resp.Canceled {
				return fmt.Errorf("watch of %s canceled", m.key)
			}
			changed := false
			for _, ev := range m.resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					changed = s.set(m.key, nil, false, ev.Kv.ModRevision) || changed
				} else {
					changed = s.set(m.key, ev.Kv.Value, true, ev.Kv.ModRevision) || changed
				}
			}
			if r := m.resp.Header.Revision; r > s.rev {
				s.rev = r
				w.m.revision.Set(float64(r))
			}
			if changed {
				s.reconcile("etcd")
				s.saveCache()
			}
		}
	}
}
