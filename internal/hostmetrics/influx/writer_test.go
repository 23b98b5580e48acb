package influx

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

// fakeInflux records what a client sends; status decides the answer to /write.
type fakeInflux struct {
	mu      sync.Mutex
	status  int
	lines   []string
	queries []string
	reqs    []*http.Request
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r)
	if r.URL.Path == "/query" {
		_ = r.ParseForm()
		f.queries = append(f.queries, r.Form.Get("q"))
		_, _ = io.WriteString(w, `{"results":[{"statement_id":0}]}`)
		return
	}
	if f.status != 0 && f.status != http.StatusNoContent {
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, `{"error":"fake says no"}`)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, "not gzip: "+err.Error(), http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(zr)
	f.lines = append(f.lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeInflux) setStatus(s int) {
	f.mu.Lock()
	f.status = s
	f.mu.Unlock()
}

func (f *fakeInflux) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lines...)
}

func points(from, n int) []hostmetrics.Point {
	out := make([]hostmetrics.Point, n)
	for i := range out {
		out[i] = hostmetrics.Point{Measurement: "m", Tags: map[string]string{"host": "h"},
			Fields: map[string]float64{"v": float64(from + i)}, Time: time.Unix(1764576000, 0)}
	}
	return out
}

func startWriter(t *testing.T, cfg Config, reg prometheus.Registerer) *Writer {
	t.Helper()
	w, err := New(cfg, Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return w
}

func TestWriteV1CreatesDatabaseAndGzips(t *testing.T) {
	f := &fakeInflux{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	w := startWriter(t, Config{URL: srv.URL, Database: `my "db"`, BufferPoints: 100}, nil)
	_ = w.WritePoints(context.Background(), points(0, 3))
	await.Until(t, 5*time.Second, "3 lines at the fake InfluxDB", func() bool { return len(f.got()) == 3 })

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) != 1 || f.queries[0] != `CREATE DATABASE "my \"db\""` {
		t.Errorf("queries %q, want one CREATE DATABASE with the name quoted", f.queries)
	}
	wr := f.reqs[len(f.reqs)-1]
	if wr.URL.Path != "/write" || wr.URL.Query().Get("db") != `my "db"` || wr.URL.Query().Get("precision") != "s" {
		t.Errorf("write went to %s", wr.URL)
	}
	if wr.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding %q", wr.Header.Get("Content-Encoding"))
	}
	if f.lines[0] != "m,host=h v=0 1764576000" {
		t.Errorf("first line %q", f.lines[0])
	}
}

func TestWriteV2(t *testing.T) {
	f := &fakeInflux{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	w := startWriter(t, Config{URL: srv.URL + "/base", Org: "acme", Bucket: "hosts", Token: "s3cret", BufferPoints: 100}, nil)
	_ = w.WritePoints(context.Background(), points(0, 2))
	await.Until(t, 5*time.Second, "2 lines at the fake InfluxDB", func() bool { return len(f.got()) == 2 })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) != 0 {
		t.Errorf("2.x must not create a database: %q", f.queries)
	}
	r := f.reqs[0]
	q := r.URL.Query()
	if r.URL.Path != "/base/api/v2/write" || q.Get("org") != "acme" || q.Get("bucket") != "hosts" || q.Get("precision") != "s" {
		t.Errorf("write went to %s", r.URL)
	}
	if r.Header.Get("Authorization") != "Token s3cret" {
		t.Errorf("Authorization %q", r.Header.Get("Authorization"))
	}
}

func TestOutageBuffersAndDropsOldest(t *testing.T) {
	f := &fakeInflux{status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(f)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	w := startWriter(t, Config{URL: srv.URL, Database: "db", BufferPoints: 10, BatchPoints: 4,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, reg)
	for i := range 5 {
		_ = w.WritePoints(context.Background(), points(i*3, 3)) // 15 points in all
	}
	await.Until(t, 5*time.Second, "a failed write counted", func() bool { return metrictest.Value(t, w.writeErrors) > 0 })
	if got := metrictest.Value(t, w.dropped.WithLabelValues("buffer_full")); got != 5 {
		t.Errorf("dropped %v, want 5 (15 points into a buffer of 10)", got)
	}
	if w.Check() == nil {
		t.Error("Check is healthy during the outage")
	}
	f.setStatus(0)
	await.Until(t, 5*time.Second, "the 10 newest points written", func() bool { return len(f.got()) == 10 })
	got := f.got()
	for i, line := range got {
		if want := fmt.Sprintf("m,host=h v=%d 1764576000", 5+i); line != want {
			t.Errorf("line %d = %q, want %q (the newest, in order)", i, line, want)
		}
	}
	await.Until(t, time.Second, "healthy again", func() bool { return w.Check() == nil && w.Buffered() == 0 })
	if got := metrictest.Value(t, w.written); got != 10 {
		t.Errorf("written %v, want 10", got)
	}
}

// A full buffer pushing out lines that are being sent: if the send succeeds they were
// delivered, and are not counted as dropped too.
func TestLinesDeliveredWhileDroppedAreNotCounted(t *testing.T) {
	f := &fakeInflux{}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/write" {
			once.Do(func() {
				close(entered)
				<-release
			})
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	w := startWriter(t, Config{URL: srv.URL, Database: "db", BufferPoints: 4}, nil)
	_ = w.WritePoints(context.Background(), points(0, 4))
	<-entered                                             // the 4 points are in flight
	_ = w.WritePoints(context.Background(), points(4, 3)) // pushes 3 of them out
	close(release)
	await.Until(t, 5*time.Second, "all 7 points delivered", func() bool { return len(f.got()) == 7 })
	if got := metrictest.Value(t, w.dropped.WithLabelValues("buffer_full")); got != 0 {
		t.Errorf("dropped %v, want 0: every point was delivered", got)
	}
}

func TestRejectedBatchIsDroppedNotRetried(t *testing.T) {
	f := &fakeInflux{status: http.StatusBadRequest}
	srv := httptest.NewServer(f)
	defer srv.Close()
	w := startWriter(t, Config{URL: srv.URL, Database: "db", BufferPoints: 10, MinBackoff: time.Millisecond}, nil)
	_ = w.WritePoints(context.Background(), points(0, 2))
	await.Until(t, 5*time.Second, "the rejected batch counted", func() bool {
		return metrictest.Value(t, w.dropped.WithLabelValues("rejected")) == 2
	})
	if w.Buffered() != 0 || metrictest.Value(t, w.writeErrors) != 0 {
		t.Errorf("buffered %d, retryable errors %v; want 0 and 0", w.Buffered(), metrictest.Value(t, w.writeErrors))
	}
}

func TestNewNamesTheKey(t *testing.T) {
	cases := map[string]struct {
		cfg  Config
		want string
	}{
		"bad url":        {Config{URL: "localhost:8086", Database: "d", BufferPoints: 1}, "sysagent.influxdb.url"},
		"no database":    {Config{URL: "http://x", BufferPoints: 1}, "sysagent.influxdb.database"},
		"bucket, no org": {Config{URL: "http://x", Bucket: "b", BufferPoints: 1}, "sysagent.influxdb.org"},
		"no buffer":      {Config{URL: "http://x", Database: "d"}, "sysagent.buffer_points"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}
