package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

// waitTimeout bounds every wait in these tests; reaching it fails the test.
const waitTimeout = 10 * time.Second

// rec is one event as the fake sink kept it.
type rec struct {
	Path, Line  string
	Offset, End int64
	Fields      map[string]string
	Topic, Host string
	Truncated   bool
	FileID      string
	Time        time.Time
	ReadTime    time.Time
	Format      string
}

// fakeSink keeps every event and acknowledges it, unless paused.
type fakeSink struct {
	mu     sync.Mutex
	recs   []rec
	notify chan struct{}
	hold   bool             // keep acks back (output down)
	block  bool             // Publish blocks until its context ends (output down, full)
	fails  int              // refuse this many batches with an error first
	held   []pipeline.Event // events not acked while hold is set
}

func newFakeSink() *fakeSink { return &fakeSink{notify: make(chan struct{}, 1)} }

func (s *fakeSink) Publish(ctx context.Context, batch []pipeline.Event) error {
	if s.block {
		<-ctx.Done()
		return ctx.Err()
	}
	s.mu.Lock()
	if s.fails > 0 {
		s.fails--
		s.mu.Unlock()
		return errors.New("output refused the batch")
	}
	for _, ev := range batch {
		s.recs = append(s.recs, rec{Path: ev.Path, Line: string(ev.Line), Offset: ev.Offset, End: ev.End,
			Fields: ev.Fields, Topic: ev.Topic, Host: ev.Host, Truncated: ev.Truncated, FileID: ev.FileID,
			Time: ev.Time, ReadTime: ev.ReadTime, Format: ev.Format})
	}
	hold := s.hold
	if hold {
		s.held = append(s.held, batch...)
	}
	s.mu.Unlock()
	if !hold {
		for _, ev := range batch {
			ev.Ack.Ack(ev.Offset, ev.End)
		}
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (s *fakeSink) snapshot() []rec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rec(nil), s.recs...)
}

// waitN waits until at least n events arrived and returns them all.
func (s *fakeSink) waitN(t *testing.T, n int) []rec {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		if got := s.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			got := s.snapshot()
			t.Fatalf("waited %s for %d events, got %d: %v", waitTimeout, n, len(got), linesOf(got))
		}
	}
}

func linesOf(rs []rec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Line
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, waitTimeout, what, cond)
}

// env is a file scenario: a directory, a store, a sink and an engine.
type env struct {
	t       *testing.T
	dir     string
	dataDir string
	cfg     Config
	sink    *fakeSink
	store   *checkpoint.Store
	eng     *Engine
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    chan error
}

func testConfig() Config {
	return Config{
		AgentID: "host1", MaxOpenFiles: 64, CloseInactive: time.Minute,
		CloseRemovedAfter: time.Minute, ShutdownTimeout: 2 * time.Second,
		ScanInterval: 200 * time.Millisecond, Watch: WatchAuto, CheckpointPrune: time.Hour,
		PollMin: 10 * time.Millisecond, PollMax: 50 * time.Millisecond,
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), dataDir: t.TempDir(), cfg: testConfig(), sink: newFakeSink()}
	return e
}

func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// start builds a fresh store and engine (as a restarted agent would) and runs entries.
func (e *env) start(entries ...entry.Entry) {
	e.t.Helper()
	st, err := checkpoint.Open(e.dataDir, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = st
	e.reg = prometheus.NewRegistry()
	var logger *slog.Logger
	if os.Getenv("TAIL_TEST_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eng, err := New(e.cfg, Deps{Sink: e.sink, Store: st, Registerer: e.reg, Logger: logger})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := eng.Update(entries); err != nil {
		e.t.Fatal(err)
	}
	e.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- eng.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

// stop ends the engine and writes the checkpoints, as the agent does.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitTimeout):
		e.t.Fatalf("engine did not stop within %s", waitTimeout)
	}
	if err := e.store.Flush(); err != nil {
		e.t.Errorf("flush: %v", err)
	}
}

func (e *env) write(name, s string) {
	e.t.Helper()
	if err := os.WriteFile(e.path(name), []byte(s), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) append(name, s string) {
	e.t.Helper()
	f, err := os.OpenFile(e.path(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) rename(from, to string) {
	e.t.Helper()
	if err := os.Rename(e.path(from), e.path(to)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) truncate(name string) {
	e.t.Helper()
	if err := os.Truncate(e.path(name), 0); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) remove(name string) {
	e.t.Helper()
	if err := os.Remove(e.path(name)); err != nil {
		e.t.Fatal(err)
	}
}

// numbered returns lines "<prefix> <i>\n" for i in [from, to].
func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// requireCheckpoint waits until the file's checkpoint reaches off.
func (e *env) requireCheckpoint(name string, off int64) {
	e.t.Helper()
	f, err := os.Open(e.path(name))
	if err != nil {
		e.t.Fatal(err)
	}
	id, _, err := fileid.Of(f, fileid.DefaultFingerprintBytes)
	f.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	var last int64 = -1
	deadline := time.Now().Add(waitTimeout)
	for {
		// All, not Get: Get reads the record after unlocking (reported to checkpoint).
		for _, st := range e.store.All() {
			if st.Key != id.Key() {
				continue
			}
			last = st.Offset
			if st.Offset == off {
				return
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("checkpoint of %s: want %d, last seen %d", name, off, last)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

func value(t *testing.T, m prometheus.Metric) float64 { return metrictest.Value(t, m) }

// requireLines checks the exact sequence of lines.
func requireLines(t *testing.T, got []rec, want ...string) {
	t.Helper()
	g := linesOf(got)
	if strings.Join(g, "|") != strings.Join(want, "|") {
		t.Fatalf("lines:\n got %q\nwant %q", g, want)
	}
}

func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
