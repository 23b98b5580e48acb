package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

func countAll(t *testing.T, s *Store) (int, store.Row) {
	t.Helper()
	now := time.Now()
	res, err := s.Search(context.Background(), store.SearchRequest{Query: &query.Node{Kind: query.All},
		From: now.Add(-30 * 24 * time.Hour), To: now.Add(time.Hour), Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) == 0 {
		return 0, store.Row{}
	}
	return len(res.Rows), res.Rows[len(res.Rows)-1] // and the oldest
}

func TestRetentionByAge(t *testing.T) {
	s := open(t, Config{Retention: 24 * time.Hour})
	now := time.Now()
	var rows []store.Row
	for i, age := range []time.Duration{72 * time.Hour, 49 * time.Hour, 25 * time.Hour, 23 * time.Hour, 2 * time.Hour, 0} {
		rows = append(rows, store.Row{Time: now.Add(-age), Host: "h", Path: "/a", Topic: "t", FileID: "1:1",
			Offset: int64(i), End: int64(i + 1), Message: "line " + age.String()})
	}
	appendSync(t, s, rows)
	days := func() int {
		m, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "logs-*.db"))
		return len(m)
	}
	before := days()
	if n, _ := countAll(t, s); n != 6 || before < 3 {
		t.Fatalf("before retention: %d rows in %d days", n, before)
	}
	if err := s.Retain(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	n, oldest := countAll(t, s)
	if n != 3 || !strings.HasSuffix(oldest.Message, "23h0m0s") {
		t.Errorf("after retention: %d rows, oldest %q; want the 3 newer than 24h", n, oldest.Message)
	}
	if days() >= before {
		t.Errorf("no day file removed: %d before, %d after", before, days())
	}
}

func TestRetentionByMaxBytes(t *testing.T) {
	const limit = 512 << 10
	s := open(t, Config{MaxBytes: limit})
	start := time.Now().Add(-time.Hour)
	const lines = 40000
	for i := 0; i < lines; i += 4000 {
		appendSync(t, s, rowsAt(start, i, 4000, accessLine))
	}
	if used := s.diskBytes(); used <= limit {
		t.Fatalf("the test wrote only %d bytes, below the %d limit", used, limit)
	}
	if err := s.Retain(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if used := s.diskBytes(); used > limit {
		t.Errorf("after retention the store uses %d bytes, limit %d", used, limit)
	}
	n, oldest := countAll(t, s)
	res, err := s.Search(context.Background(), store.SearchRequest{Query: &query.Node{Kind: query.All},
		From: start.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n >= lines || oldest.Offset == 0 || res.Rows[0].Offset != (lines-1)*10 {
		t.Errorf("kept %d rows, oldest offset %d, newest %d: want the newest kept, the oldest dropped", n, oldest.Offset, res.Rows[0].Offset)
	}
}

func TestReopenSkipsStoredLines(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	runOnce(t, dir, rowsAt(start, 0, 100, accessLine))
	s := open(t, Config{Dir: dir})
	// The agent re-reads from an older checkpoint: rows 50..149, of which 50..99 are stored.
	appendSync(t, s, rowsAt(start, 50, 100, accessLine))
	if n, _ := countAll(t, s); n != 150 {
		t.Errorf("%d rows after the re-read, want 150 (each once)", n)
	}
	// Once past the stored end, a file's offsets are not checked again (a truncated file
	// starts over at 0).
	appendSync(t, s, rowsAt(start, 0, 1, accessLine))
	if n, _ := countAll(t, s); n != 151 {
		t.Errorf("%d rows, want 151", n)
	}
}

func TestContextAndMetrics(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Minute)
	appendSync(t, s, rowsAt(start, 0, 50, accessLine))
	rows, anchor, err := s.Context(context.Background(), "h1", "1:2", 200, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || anchor != 3 || rows[anchor].Offset != 200 || rows[0].Offset != 170 || rows[5].Offset != 220 {
		t.Errorf("context: %d rows, anchor %d", len(rows), anchor)
	}
	base := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	var pts []hostmetrics.Point
	for i := range 6 {
		pts = append(pts, hostmetrics.Point{Measurement: "cpu", Tags: map[string]string{"host": "h1", "cpu": "total"},
			Fields: map[string]float64{"usage_percent": float64(10 * i)}, Time: base.Add(time.Duration(i) * 10 * time.Second)})
	}
	if err := s.WritePoints(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	series, err := s.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: "usage_percent",
		From: base.Add(-time.Minute), To: base.Add(time.Minute), Step: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Points) != 2 || series[0].Points[0][1] != 10 || series[0].Points[1][1] != 40 {
		t.Errorf("series = %+v", series)
	}
	hosts, err := s.Hosts(context.Background())
	if err != nil || len(hosts) != 1 || hosts[0].Host != "h1" {
		t.Errorf("hosts = %+v, %v", hosts, err)
	}
}

// TestRetentionWaitsForReads: a day the retention drops while a read holds it stays open
// until the read is done (it was closed under the read: "sql: database is closed").
func TestRetentionWaitsForReads(t *testing.T) {
	s := open(t, Config{Retention: 24 * time.Hour, RetentionInterval: time.Hour})
	old := time.Now().Add(-72 * time.Hour)
	appendSync(t, s, rowsAt(old, 0, 10, accessLine))
	parts, release := s.readParts() // a read in flight
	if len(parts) != 1 {
		t.Fatalf("%d days, want 1", len(parts))
	}
	done := make(chan error, 1)
	go func() { done <- s.Retain(context.Background(), time.Now()) }()
	await.Until(t, 10*time.Second, "the day to leave the list", func() bool { return len(s.snapshot()) == 0 })
	var n int
	if err := parts[0].db.QueryRow(`SELECT sum(n) FROM blocks`).Scan(&n); err != nil || n != 10 {
		t.Errorf("the read on the dropped day: %d lines, %v", n, err)
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the retention did not finish after the read was done")
	}
	if _, err := os.Stat(parts[0].path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dropped day's file: %v", err)
	}
}

// TestIdleDayGivesBackFreePages: a day's free pages (here those of the index segments
// an FTS5 optimize merged) stay while it takes commits, and go back to the file system
// after a writer's tick without one, once.
func TestIdleDayGivesBackFreePages(t *testing.T) {
	s := open(t, Config{RetentionInterval: time.Hour}) // the test ticks
	ctx := context.Background()
	p, start := dayWithFreePages(t, s)
	free, all := pageCounts(t, p)
	s.tidy(ctx, start) // the day took commits in this interval; today, as tidy sees it (no merge)
	if f, _ := pageCounts(t, p); f != free {
		t.Errorf("free pages %d → %d in the interval of a commit, want them kept", free, f)
	}
	s.tidy(ctx, start)                                    // an interval without a commit
	if f, a := pageCounts(t, p); f != 0 || a > all-free { // less when pointer-map pages went too
		t.Errorf("after an idle tick: %d free of %d pages, want 0 of at most %d", f, a, all-free)
	}
	if fi, err := os.Stat(p.path); err != nil || fi.Size() > (all-free)*pageSize {
		t.Errorf("the day's file: %v, %v; want at most %d pages of %d bytes", fi.Size(), err, all-free, pageSize)
	}
	day := start.Truncate(24 * time.Hour)
	bs, _, err := s.Histogram(ctx, &query.Node{Kind: query.All}, day, day.Add(24*time.Hour), 24*time.Hour)
	if err != nil || len(bs) != 1 || bs[0].Count != freePagesLines {
		t.Errorf("histogram %v (%v), want the %d lines", bs, err, freePagesLines)
	}
}

// TestRunGivesBackFreePages: Run's ticks give back the free pages of a day it opened
// (written by the store before this one).
func TestRunGivesBackFreePages(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, RetentionInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	p, _ := dayWithFreePages(t, s)
	free, _ := pageCounts(t, p)
	cancel()
	if err := errors.Join(<-done, s.Close()); err != nil {
		t.Fatal(err)
	}
	s = open(t, Config{Dir: dir, RetentionInterval: 20 * time.Millisecond})
	p = s.snapshot()[0]
	if f, _ := pageCounts(t, p); f != free && f != 0 {
		t.Fatalf("%d free pages after a restart, want the %d before or none", f, free)
	}
	await.Until(t, 30*time.Second, "the day's free pages given back", func() bool {
		f, _ := pageCounts(t, p)
		return f == 0
	})
}

const freePagesLines = 200_000

// withOwnWords gives line i of rows (lines first, first+1, …) two id words of letters
// and digits, req(i mod 20,000) and ses(i mod 50,000), which the index holds (the
// realistic log's long numbers are in the blocks' filters): each in the segments of
// several commits, which a merge of the index makes one, freeing pages.
func withOwnWords(rows []store.Row, first int) {
	for j := range rows {
		rows[j].Message += fmt.Sprintf(" req%x ses%x", (first+j)%20_000, (first+j)%50_000)
	}
}

// dayWithFreePages writes freePagesLines realistic lines into a day before today, each
// with an id word (withOwnWords), in commits of 10,000 (an index
// segment each), merges its index into one segment (an
// FTS5 optimize), which frees the pages of the others (at least minFreePages), and
// commits its last 10,000 lines: the day's last commit is after the merge, as when FTS5
// merges in a commit.
func dayWithFreePages(t *testing.T, s *Store) (*part, time.Time) {
	t.Helper()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	gen := loadgen.Realistic{N: freePagesLines, End: start.Add(time.Hour), Span: time.Hour}
	var off int64
	var p *part
	for i := 0; i < gen.N; i += 10_000 {
		var rows []store.Row
		rows, off = realisticRows(gen, i, 10_000, off)
		withOwnWords(rows, i)
		if i+10_000 >= gen.N {
			p = s.snapshot()[0]
			if _, err := p.db.ExecContext(context.Background(), `INSERT INTO fts(fts) VALUES ('optimize')`); err != nil {
				t.Fatal(err)
			}
		}
		appendSync(t, s, rows)
	}
	if free, all := pageCounts(t, p); free < minFreePages {
		t.Fatalf("%d free pages of %d after the optimize, want at least %d", free, all, minFreePages)
	}
	return p, start
}

// pageCounts returns the day's free pages and all its pages.
func pageCounts(t *testing.T, p *part) (free, all int64) {
	t.Helper()
	if err := p.db.QueryRow(`SELECT freelist_count, page_count FROM pragma_freelist_count, pragma_page_count`).Scan(&free, &all); err != nil {
		t.Fatal(err)
	}
	return free, all
}

// TestFinishedDayIndexMerged: a day before today gets its index merged into one segment
// once it took no commit for a tick, in steps over ticks: smaller, with the same answers,
// and its free pages given back after; an idle day that is today's is not merged.
func TestFinishedDayIndexMerged(t *testing.T) {
	s := open(t, Config{RetentionInterval: time.Hour}) // the test ticks
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	gen := loadgen.Realistic{N: 400_000, End: start.Add(time.Hour), Span: time.Hour}
	var off int64
	for i := 0; i < gen.N; i += 10_000 { // a segment per commit; FTS5 merges 16 at a time
		var rows []store.Row
		rows, off = realisticRows(gen, i, 10_000, off)
		withOwnWords(rows, i)
		appendSync(t, s, rows)
	}
	p := s.snapshot()[0]
	day := start.Truncate(24 * time.Hour)
	answers := func() []string {
		var out []string
		for _, q := range []string{"kube", "GET 404", `"` + gen.IP(gen.N/2) + `"`, loadgen.Prefix + "*", loadgen.Absent} {
			res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, q), From: day, To: day.Add(24 * time.Hour), Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			bs, est, err := s.Histogram(ctx, mustParse(t, q), day, day.Add(24*time.Hour), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s: histogram %v (estimated %v)", q, bs, est))
			for _, r := range res.Rows {
				out = append(out, q+": "+r.Message)
			}
		}
		return out
	}
	want, indexBefore := answers(), indexBytes(t, p)

	s.tidy(ctx, start) // the day took commits in this interval
	s.tidy(ctx, start) // idle, but today's as tidy sees it
	if got := indexBytes(t, p); got != indexBefore || p.merged {
		t.Fatalf("today's idle day: index %d → %d bytes (merged %v), want it as it was", indexBefore, got, p.merged)
	}
	ticks := 0
	for ; !p.merged; ticks++ {
		if ticks == 1000 {
			t.Fatal("the index not merged after 1,000 ticks")
		}
		s.tidy(ctx, time.Now())
	}
	indexAfter := indexBytes(t, p)
	t.Logf("index %d → %d bytes in %d ticks", indexBefore, indexAfter, ticks)
	if indexAfter >= indexBefore {
		t.Errorf("index %d → %d bytes after the merge, want it smaller", indexBefore, indexAfter)
	}
	if done, err := p.mergeIndex(ctx, 0); !done || err != nil {
		t.Errorf("a merge step after the merge: done %v, %v; want nothing left to merge", done, err)
	}
	// The merge's tick gave back the pages of the segments it merged (the day's were
	// given back once already, at the second tick).
	if f, _ := pageCounts(t, p); f != 0 {
		t.Errorf("%d free pages after the merge's tick, want them given back", f)
	}
	if got := answers(); !slices.Equal(got, want) {
		t.Errorf("answers after the merge differ:\n got  %.600q\n want %.600q", got, want)
	}
}

// TestIndexMergedAlongCommits: FTS5 merges a level of the index a few pages per commit
// (crisismerge above automerge, schema), not whole inside the commit that filled it,
// which held the writer 1.0–1.7 s at 100M lines: while 400,000 lines are written in 40
// commits, some commit leaves a level's merge under way, and with each commit's merge
// step (part.insert) no level holds more than a few segments past usermerge (28 without
// it). A day written before the settings gets them when opened.
func TestIndexMergedAlongCommits(t *testing.T) {
	// One day of lines, yesterday's; no tick, so no tidy merges its index.
	cfg := Config{Dir: t.TempDir(), RetentionInterval: time.Hour}
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour)
	gen := loadgen.Realistic{N: 400_000, End: start.Add(time.Hour), Span: time.Hour}
	var off int64
	underWay, most := 0, 0
	withStore(t, cfg, func(s *Store) {
		for i := 0; i < gen.N; i += 10_000 { // a segment per commit
			var rows []store.Row
			rows, off = realisticRows(gen, i, 10_000, off)
			appendSync(t, s, rows)
			for _, l := range ftsLevels(t, s.snapshot()[0]) {
				if l.merging > 0 {
					underWay++
				}
				most = max(most, l.segments)
			}
		}
		// A day written with FTS5's defaults gets the settings when the store opens it.
		for _, q := range []string{`INSERT INTO fts(fts, rank) VALUES('crisismerge', 16)`, `INSERT INTO fts(fts, rank) VALUES('usermerge', 4)`} {
			if _, err := s.snapshot()[0].db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Logf("a merge under way after %d commits of 40; at most %d segments in a level", underWay, most)
	if underWay == 0 {
		t.Error("no commit left a merge under way: each level was merged whole in one commit")
	}
	if most > 20 {
		t.Errorf("a level held %d segments, want at most 20: each commit's merge step keeps a level near usermerge (16)", most)
	}

	s := open(t, cfg)
	var crisis, user int
	if err := s.snapshot()[0].db.QueryRow(`SELECT (SELECT v FROM fts_config WHERE k = 'crisismerge'),
		(SELECT v FROM fts_config WHERE k = 'usermerge')`).Scan(&crisis, &user); err != nil {
		t.Fatal(err)
	}
	if crisis != 64 || user != 16 {
		t.Errorf("a reopened day's crisismerge %d, usermerge %d; want 64, 16", crisis, user)
	}
}

// ftsLevel is a level of a day's FTS5 index: its segments, and how many of them a
// merge under way takes in (0: none).
type ftsLevel struct{ merging, segments int }

// ftsLevels reads the levels from the index's structure record (fts_data row 10):
// a 4-byte cookie, FTS5's 4-byte mark of its second format (contentless_delete
// tables), the counts of levels and segments and the write counter, then per level
// the merge's inputs, the segments, and each segment's 3 varints (8 in the second
// format). Varints are SQLite's: 7 bits a byte, high byte first, the 9th 8 bits.
func ftsLevels(t *testing.T, p *part) []ftsLevel {
	t.Helper()
	var rec []byte
	if err := p.db.QueryRow(`SELECT block FROM fts_data WHERE id = 10`).Scan(&rec); err != nil {
		t.Fatal(err)
	}
	varint := func() int {
		var v uint64
		for i := range 9 {
			if len(rec) == 0 {
				t.Fatalf("structure record ends inside a varint")
			}
			b := rec[0]
			rec = rec[1:]
			if i == 8 {
				return int(v<<8 | uint64(b))
			}
			v = v<<7 | uint64(b&0x7f)
			if b < 0x80 {
				break
			}
		}
		return int(v)
	}
	if len(rec) < 8 {
		t.Fatalf("structure record of %d bytes", len(rec))
	}
	rec = rec[4:]
	perSegment := 3
	if string(rec[:4]) == "\xff\x00\x00\x01" {
		rec, perSegment = rec[4:], 8
	}
	levels := make([]ftsLevel, varint())
	varint() // segments
	varint() // write counter
	for i := range levels {
		levels[i] = ftsLevel{merging: varint(), segments: varint()}
		for range levels[i].segments * perSegment {
			varint()
		}
	}
	if len(rec) != 0 {
		t.Fatalf("structure record: %d bytes past its last level", len(rec))
	}
	return levels
}

// indexBytes is the size of the day's FTS5 index: its segments' pages and structure.
func indexBytes(t *testing.T, p *part) int64 {
	t.Helper()
	var n int64
	if err := p.db.QueryRow(`SELECT sum(length(block)) FROM fts_data`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestShutdownGivesBackFree: a day with free pages (a table of a MiB and more dropped)
// when the store stops has them given back, though no tick tidied it.
func TestShutdownGivesBackFree(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), RetentionInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	appendSync(t, s, rowsAt(time.Now().Add(-time.Minute), 0, 10, func(i int) string { return fmt.Sprintf("line %d", i) }))
	p := s.snapshot()[0]
	if _, err := p.db.Exec(`CREATE TABLE junk(b BLOB);
		WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2 * ?)
		INSERT INTO junk SELECT randomblob(3000) FROM c;
		DROP TABLE junk`, minFreePages); err != nil {
		t.Fatal(err)
	}
	if free, _ := pageCounts(t, p); free < minFreePages {
		t.Fatalf("%d free pages before the stop, want at least %d", free, minFreePages)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if free, all := pageCounts(t, p); free != 0 {
		t.Errorf("%d free pages of %d after the stop, want 0", free, all)
	}
}
