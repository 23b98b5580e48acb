package opensearchstore

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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
