package opensearchsink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
	"github.com/logcollect/logcollect/internal/transfer/document"
)

// fakeOS is an OpenSearch _bulk endpoint whose answer per item the test decides.
type fakeOS struct {
	mu       sync.Mutex
	requests int
	// item returns the status (and error type) of the n-th item of request req; ids seen
	// with 2xx are stored.
	item   func(req int, id string) (int, string)
	whole  func(req int) int // a status for the whole request, or 0
	stored map[string]int
	other  []string // non-bulk requests: "METHOD path"
	bodies map[string][]byte
}

func (f *fakeOS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path != "/_bulk" {
		f.other = append(f.other, r.Method+" "+r.URL.Path)
		if f.bodies == nil {
			f.bodies = map[string][]byte{}
		}
		f.bodies[r.Method+" "+r.URL.Path] = body
		switch {
		case strings.HasPrefix(r.URL.Path, "/_plugins/_ism") && r.Method == http.MethodGet:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"type":"status_exception","reason":"Policy not found"},"status":404}`))
		default:
			_, _ = w.Write([]byte(`{"acknowledged":true}`))
		}
		return
	}
	req := f.requests
	f.requests++
	if f.whole != nil {
		if code := f.whole(req); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	var items []string
	errs := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var action struct {
			Index struct {
				ID string `json:"_id"`
			} `json:"index"`
		}
		if err := json.Unmarshal(sc.Bytes(), &action); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		sc.Scan() // the source
		status, typ := 201, ""
		if f.item != nil {
			status, typ = f.item(req, action.Index.ID)
		}
		if status < 300 {
			f.stored[action.Index.ID]++
			items = append(items, fmt.Sprintf(`{"index":{"status":%d}}`, status))
		} else {
			errs = true
			items = append(items, fmt.Sprintf(`{"index":{"status":%d,"error":{"type":%q,"reason":"test"}}}`, status, typ))
		}
	}
	fmt.Fprintf(w, `{"errors":%v,"items":[%s]}`, errs, strings.Join(items, ","))
}

func newTestIndexer(t *testing.T, f *fakeOS, reg prometheus.Registerer) *Indexer {
	t.Helper()
	if f.stored == nil {
		f.stored = map[string]int{}
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{srv.URL}
	cfg.MaxRetryBackoff = config.Duration(20 * time.Millisecond)
	cfg.Retention = "14d"
	ix, err := New(cfg, Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func docs(n int) []document.Document {
	out := make([]document.Document, n)
	for i := range out {
		out[i] = document.Document{ID: fmt.Sprintf("id%03d", i), Message: fmt.Sprintf("line %d", i), Topic: "Web_Log",
			Time: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Offset: int64(i)}
	}
	return out
}

func TestWriteRetriesAndRejects(t *testing.T) {
	f := &fakeOS{
		whole: func(req int) int {
			if req == 0 {
				return http.StatusServiceUnavailable
			}
			if req == 1 {
				return http.StatusTooManyRequests
			}
			return 0
		},
		item: func(req int, id string) (int, string) {
			switch {
			case id == "id007":
				return 400, "mapper_parsing_exception"
			case id < "id010" && req < 4:
				return 429, "es_rejected_execution_exception"
			case id == "id011" && req < 3:
				return 503, "unavailable_shards_exception"
			}
			return 201, ""
		},
	}
	reg := prometheus.NewRegistry()
	ix := newTestIndexer(t, f, reg)
	rej, err := ix.Write(context.Background(), docs(20))
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 || rej[0].Doc != 7 || !strings.Contains(rej[0].Reason, "mapper_parsing_exception") {
		t.Fatalf("rejections %+v, want only doc 7 for its mapping", rej)
	}
	for i := range 20 {
		id := fmt.Sprintf("id%03d", i)
		if want := 1; i != 7 && f.stored[id] != want {
			t.Errorf("%s stored %d times", id, f.stored[id])
		}
	}
	if got := metrictest.Value(t, ix.m.retries.WithLabelValues("request")); got != 2 {
		t.Errorf("request retries = %v, want 2 (a 503 and a 429)", got)
	}
	if got := metrictest.Value(t, ix.m.indexed); got != 19 {
		t.Errorf("indexed = %v, want 19", got)
	}
	if got := metrictest.Value(t, ix.m.itemFailures.WithLabelValues("mapper_parsing_exception")); got != 1 {
		t.Errorf("mapping failures = %v, want 1", got)
	}
	if err := ix.Check(); err != nil {
		t.Errorf("Check after success: %v", err)
	}
}

func TestWriteStopsWithContext(t *testing.T) {
	// The context ends once OpenSearch has refused a few requests (not after a fixed time:
	// under -race on a busy machine the first answer can take longer than any guess).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := &fakeOS{whole: func(req int) int {
		if req >= 3 {
			cancel()
		}
		return http.StatusBadGateway
	}}
	ix := newTestIndexer(t, f, nil)
	if _, err := ix.Write(ctx, docs(3)); err == nil {
		t.Fatal("Write returned nil while OpenSearch failed every request")
	}
	if err := ix.Check(); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("Check = %v, want the 502", err)
	}
}

func TestWriteSplitsTooLarge(t *testing.T) {
	var sizes []int
	f := &fakeOS{}
	f.whole = func(req int) int { return 0 }
	srvf := &sizeLimit{next: f, max: 3, sizes: &sizes}
	if f.stored == nil {
		f.stored = map[string]int{}
	}
	srv := httptest.NewServer(srvf)
	defer srv.Close()
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{srv.URL}
	cfg.MaxRetryBackoff = config.Duration(10 * time.Millisecond)
	ix, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	rej, err := ix.Write(context.Background(), docs(10))
	if err != nil || len(rej) != 0 {
		t.Fatalf("rej %v err %v", rej, err)
	}
	if len(f.stored) != 10 {
		t.Errorf("%d stored, want 10 (sizes sent %v)", len(f.stored), sizes)
	}
}

// sizeLimit answers 413 to bulk requests of more than max documents.
type sizeLimit struct {
	next  http.Handler
	max   int
	mu    sync.Mutex
	sizes *[]int
}

func (s *sizeLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n := bytes.Count(body, []byte("\n")) / 2
	s.mu.Lock()
	*s.sizes = append(*s.sizes, n)
	s.mu.Unlock()
	if n > s.max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.next.ServeHTTP(w, r)
}

func TestSetupInstallsTemplateAndPolicy(t *testing.T) {
	f := &fakeOS{}
	ix := newTestIndexer(t, f, nil)
	if err := ix.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"PUT /_index_template/logcollect", "GET /_plugins/_ism/policies/logcollect", "PUT /_plugins/_ism/policies/logcollect"}
	if fmt.Sprint(f.other) != fmt.Sprint(want) {
		t.Fatalf("requests %v, want %v", f.other, want)
	}
	var tmpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Template      struct {
			Mappings struct {
				Properties map[string]struct {
					Type string `json:"type"`
				} `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	if err := json.Unmarshal(f.bodies[want[0]], &tmpl); err != nil {
		t.Fatal(err)
	}
	props := tmpl.Template.Mappings.Properties
	if fmt.Sprint(tmpl.IndexPatterns) != "[*-*]" || props["message"].Type != "text" || props["host"].Type != "keyword" ||
		props["@timestamp"].Type != "date" || props["offset"].Type != "long" {
		t.Errorf("template %s", f.bodies[want[0]])
	}
	if !bytes.Contains(f.bodies[want[2]], []byte(`"min_index_age":"14d"`)) {
		t.Errorf("policy %s", f.bodies[want[2]])
	}
}

func TestIndexName(t *testing.T) {
	n := parseIndexName("logs-{topic}-{date}")
	day := time.Date(2026, 3, 4, 23, 59, 0, 0, time.FixedZone("x", -3600))
	if got := n.expand("Web_Log", day); got != "logs-web_log-2026.03.05" {
		t.Errorf("expand = %s", got)
	}
	if got := n.pattern(); got != "logs-*-*" {
		t.Errorf("pattern = %s", got)
	}
	if got := parseIndexName("{topic}{date}").pattern(); got != "*" {
		t.Errorf("pattern = %s", got)
	}
	if got := parseIndexName("fixed").expand("t", day); got != "fixed" {
		t.Errorf("fixed = %s", got)
	}
}

// Without the ISM plugin, retention is skipped with a warning, not an error.
func TestSetupWithoutISM(t *testing.T) {
	mux := http.NewServeMux()
	var puts []string
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_plugins/") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"no handler found for uri [/_plugins/_ism/policies/logcollect] and method [GET]"}`))
			return
		}
		puts = append(puts, r.Method+" "+r.URL.Path)
		_, _ = w.Write([]byte(`{"acknowledged":true}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{srv.URL}
	cfg.Retention = "7d"
	ix, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ix.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(puts) != "[PUT /_index_template/logcollect]" {
		t.Errorf("requests %v", puts)
	}
}

// opensearch.compress sends gzip bodies.
func TestWriteGzip(t *testing.T) {
	var encodings []string
	f := &fakeOS{stored: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encodings = append(encodings, r.Header.Get("Content-Encoding"))
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			r.Body = io.NopCloser(zr)
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := config.Default().OpenSearch
	cfg.Addresses = []string{srv.URL}
	cfg.Compress = true
	ix, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Write(context.Background(), docs(5)); err != nil {
		t.Fatal(err)
	}
	if len(f.stored) != 5 || fmt.Sprint(encodings) != "[gzip]" {
		t.Errorf("stored %d, encodings %v", len(f.stored), encodings)
	}
}
