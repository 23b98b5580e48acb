// Package influx writes host metric points to InfluxDB in line protocol: the 1.x /write
// endpoint (the database is created when missing) or the 2.x /api/v2/write endpoint (org,
// bucket, token). Points are buffered in memory up to a limit, sent gzip-compressed in
// batches and retried with exponential backoff while InfluxDB is down; past the limit the
// oldest points are dropped and counted.
package influx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/hostmetrics"
)

// Config says where and how to write.
type Config struct {
	URL string
	// Database selects InfluxDB 1.x (/write?db=); Bucket (with Org) selects 2.x.
	Database, Org, Bucket, Token string
	// BufferPoints bounds the points held while InfluxDB is down (sysagent.buffer_points).
	BufferPoints int
	// BatchPoints is the most points one request carries. Default 5000.
	BatchPoints int
	// Timeout of one request. Default 10s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff pace retries. Defaults 500ms and 30s.
	MinBackoff, MaxBackoff time.Duration
}

// Deps are the writer's collaborators; all are optional.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Client     *http.Client
}

// Writer is a hostmetrics.Writer that sends to InfluxDB from its own goroutine (Run).
type Writer struct {
	cfg      Config
	log      *slog.Logger
	client   *http.Client
	writeURL string
	wake     chan struct{}

	mu    sync.Mutex
	lines [][]byte // encoded points, oldest first
	first uint64   // sequence number of lines[0]
	// inflightEnd is the sequence number after the batch being sent (0: none). Lines of it
	// pushed out of a full buffer meanwhile are counted as dropped only if the send fails
	// (inflightDropped), so a delivered point is never also counted as dropped.
	inflightEnd     uint64
	inflightDropped int
	// lastErr is the last write's failure (nil after a success), for /healthz.
	lastErr error

	// Touched by Run only.
	dbReady bool
	failing bool

	written, writeErrors prometheus.Counter
	dropped              *prometheus.CounterVec
	buffered, up         prometheus.Gauge
	duration             prometheus.Histogram
}

var _ hostmetrics.Writer = (*Writer)(nil)

// ErrNotReady is what Check reports before the first successful write.
var ErrNotReady = errors.New("influxdb: no successful write yet")

// New validates cfg and allocates; it does not connect.
func New(cfg Config, deps Deps) (*Writer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sysagent.influxdb.url: must be an http:// or https:// URL (got %q)", cfg.URL)
	}
	q := url.Values{"precision": {"s"}}
	switch {
	case cfg.Bucket != "":
		if cfg.Org == "" {
			return nil, errors.New("sysagent.influxdb.org: required with sysagent.influxdb.bucket (InfluxDB 2.x)")
		}
		q.Set("org", cfg.Org)
		q.Set("bucket", cfg.Bucket)
		u = u.JoinPath("api", "v2", "write")
	case cfg.Database != "":
		q.Set("db", cfg.Database)
		u = u.JoinPath("write")
	default:
		return nil, errors.New("sysagent.influxdb.database: required (InfluxDB 1.x), or set bucket and org (2.x)")
	}
	u.RawQuery = q.Encode()
	if cfg.BufferPoints <= 0 {
		return nil, fmt.Errorf("sysagent.buffer_points: must be positive (got %d)", cfg.BufferPoints)
	}
	if cfg.BatchPoints <= 0 {
		cfg.BatchPoints = 5000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Client == nil {
		deps.Client = &http.Client{}
	}
	w := &Writer{
		cfg: cfg, client: deps.Client, writeURL: u.String(), wake: make(chan struct{}, 1),
		log:     deps.Logger.With("component", "influx", "url", cfg.URL),
		lastErr: ErrNotReady,
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_influx_points_written_total", Help: "Points InfluxDB accepted.",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_influx_write_errors_total", Help: "Write requests that failed and will be retried.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_influx_points_dropped_total",
			Help: "Points given up: buffer_full (the oldest, past sysagent.buffer_points while InfluxDB was down) or rejected (InfluxDB answered 4xx).",
		}, []string{"reason"}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_influx_buffered_points", Help: "Points waiting to be written.",
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_influx_up", Help: "1 when the last write to InfluxDB succeeded.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "logcollect_influx_write_duration_seconds", Help: "Time of one write request.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	for _, r := range []string{"buffer_full", "rejected"} {
		w.dropped.WithLabelValues(r)
	}
	if deps.Registerer != nil {
		for _, c := range []prometheus.Collector{w.written, w.writeErrors, w.dropped, w.buffered, w.up, w.duration} {
			if err := deps.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register influx metrics: %w", err)
			}
		}
	}
	return w, nil
}

// WritePoints encodes the points into the buffer and wakes the sender; it never blocks on
// InfluxDB. Past BufferPoints the oldest points are dropped.
func (w *Writer) WritePoints(_ context.Context, points []hostmetrics.Point) error {
	encoded := make([][]byte, 0, len(points))
	for _, p := range points {
		if line, ok := AppendLine(nil, p); ok {
			encoded = append(encoded, line)
		}
	}
	w.mu.Lock()
	w.lines = append(w.lines, encoded...)
	if over := len(w.lines) - w.cfg.BufferPoints; over > 0 {
		// Copy down rather than reslice, so the dropped lines' memory is released.
		n := copy(w.lines, w.lines[over:])
		clear(w.lines[n:])
		w.lines = w.lines[:n]
		inflight := 0
		if w.inflightEnd > w.first {
			inflight = min(over, int(w.inflightEnd-w.first))
		}
		w.first += uint64(over)
		w.inflightDropped += inflight
		w.dropped.WithLabelValues("buffer_full").Add(float64(over - inflight))
	}
	w.buffered.Set(float64(len(w.lines)))
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// Buffered returns the points waiting to be written.
func (w *Writer) Buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lines)
}

// Check is nil when the last write succeeded.
func (w *Writer) Check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Run sends buffered points until ctx ends, then makes one last bounded attempt to send
// what is left.
func (w *Writer) Run(ctx context.Context) error {
	backoff := w.cfg.MinBackoff
	for {
		select {
		case <-ctx.Done():
			w.drain()
			return nil
		case <-w.wake:
		}
		for ctx.Err() == nil {
			sent, err := w.sendBatch(ctx)
			if err == nil && !sent {
				break
			}
			if err == nil {
				backoff = w.cfg.MinBackoff
				continue
			}
			if ctx.Err() != nil {
				break
			}
			d := backoff/2 + rand.N(backoff/2+1)
			w.log.Debug("retrying write", "in", d)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			backoff = min(2*backoff, w.cfg.MaxBackoff)
		}
	}
}

// drain tries once more, for a few seconds, to send what is buffered at shutdown.
func (w *Writer) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), min(5*time.Second, w.cfg.Timeout))
	defer cancel()
	for {
		sent, err := w.sendBatch(ctx)
		if err != nil || !sent {
			if n := w.Buffered(); n > 0 {
				w.log.Warn("points not written at shutdown", "points", n)
			}
			return
		}
	}
}

// sendBatch sends the oldest batch; sent is false when the buffer was empty. A batch that
// InfluxDB rejects as bad is dropped (it would never be accepted); any other failure
// keeps it for a retry.
func (w *Writer) sendBatch(ctx context.Context) (sent bool, err error) {
	w.mu.Lock()
	n := min(len(w.lines), w.cfg.BatchPoints)
	batch := append([][]byte(nil), w.lines[:n]...)
	seq := w.first
	if n > 0 {
		w.inflightEnd = seq + uint64(n)
	}
	w.mu.Unlock()
	if n == 0 {
		return false, nil
	}
	err = w.send(ctx, batch)
	w.settleInflight(err)
	var rejected *rejectedError
	switch {
	case err == nil:
		w.written.Add(float64(n))
		w.up.Set(1)
		if w.failing {
			w.log.Info("InfluxDB writes work again")
			w.failing = false
		}
	case errors.As(err, &rejected):
		w.dropped.WithLabelValues("rejected").Add(float64(n))
		w.log.Error("InfluxDB rejected a batch; dropping it", "points", n, "err", err)
		err = nil
	default:
		w.writeErrors.Inc()
		w.up.Set(0)
		w.setErr(err)
		if ctx.Err() == nil && !w.failing {
			w.failing = true
			w.log.Warn("InfluxDB write failed; buffering and retrying", "buffered", w.Buffered(), "err", err)
		}
		return false, err
	}
	w.setErr(nil)
	w.ack(seq + uint64(n))
	return true, nil
}

// settleInflight ends a send: lines of the batch pushed out of the buffer meanwhile were
// lost only if it failed (a rejected batch is counted whole as rejected).
func (w *Writer) settleInflight(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var rejected *rejectedError
	if err != nil && !errors.As(err, &rejected) {
		w.dropped.WithLabelValues("buffer_full").Add(float64(w.inflightDropped))
	}
	w.inflightEnd, w.inflightDropped = 0, 0
}

// ack removes the lines before sequence number end, minding those already dropped.
func (w *Writer) ack(end uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if end <= w.first {
		return
	}
	k := min(int(end-w.first), len(w.lines))
	n := copy(w.lines, w.lines[k:])
	clear(w.lines[n:])
	w.lines = w.lines[:n]
	w.first += uint64(k)
	w.buffered.Set(float64(len(w.lines)))
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
}

// rejectedError is an answer that says the data itself is bad: retrying cannot help.
type rejectedError struct {
	status int
	body   string
}

func (e *rejectedError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

func (w *Writer) send(ctx context.Context, batch [][]byte) error {
	if w.cfg.Bucket == "" && !w.dbReady {
		if err := w.createDatabase(ctx); err != nil {
			return err
		}
		w.dbReady = true
	}
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	for _, line := range batch {
		_, _ = zw.Write(line) // a bytes.Buffer does not fail
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	start := time.Now()
	status, msg, err := w.post(ctx, w.writeURL, "text/plain; charset=utf-8", &body, true)
	w.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	switch {
	case status/100 == 2:
		return nil
	case status == http.StatusNotFound && strings.Contains(msg, "database not found"):
		w.dbReady = false // dropped behind our back: create it again on the retry
		return fmt.Errorf("write: status %d: %s", status, msg)
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge ||
		status == http.StatusUnprocessableEntity:
		return &rejectedError{status: status, body: msg}
	default: // 401/403 (a token an operator may fix), 404 (a bucket not made yet), 429, 5xx
		return fmt.Errorf("write: status %d: %s", status, msg)
	}
}

// createDatabase makes the 1.x database; CREATE DATABASE is a no-op when it exists.
func (w *Writer) createDatabase(ctx context.Context) error {
	u, _ := url.Parse(w.cfg.URL) // validated in New
	u = u.JoinPath("query")
	q := `CREATE DATABASE "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w.cfg.Database) + `"`
	form := url.Values{"q": {q}}.Encode()
	status, msg, err := w.post(ctx, u.String(), "application/x-www-form-urlencoded", strings.NewReader(form), false)
	if err != nil {
		return fmt.Errorf("create database %s: %w", w.cfg.Database, err)
	}
	// 1.x answers 200 with {"results":[{"error":...}]} for a statement that failed.
	if status != http.StatusOK || strings.Contains(msg, `"error"`) {
		return fmt.Errorf("create database %s: status %d: %s", w.cfg.Database, status, msg)
	}
	return nil
}

// post sends one request and returns the status and the start of the body.
func (w *Writer) post(ctx context.Context, target, contentType string, body io.Reader, gzipped bool) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", contentType)
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if w.cfg.Token != "" {
		req.Header.Set("Authorization", "Token "+w.cfg.Token)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}
