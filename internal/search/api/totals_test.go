package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// lowEstimate is a store whose histograms are estimates of 0 lines (a sample that
// missed every match), counting its Histogram calls.
type lowEstimate struct {
	store.Store
	calls int
}

func (s *lowEstimate) Histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration) ([]store.Bucket, bool, error) {
	s.calls++
	bs, _, err := s.Store.Histogram(ctx, q, from, to, step)
	for i := range bs {
		bs[i].Count = 0
	}
	return bs, true, err
}

type searchBody struct {
	Hits []struct {
		Time string `json:"time"`
	} `json:"hits"`
	Total          *int64   `json:"total"`
	TotalEstimated *bool    `json:"total_estimated"`
	Buckets        []bucket `json:"buckets"`
	StepMS         int64    `json:"step_ms"`
}

func searchJSON(t *testing.T, a *API, params url.Values) searchBody {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/search?"+params.Encode(), nil)
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("search %v: %d %s", params, rec.Code, rec.Body)
	}
	var b searchBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if b.Total == nil || b.TotalEstimated == nil {
		t.Fatalf("search %v: no total in %s", params, rec.Body)
	}
	return b
}

// TestSearchTotalNeverBelowHits: a first page holding every match is its own exact
// histogram (the store is not asked: its estimate could miss them); a page with an older
// one has the store's estimate, raised in each bucket to the page's hits there.
func TestSearchTotalNeverBelowHits(t *testing.T) {
	sq := newStore(t)
	st := &lowEstimate{Store: sq}
	a := newAPI(t, st, 0)
	from, to := testNow.Add(-90*time.Second), testNow
	params := url.Values{"q": {"timeout"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}

	all := searchJSON(t, a, params)
	if len(all.Hits) != 20 || *all.Total != 20 || *all.TotalEstimated || st.calls != 0 {
		t.Errorf("complete page: %d hits, total %d, estimated %v, %d store histograms; want 20, 20, false, 0",
			len(all.Hits), *all.Total, *all.TotalEstimated, st.calls)
	}
	// Laid out and counted as the store's own histogram.
	q, err := query.Parse("timeout")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := sq.Histogram(context.Background(), q, from, to, time.Duration(all.StepMS)*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Buckets) != len(want) {
		t.Fatalf("%d buckets, the store's histogram has %d", len(all.Buckets), len(want))
	}
	for i, b := range want {
		if got := all.Buckets[i]; got.Time != b.Time.UTC().Format(time.RFC3339) || got.Count != b.Count {
			t.Errorf("bucket %d: %+v, the store's %s %d", i, got, b.Time, b.Count)
		}
	}

	params.Set("limit", "7")
	page := searchJSON(t, a, params)
	if len(page.Hits) != 7 || st.calls != 1 || !*page.TotalEstimated || *page.Total < 7 {
		t.Errorf("first of three pages: %d hits, total %d, estimated %v, %d store histograms; want 7, ≥ 7, true, 1",
			len(page.Hits), *page.Total, *page.TotalEstimated, st.calls)
	}
	step := time.Duration(page.StepMS) * time.Millisecond
	perBucket := map[string]int64{}
	for _, h := range page.Hits {
		ts, err := time.Parse(time.RFC3339Nano, h.Time)
		if err != nil {
			t.Fatal(err)
		}
		perBucket[ts.UTC().Truncate(step).Format(time.RFC3339)]++
	}
	for _, b := range page.Buckets {
		if b.Count < perBucket[b.Time] {
			t.Errorf("bucket %s: %d, below the page's %d hits in it", b.Time, b.Count, perBucket[b.Time])
		}
	}
}
