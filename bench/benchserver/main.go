// Command benchserver measures /api/search through `logcollect server` beside the same
// requests sent to OpenSearch directly. It loads -docs access-log lines
// (internal/testing/loadgen) with the transfer's document builder (parse rule
// nginx_combined) and bulk indexer into indices of its own, their @timestamp spread over
// the last hour; runs the real server at log level debug, where the OpenSearch reader logs
// every request it sends; and, per query kind, asks the server, takes the requests one
// search made from its log, and replays them directly. Server and direct runs alternate,
// so both see the same load.
//
//	benchserver -bin bin/logcollect -docs 1000000 -runs 30
//
// scripts/bench-server.sh runs it for `make bench`. An index set of the same size left by
// an earlier run (-keep) is reused, so the 1M load is paid once.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
	"github.com/logcollect/logcollect/internal/transfer/document"
	"github.com/logcollect/logcollect/internal/transfer/opensearchsink"
)

type opts struct {
	bin, osURL, etcd string
	docs, runs       int
	batch, conc      int
	keep, standalone bool
}

// kinds are the searches of the issue: the UI's first page (100 hits, newest first) and
// its histogram over the last 24 hours.
var kinds = []struct{ name, q string }{
	{"common word", "curl"},
	{"rare word", loadgen.RareWord},
	{"phrase", `"10.3.77.191"`},
	{"field:value", "status:404"},
	{"empty query", ""},
}

func main() {
	var o opts
	flag.StringVar(&o.bin, "bin", "bin/logcollect", "the logcollect binary")
	flag.StringVar(&o.osURL, "opensearch", "http://127.0.0.1:9200", "OpenSearch")
	flag.StringVar(&o.etcd, "etcd", "127.0.0.1:2379", "etcd (the server's agents and entries)")
	flag.IntVar(&o.docs, "docs", 1_000_000, "documents")
	flag.IntVar(&o.runs, "runs", 30, "requests per query kind, each way")
	flag.IntVar(&o.batch, "batch", 5000, "documents per bulk request")
	flag.IntVar(&o.conc, "concurrency", 2, "bulk requests in flight")
	flag.BoolVar(&o.keep, "keep", false, "keep the indices for the next run of the same -docs")
	flag.BoolVar(&o.standalone, "standalone", true, "also time a logcollect standalone holding the same lines")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run(o opts) error {
	ctx := context.Background()
	name := fmt.Sprintf("bench-server-%d", o.docs)
	index := name + "-{topic}-{date}"
	// Reused only while every document is still inside the searches' last 24 hours.
	if n := count(o.osURL, name, "now-23h"); n != int64(o.docs) {
		del(o.osURL, name)
		t0 := time.Now()
		if err := load(ctx, o, name, index); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "benchserver: %d documents loaded in %s\n", o.docs, time.Since(t0).Round(time.Second))
	}
	if !o.keep {
		defer del(o.osURL, name)
	}
	if n := count(o.osURL, name, ""); n != int64(o.docs) {
		return fmt.Errorf("the indices hold %d documents, want %d", n, o.docs)
	}
	// The requests each search sends, from a server logging them at debug level; the
	// timings from another at the default level, which does not format every request.
	reqs := map[string][]osRequest{}
	totals := map[string]int64{}
	dbg, err := startServer(o, index, "debug")
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if reqs[k.name], totals[k.name], err = dbg.requestsOf(k.q); err != nil {
			dbg.stop()
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	dbg.stop()
	srv, err := startServer(o, index, "info")
	if err != nil {
		return err
	}
	var rows []result
	for _, k := range kinds {
		r, err := measure(o, srv, reqs[k.name], k.q)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s: %w", k.name, err)
		}
		r.name, r.hits = k.name, totals[k.name]
		rows = append(rows, r)
	}
	srv.stop()
	// The standalone afterwards, alone: running beside the others, its store's background
	// work after the load (index merges) slowed the server's requests by milliseconds.
	if o.standalone {
		if err := measureStandalone(o, rows); err != nil {
			return err
		}
	}

	fmt.Printf("## logcollect server: /api/search over %d documents in OpenSearch (benchserver -docs %d -runs %d)\n\n", o.docs, o.docs, o.runs)
	fmt.Println("Each server request is the UI's first page: 100 hits newest first and the histogram, over the last 24 h.")
	fmt.Println("Direct: the same OpenSearch requests the server sent (from its debug log), sent one after the other, alternating with the server's; took: the sum of their `took`.")
	if o.standalone {
		fmt.Println("Standalone: the same request to `logcollect standalone` holding the same lines (its own store), measured after the server, once its load has settled.")
	}
	fmt.Println()
	fmt.Println("| query | hits | OpenSearch requests | server p50 ms | server p95 ms | direct p50 ms | direct p95 ms | took p50 ms | took p95 ms | server / direct (p50) | (p95) | standalone p50 ms | standalone p95 ms |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, r := range rows {
		label := r.name
		if q := kinds[i].q; q != "" {
			label += " `" + q + "`"
		}
		s50, s95, d50, d95 := pct(r.srv, 50), pct(r.srv, 95), pct(r.direct, 50), pct(r.direct, 95)
		a50, a95 := "–", "–"
		if len(r.alone) > 0 {
			a50, a95 = fmt.Sprintf("%.1f", pct(r.alone, 50)), fmt.Sprintf("%.1f", pct(r.alone, 95))
		}
		fmt.Printf("| %s | %d | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.2f | %.2f | %s | %s |\n", label, r.hits, r.requests,
			s50, s95, d50, d95, pct(r.took, 50), pct(r.took, 95), s50/d50, s95/d95, a50, a95)
	}
	return nil
}

// result is one query kind's timings, ms.
type result struct {
	name                     string
	hits                     int64
	requests                 int
	srv, direct, took, alone []float64
}

// ---- load ----

func load(ctx context.Context, o opts, name, index string) error {
	cfg := config.Default().OpenSearch
	cfg.Addresses, cfg.Index, cfg.Template = []string{o.osURL}, index, name
	ix, err := opensearchsink.New(cfg, opensearchsink.Deps{})
	if err != nil {
		return err
	}
	if err := ix.Setup(ctx); err != nil {
		return err
	}
	b, err := document.NewBuilder([]config.ParseRule{{Topic: "web", Format: "nginx_combined"}})
	if err != nil {
		return err
	}
	start, step := loadStart(o.docs)
	batches := make(chan int)
	errs := make(chan error, o.conc)
	var wg sync.WaitGroup
	for range o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range batches {
				docs := make([]document.Document, 0, o.batch)
				for i := from; i < min(from+o.batch, o.docs); i++ {
					docs = append(docs, b.Build(record(i, start.Add(time.Duration(i)*step))))
				}
				rej, err := ix.Write(ctx, docs)
				if err == nil && len(rej) > 0 {
					err = fmt.Errorf("%d documents rejected: %+v", len(rej), rej[0])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var werr error
feed:
	for from := 0; from < o.docs; from += o.batch {
		select {
		case batches <- from:
		case werr = <-errs:
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if werr == nil && len(errs) > 0 {
		werr = <-errs
	}
	if werr != nil {
		return werr
	}
	return post(o.osURL, "/"+name+"-*/_refresh", nil, nil)
}

// loadStart is the time of the first of n lines and the step between lines: spread over
// the last hour.
func loadStart(n int) (time.Time, time.Duration) {
	return time.Now().Add(-time.Hour), time.Hour / time.Duration(n)
}

// record is the i-th line as the agent sends it, stamped at in its text (the document's
// @timestamp is the time parsed from the line).
func record(i int, at time.Time) *kgo.Record {
	line := stamped(i, at)
	return &kgo.Record{Topic: "web", Value: []byte(line), Offset: int64(i), Timestamp: at, Headers: []kgo.RecordHeader{
		{Key: kafka.HeaderHost, Value: []byte("bench-h1")},
		{Key: kafka.HeaderPath, Value: []byte("/var/log/nginx/access.log")},
		{Key: kafka.HeaderFileID, Value: []byte("1:1")},
		{Key: kafka.HeaderOffset, Value: []byte(strconv.Itoa(i * 150))},
		{Key: kafka.HeaderTS, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
	}}
}

// stamped is the i-th access line with at as its time.
func stamped(i int, at time.Time) string {
	return strings.Replace(loadgen.AccessLine(i), loadgen.AccessTime, at.UTC().Format("02/Jan/2006:15:04:05 -0700"), 1)
}

// ---- the server and the standalone ----

type server struct {
	cmd   *exec.Cmd
	dir   string // its temporary folder: config, log, data
	base  string
	token string // the access token: the standalone's, from its data dir; the server's, from its config
	log   string // path of its log (JSON lines)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startServer(o opts, index, level string) (*server, error) {
	dir, err := os.MkdirTemp("", "benchserver-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "server.yaml")
	token := rand.Text()
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`http: {listen: "%s", auth: {token: "%s"}}
opensearch: {addresses: ["%s"], index: "%s"}
etcd: {endpoints: ["%s"]}
sysagent: {influxdb: {url: "http://127.0.0.1:8086", database: benchserver}}
log: {level: %s, format: json}
`, addr, token, o.osURL, index, o.etcd, level)), 0o600); err != nil {
		return nil, err
	}
	s := &server{dir: dir, base: "http://" + addr, token: token}
	if err := s.start(o.bin, "server", "--config", cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// startStandalone writes the benchmark's lines to a file, each stamped in its text with
// its document's @timestamp, and runs a standalone on it (format nginx_combined, as the
// documents were parsed) until it holds them all.
func startStandalone(o opts) (*server, error) {
	dir, err := os.MkdirTemp("", "benchserver-standalone-")
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "access.log")
	if err := writeLines(logPath, o.docs); err != nil {
		return nil, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	etcdAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "standalone.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`agent:
  collect: [{path: %s, topic: web, format: nginx_combined, start: beginning}]
log: {format: json}
`, logPath)), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	s := &server{dir: dir, base: "http://" + httpAddr}
	if err := s.start(o.bin, "standalone", "--config", cfg, "--data-dir", data,
		"--http-listen", httpAddr, "--etcd-listen", etcdAddr); err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(data, "http-token"))
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("the standalone's token: %w", err)
	}
	s.token = strings.TrimSpace(string(tok))
	t0 := time.Now()
	for end := t0.Add(10 * time.Minute); ; {
		n, err := s.search("")
		if err == nil && n >= int64(o.docs) {
			break
		}
		if time.Now().After(end) {
			s.stop()
			return nil, fmt.Errorf("the standalone holds %d of %d lines after 10 minutes (%v; log %s)", n, o.docs, err, s.log)
		}
		time.Sleep(200 * time.Millisecond) // polling the ingest
	}
	fmt.Fprintf(os.Stderr, "benchserver: the standalone stored %d lines in %s\n", o.docs, time.Since(t0).Round(time.Second))
	return s, nil
}

// writeLines writes the n lines of the load, the i-th stamped with its document's time.
func writeLines(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	start, step := loadStart(n)
	for i := range n {
		w.WriteString(stamped(i, start.Add(time.Duration(i)*step)))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// start runs bin with args, its output in dir/log, until /healthz answers.
func (s *server) start(bin string, args ...string) error {
	s.log = filepath.Join(s.dir, "log")
	f, err := os.Create(s.log)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stderr, s.cmd.Stdout = f, f
	if err := s.cmd.Start(); err != nil {
		return err
	}
	for end := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(end) {
			s.stop()
			return fmt.Errorf("%s %s did not answer /healthz within 30 s (log %s)", bin, args[0], s.log)
		}
		time.Sleep(100 * time.Millisecond) // polling start-up
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.dir)
}

// search asks /api/search and returns the hits' total.
func (s *server) search(q string) (int64, error) {
	n, _, err := s.searchTotal(q)
	return n, err
}

// searchTotal asks /api/search and returns the hits' total and whether it is an estimate.
func (s *server) searchTotal(q string) (int64, bool, error) {
	req, err := http.NewRequest(http.MethodGet, s.base+"/api/search?limit=100&from=now-24h&q="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, false, err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	var a struct {
		Total     int64  `json:"total"`
		Estimated bool   `json:"total_estimated"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 {
		return 0, false, fmt.Errorf("/api/search?q=%s: %d %s %v", q, resp.StatusCode, a.Error, err)
	}
	return a.Total, a.Estimated, nil
}

type osRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body"`
}

// requestsOf runs one search and returns the OpenSearch requests the server logged for it.
func (s *server) requestsOf(q string) ([]osRequest, int64, error) {
	fi, err := os.Stat(s.log)
	if err != nil {
		return nil, 0, err
	}
	total, err := s.search(q)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(s.log)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if _, err := f.Seek(fi.Size(), io.SeekStart); err != nil {
		return nil, 0, err
	}
	var out []osRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l struct {
			Msg string `json:"msg"`
			osRequest
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "opensearch request" {
			out = append(out, l.osRequest)
		}
	}
	if len(out) == 0 {
		return nil, 0, fmt.Errorf("no \"opensearch request\" in the server's log %s (debug level)", s.log)
	}
	return out, total, sc.Err()
}

// ---- measuring ----

// measure times the server and the direct requests, alternating.
func measure(o opts, s *server, reqs []osRequest, q string) (result, error) {
	r := result{requests: len(reqs)}
	for range 3 { // warm-up: caches on both sides
		if _, err := s.search(q); err != nil {
			return r, err
		}
	}
	for range o.runs {
		t0 := time.Now()
		if _, err := s.search(q); err != nil {
			return r, err
		}
		r.srv = append(r.srv, ms(time.Since(t0)))
		t0 = time.Now()
		var tk float64
		for _, rq := range reqs {
			var a struct {
				Took float64 `json:"took"`
			}
			if err := do(o.osURL, rq, &a); err != nil {
				return r, err
			}
			tk += a.Took
		}
		r.direct, r.took = append(r.direct, ms(time.Since(t0))), append(r.took, tk)
	}
	return r, nil
}

// measureStandalone runs a standalone on the same lines and times each kind's request,
// checking it finds the server's hits.
func measureStandalone(o opts, rows []result) error {
	sa, err := startStandalone(o)
	if err != nil {
		return err
	}
	defer sa.stop()
	sa.settle(60 * time.Second)
	for i := range rows {
		q := kinds[i].q
		// The same hits; a total the standalone flags as an estimate within 5 %.
		n, est, err := sa.searchTotal(q)
		if err != nil || (n != rows[i].hits && !(est && math.Abs(float64(n-rows[i].hits)) <= 0.05*float64(rows[i].hits))) {
			return fmt.Errorf("%s: the standalone counts %d hits (estimate %v, %v), the server %d", rows[i].name, n, est, err, rows[i].hits)
		}
		for range 3 {
			if _, err := sa.search(q); err != nil {
				return err
			}
		}
		for range o.runs {
			t0 := time.Now()
			if _, err := sa.search(q); err != nil {
				return err
			}
			rows[i].alone = append(rows[i].alone, ms(time.Since(t0)))
		}
	}
	return nil
}

// settle waits, up to max, until the process has used under a tenth of a core over two
// seconds (the store's work after the load is done).
func (s *server) settle(max time.Duration) {
	for end := time.Now().Add(max); time.Now().Before(end); {
		t0 := e2etest.CPUSeconds(s.cmd.Process.Pid)
		time.Sleep(2 * time.Second)                         // a measurement window
		if e2etest.CPUSeconds(s.cmd.Process.Pid)-t0 < 0.2 { // under 0.1 core
			return
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(v []float64, p int) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// ---- OpenSearch ----

func do(base string, r osRequest, out any) error {
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, base+r.Path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %.300s", r.Method, r.Path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func post(base, path string, body, out any) error {
	var s string
	if body != nil {
		b, _ := json.Marshal(body)
		s = string(b)
	}
	return do(base, osRequest{Method: http.MethodPost, Path: path, Body: s}, out)
}

// count is the number of documents in the indices named name-*, those from since (date
// math, e.g. now-23h) on when since is set.
func count(base, name, since string) int64 {
	var a struct {
		Count int64 `json:"count"`
	}
	r := osRequest{Method: http.MethodGet, Path: "/" + name + "-*/_count?allow_no_indices=true"}
	if since != "" {
		r.Method, r.Body = http.MethodPost, `{"query":{"range":{"@timestamp":{"gte":"`+since+`"}}}}`
	}
	if do(base, r, &a) != nil {
		return -1
	}
	return a.Count
}

func del(base, name string) {
	_ = do(base, osRequest{Method: http.MethodDelete, Path: "/" + name + "-*"}, nil)
	_ = do(base, osRequest{Method: http.MethodDelete, Path: "/_index_template/" + name}, nil)
}
