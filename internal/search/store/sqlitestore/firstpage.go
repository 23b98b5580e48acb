package sqlitestore

import (
	"context"
	"math"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

var _ store.FirstPager = (*Store)(nil)

// FirstPage returns the UI's first page of a query (the newest r.Limit lines, no cursor)
// and its histogram by step, as Search and Histogram would, each day's candidate blocks
// listed once for both and each block read once. Asked apart, both listed them: for a
// rare number at 100 million lines that is the test of ~195,000 blocks' filters twice,
// and the search then read most of the blocks its histogram read again. Here the search
// reads the listed blocks newest first, noting the times of their matching lines, and
// the histogram counts those as they are and checks (or samples) only the candidates the
// search did not read (countListed), so a count is never below the page's hits. A page
// with a cursor, or of every line (whose histogram is the day's totals), is Search's and
// Histogram's.
func (s *Store) FirstPage(ctx context.Context, r store.SearchRequest, step time.Duration) (store.SearchResult, []store.Bucket, bool, error) {
	if r.Before != "" || r.Query.Kind == query.All {
		res, err := s.Search(ctx, r)
		if err != nil {
			return res, nil, false, err
		}
		bs, est, err := s.Histogram(ctx, r.Query, r.From, r.To, step)
		return res, bs, est, err
	}
	buckets, first, err := newBuckets(r.From, r.To, step)
	if err != nil {
		return store.SearchResult{}, nil, false, err
	}
	from, to, st := r.From.UnixNano(), r.To.UnixNano(), int64(step)
	parts, release := s.readParts()
	defer release()
	parts = covering(parts, from, to)
	days, err := listDays(ctx, parts, r.Query, from, to)
	if err != nil {
		return store.SearchResult{}, nil, false, err
	}
	res, err := searchDays(ctx, parts, r.Query, from, to, pos{}, r.Limit, days)
	if err != nil {
		return store.SearchResult{}, nil, false, err
	}
	counts := make([]float64, len(buckets))
	est, err := countListed(ctx, parts, r.Query, from, to, first, st, days, counts)
	if err != nil {
		return store.SearchResult{}, nil, false, err
	}
	for i, c := range counts {
		buckets[i].Count = int64(math.Round(c))
	}
	return res, buckets, est, nil
}
