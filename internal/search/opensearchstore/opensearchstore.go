// Package opensearchstore is the read side of the log store over the indices the
// transfer writes to OpenSearch: the query language compiled to the query DSL, pages
// newest first with search_after, histograms by date_histogram, context by file_id and
// offset, facets by terms aggregations, hosts, and live tail by polling. It implements
// store.Reader so that the HTTP API of the standalone serves a cluster unchanged.
package opensearchstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

var (
	_ store.Reader     = (*Store)(nil)
	_ store.FirstPager = (*Store)(nil)
)

// DefaultPollInterval is how often a live tail asks OpenSearch for new documents: a line
// is on screen at most this long after it is searchable (after the index's refresh
// interval, 1 s by default).
const DefaultPollInterval = time.Second

// Options configure a Store.
type Options struct {
	// Pattern is the index pattern searched: opensearch.index with each {topic} and
	// {date} replaced by * (opensearchsink.IndexPattern).
	Pattern string
	// PollInterval is the live tail's polling period (DefaultPollInterval when zero).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Store reads the transfer's indices. It holds no state of its own beyond seconds of
// cached field mappings: any number of them can serve the same indices.
type Store struct {
	client  *opensearch.Client
	pattern string
	poll    time.Duration
	log     *slog.Logger
	fields  fieldCache
}

// New returns a Store over client; it sends nothing.
func New(client *opensearch.Client, o Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("opensearchstore: a client is required")
	}
	if o.Pattern == "" || strings.ContainsAny(o.Pattern, "/?#, ") {
		return nil, fmt.Errorf("opensearch.index: %q is not an index pattern to search", o.Pattern)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{client: client, pattern: o.Pattern, poll: o.PollInterval, log: o.Logger.With("component", "opensearchstore")}, nil
}

// do sends one request with a JSON body and decodes the JSON answer into out. At log
// level debug each request is logged with its body ("opensearch request"): the DSL a query
// compiles to, to replay it directly against OpenSearch (bench/benchserver does).
func (s *Store) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("opensearch request", "method", method, "path", path, "body", string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Stream(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("opensearch %s %s: %w", method, strings.SplitN(path, "?", 2)[0], err)
		}
		return fmt.Errorf("opensearch %s %s: %w (%w)", method, strings.SplitN(path, "?", 2)[0], store.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err = readAll(resp)
	if err != nil {
		return fmt.Errorf("opensearch %s %s: %w", method, strings.SplitN(path, "?", 2)[0], err)
	}
	if resp.StatusCode >= 300 {
		if len(b) > 500 {
			b = b[:500]
		}
		err := fmt.Errorf("opensearch %s %s: %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status, b)
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			// Passing: shards of a new index not yet allocated, or a node shedding load.
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if out == nil {
		return nil
	}
	if resp, ok := out.(*hitsResp); ok {
		return resp.read(b)
	}
	// Unmarshal, not a Decoder: a Decoder copies the answer into a buffer of its own,
	// grown by doubling. No other answer type holds an interface value whose numbers
	// could lose precision as float64s.
	return json.Unmarshal(b, out)
}

// readAll reads an answer's body into a buffer sized by its Content-Length when it
// has one (io.ReadAll grows from 512 bytes by doubling: half a page's answer again).
func readAll(resp *http.Response) ([]byte, error) {
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n < 64<<20 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

// ---- documents ----

// hitsResp is the part of a search answer the store reads.
type hitsResp struct {
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"`
		} `json:"total"`
		Hits []hitDoc `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]json.RawMessage `json:"aggregations"`
}

// hitDoc is one hit of a search answer.
type hitDoc struct {
	Source source        `json:"_source"`
	Sort   []json.Number `json:"sort"`
}

// reserved are the document's own keys: every other top-level key is a parsed field.
var reserved = map[string]bool{"@timestamp": true, "message": true, "host": true, "path": true, "file_id": true,
	"offset": true, "topic": true, "fields": true, "kafka": true, "parse_error": true, "invalid_utf8": true, "read_time": true}

// rows are the answer's documents as store rows, each with its cursor (the hit's sort
// values) when cursors is set.
func (resp *hitsResp) rows(cursors bool) []store.Row {
	out := make([]store.Row, 0, len(resp.Hits.Hits))
	names := map[string]string{} // field names, one string each for the whole page
	for _, h := range resp.Hits.Hits {
		r := row(h.Source, names)
		if cursors && len(h.Sort) > 0 {
			b, _ := json.Marshal(h.Sort)
			r.Cursor = store.Cursor(b)
		}
		out = append(out, r)
	}
	return out
}

// row turns a document into a store row: the entry's fields (fields.*) win over parsed
// ones, as in the embedded store. names holds the field names seen so far (nil: none
// kept).
func row(src source, names map[string]string) store.Row {
	r := store.Row{Offset: -1}
	var entry []byte // fields: the entry's own, applied last
	var offset, ts, readTS string
	members(src, func(k, v []byte) {
		switch string(k) {
		case "message":
			r.Message = valueText(v)
		case "host":
			r.Host = valueText(v)
		case "path":
			r.Path = valueText(v)
		case "topic":
			r.Topic = valueText(v)
		case "file_id":
			r.FileID = valueText(v)
		case "@timestamp":
			ts = valueText(v)
		case "read_time":
			readTS = valueText(v)
		case "offset":
			offset = string(v)
		case "fields":
			entry = v
		default:
			if reserved[string(k)] {
				return
			}
			if r.Fields == nil {
				r.Fields = make(map[string]string, 16)
			}
			r.Fields[name(names, k)] = valueText(v)
		}
	})
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		r.Time = t.UTC() // the event time
	}
	// When the agent read the line; a document indexed before the transfer wrote it has
	// none, and the row's ReadTime stays zero (unknown).
	if t, err := time.Parse(time.RFC3339Nano, readTS); err == nil {
		r.ReadTime = t.UTC()
	}
	if v, err := strconv.ParseInt(offset, 10, 64); err == nil {
		r.Offset = v
		r.End = v + int64(len(r.Message)) + 1
	}
	if len(entry) > 0 && entry[0] == '{' {
		members(entry, func(k, v []byte) {
			if r.Fields == nil {
				r.Fields = map[string]string{}
			}
			r.Fields[name(names, k)] = valueText(v)
		})
	}
	return r
}

// name is the field name k, from names when seen before.
func name(names map[string]string, k []byte) string {
	if n, ok := names[string(k)]; ok {
		return n
	}
	n := unescape(k)
	if names != nil {
		names[string(k)] = n
	}
	return n
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- order and cursors ----

// The order of rows: @timestamp, then the line's offset in its file (lines of one
// millisecond in file order), then the Kafka record (partition, offset), unique per
// document. Missing numbers sort as -1 in both directions, so that a cursor taken from a
// newest-first page also continues an oldest-first tail.
func sortKeys(order string) []any {
	num := func(f string) any {
		return map[string]any{f: map[string]any{"order": order, "missing": -1, "unmapped_type": "long"}}
	}
	return []any{
		map[string]any{"@timestamp": map[string]any{"order": order, "unmapped_type": "date"}},
		num("offset"), num("kafka.partition"), num("kafka.offset"),
	}
}

const sortLen = 4

func decodeCursor(c store.Cursor) ([]json.Number, error) {
	var v []json.Number
	dec := json.NewDecoder(strings.NewReader(string(c)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || len(v) != sortLen {
		return nil, store.ErrBadCursor
	}
	for _, n := range v {
		if _, err := n.Int64(); err != nil {
			return nil, store.ErrBadCursor
		}
	}
	return v, nil
}

// ---- search ----

// filter is the query and the time range [from, to), in filter context (no scoring).
func (s *Store) filter(ctx context.Context, q *query.Node, from, to time.Time) (map[string]any, error) {
	paths, err := s.resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	cq, err := compile(q, paths)
	if err != nil {
		return nil, err
	}
	f := []any{cq}
	if !from.IsZero() || !to.IsZero() {
		rng := map[string]any{"format": "strict_date_optional_time_nanos"}
		if !from.IsZero() {
			rng["gte"] = from.UTC().Format(time.RFC3339Nano)
		}
		if !to.IsZero() {
			rng["lt"] = to.UTC().Format(time.RFC3339Nano)
		}
		f = append(f, map[string]any{"range": map[string]any{"@timestamp": rng}})
	}
	return map[string]any{"bool": map[string]any{"filter": f}}, nil
}

// searchPath is where every search goes. filter_path keeps only what hitsResp reads
// (and took, error): each hit's _index, _id and _score were a fifth of a page's answer,
// serialised by OpenSearch and scanned by the store for nothing.
func (s *Store) searchPath() string {
	return "/" + s.pattern + "/_search?ignore_unavailable=true&allow_no_indices=true" +
		"&filter_path=took,error,status,hits.total,hits.hits._source,hits.hits.sort,aggregations"
}

// Search returns one page, newest first: search_after on the sort keys of the previous
// page's last row.
func (s *Store) Search(ctx context.Context, r store.SearchRequest) (store.SearchResult, error) {
	res, _, err := s.page(ctx, r, 0)
	return res, err
}

// FirstPage returns a page and the histogram of its query by step in one request.
func (s *Store) FirstPage(ctx context.Context, r store.SearchRequest, step time.Duration) (store.SearchResult, []store.Bucket, bool, error) {
	if step <= 0 || !r.From.Before(r.To) {
		res, err := s.Search(ctx, r)
		return res, nil, false, err
	}
	res, resp, err := s.page(ctx, r, step)
	if err != nil {
		return store.SearchResult{}, nil, false, err
	}
	bs, err := buckets(resp, r.From, r.To, step)
	return res, bs, false, err
}

// page sends one search for a page, with the date_histogram by step when step > 0, and
// returns the page and the answer (for its aggregation).
func (s *Store) page(ctx context.Context, r store.SearchRequest, step time.Duration) (store.SearchResult, *hitsResp, error) {
	f, err := s.filter(ctx, r.Query, r.From, r.To)
	if err != nil {
		return store.SearchResult{}, nil, err
	}
	body := map[string]any{"query": f, "size": r.Limit + 1, "sort": sortKeys("desc"), "track_total_hits": false}
	if r.Before != "" {
		after, err := decodeCursor(r.Before)
		if err != nil {
			return store.SearchResult{}, nil, err
		}
		body["search_after"] = after
	}
	if step > 0 {
		body["aggs"] = histogramAggs(step)
	}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return store.SearchResult{}, nil, err
	}
	out := store.SearchResult{Rows: resp.rows(true)}
	if len(out.Rows) > r.Limit {
		out.Rows, out.More = out.Rows[:r.Limit], true
	}
	return out, &resp, nil
}

// Histogram counts matching documents per step with a date_histogram: exact counts, one
// bucket per step from from rounded down to step.
func (s *Store) Histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration) ([]store.Bucket, bool, error) {
	if step <= 0 || !from.Before(to) {
		return nil, false, nil
	}
	f, err := s.filter(ctx, q, from, to)
	if err != nil {
		return nil, false, err
	}
	body := map[string]any{"query": f, "size": 0, "track_total_hits": false, "aggs": histogramAggs(step)}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return nil, false, err
	}
	bs, err := buckets(&resp, from, to, step)
	return bs, false, err
}

func histogramAggs(step time.Duration) map[string]any {
	return map[string]any{"h": map[string]any{"date_histogram": map[string]any{"field": "@timestamp",
		"fixed_interval": fmt.Sprintf("%dms", step.Milliseconds()), "min_doc_count": 1}}}
}

// buckets lays out the answer's date_histogram as store.Reader.Histogram's: one bucket
// per step from from rounded down to step.
func buckets(resp *hitsResp, from, to time.Time, step time.Duration) ([]store.Bucket, error) {
	keys, counts, err := histogramCounts(resp.Aggregations["h"])
	if err != nil {
		return nil, fmt.Errorf("decode date_histogram: %w", err)
	}
	first := from.Truncate(step)
	var out []store.Bucket
	for t := first; t.Before(to); t = t.Add(step) {
		out = append(out, store.Bucket{Time: t.UTC()})
	}
	for j, key := range keys {
		i := int((time.UnixMilli(key).Sub(first)) / step)
		if i >= 0 && i < len(out) {
			out[i].Count += counts[j]
		}
	}
	return out, nil
}

// Since returns the matching documents after the cursor's, oldest first (the live tail).
// It sees a document once it is searchable (after the index's refresh); one whose
// @timestamp is older than the tail's last row (a late line) is not shown live.
func (s *Store) Since(ctx context.Context, q *query.Node, c store.Cursor, limit int) ([]store.Row, error) {
	after, err := decodeCursor(c)
	if err != nil {
		return nil, err
	}
	f, err := s.filter(ctx, q, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	body := map[string]any{"query": f, "size": limit, "sort": sortKeys("asc"), "search_after": after, "track_total_hits": false}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return nil, err
	}
	return resp.rows(true), nil
}

// Newest is the cursor of the newest document (a tail shows what comes after it), or of
// now when there is none.
func (s *Store) Newest(ctx context.Context) (store.Cursor, error) {
	body := map[string]any{"size": 1, "sort": sortKeys("desc"), "track_total_hits": false, "_source": false}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return "", err
	}
	if len(resp.Hits.Hits) == 1 && len(resp.Hits.Hits[0].Sort) == sortLen {
		b, _ := json.Marshal(resp.Hits.Hits[0].Sort)
		return store.Cursor(b), nil
	}
	return store.Cursor(fmt.Sprintf("[%d,-1,-1,-1]", time.Now().UnixMilli())), nil
}

// Changed returns a channel closed after the poll interval: OpenSearch does not say when
// documents become searchable, so a tail asks again that often.
func (s *Store) Changed() <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(s.poll, func() { close(ch) })
	return ch
}

// Context returns the lines of the file around offset, in file order: a descending and
// an ascending search on offset within (host, file_id).
func (s *Store) Context(ctx context.Context, host, fileID string, offset int64, before, after int) ([]store.Row, int, error) {
	file := []any{map[string]any{"term": map[string]any{"file_id": fileID}}}
	if host != "" {
		file = append(file, map[string]any{"term": map[string]any{"host": host}})
	}
	side := func(op, order string, n int) ([]store.Row, error) {
		if n == 0 {
			return nil, nil
		}
		f := append(file[:len(file):len(file)], map[string]any{"range": map[string]any{"offset": map[string]any{op: offset}}})
		body := map[string]any{"query": map[string]any{"bool": map[string]any{"filter": f}}, "size": n,
			"sort": []any{map[string]any{"offset": map[string]any{"order": order}}}, "track_total_hits": false}
		var resp hitsResp
		if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
			return nil, err
		}
		return resp.rows(false), nil
	}
	older, err := side("lt", "desc", before)
	if err != nil {
		return nil, 0, err
	}
	newer, err := side("gte", "asc", after+1) // the line at offset, then after more
	if err != nil {
		return nil, 0, err
	}
	out := make([]store.Row, 0, len(older)+len(newer))
	for i := len(older) - 1; i >= 0; i-- {
		out = append(out, older[i])
	}
	return append(out, newer...), len(older), nil
}

// Hosts lists the hosts with documents and the newest @timestamp of each.
func (s *Store) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	body := map[string]any{"size": 0, "track_total_hits": false, "aggs": map[string]any{
		"hosts": map[string]any{"terms": map[string]any{"field": "host", "size": 10000, "order": map[string]any{"_key": "asc"}},
			"aggs": map[string]any{"last": map[string]any{"max": map[string]any{"field": "@timestamp"}}}}}}
	var resp hitsResp
	if err := s.do(ctx, http.MethodPost, s.searchPath(), body, &resp); err != nil {
		return nil, err
	}
	var agg struct {
		Buckets []struct {
			Key  string `json:"key"`
			Last struct {
				Value float64 `json:"value"`
			} `json:"last"`
		} `json:"buckets"`
	}
	if raw, ok := resp.Aggregations["hosts"]; ok {
		if err := json.Unmarshal(raw, &agg); err != nil {
			return nil, fmt.Errorf("decode hosts: %w", err)
		}
	}
	out := make([]store.HostSeen, 0, len(agg.Buckets))
	for _, b := range agg.Buckets {
		out = append(out, store.HostSeen{Host: b.Key, LastSeen: time.UnixMilli(int64(b.Last.Value)).UTC()})
	}
	return out, nil
}
