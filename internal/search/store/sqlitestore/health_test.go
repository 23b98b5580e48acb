package sqlitestore

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/await"
)

func row(ts time.Time, host, path, fileID string, end int64) store.Row {
	return store.Row{Time: ts, Host: host, Path: path, Topic: "t", FileID: fileID, Offset: end - 10, End: end,
		Message: "line"}
}

func TestFileEnds(t *testing.T) {
	s := open(t, Config{Retention: 24 * time.Hour})
	now := time.Now()
	appendSync(t, s, []store.Row{
		row(now.Add(-72*time.Hour), "h1", "/a.log", "1:2", 40), // a day the retention drops
		row(now.Add(-72*time.Hour), "h1", "/old.log", "5:6", 500),
		row(now, "h1", "/a.log", "1:2", 10),
		row(now, "h1", "/a.log.1", "1:2", 30), // renamed: same file, another path
		row(now, "h1", "/b.log", "3:4", 70),
		row(now, "h2", "/c.log", "7:8", 90), // another host
	})
	want := map[string]int64{"1:2": 40, "3:4": 70, "5:6": 500}
	check := func(when string) {
		t.Helper()
		got, err := s.FileEnds(context.Background(), "h1")
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: FileEnds(h1) = %v, want %v", when, got, want)
		}
	}
	check("before retention")
	if err := s.Retain(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if n, _ := countAll(t, s); n != 4 {
		t.Fatalf("retention left %d rows, want 4", n)
	}
	check("after retention dropped the old day") // its offsets are kept
}

func TestReportLostUntilReread(t *testing.T) {
	s := open(t, Config{})
	if err := s.Check(); err != nil {
		t.Fatalf("fresh store unhealthy: %v", err)
	}
	s.ReportLost("h1", []Loss{{FileID: "1:2", Path: "/a.log", Stored: 100, Acked: 200},
		{FileID: "3:4", Path: "/b.log", Stored: 0, Acked: 50}})
	wantErr := func(want string) {
		t.Helper()
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Check() = %v, want an error with %q", err, want)
		}
	}
	wantErr("store lost committed lines of 2 files (WAL or database damaged); re-reading them (2 left)")
	now := time.Now()
	appendSync(t, s, []store.Row{row(now, "h1", "/a.log", "1:2", 150), row(now, "h2", "/b.log", "3:4", 60)})
	wantErr("(2 left)") // not yet at 200; another host's file is another file
	appendSync(t, s, []store.Row{row(now, "h1", "/a.log", "1:2", 200), row(now, "h1", "/b.log", "3:4", 50)})
	if err := s.Check(); err != nil {
		t.Fatalf("after the lost lines were committed again: %v", err)
	}
}

// TestWriteFailureHealth fills the day's database (max_page_count stands in for a full
// disk: the same SQLITE_FULL) and checks that Check says so while commits fail, the
// lines wait and are committed once space is back, and Check recovers.
func TestWriteFailureHealth(t *testing.T) {
	s := open(t, Config{})
	now := time.Now()
	appendSync(t, s, rowsAt(now, 0, 10, accessLine))
	p := s.snapshot()[0]
	p.db.SetMaxOpenConns(1) // the pragma is per connection
	var pages int64
	if err := p.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.Exec(`PRAGMA max_page_count = ` + strconv.FormatInt(pages, 10)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	if err := s.Append(context.Background(), rowsAt(now, 10, 5000, accessLine), func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 30*time.Second, "Check reports the failing writes", func() bool {
		err := s.Check()
		return err != nil && strings.Contains(err.Error(), "store writes failing") && strings.Contains(err.Error(), "full")
	})
	select {
	case <-done:
		t.Fatal("lines acknowledged while their commit fails")
	default:
	}
	if _, err := p.db.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("lines not committed within 30s after space came back")
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check after a successful commit: %v", err)
	}
	if n, _ := countAll(t, s); n != 5010 {
		t.Fatalf("%d lines stored, want 5010 (each once)", n)
	}
}
