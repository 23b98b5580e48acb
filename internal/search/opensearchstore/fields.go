package opensearchstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// facetPaths returns the aggregatable keyword paths of the indices by the field name the
// query language uses: host, path, topic, parsed fields (name, or name.keyword for
// numbers and text) and entry fields (fields.name).
func (s *Store) facetPaths(ctx context.Context) (map[string][]string, error) {
	var resp struct {
		Fields map[string]map[string]struct {
			Aggregatable bool `json:"aggregatable"`
		} `json:"fields"`
	}
	path := "/" + s.pattern + "/_field_caps?ignore_unavailable=true&allow_no_indices=true&fields=*"
	if err := s.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for p, types := range resp.Fields {
		kw, ok := types["keyword"]
		if !ok || !kw.Aggregatable || strings.HasPrefix(p, "_") {
			continue
		}
		name := strings.TrimPrefix(strings.TrimSuffix(p, ".keyword"), "fields.")
		if name == "file_id" || (reserved[name] && name != "host" && name != "path" && name != "topic") {
			continue
		}
		if !strings.HasPrefix(p, "fields.") && strings.Contains(name, ".") {
			continue // a sub-field other than .keyword, or an object's member
		}
		out[name] = append(out[name], p)
	}
	return out, nil
}

// Fields counts the values of host, path, topic and every other field over the newest
// sample matching documents: the @timestamp of the sample-th newest bounds a terms
// aggregation per field (top values by count, then by value, as the embedded store).
func (s *Store) Fields(ctx context.Context, q *query.Node, from, to time.Time, limit, sample int) ([]store.FieldFacet, int64, error) {
	f, err := s.filter(ctx, q, from, to)
	if err != nil {
		return nil, 0, err
	}
	if sample > 0 {
		body := map[string]any{"query": f, "from": sample - 1, "size": 1, "sort": sortKeys("desc"), "_source": false, "track_total_hits": false}
		var resp hitsResp
		if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
			return nil, 0, err
		}
		if len(resp.Hits.Hits) == 1 && len(resp.Hits.Hits[0].Sort) > 0 {
			cut, _ := resp.Hits.Hits[0].Sort[0].Int64()
			f = map[string]any{"bool": map[string]any{"filter": []any{f,
				map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": cut, "format": "epoch_millis"}}}}}}
		}
	}
	paths, err := s.facetPaths(ctx)
	if err != nil {
		return nil, 0, err
	}
	aggs := map[string]any{}
	var keys []string
	for _, ps := range paths {
		for _, p := range ps {
			keys = append(keys, p)
			aggs[fmt.Sprint(len(keys)-1)] = map[string]any{"terms": map[string]any{"field": p, "size": limit,
				"order": []any{map[string]any{"_count": "desc"}, map[string]any{"_key": "asc"}}}}
		}
	}
	body := map[string]any{"query": f, "size": 0, "track_total_hits": true, "aggs": aggs}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return nil, 0, err
	}
	byName := map[string]*store.FieldFacet{}
	for i, p := range keys {
		var t struct {
			Other   int64 `json:"sum_other_doc_count"`
			Buckets []struct {
				Key      any   `json:"key"`
				KeyStr   any   `json:"key_as_string"`
				DocCount int64 `json:"doc_count"`
			} `json:"buckets"`
		}
		if err := json.Unmarshal(resp.Aggregations[fmt.Sprint(i)], &t); err != nil {
			return nil, 0, fmt.Errorf("decode terms of %s: %w", p, err)
		}
		name := strings.TrimPrefix(strings.TrimSuffix(p, ".keyword"), "fields.")
		ff := byName[name]
		if ff == nil {
			ff = &store.FieldFacet{Name: name, Values: []store.ValueCount{}}
			byName[name] = ff
		}
		ff.Lines += t.Other
		for _, b := range t.Buckets {
			ff.Lines += b.DocCount
			ff.Values = append(ff.Values, store.ValueCount{Value: scalar(b.Key), Count: b.DocCount})
		}
	}
	var out []store.FieldFacet
	for _, fixedName := range []string{"host", "path", "topic"} {
		ff := byName[fixedName]
		if ff == nil {
			ff = &store.FieldFacet{Name: fixedName, Values: []store.ValueCount{}}
		}
		out = append(out, *ff)
		delete(byName, fixedName)
	}
	var rest []store.FieldFacet
	for _, ff := range byName {
		if ff.Lines > 0 {
			rest = append(rest, *ff)
		}
	}
	slices.SortFunc(rest, func(a, b store.FieldFacet) int {
		return cmp.Or(cmp.Compare(b.Lines, a.Lines), strings.Compare(a.Name, b.Name))
	})
	out = append(out, rest...)
	for i := range out {
		vs := out[i].Values
		slices.SortFunc(vs, func(a, b store.ValueCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
		if len(vs) > limit {
			out[i].Values = vs[:limit]
		}
	}
	return out, resp.Hits.Total.Value, nil
}
