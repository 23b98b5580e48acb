package sqlitestore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// refLine is a row as the matcher sees it with every field parsed from its message: what
// a query matches, whatever the store reads.
type refLine struct {
	r      store.Row
	fields map[string]string
}

func (l refLine) Message() string { return l.r.Message }

func (l refLine) Field(name string) (string, bool) {
	switch name {
	case "host":
		return l.r.Host, true
	case "path":
		return l.r.Path, true
	case "topic":
		return l.r.Topic, true
	case "file_id":
		return l.r.FileID, true
	}
	v, ok := l.fields[name]
	return v, ok
}

// columnRows are three files: an nginx access log with a line of another form now and
// then (no status), an nginx file whose entry gives every line status 503, and an access
// log of a distinct status per line (more values than a column holds).
func columnRows(now time.Time) []store.Row {
	const n = 3 * defaultBlockLines
	rows, _ := realisticRows(loadgen.Realistic{N: n, End: now, Span: time.Hour}, 0, n, 0)
	for i := 0; i < n; i += 37 {
		rows[i].Message = "upstream timed out 503 while reading"
	}
	for i := range defaultBlockLines {
		at := now.Add(-time.Duration(i) * time.Second)
		rows = append(rows, store.Row{Time: at, ReadTime: at, Host: "app", Path: "/var/log/app.log", Topic: "app", FileID: "7:1",
			Offset: int64(i * 10), End: int64(i*10 + 10), Message: fmt.Sprintf("GET retry %d status=200", i),
			Fields: map[string]string{"status": "503"}, Format: "nginx_combined"})
		line := fmt.Sprintf(`10.0.0.%d - - [03/Dec/2026:10:00:00 +0000] "POST /x HTTP/1.1" %d 12 "-" "curl"`, i%256, 100+i)
		rows = append(rows, store.Row{Time: at, ReadTime: at, Host: "web2", Path: "/var/log/nginx/access.log", Topic: "web",
			FileID: "8:1", Offset: int64(i * 100), End: int64(i*100 + 100), Message: line, Format: "nginx_combined"})
	}
	return rows
}

// TestFieldColumns: a query on status reads the blocks' status column and answers as
// parsing every line does: for the lines without the field, for an entry's own status,
// and for a block of more distinct values than a column holds (no column: parsed). A
// histogram of a query the columns answer reads no message: it still counts right with
// every block's data destroyed, where a query of words fails.
func TestFieldColumns(t *testing.T) {
	s := open(t, Config{})
	now := noonYesterday()
	rows := columnRows(now)
	appendSync(t, s, rows)
	from, to := now.Add(-2*time.Hour), now.Add(time.Minute)
	checkColumnQueries(t, s, rows, from, to)
	if with, web2 := blocksWithCols(t, s); with != 4 || web2 != 0 { // web1's three blocks and app's; web2's has 412 statuses
		t.Fatalf("%d blocks with columns, %d of them web2's; want 4 and 0", with, web2)
	}

	for _, p := range s.snapshot() {
		if _, err := p.db.Exec(`UPDATE blocks SET data = x'00' WHERE host != 'web2'`); err != nil {
			t.Fatal(err)
		}
	}
	for _, qs := range []string{"status:503", "NOT status:200 AND host:web1"} {
		q := mustParse(t, qs)
		if got, err := histogramTotal(t, s, q, from, to); err != nil || got != matchingRows(rows, q) {
			t.Errorf("%s with the blocks' data destroyed: %d (%v), want %d", qs, got, err, matchingRows(rows, q))
		}
	}
	if _, err := histogramTotal(t, s, mustParse(t, "GET"), from, to); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("a word with the blocks' data destroyed: %v, want a corrupt block", err)
	}
}

// TestFieldColumnsRetention: retention rewrites the blocks it cuts with their columns,
// which answer as before for the lines kept.
func TestFieldColumnsRetention(t *testing.T) {
	s := open(t, Config{Retention: 30 * time.Minute})
	now := noonYesterday()
	rows := columnRows(now)
	appendSync(t, s, rows)
	if err := s.Retain(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	cutoff := now.Add(-30 * time.Minute)
	kept := slices.DeleteFunc(rows, func(r store.Row) bool { return r.Time.Before(cutoff) })
	checkColumnQueries(t, s, kept, now.Add(-2*time.Hour), now.Add(time.Minute))
	blocks := 0
	for _, p := range s.snapshot() {
		var n int
		if err := p.db.QueryRow(`SELECT count(*) FROM blocks WHERE host != 'web2'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		blocks += n
	}
	if with, _ := blocksWithCols(t, s); with != blocks {
		t.Errorf("after retention %d blocks with columns, want all %d but web2's", with, blocks)
	}
}

// noonYesterday is a time whose hour before is in one UTC day: the tests count blocks,
// and a day's end would close them early.
func noonYesterday() time.Time { return time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour) }

// checkColumnQueries checks queries on status against parsing every row: the histogram's
// total and the search's hits.
func checkColumnQueries(t *testing.T, s *Store, rows []store.Row, from, to time.Time) {
	t.Helper()
	queries := []string{"status:503", "status:5*", "NOT status:200", "status:503 AND host:web1",
		"status:404 OR status:503", "status:150", "status:503 GET", "status:200 OR upstream"}
	for _, qs := range queries {
		q := mustParse(t, qs)
		w := matchingRows(rows, q)
		if w == 0 {
			t.Fatalf("%s: the test's rows hold no match", qs)
		}
		got, err := histogramTotal(t, s, q, from, to)
		if err != nil || got != w {
			t.Errorf("%s: histogram counts %d (%v), want %d", qs, got, err, w)
		}
		res, err := s.Search(context.Background(), store.SearchRequest{Query: q, From: from, To: to, Limit: len(rows)})
		if err != nil || int64(len(res.Rows)) != w {
			t.Errorf("%s: search found %d (%v), want %d", qs, len(res.Rows), err, w)
		}
	}
}

// matchingRows is how many rows q matches with every field parsed from the message.
func matchingRows(rows []store.Row, q *query.Node) int64 {
	m := query.NewMatcher(q)
	var n int64
	for _, r := range rows {
		if m.Match(refLine{r, store.NewFieldParser(r.Format).LineFields(r.Message, r.Fields)}) {
			n++
		}
	}
	return n
}

// histogramTotal is the sum of q's histogram by minutes, which must be exact.
func histogramTotal(t *testing.T, s *Store, q *query.Node, from, to time.Time) (int64, error) {
	t.Helper()
	buckets, estimated, err := s.Histogram(context.Background(), q, from, to, time.Minute)
	if estimated {
		t.Fatalf("%v: estimated", q)
	}
	var n int64
	for _, b := range buckets {
		n += b.Count
	}
	return n, err
}

// blocksWithCols counts the blocks with a status column, and those of host web2.
func blocksWithCols(t *testing.T, s *Store) (with, web2 int) {
	t.Helper()
	for _, p := range s.snapshot() {
		var a, b int
		if err := p.db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE b.host = 'web2') FROM cols JOIN blocks b USING (id)`).
			Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		with, web2 = with+a, web2+b
	}
	return with, web2
}

// TestFieldColumnsDamaged: a damaged column is an error naming its block, never a panic
// or a wrong count; a column of a version this build does not know is not read.
func TestFieldColumnsDamaged(t *testing.T) {
	s := open(t, Config{})
	now := noonYesterday()
	rows, _ := realisticRows(loadgen.Realistic{N: 600, End: now, Span: time.Hour}, 0, 600, 0)
	appendSync(t, s, rows)
	ctx := context.Background()
	q := mustParse(t, "status:503")
	count := func() (int64, error) {
		buckets, _, err := s.Histogram(ctx, q, now.Add(-2*time.Hour), now.Add(time.Minute), time.Minute)
		var n int64
		for _, b := range buckets {
			n += b.Count
		}
		return n, err
	}
	good, err := count()
	if err != nil || good == 0 {
		t.Fatalf("as written: %d, %v", good, err)
	}
	exec := func(sql string) {
		t.Helper()
		for _, p := range s.snapshot() {
			if _, err := p.db.Exec(sql); err != nil {
				t.Fatal(err)
			}
		}
	}
	exec(`UPDATE cols SET data = x'02' || substr(data, 2)`) // a newer version: parsed instead
	if n, err := count(); err != nil || n != good {
		t.Errorf("columns of an unknown version: %d (%v), want %d", n, err, good)
	}
	for _, bad := range []string{`x'01'`, `x'01ff00'`, `x'01' || zeroblob(40)`} {
		exec(`UPDATE cols SET data = ` + bad)
		if _, err := count(); err == nil || !strings.Contains(err.Error(), "block ") || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("columns %s: %v, want a corrupt block named", bad, err)
		}
	}
}
