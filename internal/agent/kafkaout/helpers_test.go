package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/metrictest"
)

// ackLog is a pipeline.Acker that remembers every acknowledged range.
type ackLog struct {
	mu    sync.Mutex
	acked map[[2]int64]int // [offset,end] → times acknowledged
	n     int
}

func newAckLog() *ackLog { return &ackLog{acked: make(map[[2]int64]int)} }

func (a *ackLog) Ack(offset, end int64) {
	a.mu.Lock()
	a.acked[[2]int64{offset, end}]++
	a.n++
	a.mu.Unlock()
}

func (a *ackLog) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

func (a *ackLog) has(offset, end int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acked[[2]int64{offset, end}] > 0
}

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	await.Until(t, within, what, cond)
}

// fileEvents makes n events of one file, each line "<path> line <i>" plus padding, read
// "now" (event i at now + i ns). The time becomes the record's timestamp, and Kafka's
// time-based retention (24 h on the test broker, checked every 5 min) deletes a segment
// whose newest timestamp is older than that, the active one included: with a fixed date,
// once it was a day old, a retention check landing mid-test deleted the records already
// written (the outage test read 33,523 of 100,000 in CI, the broker logged "Deleting
// segment ... due to log retention time 86400000ms breach").
func fileEvents(topic, host, path string, from, n int, ack pipeline.Acker, fields map[string]string) []pipeline.Event {
	evs := make([]pipeline.Event, 0, n)
	readAt := time.Now().UTC().Truncate(time.Second)
	var off int64
	for i := 0; i < from+n; i++ {
		line := fmt.Appendf(nil, "%s line %07d some padding to look like a log line", path, i)
		end := off + int64(len(line)) + 1
		if i >= from {
			evs = append(evs, pipeline.Event{
				Topic: topic, Host: host, Path: path, FileID: "8:1234",
				Offset: off, End: end, Time: readAt.Add(time.Duration(i)),
				Fields: fields, Line: line, Ack: ack,
			})
		}
		off = end
	}
	return evs
}

func testConfig(brokers []string) config.Kafka {
	cfg := config.Default().Kafka
	cfg.Brokers = brokers
	cfg.Linger = config.Duration(time.Millisecond)
	return cfg
}

// fastRetry keeps reconnects quick so outage tests stay short.
func fastRetry() kgo.Opt {
	return kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond })
}

// newTestSink builds and runs a sink. Fields left zero in deps get test values: a temporary
// data dir, a 100ms report interval and a discarding logger; fastRetry comes before
// deps.ClientOpts.
func newTestSink(t *testing.T, cfg config.Kafka, deps Deps) *Sink {
	t.Helper()
	if deps.DataDir == "" {
		deps.DataDir = t.TempDir()
	}
	if deps.ReportInterval == 0 {
		deps.ReportInterval = 100 * time.Millisecond
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	deps.ClientOpts = append([]kgo.Opt{fastRetry()}, deps.ClientOpts...)
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
		defer ccancel()
		_ = s.Close(cctx)
	})
	return s
}

// consumed is a record read back from Kafka.
type consumed struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   map[string]string // headersOf
	Timestamp time.Time
}

// headersOf is a record's headers by name; the lc header (kafka.HeaderMeta) is read into
// lc.offset, lc.file_id and lc.time (RFC 3339, when it has one), or lc.error.
func headersOf(r *kgo.Record) map[string]string {
	h := make(map[string]string, len(r.Headers)+2)
	for _, hd := range r.Headers {
		if hd.Key != kafka.HeaderMeta {
			h[hd.Key] = string(hd.Value)
			continue
		}
		m, err := kafka.ParseMeta(hd.Value)
		if err != nil {
			h["lc.error"] = err.Error()
			continue
		}
		h["lc.offset"], h["lc.file_id"] = strconv.FormatInt(m.Offset, 10), m.FileID
		if !m.Time.IsZero() {
			h["lc.time"] = m.Time.Format(time.RFC3339Nano)
		}
	}
	return h
}

// offsetOf is the offset header of either kind of record.
func offsetOf(h map[string]string) string {
	if v, ok := h["lc.offset"]; ok {
		return v
	}
	return h[hdrOffset]
}

// consumeAll reads topic from the start until it has n records or the deadline passes.
func consumeAll(t testing.TB, brokers []string, topic string, n int, within time.Duration) []consumed {
	t.Helper()
	got, err := consumeUpTo(brokers, topic, n, within)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// consumeUpTo reads topic from the start until it has n records or within passes. When
// it falls short, the error says what Kafka holds (each partition's start and end
// offsets), how many records were read from each partition, and every fetch error met:
// "fewer records" alone cannot tell records never written from records not readable.
func consumeUpTo(brokers []string, topic string, n int, within time.Duration) ([]consumed, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []consumed
	perPartition := map[int32]int{}
	fetchErrs := map[string]int{}
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fetchErrs[fmt.Sprintf("partition %d: %v", p, err)]++
			}
		})
		if ctx.Err() != nil {
			return out, fmt.Errorf("consumed %d of %d records from %s before the deadline (%s); read per partition %v; fetch errors %v; %s",
				len(out), n, topic, within, perPartition, fetchErrs, topicOffsets(cl, topic))
		}
		fs.EachRecord(func(r *kgo.Record) {
			h := headersOf(r)
			perPartition[r.Partition]++
			out = append(out, consumed{r.Partition, r.Offset, string(r.Key), string(r.Value), h, r.Timestamp})
		})
	}
	return out, nil
}

// topicOffsets lists each partition's start and end offsets, "start..end", or why not.
func topicOffsets(cl *kgo.Client, topic string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return "start offsets: " + err.Error()
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return "end offsets: " + err.Error()
	}
	var parts []string
	deleted := false
	starts.Each(func(o kadm.ListedOffset) {
		e, _ := ends.Lookup(o.Topic, o.Partition)
		parts = append(parts, fmt.Sprintf("p%d %d..%d (errs %v, %v)", o.Partition, o.Offset, e.Offset, o.Err, e.Err))
		deleted = deleted || o.Offset > 0
	})
	slices.Sort(parts)
	out := "offsets in Kafka: " + strings.Join(parts, ", ")
	if deleted {
		// A fresh topic starts at 0: a later start means the broker deleted records.
		out += " — records were deleted by the broker (retention by record timestamp?)"
	}
	return out
}

func counterValue(t testing.TB, c prometheus.Counter) float64 { return metrictest.Value(t, c) }

func histogramCount(t testing.TB, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// counterVecText prints every child of a counter vector as "label=value n", or "none".
func counterVecText(t testing.TB, g prometheus.Gatherer, name string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			parts = append(parts, fmt.Sprintf("{%s} %v", strings.Join(labels, ","), m.GetCounter().GetValue()))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// logBuf is a concurrency-safe log destination for asserting on log lines.
type logBuf struct {
	mu sync.Mutex
	b  []byte
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *logBuf) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(string(l.b), substr)
}

// lines returns the first max log lines holding substr, and how many there were.
func (l *logBuf) lines(substr string, max int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	n := 0
	for line := range strings.SplitSeq(string(l.b), "\n") {
		if strings.Contains(line, substr) {
			if n++; n <= max {
				out = append(out, line)
			}
		}
	}
	return fmt.Sprintf("%d lines with %q:\n%s", n, substr, strings.Join(out, "\n"))
}

// cutDialer lets a test cut the network to a broker without stopping it (other
// engineers' tests share the real broker): while down, dials fail with an error of its
// own (not a *net.OpError, as a proxy's or a TLS handshake's would be) and the open
// connections are closed.
type cutDialer struct {
	mu    sync.Mutex
	down  bool
	conns map[*cutConn]struct{}
}

// cutConn is a connection the dialer can close and count until its user closes it.
type cutConn struct {
	net.Conn
	d    *cutDialer
	once sync.Once
}

func (c *cutConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		delete(c.d.conns, c)
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

func (d *cutDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return nil, errors.New("network cut by test")
	}
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{Conn: c, d: d}
	if d.conns == nil {
		d.conns = make(map[*cutConn]struct{})
	}
	d.conns[cc] = struct{}{}
	return cc, nil
}

func (d *cutDialer) set(down bool) {
	d.mu.Lock()
	d.down = down
	var open []*cutConn
	if down {
		for c := range d.conns {
			open = append(open, c)
		}
		clear(d.conns)
	}
	d.mu.Unlock()
	for _, c := range open {
		_ = c.Conn.Close()
	}
}

// open counts the connections dialled and not closed yet.
func (d *cutDialer) open() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.conns)
}

// deadLetterSummary counts dead letters by kind and reason, with their offset range.
func deadLetterSummary(dead []deadLetterRecord) string {
	if len(dead) == 0 {
		return "dead letters: none"
	}
	type agg struct {
		n        int
		min, max int64
	}
	by := map[string]*agg{}
	for _, d := range dead {
		k := d.Kind + ": " + d.Reason
		a := by[k]
		if a == nil {
			a = &agg{min: d.Offset, max: d.Offset}
			by[k] = a
		}
		a.n++
		a.min, a.max = min(a.min, d.Offset), max(a.max, d.Offset)
	}
	out := fmt.Sprintf("dead letters: %d", len(dead))
	for k, a := range by {
		out += fmt.Sprintf("; %d × %q at offsets %d..%d", a.n, k, a.min, a.max)
	}
	return out
}
