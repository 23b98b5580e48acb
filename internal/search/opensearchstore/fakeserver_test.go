package opensearchstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

func newTestStore(t *testing.T, addr string) *Store {
	t.Helper()
	c, err := opensearch.NewClient(opensearch.Config{Addresses: []string{addr}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(c, Options{Pattern: "logs-*"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUnavailable: OpenSearch answering 503 or 429, or not answering at all, is
// store.ErrUnavailable (the API's 503); any other failure is not.
func TestUnavailable(t *testing.T) {
	var status atomic.Int32 // read by the server's goroutine
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"error":{"type":"search_phase_execution_exception","reason":"all shards failed"},"status":503}`))
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close() // nothing listens there now

	search := func(addr string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := newTestStore(t, addr).Search(ctx, store.SearchRequest{Query: &query.Node{Kind: query.All}, Limit: 10})
		return err
	}
	for _, tc := range []struct {
		name        string
		status      int
		addr        string
		unavailable bool
	}{
		{"503", http.StatusServiceUnavailable, srv.URL, true},
		{"429", http.StatusTooManyRequests, srv.URL, true},
		{"400", http.StatusBadRequest, srv.URL, false},
		{"500", http.StatusInternalServerError, srv.URL, false},
		{"connection refused", 0, closed, true},
	} {
		status.Store(int32(tc.status))
		err := search(tc.addr)
		if err == nil || errors.Is(err, store.ErrUnavailable) != tc.unavailable {
			t.Errorf("%s: %v, want an error that is ErrUnavailable: %v", tc.name, err, tc.unavailable)
		}
	}
}

// TestFieldCapsCached: a field's paths are asked once for the searches of the next
// seconds; a name without a path in the indices is asked again each time (a new index
// may bring it).
func TestFieldCapsCached(t *testing.T) {
	var caps atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/_field_caps") {
			caps.Add(1)
			if strings.Contains(r.URL.RawQuery, "status") {
				_, _ = w.Write([]byte(`{"fields":{"status":{"long":{"type":"long","searchable":true,"aggregatable":true}}}}`))
				return
			}
			_, _ = w.Write([]byte(`{"fields":{}}`))
			return
		}
		_, _ = w.Write([]byte(`{"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}`))
	}))
	defer srv.Close()
	s := newTestStore(t, srv.URL)
	ask := func(q string) {
		t.Helper()
		n, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Search(context.Background(), store.SearchRequest{Query: n, Limit: 10}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		ask("status:404")
	}
	if n := caps.Load(); n != 1 {
		t.Errorf("3 searches of status:404: %d _field_caps requests, want 1", n)
	}
	for range 2 {
		ask("nosuch:x")
	}
	if n := caps.Load(); n != 3 {
		t.Errorf("then 2 searches of a field no index has: %d _field_caps requests in all, want 3", n)
	}
}

// TestFirstPageOneRequest: a first page and its histogram are one search whose body has
// both the page (size, sort) and the date_histogram; the buckets are laid out from the
// range's start rounded down to the step, as Histogram's.
func TestFirstPageOneRequest(t *testing.T) {
	var searches atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		searches.Add(1)
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b))
		_, _ = w.Write([]byte(`{"hits":{"hits":[{"_source":{"@timestamp":"2026-12-02T10:07:00Z","message":"m"},"sort":[1,2,3,4]}]},
			"aggregations":{"h":{"buckets":[{"key":` + strconv.FormatInt(time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC).UnixMilli(), 10) + `,"doc_count":7}]}}}`))
	}))
	defer srv.Close()
	s := newTestStore(t, srv.URL)
	from := time.Date(2026, 12, 2, 10, 1, 0, 0, time.UTC)
	res, bs, est, err := s.FirstPage(context.Background(), store.SearchRequest{Query: &query.Node{Kind: query.All},
		From: from, To: from.Add(15 * time.Minute), Limit: 100}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := body.Load().(string)
	if n := searches.Load(); n != 1 || !strings.Contains(sent, `"aggs"`) || !strings.Contains(sent, `"size":101`) {
		t.Fatalf("%d requests, the last %s; want one with the page and the aggregation", n, sent)
	}
	if len(res.Rows) != 1 || res.More || est || len(bs) != 4 || !bs[0].Time.Equal(from.Truncate(5*time.Minute)) ||
		bs[1].Count != 7 || bs[0].Count+bs[2].Count+bs[3].Count != 0 {
		t.Errorf("rows %d (more %v), buckets %v (estimated %v)", len(res.Rows), res.More, bs, est)
	}
}
