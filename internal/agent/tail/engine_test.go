package tail

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/control/entry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ent(path string, mod ...func(*entry.Entry)) entry.Entry {
	e := entry.Entry{Path: path, Topic: "t", Start: entry.StartBeginning}
	for _, m := range mod {
		m(&e)
	}
	return e
}

func TestReading(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mod     func(*entry.Entry)
		want    []string
	}{
		{"complete lines, crlf, empty skipped, partial waits", "a\r\nb\n\n\nc\npart", nil, []string{"a", "b", "c"}},
		{"keep_empty", "a\n\nb\n", func(e *entry.Entry) { e.KeepEmpty = true }, []string{"a", "", "b"}},
		{"invalid utf-8 byte-exact", "\xff\xfe ok\n", nil, []string{"\xff\xfe ok"}},
		{"include and exclude", "ERROR a\nINFO b\nERROR DEBUG c\n", func(e *entry.Entry) {
			e.IncludeLines = []string{"ERROR"}
			e.ExcludeLines = []string{"DEBUG"}
		}, []string{"ERROR a"}},
		{"max_line_bytes cuts", "0123456789\nab\n", func(e *entry.Entry) { e.MaxLineBytes = 4 }, []string{"0123", "ab"}},
		{"multiline after", "start 1\n  at x\n  at y\nstart 2\n", func(e *entry.Entry) {
			e.Multiline = &entry.Multiline{Pattern: `^\s`, Match: entry.MatchAfter, Timeout: entry.Duration(50 * time.Millisecond)}
		}, []string{"start 1\n  at x\n  at y", "start 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.write("a.log", tc.content)
			en := ent(e.path("*.log"), func(en *entry.Entry) { en.Fields = map[string]string{"k": "v"} })
			if tc.mod != nil {
				tc.mod(&en)
			}
			e.start(en)
			got := e.sink.waitN(t, len(tc.want))
			requireLines(t, got, tc.want...)
			for _, r := range got {
				if r.Fields["k"] != "v" || r.Topic != "t" || r.Host != "host1" || r.Path != e.path("a.log") || r.FileID == "" {
					t.Fatalf("event metadata: %+v", r)
				}
			}
			// Everything complete is acknowledged, filtered lines included; the partial
			// line is not.
			full := int64(strings.LastIndexByte(tc.content, '\n') + 1)
			e.requireCheckpoint("a.log", full)
		})
	}
}

func TestStartEndAndNewFiles(t *testing.T) {
	e := newEnv(t)
	e.write("old.log", "old 1\nold 2\n")
	e.start(entry.Entry{Path: e.path("*.log"), Topic: "t", Start: entry.StartEnd})
	e.requireCheckpoint("old.log", 12)
	e.append("old.log", "old 3\n")
	e.write("new.log", "new 1\n") // created after the entry was applied: from its beginning
	got := e.sink.waitN(t, 2)
	have := map[string]bool{}
	for _, r := range got {
		have[r.Line] = true
	}
	if len(got) != 2 || !have["old 3"] || !have["new 1"] {
		t.Fatalf("got %q", linesOf(got))
	}
}

func TestResumeAfterRestart(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", numbered("x", 1, 50))
	e.start(ent(e.path("a.log")))
	e.sink.waitN(t, 50)
	e.stop()
	e.append("a.log", numbered("x", 51, 60))
	e.start(ent(e.path("a.log")))
	got := e.sink.waitN(t, 60)
	requireLines(t, got, splitLines(numbered("x", 1, 60))...)
}

func TestRenameCreateRotation(t *testing.T) {
	e := newEnv(t)
	e.write("app.log", numbered("a", 1, 10))
	e.start(ent(e.path("app.log")))
	e.sink.waitN(t, 10)
	e.rename("app.log", "app.log.1")
	e.append("app.log.1", numbered("a", 11, 12)) // late write to the renamed file
	e.write("app.log", numbered("b", 1, 5))
	got := e.sink.waitN(t, 17)
	var a, b []string
	for _, r := range got {
		if strings.HasPrefix(r.Line, "a ") {
			a = append(a, r.Line)
		} else {
			b = append(b, r.Line)
		}
	}
	if strings.Join(a, ",") != strings.Join(splitLines(numbered("a", 1, 12)), ",") ||
		strings.Join(b, ",") != strings.Join(splitLines(numbered("b", 1, 5)), ",") {
		t.Fatalf("got %q", linesOf(got))
	}
}

func TestCopyTruncateReadsTheCopy(t *testing.T) {
	for _, glob := range []string{"app.log", "app.log*"} {
		t.Run(glob, func(t *testing.T) {
			e := newEnv(t)
			// Slow polling and no inotify: the harvester sleeps through the whole
			// copytruncate below, so it sees the truncation only afterwards.
			e.cfg.Watch = WatchPoll
			e.cfg.PollMin, e.cfg.PollMax = 700*time.Millisecond, 700*time.Millisecond
			header := strings.Repeat("h", 1100) + "\n" // longer than the fingerprint
			e.write("app.log", header+numbered("a", 1, 10))
			e.start(ent(e.path(glob)))
			e.sink.waitN(t, 11)
			e.append("app.log", numbered("a", 11, 20))
			data, err := os.ReadFile(e.path("app.log"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(e.path("app.log.1"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			e.truncate("app.log")
			e.append("app.log", numbered("b", 1, 3))
			got := e.sink.waitN(t, 24)
			want := append([]string{header[:1100]}, splitLines(numbered("a", 1, 20))...)
			want = append(want, splitLines(numbered("b", 1, 3))...)
			requireLines(t, got, want...)
			// The copy is not shipped again when the glob matches it.
			e.append("app.log", "b 4\n")
			got = e.sink.waitN(t, 25)
			requireLines(t, got[24:], "b 4")
			if n := value(t, e.eng.m.rotations); n < 1 {
				t.Fatalf("rotations = %v", n)
			}
		})
	}
}

func TestTruncationStartsOver(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", numbered("x", 1, 20))
	e.start(ent(e.path("a.log")))
	e.sink.waitN(t, 20)
	e.truncate("a.log")
	e.append("a.log", "y 1\n")
	got := e.sink.waitN(t, 21)
	requireLines(t, got[20:], "y 1")
	e.requireCheckpoint("a.log", 4)
}

func TestDeletedFileIsClosed(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", "x 1\n")
	e.start(ent(e.path("a.log")))
	e.sink.waitN(t, 1)
	eventually(t, "file open", func() bool { return value(t, e.eng.m.filesOpen) == 1 })
	e.append("a.log", "x 2\nlast without newline")
	e.remove("a.log")
	got := e.sink.waitN(t, 3)
	requireLines(t, got, "x 1", "x 2", "last without newline")
	eventually(t, "file closed", func() bool { return value(t, e.eng.m.filesOpen) == 0 })
}

func TestMaxOpenFiles(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxOpenFiles = 3
	const files = 30
	for i := range files {
		e.write("f"+strings.Repeat("x", i)+".log", numbered("l", 1, 5))
	}
	e.start(ent(e.path("*.log")))
	stop := make(chan struct{})
	maxOpen := make(chan float64, 1)
	go func() {
		var m float64
		for {
			select {
			case <-stop:
				maxOpen <- m
				return
			default:
			}
			m = max(m, value(t, e.eng.m.filesOpen))
			time.Sleep(time.Millisecond) // sampling interval
		}
	}()
	e.sink.waitN(t, files*5)
	close(stop)
	if m := <-maxOpen; m > 3 {
		t.Fatalf("files open peaked at %v > max_open_files 3", m)
	}
	if n := len(e.sink.snapshot()); n != files*5 {
		t.Fatalf("got %d events, want %d", n, files*5)
	}
}

func TestUpdateReconciles(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", "a 1\n")
	e.write("b.log", "b 1\n")
	a := ent(e.path("a.log"))
	b := ent(e.path("b.log"))
	e.start(a)
	e.sink.waitN(t, 1)
	// Add b, keep a.
	if err := e.eng.Update([]entry.Entry{a, b}); err != nil {
		t.Fatal(err)
	}
	e.sink.waitN(t, 2)
	// An invalid snapshot is refused as a whole.
	if err := e.eng.Update([]entry.Entry{a, {Path: "relative.log", Topic: "t"}}); err == nil {
		t.Fatal("invalid snapshot accepted")
	}
	e.append("a.log", "a 2\n")
	e.append("b.log", "b 2\n")
	e.sink.waitN(t, 4)
	// Change b (new fields): restarts from its checkpoint, no duplicate. Remove a.
	b2 := b
	b2.Fields = map[string]string{"v": "2"}
	if err := e.eng.Update([]entry.Entry{b2}); err != nil {
		t.Fatal(err)
	}
	e.append("b.log", "b 3\n")
	got := e.sink.waitN(t, 5)
	last := got[len(got)-1]
	if last.Line != "b 3" || last.Fields["v"] != "2" {
		t.Fatalf("after change: %+v", last)
	}
	e.requireCheckpoint("b.log", 12)
	e.append("a.log", "a 3\n") // removed entry: not read
	e.append("b.log", "b 4\n")
	got = e.sink.waitN(t, 6)
	requireLines(t, got[5:], "b 4")
	if len(got) != 6 {
		t.Fatalf("extra events: %q", linesOf(got))
	}
}

func TestBadFilesAreReportedAndOthersCarryOn(t *testing.T) {
	e := newEnv(t)
	if err := os.Mkdir(e.path("dir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(e.path("fifo.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.write("ok.log", "fine\n")
	e.start(ent(e.path("*.log")))
	requireLines(t, e.sink.waitN(t, 1), "fine")
	eventually(t, "errors counted", func() bool {
		return value(t, e.eng.m.readErrors.WithLabelValues("directory")) >= 1 &&
			value(t, e.eng.m.readErrors.WithLabelValues("not_regular")) >= 1
	})
}

func TestGlobDoubleStarAndExclude(t *testing.T) {
	e := newEnv(t)
	if err := os.MkdirAll(e.path("x/y"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("top.log", "top\n")
	e.write("x/y/deep.log", "deep\n")
	e.write("x/skip.gz", "no\n")
	e.write("x/y/skip.log.gz", "no\n")
	e.start(ent(e.path("**/*"), func(en *entry.Entry) { en.Exclude = []string{"*.gz"} }))
	got := e.sink.waitN(t, 2)
	have := strings.Join(linesOf(got), ",")
	if have != "top,deep" && have != "deep,top" {
		t.Fatalf("got %q", have)
	}
	// A new directory and file are found quickly.
	if err := os.MkdirAll(e.path("x/z"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("x/z/new.log", "new\n")
	got = e.sink.waitN(t, 3)
	if got[2].Line != "new" {
		t.Fatalf("got %q", linesOf(got))
	}
}

func TestPollModeFindsNewFilesWithinASecond(t *testing.T) {
	e := newEnv(t)
	e.cfg.Watch = WatchPoll
	e.cfg.ScanInterval = time.Hour // polling mode rescans every second regardless
	e.start(ent(e.path("*.log")))
	time0 := time.Now()
	e.write("late.log", "late\n")
	e.sink.waitN(t, 1)
	if d := time.Since(time0); d > 1500*time.Millisecond {
		t.Fatalf("new file found after %s", d)
	}
}

func TestSymlinkIdentityIsTheTarget(t *testing.T) {
	e := newEnv(t)
	if err := os.Mkdir(e.path("real"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("real/target.txt", "via link\n")
	if err := os.Symlink(e.path("real/target.txt"), e.path("link.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.path("real/target.txt"), e.path("link2.log")); err != nil {
		t.Fatal(err)
	}
	e.start(ent(e.path("*.log")))
	e.sink.waitN(t, 1)
	e.append("real/target.txt", "more\n")
	got := e.sink.waitN(t, 2)
	requireLines(t, got, "via link", "more") // two links, one file: read once
}

func TestShutdownWaitsForInFlightAcks(t *testing.T) {
	e := newEnv(t)
	e.cfg.ShutdownTimeout = 200 * time.Millisecond
	e.sink.hold = true
	e.write("a.log", "x 1\nx 2\n")
	e.start(ent(e.path("a.log")))
	e.sink.waitN(t, 2)
	// Nothing acknowledged: the checkpoint stays at 0 and stop gives up after the timeout.
	start := time.Now()
	e.stop()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("stop returned after %s without waiting for acks", d)
	}
	e.requireCheckpoint("a.log", 0)
}

func TestCopyTruncateWhileStoppedReadsTheCopyAtStart(t *testing.T) {
	e := newEnv(t)
	header := strings.Repeat("h", 1100) + "\n"
	e.write("app.log", header+numbered("a", 1, 10))
	e.start(ent(e.path("app.log")))
	e.sink.waitN(t, 11)
	e.stop()
	e.append("app.log", numbered("a", 11, 20))
	data, err := os.ReadFile(e.path("app.log"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path("app.log.1"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.truncate("app.log")
	e.append("app.log", numbered("b", 1, 3))
	e.start(ent(e.path("app.log")))
	got := e.sink.waitN(t, 24)
	want := append(splitLines(numbered("a", 11, 20)), splitLines(numbered("b", 1, 3))...)
	requireLines(t, got[11:], want...)
}

func TestRemovedFileClosedAfterCloseRemovedAfterWhenOutputIsDown(t *testing.T) {
	e := newEnv(t)
	e.cfg.CloseRemovedAfter = 300 * time.Millisecond
	e.cfg.ScanInterval = 50 * time.Millisecond
	e.cfg.BatchEvents = 2
	e.sink.block = true
	e.write("a.log", numbered("x", 1, 10))
	e.start(ent(e.path("a.log")))
	eventually(t, "file open", func() bool { return value(t, e.eng.m.filesOpen) == 1 })
	e.remove("a.log")
	eventually(t, "file closed although the output is down", func() bool { return value(t, e.eng.m.filesOpen) == 0 })
	if n := value(t, e.eng.m.unreadBytes); n <= 0 {
		t.Fatalf("unread bytes counted: %v", n)
	}
}

func TestMetricsAreRegistered(t *testing.T) {
	e := newEnv(t)
	e.write("a.log", "0123456789\nx\n")
	e.start(ent(e.path("a.log"), func(en *entry.Entry) { en.MaxLineBytes = 4 }))
	e.sink.waitN(t, 2)
	// Errors are counted once per path and reason, however many rescans meet them.
	if err := os.Mkdir(e.path("d.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Update([]entry.Entry{ent(e.path("a.log"), func(en *entry.Entry) { en.MaxLineBytes = 4 }), ent(e.path("d.log"))}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "directory reported", func() bool { return value(t, e.eng.m.readErrors.WithLabelValues("directory")) == 1 })
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"logcollect_tail_lines_total", "logcollect_tail_bytes_total",
		"logcollect_tail_files_open", "logcollect_tail_lag_bytes", "logcollect_tail_truncated_lines_total",
		"logcollect_tail_rotations_total", "logcollect_tail_read_errors_total",
		"logcollect_tail_removed_unread_bytes_total", "logcollect_tail_scans_total"} {
		if !names[want] {
			t.Errorf("metric %s not gathered (have %v)", want, names)
		}
	}
	if v := value(t, e.eng.m.truncated); v != 1 {
		t.Errorf("truncated lines = %v, want 1", v)
	}
	if v := value(t, e.eng.m.lines.WithLabelValues(e.path("a.log"))); v != 2 {
		t.Errorf("lines = %v, want 2", v)
	}
	scans := value(t, e.eng.m.scans)
	eventually(t, "more rescans", func() bool { return value(t, e.eng.m.scans) >= scans+4 })
	if v := value(t, e.eng.m.readErrors.WithLabelValues("directory")); v != 1 {
		t.Errorf("directory errors = %v, want 1", v)
	}
}

// syncFake is a sink done with each batch on return, so the engine reuses batch memory.
type syncFake struct{ *fakeSink }

func (syncFake) DoneOnReturn() bool { return true }

func TestBatchMemoryReusedWithASyncSink(t *testing.T) {
	e := newEnv(t)
	e.cfg.BatchEvents = 7
	e.cfg.BatchBytes = 64
	s := syncFake{e.sink}
	e.write("a.log", numbered("line", 1, 500))
	st, err := checkpoint.Open(e.dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(e.cfg, Deps{Sink: s, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if !eng.reuse {
		t.Fatal("a sync sink did not enable batch reuse")
	}
	if err := eng.Update([]entry.Entry{ent(e.path("a.log"))}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	e.append("a.log", numbered("line", 501, 600))
	requireLines(t, e.sink.waitN(t, 600), splitLines(numbered("line", 1, 600))...)
}

func TestSinkErrorsAreRetriedWithoutLoss(t *testing.T) {
	e := newEnv(t)
	e.sink.fails = 2
	e.write("a.log", numbered("x", 1, 5))
	e.start(ent(e.path("a.log")))
	requireLines(t, e.sink.waitN(t, 5), splitLines(numbered("x", 1, 5))...)
	if n := value(t, e.eng.m.publishErrors); n != 2 {
		t.Fatalf("publish errors = %v, want 2", n)
	}
	e.requireCheckpoint("a.log", 20)
}

func TestCloseInactiveAndReopenOnChange(t *testing.T) {
	for _, watch := range []string{WatchAuto, WatchPoll} {
		t.Run(watch, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.Watch = watch
			e.cfg.CloseInactive = 100 * time.Millisecond
			e.cfg.ScanInterval = time.Hour // inotify (auto) or the 1 s poll rescan must notice
			e.write("a.log", "x 1\n")
			e.start(ent(e.path("a.log")))
			e.sink.waitN(t, 1)
			eventually(t, "idle file closed", func() bool { return value(t, e.eng.m.filesOpen) == 0 })
			e.append("a.log", "x 2\n")
			requireLines(t, e.sink.waitN(t, 2), "x 1", "x 2")
		})
	}
}

func TestCheckpointsOfGoneFilesArePrunedPresentOnesKept(t *testing.T) {
	e := newEnv(t)
	e.cfg.CheckpointPrune = 300 * time.Millisecond
	e.cfg.ScanInterval = 50 * time.Millisecond
	e.write("keep.log", "k\n")
	e.write("gone.log", "g\n")
	e.start(ent(e.path("*.log")))
	e.sink.waitN(t, 2)
	e.requireCheckpoint("keep.log", 2)
	e.remove("gone.log")
	eventually(t, "only the present file's checkpoint left", func() bool {
		all := e.store.All()
		return len(all) == 1 && all[0].Path == e.path("keep.log")
	})
	// Still kept after several prune periods: the engine refreshes present files.
	scans := value(t, e.eng.m.scans)
	eventually(t, "a second of rescans", func() bool { return value(t, e.eng.m.scans) >= scans+20 })
	if all := e.store.All(); len(all) != 1 || all[0].Offset != 2 {
		t.Fatalf("checkpoints: %+v", all)
	}
}
