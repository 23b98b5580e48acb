package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// openLogged opens the store in dir with a logger whose output the test can read.
func openLogged(t *testing.T, dir string) (*Store, *syncBuffer) {
	t.Helper()
	logger, logs := testLogger()
	s, err := Open(dir, logger)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s, logs
}

func mustJournal(t *testing.T, s *Store) {
	t.Helper()
	if err := s.WriteJournal(); err != nil {
		t.Fatalf("WriteJournal: %v", err)
	}
}

func offsets(s *Store) map[string]int64 {
	m := map[string]int64{}
	for _, st := range s.All() {
		m[st.Key] = st.Offset
	}
	return m
}

// A store that only journaled (a kill before the next registry write) comes back with the
// journaled states, deletions included, and folds them into the registry.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.Set(State{Key: "a", Path: "/a", Offset: 1, Size: 10, Fingerprint: "ff", FingerprintLen: 1024, Updated: t0})
	s.Set(State{Key: "b", Path: "/b", Offset: 2})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Set(State{Key: "a", Path: "/a", Offset: 5, Size: 10, Fingerprint: "ff", FingerprintLen: 1024, Updated: t0})
	mustJournal(t, s)
	s.Delete("b")
	s.Set(State{Key: "c", Path: "/c", Offset: 7})
	mustJournal(t, s)
	mustJournal(t, s) // nothing changed: no frame
	if n := s.stats.journalWrites.Load(); n != 2 {
		t.Fatalf("%d journal writes, want 2 (an unchanged store appends nothing)", n)
	}

	s2, logs := openLogged(t, dir) // s is abandoned as a killed process would leave it
	if got, want := offsets(s2), map[string]int64{"a": 5, "c": 7}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after replay: %v, want %v", got, want)
	}
	a, _ := s2.Get("a")
	if want := (State{Key: "a", Path: "/a", Offset: 5, Size: 10, Fingerprint: "ff", FingerprintLen: 1024, Updated: t0}); !reflect.DeepEqual(a, want) {
		t.Fatalf("replayed state %+v, want %+v", a, want)
	}
	if !strings.Contains(logs.String(), "checkpoint journal replayed") {
		t.Fatalf("no replay logged:\n%s", logs)
	}
	// Replayed states were folded into the registry: the registry alone holds them.
	if err := os.Remove(filepath.Join(dir, JournalFile)); err != nil {
		t.Fatal(err)
	}
	if got := offsets(mustOpen(t, dir)); !reflect.DeepEqual(got, map[string]int64{"a": 5, "c": 7}) {
		t.Fatalf("registry after the fold: %v", got)
	}
}

// A frame cut anywhere (a kill in the middle of the write) or with any byte changed is
// ignored with everything after it; the frames before it are applied, and the store
// appends to a clean journal afterwards.
func TestJournalTornFrame(t *testing.T) {
	base := t.TempDir()
	s := mustOpen(t, base)
	s.Set(State{Key: "a", Offset: 1})
	mustJournal(t, s)
	jpath := filepath.Join(base, JournalFile)
	good, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	s.Set(State{Key: "a", Offset: 2, Path: "/var/log/a.log"})
	s.Set(State{Key: "b", Offset: 3})
	mustJournal(t, s)
	full, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	registry, err := os.ReadFile(filepath.Join(base, RegistryFile))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	variants := map[string][]byte{}
	for cut := len(good); cut < len(full); cut++ {
		variants["cut at "+strconv.Itoa(cut)] = full[:cut]
	}
	for i := len(good); i < len(full); i++ {
		flipped := append([]byte(nil), full...)
		flipped[i] ^= 0x40
		variants["byte "+strconv.Itoa(i)+" changed"] = flipped
	}
	for name, data := range variants {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if registry != nil {
				if err := os.WriteFile(filepath.Join(dir, RegistryFile), registry, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, JournalFile), data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, logs := openLogged(t, dir)
			reg := prometheus.NewPedanticRegistry()
			if err := s.Register(reg); err != nil {
				t.Fatal(err)
			}
			if got := offsets(s); !reflect.DeepEqual(got, map[string]int64{"a": 1}) {
				t.Fatalf("states %v, want only the intact frame's a=1", got)
			}
			if len(data) > len(good) && !strings.Contains(logs.String(), "torn or corrupt frame") {
				t.Fatalf("torn frame not reported:\n%s", logs)
			}
			if got := gather(t, reg)["logcollect_checkpoint_journal_torn_total"]; len(data) > len(good) && got != 1 {
				t.Fatalf("journal_torn_total = %v, want 1", got)
			}
			// Appending after the torn frame must not hide the new frame behind it.
			s.Set(State{Key: "z", Offset: 9})
			mustJournal(t, s)
			if got := offsets(mustOpen(t, dir)); !reflect.DeepEqual(got, map[string]int64{"a": 1, "z": 9}) {
				t.Fatalf("after a new frame: %v", got)
			}
		})
	}
}

// A journal already folded into the registry (a crash between the registry write and
// the journal reset) is not replayed over it: a checkpoint deleted since stays deleted.
func TestJournalOfOlderEpochIgnored(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.Set(State{Key: "gone", Offset: 4})
	s.Set(State{Key: "kept", Offset: 1})
	mustJournal(t, s)
	jpath := filepath.Join(dir, JournalFile)
	old, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	s.Delete("gone")
	s.Set(State{Key: "kept", Offset: 8})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpath, old, 0o600); err != nil { // the reset did not happen
		t.Fatal(err)
	}
	s2, logs := openLogged(t, dir)
	if got := offsets(s2); !reflect.DeepEqual(got, map[string]int64{"kept": 8}) {
		t.Fatalf("states %v, want the registry's kept=8 only\n%s", got, logs)
	}
	if !strings.Contains(logs.String(), "journal of another registry") {
		t.Fatalf("stale journal not reported:\n%s", logs)
	}
}

// A journal append that fails (the journal is gone) makes the next write a registry
// write, which loses nothing and starts a new journal.
func TestJournalWriteFailureFolds(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	s.Set(State{Key: "a", Offset: 3})
	if err := os.Remove(filepath.Join(dir, JournalFile)); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteJournal(); err == nil {
		t.Fatal("WriteJournal without a journal file: want an error")
	}
	writes := s.stats.writes.Load()
	mustJournal(t, s) // folds
	if s.stats.writes.Load() != writes+1 {
		t.Fatal("the write after a failed append was not a registry write")
	}
	s.Set(State{Key: "b", Offset: 4})
	mustJournal(t, s)
	if got := offsets(mustOpen(t, dir)); !reflect.DeepEqual(got, map[string]int64{"a": 3, "b": 4}) {
		t.Fatalf("states %v", got)
	}
}

// FuzzJournal: whatever bytes follow a valid header, Open succeeds, never moves the
// registry aside, and only states from intact frames come back. Any payload sealed with a
// correct checksum either decodes to ops that encode back to the same ops, or is refused.
func FuzzJournal(f *testing.F) {
	frame := sealFrame(appendSetOp(make([]byte, frameHeaderSize), State{Key: "k", Path: "/p", Offset: 3, Size: 4, Fingerprint: "ab", FingerprintLen: 2, Updated: t0}))
	f.Add(frame)
	f.Add(append(append([]byte(nil), frame...), frame[:5]...))
	f.Add(sealFrame(appendDeleteOp(make([]byte, frameHeaderSize), "k")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// 1. As journal frames after a header of the registry's epoch.
		dir := t.TempDir()
		journal := append(journalHeader(0), data...)
		if err := os.WriteFile(filepath.Join(dir, JournalFile), journal, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if aside, _ := filepath.Glob(filepath.Join(dir, RegistryFile+".corrupt-*")); len(aside) > 0 {
			t.Fatalf("registry moved aside because of the journal")
		}
		jc, err := parseJournal(journal)
		if err != nil {
			t.Fatalf("parse a journal with a valid header: %v", err)
		}
		want := map[string]State{}
		for _, fr := range jc.frames {
			for _, op := range fr {
				if op.del {
					delete(want, op.st.Key)
				} else {
					want[op.st.Key] = op.st
				}
			}
		}
		got := map[string]State{}
		for _, st := range s.All() {
			got[st.Key] = st
		}
		if len(got) != len(want) {
			t.Fatalf("%d states after Open, want %d from the intact frames", len(got), len(want))
		}
		for k, st := range want {
			if g := got[k]; g.Offset != st.Offset || g.Size != st.Size || g.Path != st.Path {
				t.Fatalf("state %q: %+v, want %+v", k, g, st)
			}
		}

		// 2. As the payload of a frame with a correct checksum.
		ops, err := parseOps(data)
		if err != nil {
			return
		}
		var enc []byte
		for _, op := range ops {
			if op.del {
				enc = appendDeleteOp(enc, op.st.Key)
			} else {
				enc = appendSetOp(enc, op.st)
			}
		}
		again, err := parseOps(enc)
		if err != nil || !reflect.DeepEqual(again, ops) {
			t.Fatalf("ops do not survive a re-encoding: %v, %+v vs %+v", err, again, ops)
		}
	})
}

// Run saves changes through the journal at every tick and leaves the registry alone
// until a fold is due: a kill between ticks loses at most one interval.
func TestStoreRunJournals(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, 5*time.Millisecond) }()
	s.Set(State{Key: "a", Offset: 1})
	eventually(t, "a journal write", func() bool { return s.stats.journalWrites.Load() >= 1 })
	if n := s.stats.writes.Load(); n != 0 {
		t.Fatalf("%d registry writes within the fold interval, want 0", n)
	}
	if exists(filepath.Join(dir, RegistryFile)) {
		t.Fatal("registry written before a fold was due")
	}
	// What a process killed now leaves behind holds the change (read without Open,
	// which would fold it).
	jc, err := readJournal(filepath.Join(dir, JournalFile))
	if err != nil || len(jc.frames) == 0 || jc.frames[0][0].st.Offset != 1 {
		t.Fatalf("journal after the tick: %+v, %v", jc, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !exists(filepath.Join(dir, RegistryFile)) {
		t.Fatal("no registry written at shutdown")
	}
}
