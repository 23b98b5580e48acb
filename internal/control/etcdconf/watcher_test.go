package etcdconf

import (
	"bytes"
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
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	globalKey = "collect_log_conf"
	hostKey   = "collect_log_10.0.0.1_conf"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a Watcher and records every applied snapshot.
type harness struct {
	t       *testing.T
	w       *Watcher
	reg     *prometheus.Registry
	logs    *syncBuffer
	applied chan []entry.Entry
	failN   int // fail this many apply calls first
	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), logs: &syncBuffer{}, applied: make(chan []entry.Entry, 64)}
	opts.Registerer = h.reg
	opts.Logger = slog.New(slog.NewTextHandler(h.logs, nil))
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 20 * time.Millisecond
		opts.MaxBackoff = 200 * time.Millisecond
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = time.Second
	}
	w, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.w = w
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() {
		h.done <- h.w.Run(ctx, func(list []entry.Entry) error {
			h.mu.Lock()
			fail := h.failN > 0
			if fail {
				h.failN--
			}
			h.mu.Unlock()
			if fail {
				return errors.New("engine refused")
			}
			h.applied <- list
			return nil
		})
	}()
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Error("Run did not return within 5s of cancel")
	}
}

// next waits for the next applied snapshot.
func (h *harness) next(within time.Duration) []entry.Entry {
	h.t.Helper()
	select {
	case l := <-h.applied:
		return l
	case <-time.After(within):
		h.t.Fatalf("no snapshot applied within %v; logs:\n%s", within, h.logs)
		return nil
	}
}

// none asserts that nothing is applied for a while (used after a rejected change, where
// the assertion is about absence; the wait is bounded and short).
func (h *harness) none(within time.Duration) {
	h.t.Helper()
	select {
	case l := <-h.applied:
		h.t.Fatalf("unexpected snapshot applied: %v", paths(l))
	case <-time.After(within):
	}
}

func paths(list []entry.Entry) string {
	var b []string
	for _, e := range list {
		b = append(b, e.Path+"→"+e.Topic)
	}
	return strings.Join(b, ",")
}

func put(t *testing.T, cli *clientv3.Client, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, val); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func del(t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Delete(ctx, key); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

func TestRunMergesStaticGlobalAndHostKeys(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	put(t, cli, globalKey, `[{"path":"/var/log/a.log","topic":"global_a"},{"path":"/var/log/b.log","topic":"global_b"}]`)
	put(t, cli, hostKey, `[{"path":"/var/log/b.log","topic":"host_b"}]`)
	h := newHarness(t, Options{
		Client: cli,
		Keys:   []string{globalKey, hostKey},
		Static: []entry.Entry{{Path: "/var/log/a.log", Topic: "static_a"}, {Path: "/var/log/s.log", Topic: "static_s"}},
	})
	h.start()
	got := paths(h.next(2 * time.Second))
	want := "/var/log/a.log→global_a,/var/log/b.log→host_b,/var/log/s.log→static_s"
	if got != want {
		t.Fatalf("snapshot = %s, want %s", got, want)
	}
}

func TestRunFollowsChanges(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey, hostKey}, CacheFile: filepath.Join(t.TempDir(), CacheFileName)})
	h.start()
	if got := h.next(2 * time.Second); len(got) != 0 {
		t.Fatalf("first snapshot = %s, want empty", paths(got))
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"original format added", func() { put(t, cli, globalKey, `[{"path":"/var/log/a.log","topic":"a_log"}]`) }, "/var/log/a.log→a_log"},
		{"topic changed", func() { put(t, cli, globalKey, `[{"path":"/var/log/a.log","topic":"a2_log"}]`) }, "/var/log/a.log→a2_log"},
		{"host key overrides", func() { put(t, cli, hostKey, `[{"path":"/var/log/a.log","topic":"host_a"}]`) }, "/var/log/a.log→host_a"},
		{"host key deleted", func() { del(t, cli, hostKey) }, "/var/log/a.log→a2_log"},
		{"empty value means none", func() { put(t, cli, globalKey, ` `) }, ""},
	}
	for _, st := range steps {
		start := time.Now()
		st.do()
		got := paths(h.next(time.Second))
		if got != st.want {
			t.Fatalf("%s: snapshot = %s, want %s", st.name, got, st.want)
		}
		t.Logf("%s: applied after %v", st.name, time.Since(start))
	}
	// The cache follows the last good value of each key (written just after apply).
	var c cacheFile
	waitFor(t, time.Second, func() bool {
		var err error
		c, err = readCache(h.w.opts.CacheFile)
		return err == nil && len(c.Keys) == 0 && c.Revision >= 6
	}, "cache with no keys at the latest revision")
}

func TestRunRejectsInvalidValuesAndKeepsPrevious(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	good := `[{"path":"/var/log/app/a.log","topic":"a_log"}]`
	put(t, cli, globalKey, good)
	put(t, cli, hostKey, `[{"path":"/var/log/app/h.log","topic":"h_log"}]`)
	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey, hostKey}, AllowedPaths: []string{"/var/log/app/**"}})
	h.start()
	want := "/var/log/app/a.log→a_log,/var/log/app/h.log→h_log"
	if got := paths(h.next(2 * time.Second)); got != want {
		t.Fatalf("first snapshot = %s, want %s", got, want)
	}
	bad := []struct {
		name, value, reason string
	}{
		{"bad json", `[{"path":"/var/log/app/a.log","topic":`, "decode entries"},
		{"missing topic", `[{"path":"/var/log/app/a.log"}]`, "topic: required"},
		{"unknown field", `[{"path":"/var/log/app/a.log","topic":"t","colour":"red"}]`, "unknown field"},
		{"path not allowed", `[{"path":"/etc/shadow","topic":"t"}]`, "outside agent.allowed_paths"},
		{"bad regex", `[{"path":"/var/log/app/a.log","topic":"t","include_lines":["("]}]`, "include_lines"},
		{"one bad entry rejects all", `[{"path":"/var/log/app/z.log","topic":"z"},{"path":"relative.log","topic":"t"}]`, "must be absolute"},
	}
	for i, b := range bad {
		put(t, cli, globalKey, b.value)
		waitFor(t, time.Second, func() bool {
			return metrictest.Value(t, h.w.m.rejected.WithLabelValues(globalKey)) == float64(i+1)
		}, b.name+": rejected counter")
		logs := h.logs.String()
		if !strings.Contains(logs, "key="+globalKey) || !strings.Contains(logs, b.reason) {
			t.Fatalf("%s: log lacks key and reason %q:\n%s", b.name, b.reason, logs)
		}
	}
	h.none(100 * time.Millisecond)
	if n := metrictest.Value(t, h.w.m.rejected.WithLabelValues(hostKey)); n != 0 {
		t.Fatalf("host key rejected %v times, want 0", n)
	}
	// The host key changes while the global key holds a bad value: the global key's last
	// good value stays in the snapshot.
	put(t, cli, hostKey, `[{"path":"/var/log/app/h.log","topic":"h2_log"}]`)
	if got, want := paths(h.next(time.Second)), "/var/log/app/a.log→a_log,/var/log/app/h.log→h2_log"; got != want {
		t.Fatalf("snapshot after host change = %s, want %s", got, want)
	}
	put(t, cli, globalKey, `[{"path":"/var/log/app/a.log","topic":"fixed"}]`)
	if got, want := paths(h.next(time.Second)), "/var/log/app/a.log→fixed,/var/log/app/h.log→h2_log"; got != want {
		t.Fatalf("snapshot after fix = %s, want %s", got, want)
	}
}

func TestRunSurvivesOutageAndStartsFromCache(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	cache := filepath.Join(t.TempDir(), "data", CacheFileName)
	put(t, cli, globalKey, `[{"path":"/var/log/a.log","topic":"a_log"}]`)

	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey}, CacheFile: cache})
	h.start()
	if got := paths(h.next(2 * time.Second)); got != "/var/log/a.log→a_log" {
		t.Fatalf("first snapshot = %s", got)
	}
	// Outage while running: the watch resumes by itself and misses nothing.
	srv.Stop()
	h.none(300 * time.Millisecond)
	srv.Restart()
	put(t, cli, globalKey, `[{"path":"/var/log/b.log","topic":"b_log"}]`)
	if got := paths(h.next(5 * time.Second)); got != "/var/log/b.log→b_log" {
		t.Fatalf("snapshot after outage = %s", got)
	}
	h.stop()

	// A new agent starting while etcd is down runs on the cache.
	srv.Stop()
	h2 := newHarness(t, Options{Client: cli, Keys: []string{globalKey}, CacheFile: cache, ReadTimeout: 200 * time.Millisecond})
	h2.start()
	if got := paths(h2.next(3 * time.Second)); got != "/var/log/b.log→b_log" {
		t.Fatalf("snapshot from cache = %s", got)
	}
	if v := metrictest.Value(t, h2.w.m.fromCache); v != 1 {
		t.Fatalf("from_cache = %v, want 1", v)
	}
	srv.Restart()
	put(t, cli, globalKey, `[{"path":"/var/log/c.log","topic":"c_log"}]`)
	if got := paths(h2.next(5 * time.Second)); got != "/var/log/c.log→c_log" {
		t.Fatalf("snapshot after etcd came back = %s", got)
	}
	if v := metrictest.Value(t, h2.w.m.fromCache); v != 0 {
		t.Fatalf("from_cache = %v, want 0", v)
	}
}

func TestRunCacheKeepsKeyWhoseValueIsInvalidAtStart(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	cache := filepath.Join(t.TempDir(), CacheFileName)
	if err := writeCache(cache, cacheFile{Revision: 1, Keys: map[string][]entry.Entry{
		globalKey: {{Path: "/var/log/a.log", Topic: "cached"}},
	}}); err != nil {
		t.Fatal(err)
	}
	put(t, cli, globalKey, `not json`)
	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey}, CacheFile: cache})
	h.start()
	if got := paths(h.next(2 * time.Second)); got != "/var/log/a.log→cached" {
		t.Fatalf("snapshot = %s, want the cached value", got)
	}
}

func TestRunStaticOnlyWithoutEtcd(t *testing.T) {
	h := newHarness(t, Options{Static: []entry.Entry{{Path: "/var/log/s.log", Topic: "s"}}})
	h.start()
	if got := paths(h.next(time.Second)); got != "/var/log/s.log→s" {
		t.Fatalf("snapshot = %s", got)
	}
}

func TestSetStaticReplacesStaticEntries(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		etcd bool
	}{{"without etcd", false}, {"merged with etcd", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Static: []entry.Entry{{Path: "/var/log/s.log", Topic: "s"}}, AllowedPaths: []string{"/var/log/**"}}
			want := "/var/log/s.log→s"
			if tc.etcd {
				cli := etcdtest.Start(t).Client()
				put(t, cli, globalKey, `[{"path":"/var/log/e.log","topic":"e"}]`)
				opts.Client, opts.Keys = cli, []string{globalKey}
				want = "/var/log/e.log→e," + want
			}
			h := newHarness(t, opts)
			h.start()
			if got := paths(h.next(2 * time.Second)); got != want {
				t.Fatalf("first snapshot = %s, want %s", got, want)
			}
			// Invalid lists are refused before Run sees them; nothing is applied.
			if err := h.w.SetStatic(ctx, []entry.Entry{{Path: "/etc/passwd", Topic: "x"}}); err == nil || !strings.Contains(err.Error(), "agent.collect") {
				t.Fatalf("SetStatic outside allowed_paths: err = %v, want an agent.collect error", err)
			}
			next := []entry.Entry{{Path: "/var/log/t.log", Topic: "t"}}
			if err := h.w.SetStatic(ctx, next); err != nil {
				t.Fatalf("SetStatic: %v", err)
			}
			// SetStatic returned after apply: the snapshot is already in the channel.
			got := paths(h.next(time.Second))
			if want := strings.Replace(want, "/var/log/s.log→s", "/var/log/t.log→t", 1); got != want {
				t.Fatalf("after SetStatic: %s, want %s", got, want)
			}
		})
	}
}

func TestSetStaticRefusedByEngineKeepsPrevious(t *testing.T) {
	h := newHarness(t, Options{Static: []entry.Entry{{Path: "/var/log/s.log", Topic: "s"}}})
	h.start()
	h.next(time.Second)
	h.mu.Lock()
	h.failN = 1
	h.mu.Unlock()
	if err := h.w.SetStatic(context.Background(), []entry.Entry{{Path: "/var/log/t.log", Topic: "t"}}); err == nil {
		t.Fatal("SetStatic: want the engine's refusal")
	}
	// The refused list is not the static list any more: a later valid one applies alone.
	if err := h.w.SetStatic(context.Background(), []entry.Entry{{Path: "/var/log/u.log", Topic: "u"}}); err != nil {
		t.Fatalf("SetStatic: %v", err)
	}
	if got := paths(h.next(time.Second)); got != "/var/log/u.log→u" {
		t.Fatalf("snapshot = %s", got)
	}
}

func TestRunRetriesFailedApply(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	put(t, cli, globalKey, `[{"path":"/var/log/a.log","topic":"a"}]`)
	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	h.failN = 2
	h.start()
	if got := paths(h.next(2 * time.Second)); got != "/var/log/a.log→a" {
		t.Fatalf("snapshot = %s", got)
	}
	if n := metrictest.Value(t, h.w.m.applyErrors); n != 2 {
		t.Fatalf("apply errors = %v, want 2", n)
	}
}

func TestWatchReportsCompaction(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	for i := range 5 {
		put(t, cli, globalKey, fmt.Sprintf(`[{"path":"/var/log/a.log","topic":"t%d"}]`, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, globalKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{Client: cli, Keys: []string{globalKey}})
	s := &state{w: h.w, apply: func([]entry.Entry) error { return nil }, keys: map[string]*keyState{globalKey: {}}}
	err = s.watch(ctx, 1)
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("watch from a compacted revision: err = %v, want ErrCompacted", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"client without keys", Options{Client: &clientv3.Client{}}, "no collect keys"},
		{"bad static entry", Options{Static: []entry.Entry{{Path: "/a"}}}, "topic: required"},
		{"static outside allowlist", Options{Static: []entry.Entry{{Path: "/a", Topic: "t"}}, AllowedPaths: []string{"/var/**"}}, "allowed_paths"},
		{"static twice", Options{Static: []entry.Entry{{Path: "/a", Topic: "t"}, {Path: "/a", Topic: "u"}}}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestWriteCacheIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", CacheFileName)
	for i := range 3 {
		c := cacheFile{Revision: int64(i), Keys: map[string][]entry.Entry{"k": {{Path: "/a", Topic: fmt.Sprint(i)}}}}
		if err := writeCache(path, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readCache(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != 2 || got.Keys["k"][0].Topic != "2" {
		t.Fatalf("cache = %+v", got)
	}
	left, _ := os.ReadDir(filepath.Dir(path))
	if len(left) != 1 {
		t.Fatalf("files left in cache dir: %v, want only the cache", left)
	}
}

func waitFor(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	await.Until(t, within, what, cond)
}
