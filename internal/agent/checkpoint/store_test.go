package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/agent/fileid"
	"github.com/logcollect/logcollect/internal/testing/await"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, 5*time.Second, what, cond)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := mustOpen(t, dir)
	if got := s.All(); len(got) != 0 {
		t.Fatalf("new store has %d states", len(got))
	}
	states := []State{
		{Key: "2049:12:abcd", Path: "/var/log/b.log", Offset: 1 << 40, Size: 1<<40 + 5, Fingerprint: "abcd", FingerprintLen: 1024, Updated: t0},
		{Key: "2049:11:", Path: "/var/log/a log ünïcode.log", Offset: 7, Size: 7, Fingerprint: "ef01", FingerprintLen: 7, Updated: t0.Add(time.Second)},
		{Key: "2049:13:", Path: "/var/log/empty.log", Updated: t0.In(time.FixedZone("X", 3600))},
	}
	for _, st := range states {
		s.Set(st)
	}
	s.Set(State{Key: "gone", Updated: t0})
	s.Delete("gone")
	s.Delete("never there")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("registry mode %v, want 0600", fi.Mode().Perm())
	}
	var raw struct {
		Version int               `json:"version"`
		Files   []json.RawMessage `json:"files"`
	}
	data, _ := os.ReadFile(s.Path())
	if err := json.Unmarshal(data, &raw); err != nil || raw.Version != 1 || len(raw.Files) != 3 {
		t.Fatalf("registry %s: version %d, %d files, err %v", data, raw.Version, len(raw.Files), err)
	}

	re := mustOpen(t, dir)
	got := re.All()
	if len(got) != len(states) {
		t.Fatalf("reopened store has %d states, want %d", len(got), len(states))
	}
	for _, want := range states {
		st, ok := re.Get(want.Key)
		if !ok {
			t.Errorf("%s missing after reopen", want.Key)
			continue
		}
		if !sameState(st, want) {
			t.Errorf("%s: got %+v, want %+v", want.Key, st, want)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Key >= got[i].Key {
			t.Errorf("All() not sorted: %q before %q", got[i-1].Key, got[i].Key)
		}
	}
}

// TestStoreFlushOnlyWhenChanged removes the registry behind the store's back: a flush that
// writes would bring it back.
func TestStoreFlushOnlyWhenChanged(t *testing.T) {
	st := State{Key: "1:2:", Path: "/a", Offset: 10, Updated: t0}
	tests := []struct {
		name   string
		change func(s *Store)
		writes bool
	}{
		{"nothing", func(*Store) {}, false},
		{"same state again", func(s *Store) { s.Set(st) }, false},
		{"same time, other zone", func(s *Store) { st := st; st.Updated = t0.Local(); s.Set(st) }, false},
		{"get and all", func(s *Store) { s.Get(st.Key); s.All() }, false},
		{"delete missing key", func(s *Store) { s.Delete("nope") }, false},
		{"prune nothing", func(s *Store) { s.Prune(time.Hour, t0) }, false},
		{"offset moved", func(s *Store) { st := st; st.Offset++; s.Set(st) }, true},
		{"updated refreshed", func(s *Store) { st := st; st.Updated = t0.Add(time.Second); s.Set(st) }, true},
		{"new key", func(s *Store) { s.Set(State{Key: "other"}) }, true},
		{"delete", func(s *Store) { s.Delete(st.Key) }, true},
		{"prune", func(s *Store) { s.Prune(time.Hour, t0.Add(2*time.Hour)) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, t.TempDir())
			s.Set(st)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(s.Path()); err != nil {
				t.Fatal(err)
			}
			tt.change(s)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := exists(s.Path()); got != tt.writes {
				t.Errorf("registry written = %v, want %v", got, tt.writes)
			}
		})
	}
}

func TestStoreCorruptRegistry(t *testing.T) {
	valid := `{"version":1,"files":[{"key":"1:2:","path":"/a","offset":5,"size":5,"fingerprint":"","fingerprint_len":0,"updated":"2026-11-25T12:00:00Z"}]}`
	tests := []struct {
		name    string
		content string
		dir     bool // registry.json is a directory
	}{
		{name: "bad json", content: "{not json"},
		{name: "truncated", content: valid[:len(valid)/2]},
		{name: "empty file", content: ""},
		{name: "wrong version", content: strings.Replace(valid, `"version":1`, `"version":2`, 1)},
		{name: "no version", content: `{"files":[]}`},
		{name: "not an object", content: `[1,2,3]`},
		{name: "trailing garbage", content: valid + "xx"},
		{name: "two objects", content: valid + valid},
		{name: "negative offset", content: strings.Replace(valid, `"offset":5`, `"offset":-5`, 1)},
		{name: "missing key", content: strings.Replace(valid, `"key":"1:2:"`, `"key":""`, 1)},
		{name: "duplicate key", content: `{"version":1,"files":[{"key":"a"},{"key":"a"}]}`},
		{name: "wrong type", content: strings.Replace(valid, `"offset":5`, `"offset":"5"`, 1)},
		{name: "binary", content: "\x00\xff\xfe garbage"},
		{name: "directory", dir: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, RegistryFile)
			if tt.dir {
				if err := os.Mkdir(path, 0o750); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			logger, logs := testLogger()
			s, err := Open(dir, logger)
			if err != nil {
				t.Fatalf("Open: %v (a corrupt registry must not stop the agent)", err)
			}
			if n := len(s.All()); n != 0 {
				t.Errorf("store has %d states, want an empty start", n)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("moved-aside files %v, want one", aside)
			}
			if !tt.dir {
				if got, _ := os.ReadFile(aside[0]); string(got) != tt.content {
					t.Errorf("moved-aside content %q, want the original %q", got, tt.content)
				}
			}
			if exists(path) {
				t.Errorf("%s still there", path)
			}
			out := logs.String()
			for _, want := range []string{"level=WARN", "corrupt", path, aside[0]} {
				if !strings.Contains(out, want) {
					t.Errorf("log %q does not contain %q", out, want)
				}
			}
			// The store works normally afterwards.
			s.Set(State{Key: "k", Offset: 1})
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if st, ok := mustOpen(t, dir).Get("k"); !ok || st.Offset != 1 {
				t.Errorf("after recovery: %+v, %v", st, ok)
			}
		})
	}
}

func TestStoreCorruptTwiceInOneSecond(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, RegistryFile)
	for i := range 3 {
		if err := os.WriteFile(path, []byte(fmt.Sprintf("garbage %d", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		mustOpen(t, dir)
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 3 {
		t.Errorf("moved-aside files %v, want 3 (none overwritten)", aside)
	}
}

func TestStoreOpenErrors(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("Open(%s) err = %v, want an error naming the dir", dir, err)
		}
	}
}

func TestStoreOpenRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, RegistryFile+".tmp-12345")
	if err := os.WriteFile(stale, []byte(`{"version":1,"fil`), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "entries.json") // someone else's file in data_dir
	if err := os.WriteFile(other, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir)
	if exists(stale) {
		t.Errorf("stale %s left behind", stale)
	}
	if !exists(other) {
		t.Errorf("%s removed", other)
	}
}

func TestStorePrune(t *testing.T) {
	now := t0
	s := mustOpen(t, t.TempDir())
	ages := map[string]time.Duration{
		"fresh":        0,
		"hour":         time.Hour,
		"just inside":  72*time.Hour - time.Nanosecond,
		"at horizon":   72 * time.Hour,
		"just outside": 72*time.Hour + time.Nanosecond,
		"week":         7 * 24 * time.Hour,
	}
	for k, age := range ages {
		s.Set(State{Key: k, Updated: now.Add(-age)})
	}
	s.Set(State{Key: "never updated"})
	if n := s.Prune(72*time.Hour, now); n != 3 {
		t.Errorf("Prune removed %d, want 3", n)
	}
	for _, k := range []string{"fresh", "hour", "just inside", "at horizon"} {
		if _, ok := s.Get(k); !ok {
			t.Errorf("%q pruned", k)
		}
	}
	for _, k := range []string{"just outside", "week", "never updated"} {
		if _, ok := s.Get(k); ok {
			t.Errorf("%q kept", k)
		}
	}
	if n := s.Prune(72*time.Hour, now); n != 0 {
		t.Errorf("second Prune removed %d", n)
	}
}

func TestStoreLookup(t *testing.T) {
	const n = 16
	long := "0123456789abcdef and the rest of a long file\n"
	short := "0123456\n"
	reused := "XYZ4567\nother!"
	prefixOf := func(s string) fileid.Prefix {
		p, err := fileid.ReadPrefix(strings.NewReader(s), n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := fileid.ID{Dev: 1, Ino: 2, Fingerprint: prefixOf(long).Sum}
	shortID := fileid.ID{Dev: 1, Ino: 2}
	stateFor := func(key, content string, offset int64) State {
		p := prefixOf(content)
		return State{Key: key, Path: "/x.log", Offset: offset, Fingerprint: p.Sum, FingerprintLen: p.Len, Updated: t0}
	}
	tests := []struct {
		name       string
		stored     []State
		id         fileid.ID
		now        string // the file's content now
		wantOK     bool
		wantOffset int64
		wantKey    string // key the state is stored under afterwards
		goneKey    string // key that must no longer exist
	}{
		{name: "nothing stored", id: full, now: long},
		{name: "full key", stored: []State{stateFor(full.Key(), long, 30)}, id: full, now: long, wantOK: true, wantOffset: 30, wantKey: full.Key()},
		{name: "other inode, same start", stored: []State{stateFor("1:3:"+full.Fingerprint, long, 30)}, id: full, now: long},
		{name: "short file still short", stored: []State{stateFor(shortID.Key(), short, 8)}, id: shortID, now: short + "ab", wantOK: true, wantOffset: 8, wantKey: shortID.Key()},
		{name: "short file grew past n: rekeyed", stored: []State{stateFor(shortID.Key(), short, 8)}, id: fileid.ID{Dev: 1, Ino: 2, Fingerprint: prefixOf(short + "89abcdefgh").Sum}, now: short + "89abcdefgh", wantOK: true, wantOffset: 8, wantKey: "1:2:" + prefixOf(short+"89abcdefgh").Sum, goneKey: shortID.Key()},
		{name: "inode reused by another short file", stored: []State{stateFor(shortID.Key(), short, 8)}, id: shortID, now: reused},
		{name: "inode reused by another long file", stored: []State{stateFor(shortID.Key(), short, 8)}, id: full, now: long, wantKey: shortID.Key()},
		{name: "short file truncated", stored: []State{stateFor(shortID.Key(), short, 8)}, id: shortID, now: "012"},
		{name: "empty at open, read since: prefix does not cover offset", stored: []State{stateFor(shortID.Key(), "", 8)}, id: shortID, now: short},
		{name: "empty prefix, offset 0", stored: []State{stateFor(shortID.Key(), "", 0)}, id: shortID, now: short, wantOK: true, wantOffset: 0, wantKey: shortID.Key()},
		{name: "full key preferred over short key", stored: []State{stateFor(shortID.Key(), short, 3), stateFor(full.Key(), long, 40)}, id: full, now: long, wantOK: true, wantOffset: 40, wantKey: full.Key()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := testLogger()
			s, err := Open(t.TempDir(), logger)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tt.stored {
				s.Set(st)
			}
			st, ok, err := s.Lookup(tt.id, prefixOf(tt.now), strings.NewReader(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("Lookup ok = %v (%+v), want %v", ok, st, tt.wantOK)
			}
			if ok && st.Offset != tt.wantOffset {
				t.Errorf("offset %d, want %d", st.Offset, tt.wantOffset)
			}
			if ok && st.Key != tt.wantKey {
				t.Errorf("returned key %q, want %q", st.Key, tt.wantKey)
			}
			if tt.wantKey != "" {
				if stored, found := s.Get(tt.wantKey); !found || (ok && stored != st) {
					t.Errorf("stored under %q: %+v %v, want %+v", tt.wantKey, stored, found, st)
				}
			}
			if tt.goneKey != "" {
				if _, found := s.Get(tt.goneKey); found {
					t.Errorf("%q still stored", tt.goneKey)
				}
			}
		})
	}
}

func TestStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				key := fmt.Sprintf("w%d-%d", w, i%20)
				s.Set(State{Key: key, Offset: int64(i), Updated: t0})
				s.Get(key)
				if i%50 == 0 {
					if err := s.Flush(); err != nil {
						t.Error(err)
					}
					s.All()
				}
			}
		})
	}
	wg.Wait()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	re := mustOpen(t, dir)
	if got := len(re.All()); got != workers*20 {
		t.Fatalf("%d states after reopen, want %d", got, workers*20)
	}
	for w := range workers {
		for k := range 20 {
			key := fmt.Sprintf("w%d-%d", w, k)
			want := int64(perWorker - 20 + k)
			if st, _ := re.Get(key); st.Offset != want {
				t.Errorf("%s: offset %d, want %d", key, st.Offset, want)
			}
		}
	}
}

func TestStoreRun(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 5*time.Millisecond) }()

	s.Set(State{Key: "a", Offset: 1})
	eventually(t, "a periodic flush", func() bool {
		st, ok := mustOpen(t, dir).Get("a")
		return ok && st.Offset == 1
	})
	// The change made right before shutdown is in the final write.
	s.Set(State{Key: "a", Offset: 2})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st, _ := mustOpen(t, dir).Get("a"); st.Offset != 2 {
		t.Errorf("after Run returned: offset %d, want 2 (final flush)", st.Offset)
	}
}

func TestStoreRunSurvivesFailedFlush(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	logger, logs := testLogger()
	s, err := Open(dir, logger)
	if err != nil {
		t.Fatal(err)
	}
	s.Set(State{Key: "a", Offset: 1})
	// Take the directory away: writes fail until it is back.
	if err := os.Rename(dir, dir+".away"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 5*time.Millisecond) }()
	eventually(t, "a logged write failure", func() bool { return strings.Contains(logs.String(), "checkpoint write failed") })
	select {
	case err := <-done:
		t.Fatalf("Run returned %v after a failed periodic write", err)
	default:
	}
	if err := os.Rename(dir+".away", dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retried write", func() bool { return exists(s.Path()) })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := s.Run(t.Context(), 0); err == nil {
		t.Error("Run with interval 0: want an error")
	}
}

func statRegistry(s *Store) (int64, error) {
	fi, err := os.Stat(s.Path())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// TestStoreIncrementalFlush: flushes reuse the encoding of unchanged files and the sorted
// order of an unchanged key set; after random changes between flushes, the registry on disk
// must still equal the store's content exactly.
func TestStoreIncrementalFlush(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	r := rand.New(rand.NewPCG(11, 12))
	model := map[string]State{}
	for round := range 30 {
		for range r.IntN(40) {
			key := "k" + strconv.Itoa(r.IntN(60))
			switch r.IntN(4) {
			case 0:
				s.Delete(key)
				delete(model, key)
			default:
				st := State{Key: key, Path: "/p/" + key, Offset: r.Int64N(1000), Updated: t0.Add(time.Duration(r.IntN(3)) * time.Second)}
				s.Set(st)
				model[key] = st
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		var reg registry
		if err := json.Unmarshal(data, &reg); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got := reg.Files
		if len(got) != len(model) {
			t.Fatalf("round %d: %d states on disk, want %d", round, len(got), len(model))
		}
		for i, st := range got {
			if want := model[st.Key]; !sameState(st, want) {
				t.Fatalf("round %d: on disk %+v, want %+v", round, st, want)
			}
			if i > 0 && got[i-1].Key >= st.Key {
				t.Fatalf("round %d: registry not sorted at %q", round, st.Key)
			}
		}
	}
}

func TestStoreMoveBack(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.Set(State{Key: "1:2:ab", Path: "/var/log/a.log", Offset: 5000, Size: 6000})
	tests := []struct {
		name   string
		key    string
		offset int64
		ok     bool
		want   int64 // the offset afterwards
	}{
		{"unknown key", "9:9:", 0, false, 5000},
		{"not ahead", "1:2:ab", 5000, false, 5000},
		{"beyond", "1:2:ab", 7000, false, 5000},
		{"negative", "1:2:ab", -1, false, 5000},
		{"ahead", "1:2:ab", 1200, true, 1200},
		{"ahead to zero", "1:2:ab", 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.Get("1:2:ab")
			got, ok := s.MoveBack(tt.key, tt.offset)
			if ok != tt.ok {
				t.Fatalf("MoveBack(%s, %d) ok = %v, want %v", tt.key, tt.offset, ok, tt.ok)
			}
			if ok && got != before {
				t.Fatalf("MoveBack returned %+v, want the state before %+v", got, before)
			}
			if st, _ := s.Get("1:2:ab"); st.Offset != tt.want || st.Path != "/var/log/a.log" || st.Size != 6000 {
				t.Fatalf("state after = %+v, want offset %d and the rest unchanged", st, tt.want)
			}
		})
	}
	// The move is durable: the next Open (the agent's) resumes there.
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, ok := mustOpen(t, dir).Get("1:2:ab"); !ok || st.Offset != 0 {
		t.Fatalf("after reopen: %+v, %v; want offset 0", st, ok)
	}
}
