package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/search/store/sqlitestore"
)

// testNow is the API's clock in these tests: the rows are the minute before it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newStore opens an sqlitestore in a temporary dir holding a few rows (the minute before
// testNow, and host-metric points), its writer running until the test ends.
func newStore(t testing.TB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(sqlitestore.Config{Dir: t.TempDir()}, nil, nil)
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
	rows := make([]store.Row, 20)
	for i := range rows {
		rows[i] = store.Row{Time: testNow.Add(-time.Minute + time.Duration(i)*time.Second), Host: "h1", Path: "/var/log/a.log",
			Topic: "a", FileID: "1:2", Offset: int64(i * 10), End: int64(i*10 + 10),
			Message: fmt.Sprintf("level=error service=db msg=\"database timeout %d\"", i)}
	}
	committed := make(chan struct{})
	if err := s.Append(context.Background(), rows, func() { close(committed) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-committed:
	case <-time.After(30 * time.Second):
		t.Fatal("rows not committed within 30s")
	}
	return s
}

func newAPI(t testing.TB, st store.Store, timeout time.Duration) *API {
	t.Helper()
	a, err := New(Deps{Logs: st, Metrics: st, Now: func() time.Time { return testNow }, QueryTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// get serves path?params and returns the status and the decoded error body.
func get(t testing.TB, h http.Handler, ctx context.Context, path string, params url.Values) (int, errBody) {
	t.Helper()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path+"?"+params.Encode(), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body errBody
	if rec.Code != http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %v: %d with a body that is not JSON: %q", path, params, rec.Code, rec.Body.String())
		}
	}
	return rec.Code, body
}

func TestParamLimits(t *testing.T) {
	h := newAPI(t, newStore(t), 0).Handler()
	for _, tc := range []struct {
		name, path string
		params     url.Values
		param      string // the parameter the 400 names; "" for a 200
		msg        string
	}{
		{"in range", "/api/search", url.Values{"q": {"database"}, "from": {"now-1h"}}, "", ""},
		{"too many terms", "/api/search", url.Values{"q": {strings.Repeat("a ", 65)}}, "q", "at most 64 terms"},
		{"the 6,000 a* attack", "/api/search", url.Values{"q": {strings.Repeat("a* ", 6000)}}, "q", "at most 4096 bytes"},
		{"too many prefixes", "/api/fields", url.Values{"q": {strings.Repeat("ab* ", 9)}}, "q", "at most 8 prefixes"},
		{"nesting", "/api/search", url.Values{"q": {strings.Repeat("NOT ", 17) + "a"}}, "q", "at most 16 levels"},
		{"from 1600", "/api/search", url.Values{"from": {"1600-01-01T00:00:00Z"}, "to": {"now"}}, "from", "before 1970"},
		{"from 0001 to 9999", "/api/search", url.Values{"from": {"0001-01-01T00:00:00Z"}, "to": {"9999-12-31T00:00:00Z"}}, "from", "before 1970"},
		{"to 9999", "/api/search", url.Values{"from": {"now-1h"}, "to": {"9999-12-31T00:00:00Z"}}, "to", "a year from now"},
		{"from far back", "/api/fields", url.Values{"from": {"now-100000000d"}}, "from", ""},
		{"negative millis", "/api/metrics", url.Values{"measurement": {"cpu"}, "field": {"usage_percent"}, "from": {"-1"}}, "from", "before 1970"},
		{"since 1970", "/api/search", url.Values{"from": {"0"}}, "", ""},
		{"metric step too small", "/api/metrics", url.Values{"measurement": {"cpu"}, "field": {"usage_percent"},
			"from": {"0"}, "step": {"1s"}}, "step", "more than 10000 points"},
		{"metric step over a day", "/api/metrics", url.Values{"measurement": {"cpu"}, "field": {"usage_percent"},
			"from": {"now-1d"}, "step": {"10s"}}, "", ""},
		{"limit", "/api/search", url.Values{"limit": {"99999999999999999999"}}, "limit", "from 1 to 1000"},
		{"cursor", "/api/search", url.Values{"cursor": {"AAAAAAAAAAA"}}, "cursor", ""},
		{"context after", "/api/context", url.Values{"file_id": {"1:2"}, "offset": {"0"}, "after": {"100000"}}, "after", ""},
		{"context offset", "/api/context", url.Values{"file_id": {"1:2"}, "offset": {"99999999999999999999"}}, "offset", ""},
		{"fields limit", "/api/fields", url.Values{"limit": {"0"}}, "limit", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, h, context.Background(), tc.path, tc.params)
			if tc.param == "" {
				if code != http.StatusOK {
					t.Fatalf("status %d (%+v), want 200", code, body)
				}
				return
			}
			if code != http.StatusBadRequest || body.Param != tc.param || !strings.Contains(body.Error, tc.msg) ||
				!strings.HasPrefix(body.Error, tc.param+": ") {
				t.Fatalf("status %d %+v, want 400 naming %s with %q", code, body, tc.param, tc.msg)
			}
		})
	}
}

// TestQueryTimeout: a request whose context is past its deadline is a 503 saying how to
// narrow it, on every store-reading route.
func TestQueryTimeout(t *testing.T) {
	h := newAPI(t, newStore(t), 0).Handler()
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for path, params := range map[string]url.Values{
		"/api/search":  {"q": {"database"}, "from": {"now-1h"}},
		"/api/fields":  {"from": {"now-1h"}},
		"/api/context": {"file_id": {"1:2"}, "offset": {"50"}},
		"/api/metrics": {"measurement": {"cpu"}, "field": {"usage_percent"}},
		"/api/hosts":   {},
	} {
		code, body := get(t, h, ctx, path, params)
		want := "the query took longer than 10s; narrow the time range or the query"
		if code != http.StatusServiceUnavailable || body.Error != want {
			t.Errorf("%s: %d %+v, want 503 %q", path, code, body, want)
		}
	}
}

// slowStore's Search waits until its context ends.
type slowStore struct{ store.Store }

func (slowStore) Search(ctx context.Context, _ store.SearchRequest) (store.SearchResult, error) {
	<-ctx.Done()
	return store.SearchResult{}, ctx.Err()
}

// TestQueryTimeoutApplied: the configured timeout ends a search the store would not end.
func TestQueryTimeoutApplied(t *testing.T) {
	h := newAPI(t, slowStore{}, 20*time.Millisecond).Handler()
	code, body := get(t, h, context.Background(), "/api/search", url.Values{"q": {"x"}})
	if code != http.StatusServiceUnavailable || !strings.Contains(body.Error, "longer than 20ms") {
		t.Fatalf("%d %+v, want 503 naming 20ms", code, body)
	}
}

// FuzzParams: no parameters make a handler panic, or answer a 5xx other than the
// timeout's 503.
func FuzzParams(f *testing.F) {
	h := newAPI(f, newStore(f), 0).Handler()
	f.Add("", "", "", "", "", "")
	f.Add(strings.Repeat("a* ", 6000), "now-1h", "now", "100", "", "")
	f.Add(strings.Repeat("a* ", 20000), "", "", "", "", "")
	f.Add(strings.Repeat("NOT ", 30000)+"a", "", "", "", "", "")
	f.Add("database", "1600-01-01T00:00:00Z", "now", "", "", "1s")
	f.Add("", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "", "", "")
	f.Add("path:*a*a*a*a*a*a*b", "0", "now", "1000", "AAAAAAAAAAE", "1ns")
	f.Add("host:h1", "now-9999999999d", "-9223372036854775808", "-1", "____________", "99999999999h")
	f.Add("(a OR b", "1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z", "0", "AAAAAAAAAAA", "0s")
	f.Fuzz(func(t *testing.T, q, from, to, limit, cursor, step string) {
		for _, path := range []string{"/api/search", "/api/fields", "/api/metrics", "/api/context"} {
			params := url.Values{"q": {q}, "from": {from}, "to": {to}, "limit": {limit}, "cursor": {cursor}, "step": {step},
				"measurement": {"cpu"}, "field": {"usage_percent"}, "file_id": {"1:2"}, "offset": {limit},
				"before": {limit}, "after": {limit}}
			code, body := get(t, h, context.Background(), path, params)
			if code >= 500 && !(code == http.StatusServiceUnavailable && strings.HasPrefix(body.Error, "the query took longer")) {
				t.Fatalf("%s %v: %d %+v", path, params, code, body)
			}
		}
	})
}

// downStore's Search fails as a store that cannot answer for now.
type downStore struct{ store.Store }

func (downStore) Search(context.Context, store.SearchRequest) (store.SearchResult, error) {
	return store.SearchResult{}, fmt.Errorf("opensearch POST /logs-*/_search: 503 Service Unavailable: %w", store.ErrUnavailable)
}

// TestStoreUnavailable: a store that cannot answer for now is a 503 with Retry-After,
// not a 500 (a client tries again).
func TestStoreUnavailable(t *testing.T) {
	h := newAPI(t, downStore{}, 0).Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/search?q=x", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), "unavailable for now") {
		t.Fatalf("%d %q (Retry-After %q), want 503 saying the store is unavailable, with Retry-After",
			rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
}
