// Package opensearchsink is the transfer's OpenSearch (and Elasticsearch) sink: it sends documents
// with the _bulk API, reads every item's result, retries what may succeed later (whole
// requests that failed, 429 and 5xx, rejected items) with exponential backoff and jitter,
// and hands back the items refused for good so that the caller dead-letters them. It
// also installs the index template and the retention (ISM) policy at start-up.
package opensearchsink

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/jsontext"
	"github.com/logcollect/logcollect/internal/tlsconf"
	"github.com/logcollect/logcollect/internal/transfer/document"
)

const (
	minBackoff = 100 * time.Millisecond
	// bulkPath asks only for what Write reads: a response of 5,000 items is ~8x smaller.
	bulkPath = "/_bulk?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason"
)

// Deps are the indexer's collaborators; both may be nil.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Indexer writes documents to OpenSearch. It is safe for concurrent use: the transfer
// runs opensearch.bulk_concurrency Writes at once.
type Indexer struct {
	cfg    config.OpenSearch
	client *opensearch.Client
	log    *slog.Logger
	index  indexName
	m      metrics
	bufs   sync.Pool

	mu      sync.Mutex
	lastErr error // of the last request; nil after a success
}

// New validates cfg and builds the client; it sends nothing.
func New(cfg config.OpenSearch, deps Deps) (*Indexer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	log := deps.Logger.With("component", "bulk")
	client, err := NewClient(cfg, log)
	if err != nil {
		return nil, err
	}
	ix := &Indexer{cfg: cfg, client: client, log: log,
		index: parseIndexName(cfg.Index), m: newMetrics()}
	if deps.Registerer != nil {
		if err := ix.m.register(deps.Registerer); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// NewClient is the OpenSearch client of opensearch.addresses with its TLS and basic auth:
// the transfer's bulk sink and the server's reader (internal/search/opensearchstore) use
// the same one. Retries are the caller's (the sink retries item by item, with backoff).
func NewClient(cfg config.OpenSearch, log *slog.Logger) (*opensearch.Client, error) {
	tlsCfg := cfg.TLS
	// An https:// address is TLS whatever opensearch.tls.enabled says: without this its
	// ca_file (or insecure_skip_verify) would be ignored without a word.
	tlsCfg.Enabled = tlsCfg.Enabled || anyScheme(cfg.Addresses, "https")
	tc, err := tlsconf.Client("opensearch.tls", tlsCfg)
	if err != nil {
		return nil, err
	}
	warnInsecure(log, cfg, tc)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = cfg.BulkConcurrency + 2
	// opensearch.compress is gzip both ways. Off (the default), answers are not gzipped
	// either: Go asks for gzip unless told not to, and OpenSearch compressing each search
	// answer and the server inflating it cost more than the bytes save next to the cluster
	// (Kibana's elasticsearch.compression is off by default for the same reason).
	tr.DisableCompression = !cfg.Compress
	client, err := opensearch.NewClient(opensearch.Config{
		Addresses:           cfg.Addresses,
		Username:            cfg.Username,
		Password:            cfg.Password,
		Transport:           tr,
		DisableRetry:        true,
		CompressRequestBody: cfg.Compress,
		RequestTimeout:      time.Duration(cfg.RequestTimeout),
	})
	if err != nil {
		return nil, fmt.Errorf("opensearch client: %w", err)
	}
	return client, nil
}

// warnInsecure logs, once at start, the settings that give away what TLS protects.
func warnInsecure(log *slog.Logger, cfg config.OpenSearch, tc *tls.Config) {
	if tc != nil && tc.InsecureSkipVerify {
		log.Warn("opensearch.tls.insecure_skip_verify is true: the server's certificate is not checked, so anyone on the path can read and alter the traffic (opensearch.password included); set opensearch.tls.ca_file instead")
	}
	if cfg.Password != "" && anyScheme(cfg.Addresses, "http") {
		log.Warn("opensearch.password is sent in clear text to an http:// address; use https://", "addresses", cfg.Addresses)
	}
}

// anyScheme reports whether one of the addresses has the scheme.
func anyScheme(addrs []string, scheme string) bool {
	for _, a := range addrs {
		if strings.HasPrefix(strings.ToLower(a), scheme+"://") {
			return true
		}
	}
	return false
}

// Check reports whether the last request reached OpenSearch (for /healthz).
func (ix *Indexer) Check() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.lastErr != nil {
		return fmt.Errorf("opensearch: %w", ix.lastErr)
	}
	return nil
}

func (ix *Indexer) setErr(err error) {
	ix.mu.Lock()
	ix.lastErr = err
	ix.mu.Unlock()
}

// Write indexes docs. It returns when each document is either durably accepted (OpenSearch
// acknowledges an index operation after its translog write) or refused for good — those
// are returned, with OpenSearch's reason. Everything else is retried until ctx ends,
// when Write returns ctx's error and the caller must not treat any document as written.
func (ix *Indexer) Write(ctx context.Context, docs []document.Document) ([]document.Rejection, error) {
	pending := make([]int, len(docs))
	for i := range pending {
		pending[i] = i
	}
	var rejected []document.Rejection
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := ix.sleep(ctx, attempt); err != nil {
				return nil, err
			}
		}
		retry, rej, err := ix.send(ctx, docs, pending)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			ix.m.retries.WithLabelValues("request").Inc()
			ix.log.Warn("bulk request failed; retrying", "docs", len(pending), "attempt", attempt+1, "err", err)
			continue // the whole request again
		}
		rejected = append(rejected, rej...)
		if len(retry) > 0 {
			ix.m.retries.WithLabelValues("item").Add(float64(len(retry)))
		}
		pending = retry
	}
	return rejected, nil
}

// sleep waits the backoff of attempt: exponential, capped, with half of it random so that
// instances do not retry in step.
func (ix *Indexer) sleep(ctx context.Context, attempt int) error {
	d := minBackoff << min(attempt-1, 16)
	d = min(d, time.Duration(ix.cfg.MaxRetryBackoff))
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// send makes one bulk request of the pending documents. It returns the documents to try
// again and those refused for good, or an error when the request as a whole failed.
func (ix *Indexer) send(ctx context.Context, docs []document.Document, pending []int) (retry []int, rejected []document.Rejection, err error) {
	buf := ix.getBuf()
	defer ix.bufs.Put(buf)
	body := buf.b[:0]
	var cache indexCache
	for _, i := range pending {
		body = ix.appendAction(body, &docs[i], &cache)
		body = docs[i].AppendJSON(body)
		body = append(body, '\n')
	}
	buf.b = body

	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, bulkPath, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := ix.client.Stream(req)
	ix.m.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		ix.m.requests.WithLabelValues("error").Inc()
		// A request cut short by our own shutdown says nothing about OpenSearch: /healthz
		// keeps what the last answered request told.
		err = explainTransport(err)
		if ctx.Err() == nil {
			ix.setErr(err)
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	if err != nil {
		ix.m.requests.WithLabelValues("error").Inc()
		ix.setErr(err)
		return nil, nil, fmt.Errorf("read bulk response: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusRequestEntityTooLarge && len(pending) > 1:
		// Smaller requests are the only way through: OpenSearch's http.max_content_length
		// is below opensearch.bulk_max_bytes.
		ix.m.requests.WithLabelValues("too_large").Inc()
		ix.setErr(nil)
		return ix.split(ctx, docs, pending)
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		ix.m.requests.WithLabelValues("too_large").Inc()
		ix.setErr(nil)
		ix.m.itemFailures.WithLabelValues("request_too_large").Inc()
		return nil, []document.Rejection{{Doc: pending[0], Reason: "request_too_large: the document alone exceeds OpenSearch's http.max_content_length"}}, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		ix.m.requests.WithLabelValues("throttled").Inc()
		ix.setErr(nil) // OpenSearch is there, only busy
		return nil, nil, fmt.Errorf("bulk: 429 too many requests")
	case resp.StatusCode >= 300:
		// 5xx, and 4xx of the whole request (authentication, a proxy): never a reason to
		// drop documents; retried until it changes.
		ix.m.requests.WithLabelValues("error").Inc()
		err := statusError("bulk", resp.StatusCode, respBody)
		ix.setErr(err)
		return nil, nil, err
	}
	ix.setErr(nil)
	ix.m.requests.WithLabelValues("ok").Inc()
	retry, rejected, err = ix.items(respBody, pending)
	if err != nil {
		return nil, nil, err
	}
	ix.m.indexed.Add(float64(len(pending) - len(retry) - len(rejected)))
	return retry, rejected, nil
}

// split sends the two halves of pending one after the other.
func (ix *Indexer) split(ctx context.Context, docs []document.Document, pending []int) ([]int, []document.Rejection, error) {
	half := len(pending) / 2
	var retry []int
	var rejected []document.Rejection
	for _, part := range [][]int{pending[:half], pending[half:]} {
		r, rej, err := ix.send(ctx, docs, part)
		if err != nil {
			// The part is retried as a whole by Write, with the rest.
			r = part
		}
		retry = append(retry, r...)
		rejected = append(rejected, rej...)
	}
	return retry, rejected, nil
}

type bulkResponse struct {
	Errors bool                    `json:"errors"`
	Items  []map[string]itemResult `json:"items"`
}

type itemResult struct {
	Status int `json:"status"`
	Error  *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// items reads the per-item results: 2xx is written, 429 and 5xx (a rejected execution, a
// shard not available) are retried, other 4xx (mapping conflict, bad document) are
// refused for good.
func (ix *Indexer) items(body []byte, pending []int) ([]int, []document.Rejection, error) {
	// The common case needs no decoding: filter_path puts "errors" first.
	if head := body[:min(len(body), 32)]; bytes.Contains(head, []byte(`"errors":false`)) {
		return nil, nil, nil
	}
	var br bulkResponse
	if err := json.Unmarshal(body, &br); err != nil {
		return nil, nil, fmt.Errorf("decode bulk response: %w", err)
	}
	if !br.Errors {
		return nil, nil, nil
	}
	if len(br.Items) != len(pending) {
		return nil, nil, fmt.Errorf("bulk response has %d items for %d documents", len(br.Items), len(pending))
	}
	var retry []int
	var rejected []document.Rejection
	for n, item := range br.Items {
		var res itemResult
		for _, r := range item {
			res = r
		}
		if res.Status >= 200 && res.Status < 300 {
			continue
		}
		reason, msg := "unknown", ""
		if res.Error != nil {
			reason, msg = res.Error.Type, res.Error.Reason
		}
		ix.m.itemFailures.WithLabelValues(reason).Inc()
		if res.Status == http.StatusTooManyRequests || res.Status >= 500 || reason == "es_rejected_execution_exception" ||
			reason == "opensearch_rejected_execution_exception" {
			retry = append(retry, pending[n])
			continue
		}
		rejected = append(rejected, document.Rejection{Doc: pending[n], Reason: fmt.Sprintf("%d %s: %s", res.Status, reason, msg)})
	}
	return retry, rejected, nil
}

type buffer struct{ b []byte }

func (ix *Indexer) getBuf() *buffer {
	if b, ok := ix.bufs.Get().(*buffer); ok {
		return b
	}
	return &buffer{b: make([]byte, 0, ix.cfg.BulkMaxBytes+ix.cfg.BulkMaxBytes/4)}
}

// appendAction appends the bulk action line of d.
func (ix *Indexer) appendAction(b []byte, d *document.Document, cache *indexCache) []byte {
	b = append(b, `{"index":{"_index":`...)
	b = jsontext.AppendString(b, cache.name(ix.index, d))
	b = append(b, `,"_id":`...)
	b = jsontext.AppendString(b, d.ID)
	return append(b, "}}\n"...)
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
