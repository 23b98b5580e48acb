// Command storebench compares the embedded store's engine candidates on the same lines:
// VictoriaLogs' lib/logstorage and the project's SQLite FTS5 store (internal/search/store/
// sqlitestore). It ingests N synthetic access-log lines into one engine, then times the
// queries of docs/store.md. One engine per run (-engine), so each gets a fresh process
// and its own peak RSS; scripts/store-compare.sh runs both and prints the table.
//
// It is a separate module so that the losing engine's dependency stays out of the
// project's go.mod.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/search/store/sqlitestore"
	"github.com/logcollect/logcollect/internal/testing/loadgen"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"
)

func line(i int) string { return loadgen.AccessLine(i) }

// host is line i's host: 4 hosts, each for 4,096 consecutive lines at a time, as the agent
// delivers lines (a batch holds one file's lines; a store may keep a file's lines
// together).
func host(i int) string { return fmt.Sprintf("web%d", (i/4096)%4) }

type result struct {
	Engine      string             `json:"engine"`
	Lines       int                `json:"lines"`
	IngestSec   float64            `json:"ingest_s"`
	LinesPerSec float64            `json:"lines_per_s"`
	CPUPerLine  float64            `json:"cpu_us_per_line"`
	DiskBytes   int64              `json:"disk_bytes"`
	BytesLine   float64            `json:"bytes_per_line"`
	PeakRSSMiB  float64            `json:"peak_rss_mib"`
	QueryP50ms  map[string]float64 `json:"query_p50_ms"`
	QueryP95ms  map[string]float64 `json:"query_p95_ms"`
	QueryHits   map[string]int     `json:"query_hits"`
}

// queries are the kinds of the issue, in the store's language and in LogsQL.
var queries = []struct{ name, ours, logsql string }{
	{"rare word 24h", "zebrafish", `zebrafish | sort by (_time desc) | limit 100`},
	{"rare phrase (IP)", `"10.3.77.191"`, `"10.3.77.191" | sort by (_time desc) | limit 100`},
	{"common word 1h newest 100", "curl", `_time:1h curl | sort by (_time desc) | limit 100`},
	{"host: + word", "host:web3 zebrafish", `host:web3 zebrafish | sort by (_time desc) | limit 100`},
	{"histogram 24h", "", `* | stats by (_time:30m) count()`},
}

func main() {
	engine := flag.String("engine", "sqlite", "sqlite or vl")
	n := flag.Int("n", 1000000, "lines to ingest")
	dir := flag.String("dir", "", "data directory (default: a temporary one)")
	reps := flag.Int("reps", 20, "repetitions of each query")
	flag.Parse() // VictoriaMetrics' libraries read their flags from the global set
	if *dir == "" {
		d, err := os.MkdirTemp("", "storebench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	// The lines span the last 24 hours, oldest first, so 1h queries see 1/24 of them.
	start := time.Now().Add(-24 * time.Hour)
	step := 24 * time.Hour / time.Duration(*n)
	var res result
	switch *engine {
	case "sqlite":
		res = runSQLite(*dir, *n, start, step, *reps)
	case "vl":
		res = runVL(*dir, *n, start, step, *reps)
	default:
		fail(fmt.Errorf("-engine: sqlite or vl, got %q", *engine))
	}
	res.Engine, res.Lines = *engine, *n
	res.LinesPerSec = float64(*n) / res.IngestSec
	res.DiskBytes = du(*dir)
	res.BytesLine = float64(res.DiskBytes) / float64(*n)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	res.PeakRSSMiB = float64(ru.Maxrss) / 1024
	_ = json.NewEncoder(os.Stdout).Encode(res)
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runSQLite(dir string, n int, start time.Time, step time.Duration, reps int) result {
	s, err := sqlitestore.Open(sqlitestore.Config{Dir: dir}, nil, nil)
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t0, c0 := time.Now(), cpuNow()
	const batch = 4096
	pending := make(chan struct{}, 64) // commits in flight, as the agent keeps them
	for i := 0; i < n; i += batch {
		rows := make([]store.Row, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			rows = append(rows, store.Row{Time: start.Add(time.Duration(j) * step), Host: host(j), Path: "/var/log/nginx/access.log",
				Topic: "web", FileID: "1:2", Offset: int64(j) * 200, End: int64(j)*200 + 200, Message: line(j)})
		}
		pending <- struct{}{}
		if err := s.Append(ctx, rows, func() { <-pending }); err != nil {
			fail(err)
		}
	}
	for len(pending) > 0 {
		time.Sleep(time.Millisecond)
	}
	var r result
	r.IngestSec = time.Since(t0).Seconds()
	r.CPUPerLine = float64((cpuNow() - c0).Microseconds()) / float64(n)
	r.QueryP50ms, r.QueryP95ms, r.QueryHits = map[string]float64{}, map[string]float64{}, map[string]int{}
	now := time.Now()
	for _, q := range queries {
		node, err := query.Parse(q.ours)
		if err != nil {
			fail(err)
		}
		from := now.Add(-25 * time.Hour)
		if q.name == "common word 1h newest 100" {
			from = now.Add(-time.Hour)
		}
		var lat []float64
		hits := 0
		for range reps {
			t := time.Now()
			if q.name == "histogram 24h" {
				bs, _, err := s.Histogram(context.Background(), node, from, now, 30*time.Minute)
				if err != nil {
					fail(err)
				}
				hits = len(bs)
			} else {
				res, err := s.Search(context.Background(), store.SearchRequest{Query: node, From: from, To: now, Limit: 100})
				if err != nil {
					fail(err)
				}
				hits = len(res.Rows)
			}
			lat = append(lat, float64(time.Since(t).Microseconds())/1000)
		}
		r.QueryP50ms[q.name], r.QueryP95ms[q.name] = pct(lat, 50), pct(lat, 95)
		r.QueryHits[q.name] = hits
	}
	cancel()
	<-done
	_ = s.Close()
	return r
}

func runVL(dir string, n int, start time.Time, step time.Duration, reps int) result {
	s := logstorage.MustOpenStorage(filepath.Join(dir, "vl"), &logstorage.StorageConfig{Retention: 7 * 24 * time.Hour,
		FlushInterval: time.Second, FutureRetention: 48 * time.Hour, MaxBackfillAge: 30 * 24 * time.Hour})
	t0, c0 := time.Now(), cpuNow()
	lr := logstorage.GetLogRows([]string{"host", "path"}, nil, nil, nil, "")
	for j := 0; j < n; j++ {
		fields := []logstorage.Field{{Name: "host", Value: host(j)}, {Name: "path", Value: "/var/log/nginx/access.log"},
			{Name: "topic", Value: "web"}, {Name: "file_id", Value: "1:2"}, {Name: "offset", Value: fmt.Sprint(j * 200)},
			{Name: "_msg", Value: line(j)}}
		lr.MustAdd(logstorage.TenantID{}, start.Add(time.Duration(j)*step).UnixNano(), fields, -1)
		if lr.NeedFlush() {
			s.MustAddRows(lr)
			lr.ResetKeepSettings()
		}
	}
	s.MustAddRows(lr)
	s.DebugFlush()
	var r result
	r.IngestSec = time.Since(t0).Seconds()
	r.CPUPerLine = float64((cpuNow() - c0).Microseconds()) / float64(n)
	r.QueryP50ms, r.QueryP95ms, r.QueryHits = map[string]float64{}, map[string]float64{}, map[string]int{}
	now := time.Now()
	for _, q := range queries {
		qs := q.logsql
		if q.name != "common word 1h newest 100" {
			qs = "_time:25h " + qs
		}
		var lat []float64
		hits := 0
		for range reps {
			parsed, err := logstorage.ParseQueryAtTimestamp(qs, now.UnixNano())
			if err != nil {
				fail(fmt.Errorf("%s: %w", qs, err))
			}
			t := time.Now()
			var got int
			qctx := logstorage.NewQueryContext(context.Background(), &logstorage.QueryStats{}, []logstorage.TenantID{{}}, parsed, false, nil)
			cnt := make([]int, 64)
			err = s.RunQuery(qctx, func(worker uint, db *logstorage.DataBlock) { cnt[worker%64] += db.RowsCount() })
			if err != nil {
				fail(err)
			}
			for _, c := range cnt {
				got += c
			}
			lat = append(lat, float64(time.Since(t).Microseconds())/1000)
			hits = got
		}
		r.QueryP50ms[q.name], r.QueryP95ms[q.name] = pct(lat, 50), pct(lat, 95)
		r.QueryHits[q.name] = hits
	}
	s.MustClose()
	return r
}

func pct(v []float64, p int) float64 {
	slices.Sort(v)
	return v[min(len(v)-1, len(v)*p/100)]
}

func du(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "storebench:", err)
	os.Exit(1)
}
