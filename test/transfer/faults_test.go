//go:build integration

package transfer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// OpenSearch unreachable for 30 s mid-stream (a cut proxy in front of the shared one):
// /healthz says so, committed offsets never run ahead of what is indexed, memory stays
// bounded, and after the cut exactly N documents are there.
func TestOpenSearchOutage(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	e := newEnv(t, "outage")
	topic := e.name
	e.createTopic(topic, 3)
	target, _ := url.Parse(e.osURL)
	proxy := e2etest.NewProxy(t, target.Host)
	listen := e2etest.FreeAddr(t)
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]\n  max_buffered_bytes: 4MiB", "http://"+proxy.Addr(), listen, "")
	cfg = appendKeys(t, cfg, "opensearch", "  bulk_max_bytes: 1MiB\n  bulk_max_docs: 1000\n  request_timeout: 5s\n")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)

	p := newProducer(t, e.brokers)
	s := p.stream(topic, 100, 100*time.Millisecond) // ~1,000 lines/s
	await.Until(t, 60*time.Second, "the first documents", func() bool { return e.count() > 0 })

	proxy.Cut()
	cutAt := time.Now()
	sawDegraded := false
	var maxRSS int64
	checks := 0
	for time.Since(cutAt) < 30*time.Second {
		// Committed first, then indexed: offsets committed before the count was taken
		// must all be in the index.
		c := e.committed(e.name, topic)
		d := e.count()
		checks++
		if c > d {
			t.Fatalf("committed offsets (%d) ran ahead of the indexed documents (%d)", c, d)
		}
		if code, ch := healthz(listen); code == http.StatusServiceUnavailable && ch["opensearch"] != "ok" && ch["opensearch"] != "" {
			sawDegraded = true
		}
		maxRSS = max(maxRSS, e2etest.MemBytes(tr.Pid(), "VmRSS"))
		time.Sleep(2 * time.Second) // sampling interval through the outage
	}
	proxy.Restore()
	t.Logf("outage: %d checks of committed ≤ indexed, peak RSS %.1f MiB, in flight at the end %v bytes",
		checks, float64(maxRSS)/(1<<20), metric(listen, "logcollect_transfer_inflight_bytes"))
	n := s.stop()
	await.Until(t, 120*time.Second, "every line indexed after the outage", func() bool { return e.count() >= int64(n) })
	await.Until(t, 30*time.Second, "every offset committed", func() bool { return e.committed(e.name, topic) == int64(n) })
	if code, _ := healthz(listen); code != http.StatusOK {
		t.Errorf("/healthz is %d after OpenSearch came back", code)
	}
	tr.Stop()
	if got := e.count(); got != int64(n) {
		t.Fatalf("%d documents after the outage, want exactly %d", got, n)
	}
	if !sawDegraded {
		t.Error("/healthz never reported opensearch degraded during the 30 s cut")
	}
	if maxRSS > 200<<20 {
		t.Errorf("transfer RSS peaked at %.1f MiB during the outage (max_buffered_bytes 4MiB)", float64(maxRSS)/(1<<20))
	}
}

// throttler is an HTTP proxy to OpenSearch that answers 429 to a share of bulk items
// (and to some whole bulk requests), forwarding the rest.
type throttler struct {
	target    *url.URL
	rp        *httputil.ReverseProxy
	items429  atomic.Int64
	whole429  atomic.Int64
	requests  atomic.Int64
	itemShare float64
}

func (th *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		th.rp.ServeHTTP(w, r)
		return
	}
	if th.requests.Add(1)%5 == 0 {
		th.whole429.Add(1)
		http.Error(w, `{"error":"too many requests"}`, http.StatusTooManyRequests)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	items := len(lines) / 2
	throttled := make([]bool, items)
	var fwd bytes.Buffer
	for i := range items {
		if rand.Float64() < th.itemShare {
			throttled[i] = true
			continue
		}
		fwd.Write(lines[2*i])
		fwd.WriteByte('\n')
		fwd.Write(lines[2*i+1])
		fwd.WriteByte('\n')
	}
	var real []json.RawMessage
	if fwd.Len() > 0 {
		resp, err := http.Post(th.target.String()+"/_bulk?"+r.URL.RawQuery, "application/x-ndjson", &fwd)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			w.WriteHeader(resp.StatusCode)
			_, _ = w.Write(b)
			return
		}
		var br struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(b, &br); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		real = br.Items
	}
	out := make([]json.RawMessage, 0, items)
	for i := range items {
		if throttled[i] {
			th.items429.Add(1)
			out = append(out, json.RawMessage(`{"index":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution (test proxy)"}}}`))
			continue
		}
		out = append(out, real[0])
		real = real[1:]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": true, "items": out})
}

// A proxy answers 429 to a fifth of the bulk requests and to a quarter of the items of
// the others: all is retried, exactly N documents.
func TestBulk429Retried(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	e := newEnv(t, "throttle")
	topic := e.name
	e.createTopic(topic, 3)
	const n = 5_000
	newProducer(t, e.brokers).produce(topic, "h429", "/var/log/429.log", 0, n)
	target, _ := url.Parse(e.osURL)
	th := &throttler{target: target, rp: httputil.NewSingleHostReverseProxy(target), itemShare: 0.25}
	srv := httptest.NewServer(th)
	defer srv.Close()
	listen := e2etest.FreeAddr(t)
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]", srv.URL, listen, "")
	cfg = appendKeys(t, cfg, "opensearch", "  bulk_max_docs: 1000\n")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)
	await.Until(t, 90*time.Second, "every record committed", func() bool { return e.committed(e.name, topic) == n })
	retries := metric(listen, "logcollect_bulk_retries_total")
	rejected := metric(listen, "logcollect_bulk_item_failures_total")
	tr.Stop()
	if got := e.count(); got != n {
		t.Fatalf("%d documents, want exactly %d", got, n)
	}
	if th.items429.Load() == 0 || th.whole429.Load() == 0 {
		t.Fatalf("the proxy throttled %d items and %d requests: the test did not test", th.items429.Load(), th.whole429.Load())
	}
	if retries < float64(th.whole429.Load()) || rejected < float64(th.items429.Load()) {
		t.Errorf("metrics: %v retries, %v item failures; the proxy sent %d whole and %d item 429s",
			retries, rejected, th.whole429.Load(), th.items429.Load())
	}
}
