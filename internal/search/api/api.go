// Package api is the standalone's HTTP API over the store and etcd (docs/api.md): search,
// histogram, context, facets, live tail, host metrics, hosts, live agents and the
// revision-checked editing of collect entries.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/entryedit"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// Deps are the API's collaborators.
type Deps struct {
	// Logs is the log store read by search, context, fields and tail (the embedded store
	// of the standalone, OpenSearch on a server).
	Logs store.Reader
	// Metrics reads host metrics for /api/metrics; /api/hosts lists the hosts of both
	// Logs and Metrics. Nil: /api/metrics answers 503.
	Metrics store.MetricsReader
	Etcd    *clientv3.Client
	Logger  *slog.Logger
	// CollectKeys are the agent's collect keys, expanded; GET /api/entries lists them.
	CollectKeys []string
	// KeyTemplates are etcd.collect_keys as configured ({ip}, {hostname}, {id} match any
	// host's value): GET and PUT /api/entries/{key} accept only keys they match (or one of
	// CollectKeys), so the API cannot touch registrations or anything else in etcd.
	KeyTemplates []string
	AllowedPaths []string
	// UI, when set, is served at /.
	UI http.Handler
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// PingInterval is the SSE keep-alive period (15s when zero).
	PingInterval time.Duration
	// QueryTimeout bounds a search, histogram, context, fields or metrics request
	// (store.query_timeout; DefaultQueryTimeout when zero).
	QueryTimeout time.Duration
}

// DefaultQueryTimeout is store.query_timeout's default: a search of a day of logs takes
// well under a second; one taking ten is a query to narrow, not to wait for.
const DefaultQueryTimeout = 10 * time.Second

// API serves docs/api.md.
type API struct {
	d    Deps
	log  *slog.Logger
	mux  *http.ServeMux
	stop chan struct{}
	once sync.Once
}

// Close ends the live tails (call it when the server shuts down: an HTTP shutdown waits
// for running handlers, and a tail runs until its client leaves).
func (a *API) Close() { a.once.Do(func() { close(a.stop) }) }

// New builds the handlers.
func New(d Deps) (*API, error) {
	if d.Logs == nil {
		return nil, errors.New("api: a log store is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.PingInterval <= 0 {
		d.PingInterval = 15 * time.Second
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = DefaultQueryTimeout
	}
	a := &API{d: d, log: d.Logger.With("component", "api"), mux: http.NewServeMux(), stop: make(chan struct{})}
	a.mux.HandleFunc("GET /api/search", a.search)
	a.mux.HandleFunc("GET /api/context", a.context)
	a.mux.HandleFunc("GET /api/tail", a.tail)
	a.mux.HandleFunc("GET /api/fields", a.fields)
	a.mux.HandleFunc("GET /api/metrics", a.metrics)
	a.mux.HandleFunc("GET /api/hosts", a.hosts)
	a.mux.HandleFunc("GET /api/agents", a.agents)
	a.mux.HandleFunc("GET /api/entries", a.listEntries)
	a.mux.HandleFunc("GET /api/entries/{key}", a.getEntries)
	a.mux.HandleFunc("PUT /api/entries/{key}", a.putEntries)
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "no such API route: "+r.Method+" "+r.URL.Path, "")
	})
	if d.UI != nil {
		a.mux.Handle("/", d.UI)
	} else {
		a.mux.HandleFunc("GET /{$}", placeholder)
	}
	return a, nil
}

// Handler returns the API and the UI. Mount it at "/" of an httpserver.Server, whose guard
// checks the Host, the credential (http.auth) and the origin of writes before it runs.
func (a *API) Handler() http.Handler { return a.mux }

// placeholder is / when no web UI is built in: where to go instead of a bare 404.
func placeholder(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprint(w, `<!doctype html><title>logcollect standalone</title>
<h1>logcollect standalone</h1>
<p>The web UI is not built into this binary. The search API is here:
<ul><li><a href="/api/search?q=&amp;from=now-1h">/api/search?q=&amp;from=now-1h</a> (newest first, with a histogram)
<li><a href="/api/fields?from=now-1h">/api/fields</a> (top values of host, path, topic and parsed fields)
<li><a href="/api/entries">/api/entries</a> (what is collected) · <a href="/api/agents">/api/agents</a> · <a href="/api/hosts">/api/hosts</a>
<li><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></ul>
<p>The query language is in docs/search.md, the API in docs/api.md.`)
}

// ---- responses ----

type errBody struct {
	Error string `json:"error"`
	Param string `json:"param,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg, param string) {
	writeJSON(w, status, errBody{Error: msg, Param: param})
}

// timed returns r with the query timeout on its context (fail answers 503 when it
// fires). The store's reads stop on it: SQLite is interrupted, and the scans over blocks
// check it between blocks.
func (a *API) timed(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), a.d.QueryTimeout)
	return r.WithContext(ctx), cancel
}

// fail answers err: a paramError is a 400 naming the parameter; a request past the query
// timeout (timed) a 503; anything else a 500.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *paramError
	if errors.As(err, &pe) {
		writeErr(w, http.StatusBadRequest, pe.Error(), pe.param)
		return
	}
	if errors.Is(err, store.ErrUnsupported) {
		writeErr(w, http.StatusBadRequest, "q: "+err.Error(), "q")
		return
	}
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		a.log.Warn("query timed out", "path", r.URL.Path, "timeout", a.d.QueryTimeout, "query", r.URL.RawQuery)
		writeErr(w, http.StatusServiceUnavailable, fmt.Sprintf("the query took longer than %s; narrow the time range or the query",
			a.d.QueryTimeout), "")
		return
	}
	if errors.Is(err, context.Canceled) || r.Context().Err() != nil {
		return // the client went away
	}
	if errors.Is(err, store.ErrUnavailable) {
		a.log.Warn("store unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "2")
		writeErr(w, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	a.log.Error("request failed", "path", r.URL.Path, "error", err)
	writeErr(w, http.StatusInternalServerError, err.Error(), "")
}

type hit struct {
	Time      string            `json:"time"`                // the event time
	ReadTime  string            `json:"read_time,omitempty"` // when the agent read the line
	Host      string            `json:"host"`
	Path      string            `json:"path"`
	Topic     string            `json:"topic"`
	Offset    int64             `json:"offset"`
	FileID    string            `json:"file_id"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields"`
	Highlight [][2]int          `json:"highlight"`
	ID        string            `json:"id"`
}

func toHit(r store.Row, terms []*query.Node) hit {
	f := r.Fields
	if f == nil {
		f = map[string]string{}
	}
	h := hit{Time: r.Time.UTC().Format(time.RFC3339Nano), Host: r.Host, Path: r.Path, Topic: r.Topic,
		Offset: r.Offset, FileID: r.FileID, Message: r.Message, Fields: f,
		Highlight: query.Highlight(terms, r.Message), ID: encodePos(r.Cursor)}
	if !r.ReadTime.IsZero() { // an OpenSearch document written before read_time has none
		h.ReadTime = r.ReadTime.UTC().Format(time.RFC3339Nano)
	}
	return h
}

// queryInRange reads the q, from and to parameters that search and fields share.
func (a *API) queryInRange(r *http.Request) (*query.Node, time.Time, time.Time, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	from, to, err := timeRange(r, a.d.Now())
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	return q, from, to, nil
}

func parseQuery(r *http.Request) (*query.Node, error) {
	q, err := query.Parse(r.URL.Query().Get("q"))
	if err != nil {
		return nil, badParam("q", "%v", err)
	}
	return q, nil
}

// ---- search ----

type bucket struct {
	Time  string `json:"time"`
	Count int64  `json:"count"`
}

type searchResp struct {
	Hits           []hit    `json:"hits"`
	Cursor         string   `json:"cursor"`
	Total          *int64   `json:"total,omitempty"`
	TotalEstimated *bool    `json:"total_estimated,omitempty"`
	Buckets        []bucket `json:"buckets,omitempty"`
	StepMS         int64    `json:"step_ms,omitempty"`
	TookMS         int64    `json:"took_ms"`
}

func (a *API) search(w http.ResponseWriter, r *http.Request) {
	r, cancel := a.timed(r)
	defer cancel()
	start := time.Now()
	q, from, to, err := a.queryInRange(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var before store.Cursor
	if c := r.URL.Query().Get("cursor"); c != "" {
		if before, err = decodePos(c); err != nil {
			a.fail(w, r, badParam("cursor", "%v", err))
			return
		}
	}
	step := roundStep(to.Sub(from), 60)
	res, bs, est, err := a.page(r.Context(), store.SearchRequest{Query: q, From: from, To: to, Limit: limit, Before: before}, step)
	if errors.Is(err, store.ErrBadCursor) {
		err = badParam("cursor", "%v", err)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	terms := query.Terms(q)
	out := searchResp{Hits: make([]hit, 0, len(res.Rows))}
	for _, row := range res.Rows {
		out.Hits = append(out.Hits, toHit(row, terms))
	}
	if res.More && len(res.Rows) > 0 {
		out.Cursor = encodePos(res.Rows[len(res.Rows)-1].Cursor)
	}
	if before == "" {
		var total int64
		out.Buckets = make([]bucket, len(bs))
		for i, b := range bs {
			out.Buckets[i] = bucket{Time: b.Time.UTC().Format(time.RFC3339), Count: b.Count}
			total += b.Count
		}
		out.Total, out.TotalEstimated, out.StepMS = &total, &est, step.Milliseconds()
	}
	out.TookMS = time.Since(start).Milliseconds()
	writeSearch(w, &out)
}

// page returns the page asked for and, for a first page (no cursor), its histogram by
// step: from the store in one request when it can (store.FirstPager), else by histogram.
func (a *API) page(ctx context.Context, req store.SearchRequest, step time.Duration) (store.SearchResult, []store.Bucket, bool, error) {
	fp, paired := a.d.Logs.(store.FirstPager)
	if req.Before == "" && paired {
		return fp.FirstPage(ctx, req, step)
	}
	res, err := a.d.Logs.Search(ctx, req)
	if err != nil || req.Before != "" {
		return res, nil, false, err
	}
	bs, est, err := a.histogram(ctx, req.Query, req.From, req.To, step, res)
	return res, bs, est, err
}

// histogram returns the first page's buckets, and whether they are estimated. A page
// holding every match (no older page) is its own histogram, exact: the store is not
// asked to count again what its search has just read (a rare query's candidates, all of
// them). Otherwise the store counts; its estimate is raised, bucket by bucket, to the
// page's hits in the bucket, so a total is never below the hits shown.
func (a *API) histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration, page store.SearchResult) ([]store.Bucket, bool, error) {
	if !page.More {
		if bs, ok := countRows(page.Rows, from, to, step); ok {
			return bs, false, nil
		}
	}
	bs, est, err := a.d.Logs.Histogram(ctx, q, from, to, step)
	if err != nil || !est || len(bs) == 0 {
		return bs, est, err
	}
	seen := make([]int64, len(bs))
	for _, row := range page.Rows {
		if i := int(row.Time.Sub(bs[0].Time) / step); i >= 0 && i < len(bs) {
			seen[i]++
		}
	}
	for i := range bs {
		bs[i].Count = max(bs[i].Count, seen[i])
	}
	return bs, true, nil
}

// countRows is the histogram of rows over [from, to) by step, laid out as
// store.Reader.Histogram's (from rounded down to step since 1970, UTC); false for what
// the store would refuse (a time nanoseconds since 1970 cannot hold, too many buckets).
func countRows(rows []store.Row, from, to time.Time, step time.Duration) ([]store.Bucket, bool) {
	for _, t := range []time.Time{from, to} {
		if !time.Unix(0, t.UnixNano()).Equal(t) {
			return nil, false
		}
	}
	// to - (from rounded down) must not overflow: the span, and the span plus a step.
	if d := to.Sub(from); step <= 0 || d <= 0 || d > math.MaxInt64-step || d/step >= maxBars {
		return nil, false
	}
	f, t, st := from.UnixNano(), to.UnixNano(), int64(step)
	first := f - f%st
	if f%st < 0 {
		first -= st
	}
	n := (t - first) / st
	if (t-first)%st != 0 {
		n++
	}
	bs := make([]store.Bucket, n)
	for i := range bs {
		bs[i].Time = time.Unix(0, first+int64(i)*st).UTC()
	}
	for _, row := range rows {
		if ts := row.Time.UnixNano(); ts >= f && ts < t {
			bs[(ts-first)/st].Count++
		}
	}
	return bs, true
}

// maxBars bounds countRows' buckets (the API asks for about 60).
const maxBars = 1000

// ---- context ----

func (a *API) context(w http.ResponseWriter, r *http.Request) {
	r, cancel := a.timed(r)
	defer cancel()
	qs := r.URL.Query()
	fileID := qs.Get("file_id")
	if fileID == "" {
		a.fail(w, r, badParam("file_id", "required"))
		return
	}
	offStr := qs.Get("offset")
	if offStr == "" {
		a.fail(w, r, badParam("offset", "required"))
		return
	}
	var offset int64
	if _, err := fmt.Sscan(offStr, &offset); err != nil || offset < 0 || fmt.Sprint(offset) != offStr {
		a.fail(w, r, badParam("offset", "must be a byte offset (an integer ≥ 0), got %q", offStr))
		return
	}
	before, err := intParam(r, "before", 20, 0, 500)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	after, err := intParam(r, "after", 20, 0, 500)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rows, anchor, err := a.d.Logs.Context(r.Context(), qs.Get("host"), fileID, offset, before, after)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	hits := make([]hit, 0, len(rows))
	for _, row := range rows {
		hits = append(hits, toHit(row, nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": hits, "anchor": anchor})
}

// ---- tail ----

func (a *API) tail(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var after store.Cursor
	last := r.Header.Get("Last-Event-ID")
	param := "Last-Event-ID"
	if last == "" {
		last, param = r.URL.Query().Get("last_event_id"), "last_event_id"
	}
	if last != "" {
		if after, err = decodePos(last); err != nil {
			a.fail(w, r, badParam(param, "%v", err))
			return
		}
	} else if after, err = a.d.Logs.Newest(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeErr(w, http.StatusInternalServerError, "streaming is not supported by this connection", "")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": tail started\n\n")
	flusher.Flush()
	terms := query.Terms(q)
	ping := time.NewTicker(a.d.PingInterval)
	defer ping.Stop()
	ctx := r.Context()
	for {
		changed := a.d.Logs.Changed() // taken before reading, so no commit is missed
		rows, err := a.d.Logs.Since(ctx, q, after, 500)
		if errors.Is(err, store.ErrBadCursor) {
			writeErr(w, http.StatusBadRequest, param+": "+err.Error(), param)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("tail read failed", "error", err)
				_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", jsonString(err.Error()))
				flusher.Flush()
			}
			return
		}
		for _, row := range rows {
			b, _ := json.Marshal(toHit(row, terms))
			if _, err := fmt.Fprintf(w, "event: hit\nid: %s\ndata: %s\n\n", encodePos(row.Cursor), b); err != nil {
				return
			}
			after = row.Cursor
		}
		if len(rows) > 0 {
			flusher.Flush()
		}
		if len(rows) == 500 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-a.stop:
			return
		case <-changed:
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- fields ----

// fieldsSample bounds the lines a facet request looks at (the newest ones).
const fieldsSample = 10000

func (a *API) fields(w http.ResponseWriter, r *http.Request) {
	r, cancel := a.timed(r)
	defer cancel()
	start := time.Now()
	q, from, to, err := a.queryInRange(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 10, 1, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	facets, n, err := a.d.Logs.Fields(r.Context(), q, from, to, limit, fieldsSample)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type value struct {
		Value string `json:"value"`
		Count int64  `json:"count"`
	}
	type field struct {
		Name   string  `json:"name"`
		Values []value `json:"values"`
	}
	out := make([]field, 0, len(facets))
	for _, f := range facets {
		vs := make([]value, 0, len(f.Values))
		for _, v := range f.Values {
			vs = append(vs, value{v.Value, v.Count})
		}
		out = append(out, field{Name: f.Name, Values: vs})
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out, "total": n, "sampled": n >= fieldsSample,
		"took_ms": time.Since(start).Milliseconds()})
}

// ---- metrics and hosts ----

// maxPoints bounds the points of a metric series: a chart is a few hundred pixels wide.
const maxPoints = 10000

var measurements = []string{"cpu", "load", "mem", "disk", "diskio", "net", "system"}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	r, cancel := a.timed(r)
	defer cancel()
	qs := r.URL.Query()
	m := qs.Get("measurement")
	switch {
	case m == "":
		a.fail(w, r, badParam("measurement", "required (one of %s)", strings.Join(measurements, ", ")))
		return
	case !slices.Contains(measurements, m):
		a.fail(w, r, badParam("measurement", "unknown measurement %q (one of %s)", m, strings.Join(measurements, ", ")))
		return
	}
	field := qs.Get("field")
	if field == "" {
		a.fail(w, r, badParam("field", "required, e.g. usage_percent"))
		return
	}
	from, to, err := timeRange(r, a.d.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	step := roundStep(to.Sub(from), 300)
	if s := qs.Get("step"); s != "" {
		if step, err = parseDuration(s); err != nil || step < time.Second {
			a.fail(w, r, badParam("step", "must be a duration of at least 1s such as 10s or 1m, got %q", s))
			return
		}
		if to.Sub(from)/step > maxPoints {
			a.fail(w, r, badParam("step", "%s gives more than %d points from %s to %s; at least %s",
				s, maxPoints, from.Format(time.RFC3339), to.Format(time.RFC3339), roundStep(to.Sub(from), maxPoints)))
			return
		}
	}
	if a.d.Metrics == nil {
		writeErr(w, http.StatusServiceUnavailable, "no host metrics store in this process", "")
		return
	}
	series, err := a.d.Metrics.Metrics(r.Context(), store.MetricsRequest{Measurement: m, Field: field,
		Host: qs.Get("host"), From: from, To: to, Step: step})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type ser struct {
		Tags   map[string]string `json:"tags"`
		Points [][2]float64      `json:"points"`
	}
	out := make([]ser, 0, len(series))
	for _, s := range series {
		out = append(out, ser{Tags: s.Tags, Points: s.Points})
	}
	writeJSON(w, http.StatusOK, map[string]any{"step_ms": step.Milliseconds(), "series": out})
}

func (a *API) hosts(w http.ResponseWriter, r *http.Request) {
	r, cancel := a.timed(r)
	defer cancel()
	hs, err := a.allHosts(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	type host struct {
		Host     string `json:"host"`
		LastSeen string `json:"last_seen"`
	}
	out := make([]host, 0, len(hs))
	for _, h := range hs {
		out = append(out, host{h.Host, h.LastSeen.UTC().Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"hosts": out})
}

// allHosts merges the hosts with logs and those with metrics, each with its newest time,
// sorted by name.
func (a *API) allHosts(ctx context.Context) ([]store.HostSeen, error) {
	hs, err := a.d.Logs.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	if a.d.Metrics == nil {
		return hs, nil
	}
	ms, err := a.d.Metrics.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]time.Time{}
	for _, h := range append(hs, ms...) {
		if t, ok := seen[h.Host]; !ok || h.LastSeen.After(t) {
			seen[h.Host] = h.LastSeen
		}
	}
	out := make([]store.HostSeen, 0, len(seen))
	for h, t := range seen {
		out = append(out, store.HostSeen{Host: h, LastSeen: t})
	}
	slices.SortFunc(out, func(x, y store.HostSeen) int { return strings.Compare(x.Host, y.Host) })
	return out, nil
}

// ---- etcd: agents and entries ----

func (a *API) needEtcd(w http.ResponseWriter) bool {
	if a.d.Etcd == nil {
		writeErr(w, http.StatusServiceUnavailable, "no etcd in this process", "")
		return false
	}
	return true
}

func (a *API) agents(w http.ResponseWriter, r *http.Request) {
	if !a.needEtcd(w) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	list, err := registration.List(ctx, a.d.Etcd)
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, "list agents in etcd: "+err.Error(), "")
		return
	}
	if list == nil {
		list = []registration.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": list})
}

type keyValue struct {
	Key      string        `json:"key"`
	Entries  []entry.Entry `json:"entries"`
	Revision int64         `json:"revision"`
	Error    string        `json:"error,omitempty"`
	Raw      string        `json:"raw,omitempty"`
}

func (a *API) readKey(ctx context.Context, key string) (keyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cur, err := entryedit.Read(ctx, a.d.Etcd, key, a.d.AllowedPaths)
	if err != nil {
		return keyValue{}, err
	}
	kv := keyValue{Key: key, Entries: cur.Entries, Revision: cur.Revision}
	if cur.Err != nil {
		kv.Entries, kv.Error, kv.Raw = nil, cur.Err.Error(), string(cur.Raw)
	}
	if kv.Entries == nil {
		kv.Entries = []entry.Entry{}
	}
	return kv, nil
}

func (a *API) listEntries(w http.ResponseWriter, r *http.Request) {
	if !a.needEtcd(w) {
		return
	}
	keys := make([]keyValue, 0, len(a.d.CollectKeys))
	for _, k := range a.d.CollectKeys {
		kv, err := a.readKey(r.Context(), k)
		if err != nil {
			writeErr(w, http.StatusServiceUnavailable, err.Error(), "")
			return
		}
		keys = append(keys, kv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// collectKey reports whether key is a collect key, and otherwise answers 403 naming the
// keys that are.
func (a *API) collectKey(w http.ResponseWriter, key string) bool {
	if slices.Contains(a.d.CollectKeys, key) {
		return true
	}
	for _, t := range a.d.KeyTemplates {
		if etcdconf.NewKeyPattern(t).Match(key) {
			return true
		}
	}
	editable := append(slices.Clone(a.d.CollectKeys), a.d.KeyTemplates...)
	slices.Sort(editable)
	editable = slices.Compact(editable) // a key without placeholders is both
	writeErr(w, http.StatusForbidden, fmt.Sprintf("key %q is not a collect key: only keys matching etcd.collect_keys (%s) "+
		"can be read or edited here ({ip}, {hostname} and {id} stand for any host's value)", key, strings.Join(editable, ", ")), "key")
	return false
}

func (a *API) getEntries(w http.ResponseWriter, r *http.Request) {
	if !a.needEtcd(w) || !a.collectKey(w, r.PathValue("key")) {
		return
	}
	kv, err := a.readKey(r.Context(), r.PathValue("key"))
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, kv)
}

func (a *API) putEntries(w http.ResponseWriter, r *http.Request) {
	if !a.needEtcd(w) || !a.collectKey(w, r.PathValue("key")) {
		return
	}
	key := r.PathValue("key")
	var body struct {
		Entries  *[]json.RawMessage `json:"entries"`
		Revision *int64             `json:"revision"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "body: must be {\"entries\": [...], \"revision\": N}: "+err.Error(), "body")
		return
	}
	if body.Entries == nil {
		writeErr(w, http.StatusBadRequest, "entries: required (an array, maybe empty)", "entries")
		return
	}
	if body.Revision == nil || *body.Revision < 0 {
		writeErr(w, http.StatusBadRequest, "revision: required: the revision the entries were read at (0: the key must not exist)", "revision")
		return
	}
	list := make([]entry.Entry, len(*body.Entries))
	for i, raw := range *body.Entries {
		d := json.NewDecoder(strings.NewReader(string(raw)))
		d.DisallowUnknownFields()
		if err := d.Decode(&list[i]); err != nil {
			p := fmt.Sprintf("entries[%d]", i)
			writeErr(w, http.StatusBadRequest, p+": "+err.Error(), p)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rev, err := entryedit.Set(ctx, a.d.Etcd, key, list, *body.Revision, a.d.AllowedPaths)
	var fe *entryedit.FieldError
	var conflict *entryedit.ConflictError
	switch {
	case errors.As(err, &fe):
		writeErr(w, http.StatusBadRequest, fe.Error(), fe.Field)
		return
	case errors.As(err, &conflict):
		cur, rerr := a.readKey(r.Context(), key)
		if rerr != nil {
			writeErr(w, http.StatusServiceUnavailable, rerr.Error(), "")
			return
		}
		writeJSON(w, http.StatusConflict, map[string]any{
			"error":   fmt.Sprintf("%s changed since revision %d", key, *body.Revision),
			"current": map[string]any{"entries": cur.Entries, "revision": cur.Revision},
		})
		return
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	a.log.Info("collect entries written", "key", key, "entries", len(list), "revision", rev)
	writeJSON(w, http.StatusOK, keyValue{Key: key, Entries: list, Revision: rev})
}
