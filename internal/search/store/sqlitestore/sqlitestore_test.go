package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// open opens a store in a temporary dir and runs its writer until the test ends.
func open(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// appendSync appends rows and waits for their commit.
func appendSync(t testing.TB, s *Store, rows []store.Row) {
	t.Helper()
	done := make(chan struct{})
	if err := s.Append(context.Background(), rows, func() { close(done) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("append not committed within 30s")
	}
}

func mustParse(t testing.TB, q string) *query.Node {
	t.Helper()
	n, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	return n
}

// rowsAt makes n rows of one file, one per millisecond from start.
func rowsAt(start time.Time, first, n int, msg func(i int) string) []store.Row {
	rows := make([]store.Row, n)
	for i := range rows {
		k := first + i
		rows[i] = store.Row{Time: start.Add(time.Duration(k) * time.Millisecond), Host: "h1", Path: "/var/log/a.log",
			Topic: "a", FileID: "1:2", Offset: int64(k * 10), End: int64(k*10 + 10), Message: msg(k)}
	}
	return rows
}

func TestSearchForms(t *testing.T) { testSearchForms(t, t.TempDir()) }

// TestOldLayoutRefused: a day written with one row per line is not opened; the error
// names the file and says what to do.
func TestOldLayoutRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, dayName(dayOf(time.Now().UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE logs(id INTEGER PRIMARY KEY, msg TEXT)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: dir}, nil, nil)
	if !errors.Is(err, ErrOldLayout) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "move the file") {
		t.Errorf("Open = %v, want ErrOldLayout naming %s and what to do", err, path)
	}
}

func testSearchForms(t *testing.T, dir string) {
	s := open(t, Config{Dir: dir})
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	msgs := []string{
		"GET /index.html 200 client 10.0.0.1",
		"GET /login 500 error database timeout",
		"POST /api/orders 201 checkout ok",
		"warning: disk almost full on /dev/sda1",
		"error: connection refused by 10.0.0.2",
	}
	rows := rowsAt(base, 0, len(msgs), func(i int) string { return msgs[i] })
	rows[2].Fields = map[string]string{"service": "checkout"}
	rows[3].Host = "h2"
	appendSync(t, s, rows)
	from, to := base.Add(-time.Hour), base.Add(time.Hour)
	for _, tc := range []struct {
		q    string
		want []int
	}{
		{"", []int{4, 3, 2, 1, 0}},
		{"error", []int{4, 1}},
		{"error database", []int{1}},
		{`"connection refused"`, []int{4}},
		{`"refused connection"`, nil},
		{`"GET 200"`, nil}, // both words in line 0, not next to each other
		{`"client 10.0.0.1"`, []int{0}},
		{"10.0.0*", []int{4, 0}},
		{`"connection refused" OR warning`, []int{4, 3}},
		{`error NOT "database timeout"`, []int{4}},
		{`NOT "connection refused"`, []int{3, 2, 1, 0}},
		{`"disk almost" host:h2`, []int{3}},
		{"10.0.0.1", []int{0}},
		{"error OR warning", []int{4, 3, 1}},
		{"error NOT database", []int{4}},
		{"NOT error", []int{3, 2, 0}},
		{"-error", []int{3, 2, 0}},
		{"data*", []int{1}},
		{"host:h2", []int{3}},
		{"host:h2 OR checkout", []int{3, 2}},
		{"service:checkout", []int{2}},
		{"path:/var/log/*.log error", []int{4, 1}},
		{"(error OR warning) NOT host:h2", []int{4, 1}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, tc.q), From: from, To: to, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range res.Rows {
				got = append(got, int(r.Offset/10))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			hist, _, err := s.Histogram(context.Background(), mustParse(t, tc.q), from, to, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, b := range hist {
				n += b.Count
			}
			if n != int64(len(tc.want)) {
				t.Errorf("histogram counts %d, want %d", n, len(tc.want))
			}
		})
	}
}

func accessLine(i int) string { return loadgen.AccessLine(i) }

func BenchmarkAppend(b *testing.B) {
	s := open(b, Config{})
	const batch = 4096
	start := time.Now()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		appendSync(b, s, rowsAt(start, i, n, accessLine))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	// CPU per line is the steadier number on a shared machine: wall time follows the load.
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu_us/line")
	b.ReportMetric(float64(s.diskBytes())/float64(b.N), "disk_B/line")
}

// processCPU is the user+system CPU time of this process so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBlockBoundaries: reads that cross blocks (1000 lines of one file are 4 blocks)
// see every line once: pages, histograms, tailing, context and a retention cut inside
// a block.
func TestBlockBoundaries(t *testing.T) {
	s := open(t, Config{Retention: time.Hour})
	ctx := context.Background()
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Hour)
	const n = 1000
	word := func(i int) string {
		if i%7 == 0 {
			return fmt.Sprintf("line %d seventh", i)
		}
		return fmt.Sprintf("line %d", i)
	}
	appendSync(t, s, rowsAt(base, 0, n/2, word))
	appendSync(t, s, rowsAt(base, n/2, n/2, word))
	from, to := base.Add(-time.Minute), base.Add(time.Minute)
	for _, q := range []string{"", "seventh", "NOT seventh", "line"} {
		var got []int64
		var before store.Cursor
		for {
			res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, q), From: from, To: to, Limit: 77, Before: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Rows {
				got = append(got, r.Offset/10)
			}
			if !res.More {
				break
			}
			before = res.Rows[len(res.Rows)-1].Cursor
		}
		var want []int64
		for i := n - 1; i >= 0; i-- {
			if q == "" || q == "line" || (q == "seventh") == (i%7 == 0) {
				want = append(want, int64(i))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("q=%q: paged %d lines, want %d newest first", q, len(got), len(want))
		}
		hist, _, err := s.Histogram(ctx, mustParse(t, q), base, base.Add(n*time.Millisecond), 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for i, b := range hist {
			sum += b.Count
			if q == "" && b.Count != 100 {
				t.Errorf("bucket %d counts %d, want 100", i, b.Count)
			}
		}
		if sum != int64(len(want)) || len(hist) != 10 {
			t.Errorf("q=%q: histogram of %d buckets sums %d, want %d", q, len(hist), sum, len(want))
		}
	}
	since, err := s.Since(ctx, mustParse(t, "seventh"), pos{seq: 500}.cursor(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(since) != 3 || since[0].Offset != 504*10 || since[2].Offset != 518*10 {
		t.Errorf("since: %+v", since)
	}
	rows, anchor, err := s.Context(ctx, "h1", "1:2", 128*10, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, r := range rows {
		offs = append(offs, r.Offset/10)
	}
	if anchor != 3 || !slices.Equal(offs, []int64{125, 126, 127, 128, 129, 130}) {
		t.Errorf("context across a block edge: %v, anchor %d", offs, anchor)
	}
	// Retention cuts inside a block: lines 0..300 are older than the cutoff.
	if err := s.Retain(ctx, base.Add(time.Hour+300*time.Millisecond+time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, ""), From: from, To: to, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != n-301 || res.Rows[len(res.Rows)-1].Offset != 301*10 {
		t.Errorf("after retention: %d lines, want %d from offset 3010", len(res.Rows), n-301)
	}
	hist, _, err := s.Histogram(ctx, mustParse(t, ""), base, base.Add(n*time.Millisecond), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if hist[3].Count != 99 || hist[2].Count != 0 {
		t.Errorf("histogram after retention: %+v", hist)
	}
}

// TestHistogramSampled: a histogram of a query over more candidate lines than it checks
// is an estimate, flagged, and near the true counts.
func TestHistogramSampled(t *testing.T) {
	s := open(t, Config{})
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Hour)
	const n = 2 * histogramLines
	for i := 0; i < n; i += 16384 {
		appendSync(t, s, rowsAt(base, i, 16384, func(i int) string {
			if i%4 == 0 {
				return "w quarter"
			}
			return "w"
		}))
	}
	for _, tc := range []struct {
		q    string
		want int64
	}{{"w", n}, {"quarter", n / 4}} {
		hist, est, err := s.Histogram(context.Background(), mustParse(t, tc.q), base, base.Add(n*time.Millisecond), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, b := range hist {
			sum += b.Count
		}
		if !est || sum < tc.want*95/100 || sum > tc.want*105/100 {
			t.Errorf("%s: estimated %v, sum %d, want an estimate near %d", tc.q, est, sum, tc.want)
		}
	}
}

// TestNewDayPageSize: a new day takes pageSize, incremental auto_vacuum and WAL, and every
// connection of the day sees them (initFile sets them once, in that order: the driver ran
// its pragmas in alphabetical order, which left a new day at 4 KiB pages).
func TestNewDayPageSize(t *testing.T) {
	s := open(t, Config{})
	appendSync(t, s, rowsAt(time.Now(), 0, 10, accessLine))
	p := s.snapshot()[0]
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 { // held together: three connections of the pool, not one three times
		c, err := p.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var size, vacuum int
		var mode string
		if err := c.QueryRowContext(ctx, `SELECT page_size, auto_vacuum, journal_mode FROM pragma_page_size, pragma_auto_vacuum, pragma_journal_mode`).Scan(&size, &vacuum, &mode); err != nil {
			t.Fatal(err)
		}
		if size != pageSize || vacuum != 2 || mode != "wal" {
			t.Errorf("connection %d: page_size %d, auto_vacuum %d, journal_mode %q; want %d, 2 (incremental), wal", i, size, vacuum, mode, pageSize)
		}
	}
}

// TestAppendHandedOver: Append returns before its rows are encoded, the caller reuses
// their memory at once, and still every append is stored in the order it was made, its
// messages as they were, and a shutdown right after the last one stores them all before
// Run returns (each done called).
func TestAppendHandedOver(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	const appends, per = 8, 3000
	start := time.Now().Add(-time.Hour)
	var acked atomic.Int64
	buf := make([]byte, 0, 64*per) // the caller's memory for an append's messages, reused
	rows := make([]store.Row, per)
	for a := range appends {
		buf = buf[:0]
		for i := range rows {
			k := a*per + i
			at := len(buf)
			buf = fmt.Appendf(buf, "line %d of the file", k)
			rows[i] = rowsAt(start, k, 1, func(int) string { return "" })[0]
			rows[i].Message = unsafe.String(&buf[at], len(buf)-at)
		}
		if a == appends-1 {
			// The last append is still encoding when the store is told to stop (the
			// appends before it stored first: they would wait for the lock too, holding
			// the encoding slots the last one needs).
			await.Until(t, 30*time.Second, "the appends before the last stored", func() bool { return acked.Load() == appends-1 })
			s.codecMu.Lock()
		}
		if err := s.Append(ctx, rows, func() { acked.Add(1) }); err != nil {
			t.Fatal(err)
		}
		for i := range buf { // the caller reuses its memory as soon as Append returned
			buf[i] = 'x'
		}
	}
	cancel()
	await.Until(t, 30*time.Second, "the store closing", s.closed.Load)
	s.codecMu.Unlock()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if n := acked.Load(); n != appends {
		t.Errorf("%d appends acknowledged by the end of Run, want %d", n, appends)
	}
	var prev int64 = -1
	count := 0
	for _, p := range s.snapshot() {
		r, err := p.db.Query(`SELECT seq, off, n FROM blocks ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var seq, off, n int64
			if err := r.Scan(&seq, &off, &n); err != nil {
				t.Fatal(err)
			}
			if off <= prev {
				t.Errorf("block at seq %d starts at offset %d, after one at %d: stored out of order", seq, off, prev)
			}
			prev, count = off, count+int(n)
		}
		r.Close()
	}
	if count != appends*per {
		t.Errorf("%d lines stored, want %d", count, appends*per)
	}
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, `"line 5001 of the file"`),
		From: start.Add(-time.Minute), To: time.Now(), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	over, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "x*"),
		From: start.Add(-time.Minute), To: time.Now(), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(over.Rows) > 0 {
		t.Errorf("%d lines stored as their caller overwrote them after Append, first %q", len(over.Rows), over.Rows[0].Message)
	}
	if len(res.Rows) != 1 || res.Rows[0].Message != "line 5001 of the file" {
		t.Errorf("a line handed over and then overwritten by its caller: %+v", res.Rows)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
