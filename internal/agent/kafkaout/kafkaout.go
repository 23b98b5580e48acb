// Package kafkaout is the agent's Kafka output: a pipeline.Sink that produces each event
// as one record (docs/architecture.md, "Kafka record") with franz-go and
// acknowledges the event to the tailing engine only once Kafka has it, so checkpoints
// never run ahead of Kafka.
//
// Memory is bounded by kafka.max_buffered_bytes: Publish blocks while that many bytes are
// in flight, so the files are the buffer while Kafka is slow or down. Records Kafka refuses
// for good (too large, invalid, topic missing and not creatable) go to a dead-letter file
// and are acknowledged, so one bad record or topic never stops the pipeline.
package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
)

// latencySampleEvery: the produce latency histogram observes one record in this many, which
// keeps the clock off the per-record path and still fills the histogram at any useful rate.
const latencySampleEvery = 64

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("kafka sink closed")

var (
	_ pipeline.Sink        = (*Sink)(nil)
	_ pipeline.Runner      = (*Sink)(nil)
	_ pipeline.Closer      = (*Sink)(nil)
	_ pipeline.Synchronous = (*Sink)(nil)
)

// Health status values.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
)

// Health is the sink's state for /healthz.
type Health struct {
	Status string `json:"status"` // ok | degraded
	Reason string `json:"reason,omitempty"`
	// Since is when the current status began.
	Since           time.Time `json:"since"`
	InflightRecords int64     `json:"inflight_records"`
	InflightBytes   int64     `json:"inflight_bytes"`
	// TopicErrors maps a topic to its last error, for topics that failed recently.
	TopicErrors map[string]string `json:"topic_errors,omitempty"`
}

// Deps are the sink's collaborators, given by the caller.
type Deps struct {
	// Logger gets the sink's log lines, with component=kafka added; slog.Default() when nil.
	Logger *slog.Logger
	// Registerer gets the sink's metrics; when nil they are kept on a private registry
	// nobody scrapes.
	Registerer prometheus.Registerer
	// DataDir is the directory of the dead-letter file (agent.data_dir). Required.
	DataDir string
	// ClientOpts are extra franz-go options, appended after the sink's own to both of its
	// clients (tests and benchmarks: short backoffs, dialers, kfake quirks, codec levels).
	ClientOpts []kgo.Opt
	// ReportInterval is how often the sink checks Kafka's health and logs a summary of
	// problems: one line per interval, never one per record. 10s when zero.
	ReportInterval time.Duration
	// BadTopicPause is how long records for a topic that was just found missing or
	// forbidden go straight to the dead-letter file before Kafka is asked again. Without
	// it, every record of that entry would hold memory for several metadata round trips
	// and could starve the other entries of the byte budget. 30s when zero.
	BadTopicPause time.Duration
}

// Defaults of the Deps knobs.
const (
	defaultReportInterval = 10 * time.Second
	defaultBadTopicPause  = 30 * time.Second
	// topicErrorKeep is how long a topic's last error stays in Health (at least two
	// report intervals).
	topicErrorKeep = time.Minute
)

// Sink produces events to Kafka. Create it with New, run Run in its own goroutine, call
// Publish from the tailing engine, and Close after the sources stopped.
type Sink struct {
	log      *slog.Logger
	client   *kgo.Client
	admin    *kgo.Client // reads topic limits; separate so it never waits on the producer
	budget   *budget
	dead     *deadLetter
	metrics  *metrics
	interval time.Duration
	// fullHeaders is kafka.headers full: records carry host, path and ts headers too.
	fullHeaders bool
	badPause    time.Duration
	keepErr     time.Duration

	// prodCtx is given to Produce instead of Publish's context: a record handed to the
	// producer stays there until Kafka has it or Close gives up, whatever happens to
	// the caller.
	prodCtx    context.Context
	prodCancel context.CancelFunc

	pool      sync.Pool                // *batchBuf
	promiseFn func(*kgo.Record, error) // s.promise, bound once
	acks      ackRun                   // owned by the promises, which franz-go calls serially
	fin       finRun                   // likewise
	closed    atomic.Bool
	inflight  atomic.Int64
	// drained gets a signal when the last in-flight record finishes after Close began.
	drained chan struct{}
	// acked counts records Kafka acknowledged. Run compares it between ticks to see
	// progress: reading the clock per record costs more than the rest of the promise on
	// some virtual machines.
	acked atomic.Int64
	// Owned by the Run goroutine.
	lastAcked    int64
	lastProgress time.Time
	wasIdle      bool

	topicsMu sync.RWMutex
	topics   map[string]*topicState

	healthMu   sync.Mutex
	health     Health
	lastConnMu sync.Mutex
	lastConn   error // last broker connection error, for the report line
}

// topicState caches a topic's metric children and its recent error.
type topicState struct {
	name    string
	records prometheus.Counter
	bytes   prometheus.Counter
	dead    prometheus.Counter

	// badUntil (unix nano, 0 when fine) is read for every record without a lock; before
	// it, the topic's records go straight to the dead letter.
	badUntil atomic.Int64

	mu        sync.Mutex
	badErr    error
	badKind   string
	lastErr   error
	lastErrAt time.Time
	// errCount counts failed records since the last report line.
	errCount int64
}

// New validates the config and builds the sink. It does not connect: franz-go dials on
// first use.
func New(cfg config.Kafka, deps Deps) (*Sink, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.ReportInterval == 0 {
		deps.ReportInterval = defaultReportInterval
	}
	if deps.BadTopicPause == 0 {
		deps.BadTopicPause = defaultBadTopicPause
	}
	if deps.DataDir == "" {
		return nil, errors.New("kafka sink: data dir for the dead-letter file is required (Deps.DataDir)")
	}
	if deps.ReportInterval < 0 {
		return nil, fmt.Errorf("kafka sink: report interval %s must be positive", deps.ReportInterval)
	}
	if cfg.MaxBufferedBytes <= 0 {
		return nil, fmt.Errorf("kafka.max_buffered_bytes: %d must be positive", cfg.MaxBufferedBytes)
	}
	conn, err := kafka.ClientOpts(cfg)
	if err != nil {
		return nil, err
	}
	prod, err := producerOpts(cfg)
	if err != nil {
		return nil, err
	}
	log := deps.Logger.With("component", "kafka")
	s := &Sink{
		log:         log,
		budget:      newBudget(cfg.MaxBufferedBytes),
		dead:        newDeadLetter(deps.DataDir),
		interval:    deps.ReportInterval,
		fullHeaders: cfg.Headers == config.HeadersFull,
		badPause:    deps.BadTopicPause,
		keepErr:     max(topicErrorKeep, 2*deps.ReportInterval),
		topics:      make(map[string]*topicState),
		drained:     make(chan struct{}, 1),
		health:      Health{Status: StatusOK, Since: time.Now()},
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // metrics nobody scrapes, but no global state
	}
	if s.metrics, err = newMetrics(reg, s); err != nil {
		return nil, err
	}
	log.Debug("kafka sink", "brokers", cfg.Brokers, "acks", cfg.Acks, "compression", cfg.Compression)
	s.admin, err = kgo.NewClient(append(append([]kgo.Opt{}, conn...), deps.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka admin client: %w", err)
	}
	limits := &topicLimits{admin: kadm.NewClient(s.admin), def: batchMaxBytes(cfg), log: log, timeout: 5 * time.Second, m: make(map[string]int32)}
	kopts := append(append([]kgo.Opt{}, conn...), prod...)
	kopts = append(kopts,
		kgo.ProducerBatchMaxBytesFn(limits.limit),
		// The byte budget is the limit; franz-go's record count must never be reached
		// first (it would block Produce without honouring Publish's context).
		kgo.MaxBufferedRecords(int(min(cfg.MaxBufferedBytes/recordOverhead+1024, 1<<30))),
		kgo.WithLogger(kafka.Logger(log)),
		kgo.WithHooks(connHook{s}),
	)
	kopts = append(kopts, deps.ClientOpts...)
	s.client, err = kgo.NewClient(kopts...)
	if err != nil {
		s.admin.Close()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	s.prodCtx, s.prodCancel = context.WithCancel(context.Background())
	s.promiseFn = s.promise
	s.lastProgress, s.wasIdle = time.Now(), true
	return s, nil
}

// Publish hands the events to the producer. It blocks while max_buffered_bytes are in
// flight and returns early only when ctx ends before the batch was handed over (the batch
// is then never acknowledged and is read again after a restart); a batch is handed over
// whole, so the caller can wait for all of its acknowledgements. Each event is
// acknowledged once Kafka has it, or once it is in the dead-letter file.
func (s *Sink) Publish(ctx context.Context, batch []pipeline.Event) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if len(batch) == 0 {
		return nil
	}
	var tsBuf [4]topicVerdict
	verdicts := tsBuf[:0]
	z := s.measure(batch, &verdicts)
	// The budget is taken before the records are built, once for the whole batch: while
	// Publish waits, it holds nothing but the engine's batch (building first held one
	// more batch of records than the budget, a fifth of the heap at the default sizes).
	// All of it is handed over or none (then the engine reads it again), so the caller
	// can wait for every acknowledgement of a batch it saw accepted.
	var taken int64
	if z.cost > 0 {
		var err error
		if taken, err = s.budget.acquire(ctx, z.cost); err != nil {
			return err
		}
	}
	b := s.getBatch(len(batch), z)
	// The batch gives its budget back when its memory is free: once its last record
	// is finished and Publish let go of it.
	b.cost = taken
	defer s.done(b) // Publish's hold on the batch
	s.buildAll(b, batch, verdicts)
	if taken == 0 {
		return nil // every record dead-lettered already
	}
	b.handed = time.Now().UnixNano()
	last := len(batch) - 1
	var n int64
	for i := range batch {
		m := &b.recs[i]
		if m.ts == nil {
			continue // dead-lettered by buildAll
		}
		ev := &batch[i]
		m.ack, m.off, m.end, m.last = ev.Ack, ev.Offset, ev.End, i == last
		m.cont = i > 0 && ev.Offset == batch[i-1].End && sameRangeAcker(ev.Ack, batch[i-1].Ack)
		n++
	}
	// Counted once for the batch, before any promise can run: two atomic adds per record
	// on counters the promises decrement from another goroutine cost more than the rest
	// of this loop.
	s.inflight.Add(n)
	b.pending.Add(int32(n))
	for i := range b.recs {
		if m := &b.recs[i]; m.ts != nil {
			s.client.Produce(s.prodCtx, &m.r, s.promiseFn)
		}
	}
	return nil
}

// topicVerdict is whether a topic's records go straight to the dead letter, decided once
// per Publish so that measure and buildAll agree on what the budget counts.
type topicVerdict struct {
	ts   *topicState
	kind string
	err  error
}

// verdict finds or decides the verdict on ev's topic.
func (s *Sink) verdict(name string, verdicts *[]topicVerdict, now time.Time) *topicVerdict {
	for i := range *verdicts {
		if v := &(*verdicts)[i]; v.ts.name == name {
			return v
		}
	}
	ts := s.topic(name)
	kind, err := ts.isBad(now)
	*verdicts = append(*verdicts, topicVerdict{ts: ts, kind: kind, err: err})
	return &(*verdicts)[len(*verdicts)-1]
}

// measure sizes the batch's records and sums the budget cost of those that will be
// produced; a record for a topic found bad a moment ago goes to the dead letter at once
// and costs nothing.
func (s *Sink) measure(batch []pipeline.Event, verdicts *[]topicVerdict) batchSizes {
	now := time.Now() // a coarse clock is enough for the bad-topic window
	z := batchSizes{full: s.fullHeaders}
	var v *topicVerdict
	for i := range batch {
		ev := &batch[i]
		if v == nil || v.ts.name != ev.Topic {
			v = s.verdict(ev.Topic, verdicts, now)
		}
		var prev *pipeline.Event
		if i > 0 {
			prev = &batch[i-1]
		}
		before := z.cost
		z.add(ev, prev)
		if v.err != nil {
			z.cost = before
		}
	}
	return z
}

// buildAll builds the batch's records, each with its topic, and dead-letters those
// measure found for a bad topic.
func (s *Sink) buildAll(b *batchBuf, batch []pipeline.Event, verdicts []topicVerdict) {
	var v *topicVerdict
	for i := range batch {
		ev := &batch[i]
		if v == nil || v.ts.name != ev.Topic {
			v = s.verdict(ev.Topic, &verdicts, time.Time{})
		}
		m := b.build(i, ev)
		if m.r.Timestamp.IsZero() {
			m.r.Timestamp = time.Now()
		}
		if v.err != nil {
			s.fail(v.ts, &m.r, ev.Ack, ev.Offset, ev.End, v.kind, v.err)
			continue
		}
		m.ts = v.ts
	}
}

// DoneOnReturn says the sink keeps nothing of a batch, line bytes included, once Publish
// returned (it copies what its records need), so the tailing engine reuses the batch's
// memory for its next one.
func (s *Sink) DoneOnReturn() bool { return true }

// rangeAcker is an Acker for which one Ack over the ranges of consecutive events is the
// same as one Ack per event (checkpoint.Watermark keeps the union of acknowledged
// ranges). Other Ackers get one Ack per event, as pipeline.Sink promises.
type rangeAcker interface {
	pipeline.Acker
	AcceptsRanges()
}

// sameRangeAcker reports whether a and b are the same rangeAcker. Implementations are
// pointers, so comparing them cannot panic.
func sameRangeAcker(a, b pipeline.Acker) bool {
	_, ok := a.(rangeAcker)
	return ok && a == b
}

// ackRun gathers the acknowledgements of consecutive records of one batch into one Ack
// call: one Watermark lock per batch instead of one per line. franz-go calls all promises
// serially, so the run needs no lock; it is owned by the promise path.
type ackRun struct {
	ack      pipeline.Acker
	from, to int64
	b        *batchBuf // with seq and next: the run goes on only with the record after
	seq      uint64    // the one it ended with, in the same use of the same batch
	next     int32
	n        int // records gathered
}

// ackRunMax bounds how many acknowledged records wait in a run: a kill re-sends what
// Kafka acknowledged but the watermark did not get yet, so the run is handed on every
// ackRunMax records as well as at the end of its batch (one lock per 256 lines instead of
// per line is most of the gain).
const ackRunMax = 256

func (a *ackRun) add(m *rec) {
	// m is pending, so its batch is in the use that built it: b.seq is that use's.
	if a.ack != nil && m.cont && a.b == m.b && a.seq == m.b.seq && a.next == m.idx {
		a.to, a.next = m.end, m.idx+1
		if a.n++; a.n >= ackRunMax {
			a.flush()
		}
		return
	}
	a.flush()
	a.ack, a.from, a.to, a.b, a.seq, a.next, a.n = m.ack, m.off, m.end, m.b, m.b.seq, m.idx+1, 1
}

func (a *ackRun) flush() {
	if a.ack != nil {
		a.ack.Ack(a.from, a.to)
		a.ack, a.b = nil, nil
	}
}

// promise is every record's promise (s.promiseFn): franz-go calls it once per record,
// serially.
func (s *Sink) promise(r *kgo.Record, err error) {
	m := recOf(r)
	if err != nil && !aborted(err) && !refused(err) {
		s.produceAgain(r, err)
		return // still in flight: its budget, in-flight count and batch hold stay taken
	}
	s.finish(m, err)
}

// finish ends one record: acknowledged, dead-lettered, or (shutdown) left for a re-read.
func (s *Sink) finish(m *rec, err error) {
	r := &m.r
	if m.b != s.fin.b || m.ts != s.fin.ts {
		s.fin.flush(s)
	}
	s.fin.b, s.fin.ts = m.b, m.ts
	s.fin.n++
	switch {
	case err == nil:
		s.fin.acked++
		s.fin.bytes += int64(len(r.Value))
		if m.ack != nil {
			s.acks.add(m)
		}
	case aborted(err):
		// Shutdown gave up on it: no ack, the checkpoint stays before it and the line
		// is read again after the restart.
		s.metrics.errors.WithLabelValues(kindAborted).Inc()
	default:
		kind := classify(err)
		if topicWide(kind) {
			m.ts.markBad(time.Now().Add(s.badPause), kind, err)
		}
		s.fail(m.ts, r, m.ack, m.off, m.end, kind, err)
	}
	// m belongs to the batch: nothing may touch it once the run is flushed (the batch may
	// be recycled then).
	idle := s.inflight.Add(-1) == 0
	if m.last || idle {
		// The end of a batch, or nothing more coming: count what is gathered, then
		// acknowledge it (a test that saw the acknowledgements finds the counters
		// already moved), then give the batch back.
		s.fin.count(s)
		s.acks.flush()
		s.fin.flush(s)
	}
	if idle && s.closed.Load() {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

// finRun gathers what finishing consecutive records of one batch and topic changes in
// state other goroutines read: the batch's pending count (its budget comes back at
// zero), the acknowledged count and the topic's counters. Applied once per run instead of
// per record it spares four atomic read-modify-writes per record, 6 % of the agent's CPU
// at a million lines a second (CPU profile of the agent binary, docs/benchmarks.md,
// issue 20). franz-go calls promises serially, so like ackRun it is owned by the promise
// path and needs no lock. A run is flushed when the next record belongs elsewhere, at
// the end of its batch, and when nothing is in flight any more, so it never waits for a
// record that is not coming: every record in flight finishes.
type finRun struct {
	b     *batchBuf
	ts    *topicState
	n     int32 // records of b finished since the last flush
	acked int64 // of which Kafka acknowledged
	bytes int64 // their values' bytes
}

// count adds the run's acknowledged records to the counters and samples the latency of
// one in latencySampleEvery, as per-record counting would.
func (f *finRun) count(s *Sink) {
	if f.acked == 0 {
		return
	}
	after := s.acked.Add(f.acked)
	if samples := after/latencySampleEvery - (after-f.acked)/latencySampleEvery; samples > 0 {
		lat := float64(time.Now().UnixNano()-f.b.handed) / 1e9
		for range samples {
			s.metrics.latency.Observe(lat)
		}
	}
	f.ts.records.Add(float64(f.acked))
	f.ts.bytes.Add(float64(f.bytes))
	f.acked, f.bytes = 0, 0
}

// flush counts the run and gives its records back to their batch.
func (f *finRun) flush(s *Sink) {
	if f.b == nil {
		return
	}
	f.count(s)
	b, n := f.b, f.n
	f.b, f.ts, f.n = nil, nil, 0
	s.doneN(b, n)
}

// aborted says whether the record failed because the sink is closing (Close cancels the
// produce context and closes the client).
func aborted(err error) bool {
	return errors.Is(err, kgo.ErrClientClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refused says whether Kafka refused the record: the error is a Kafka error code about the
// record or its topic (franz-go's own too-large check wraps kerr.MessageTooLarge too), so
// the record goes to the dead letter and is acknowledged. Any other failure says nothing
// about the record: franz-go also fails every buffered record of a partition when it cannot
// reach the broker with an error it does not take for a network one (a TLS handshake, a
// dialer's or proxy's own error) while no request for them was sent, and SASL
// authentication is refused for the connection, not the record. Dead-lettering those would
// acknowledge lines that never reached Kafka, so they are produced again instead.
func refused(err error) bool {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kerr.SaslAuthenticationFailed, kerr.UnsupportedSaslMechanism, kerr.IllegalSaslState:
		return false
	}
	return true
}

// produceAgain hands a record franz-go failed without Kafka refusing it back to the
// producer, from its promise. It keeps its budget, so reading stays paused while Kafka
// cannot be reached, as for any outage. Records handed over by Publish while franz-go was
// failing the partition's buffer may land before the ones produced again: a file's order
// holds except across such a failure.
func (s *Sink) produceAgain(r *kgo.Record, err error) {
	s.metrics.errors.WithLabelValues(kindRetried).Inc()
	if errors.Is(err, kgo.ErrMaxBuffered) {
		// Only TryProduce below fails so; a blocking Produce must not run in a promise
		// (franz-go calls promises serially and would wait on itself).
		go s.client.Produce(s.prodCtx, r, s.promiseFn)
		return
	}
	s.lastConnMu.Lock()
	s.lastConn = err // named by the health reason while nothing is acknowledged
	s.lastConnMu.Unlock()
	s.client.TryProduce(s.prodCtx, r, s.promiseFn)
}

// fail dead-letters a refused record and acknowledges it so the pipeline moves on. When
// the dead-letter file cannot be written the event is not acknowledged: the file's
// checkpoint stays before it and the line is sent again after a restart.
func (s *Sink) fail(ts *topicState, r *kgo.Record, ack pipeline.Acker, off, end int64, kind string, err error) {
	s.metrics.errors.WithLabelValues(kind).Inc()
	if ts.noteErr(kind, err, s.keepErr) {
		s.log.Error("record refused by kafka, writing it to the dead-letter file", "topic", r.Topic,
			"key", string(r.Key), "kind", kind, "err", err, "file", s.dead.path)
	}
	if werr := s.dead.write(r, kind, err); werr != nil {
		s.metrics.errors.WithLabelValues(kindDeadLetter).Inc()
		s.log.Error("dead-letter write failed; event left unacknowledged", "topic", r.Topic, "err", werr)
		return
	}
	ts.dead.Inc()
	if ack != nil {
		ack.Ack(off, end)
	}
}

func classify(err error) string {
	switch {
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return kindTooLarge
	case errors.Is(err, kerr.InvalidRecord), errors.Is(err, kerr.CorruptMessage),
		errors.Is(err, kerr.InvalidTimestamp), errors.Is(err, kerr.InvalidRequiredAcks):
		return kindInvalidRecord
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return kindUnknownTopic
	case errors.Is(err, kerr.InvalidTopicException):
		return kindInvalidTopic
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed):
		return kindAuthorization
	default:
		return kindOther
	}
}

// topicWide says whether an error is about the topic rather than the record.
func topicWide(kind string) bool {
	return kind == kindUnknownTopic || kind == kindInvalidTopic || kind == kindAuthorization
}

func (s *Sink) topic(name string) *topicState {
	s.topicsMu.RLock()
	ts := s.topics[name]
	s.topicsMu.RUnlock()
	if ts != nil {
		return ts
	}
	s.topicsMu.Lock()
	defer s.topicsMu.Unlock()
	if ts = s.topics[name]; ts == nil {
		ts = &topicState{
			name:    name,
			records: s.metrics.records.WithLabelValues(name),
			bytes:   s.metrics.bytes.WithLabelValues(name),
			dead:    s.metrics.deadLetter.WithLabelValues(name),
		}
		s.topics[name] = ts
	}
	return ts
}

func (t *topicState) isBad(now time.Time) (string, error) {
	until := t.badUntil.Load()
	if until == 0 || now.UnixNano() >= until {
		return "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.badKind, t.badErr
}

func (t *topicState) markBad(until time.Time, kind string, err error) {
	t.mu.Lock()
	t.badKind, t.badErr = kind, fmt.Errorf("topic %q unavailable, not retried until %s: %w", t.name, until.UTC().Format(time.RFC3339), err)
	t.mu.Unlock()
	t.badUntil.Store(until.UnixNano())
}

// noteErr records a failure and says whether it is the topic's first in a while, which
// is logged at once; later ones are summed up once per interval.
func (t *topicState) noteErr(kind string, err error, keep time.Duration) bool {
	t.mu.Lock()
	first := t.lastErr == nil || time.Since(t.lastErrAt) >= keep
	t.lastErr, t.lastErrAt = fmt.Errorf("%s: %w", kind, err), time.Now()
	if !first {
		t.errCount++
	}
	t.mu.Unlock()
	return first
}

// Run watches Kafka's health until ctx ends: it sets the /healthz status and logs one line
// per interval while Kafka does not acknowledge or a topic fails. It does not flush; Close
// does, after the sources stopped.
func (s *Sink) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.check(ctx)
		}
	}
}

func (s *Sink) check(ctx context.Context) {
	if s.closed.Load() {
		return // shutting down: a failed ping now would only be noise
	}
	now := time.Now()
	inflight := s.inflight.Load()
	if acked := s.acked.Load(); acked != s.lastAcked || s.wasIdle {
		s.lastAcked, s.lastProgress = acked, now
	}
	s.wasIdle = inflight == 0
	var reason string
	if inflight > 0 {
		if stalled := now.Sub(s.lastProgress); stalled >= s.interval {
			reason = fmt.Sprintf("kafka has acknowledged nothing for %s; %d records (%d bytes) wait, reading is paused when %d bytes are in flight",
				stalled.Round(time.Millisecond), inflight, s.budget.inUse(), s.budget.limit)
			if err := s.connErr(); err != nil {
				reason += "; last connection error: " + err.Error()
			}
		}
	} else {
		pctx, cancel := context.WithTimeout(ctx, s.interval)
		err := s.client.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			reason = "kafka unreachable: " + err.Error()
		}
	}

	topicErrs := s.topicReport(now)

	s.healthMu.Lock()
	prev := s.health
	h := Health{Status: StatusOK, Since: prev.Since, InflightRecords: inflight, InflightBytes: s.budget.inUse(), TopicErrors: topicErrs}
	if reason != "" {
		h.Status, h.Reason = StatusDegraded, reason
	} else if len(topicErrs) > 0 {
		h.Status, h.Reason = StatusDegraded, fmt.Sprintf("%d topic(s) failing; see topic_errors", len(topicErrs))
	}
	if h.Status != prev.Status {
		h.Since = now
	}
	s.health = h
	s.healthMu.Unlock()

	switch {
	case reason != "":
		s.log.Warn("kafka degraded, retrying with backoff", "reason", reason)
	case prev.Status == StatusDegraded && prev.Reason != "" && len(topicErrs) == 0:
		s.log.Info("kafka healthy again", "degraded_for", now.Sub(prev.Since).Round(time.Second))
	}
}

// topicReport logs one line per failing topic per interval and returns the topics whose
// last error is recent.
func (s *Sink) topicReport(now time.Time) map[string]string {
	s.topicsMu.RLock()
	defer s.topicsMu.RUnlock()
	var out map[string]string
	for name, ts := range s.topics {
		ts.mu.Lock()
		if ts.lastErr != nil && now.Sub(ts.lastErrAt) < s.keepErr {
			if out == nil {
				out = make(map[string]string)
			}
			out[name] = ts.lastErr.Error()
			if ts.errCount > 0 {
				s.log.Error("records refused by kafka, written to the dead-letter file", "topic", name,
					"records", ts.errCount, "last_err", ts.lastErr, "file", s.dead.path)
			}
		}
		ts.errCount = 0
		ts.mu.Unlock()
	}
	return out
}

// Health reports the state for /healthz.
func (s *Sink) Health() Health {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	h := s.health
	h.InflightRecords = s.inflight.Load()
	h.InflightBytes = s.budget.inUse()
	return h
}

// Check is the /healthz check (httpserver.Check): nil while Kafka acknowledges and no topic
// fails, else an error saying what is wrong.
func (s *Sink) Check() error {
	h := s.Health()
	if h.Status == StatusOK {
		return nil
	}
	msg := h.Reason
	topics := make([]string, 0, len(h.TopicErrors))
	for t := range h.TopicErrors {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		msg += fmt.Sprintf("; topic %s: %s", t, h.TopicErrors[t])
	}
	return fmt.Errorf("kafka %s since %s: %s", h.Status, h.Since.UTC().Format(time.RFC3339), msg)
}

// Close flushes every record already handed to the producer, waiting until ctx ends
// (agent.shutdown_timeout), then closes the client and the dead-letter file. Records
// still not acknowledged when ctx ends are not acknowledged at all: they are read again
// after the restart. Call it after the sources stopped publishing.
func (s *Sink) Close(ctx context.Context) error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if err := s.client.Flush(ctx); err != nil {
		errs = append(errs, fmt.Errorf("flush kafka producer (%d records not acknowledged, they will be read again): %w", s.inflight.Load(), err))
	}
	s.prodCancel()
	s.client.Close()
	s.admin.Close()
	// Close fails what is still buffered, but the promises may run after it returns;
	// wait for them so the in-flight count and the dead-letter file are final.
	wait := time.NewTimer(5 * time.Second)
	defer wait.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-s.drained:
		case <-wait.C:
			errs = append(errs, fmt.Errorf("kafka producer: %d records still unfinished after close", s.inflight.Load()))
			return errors.Join(errs...)
		}
	}
	if err := s.dead.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Sink) connErr() error {
	s.lastConnMu.Lock()
	defer s.lastConnMu.Unlock()
	return s.lastConn
}

// connHook records the last broker connection error for the report line and counts it.
type connHook struct{ s *Sink }

func (h connHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.s.lastConnMu.Lock()
	h.s.lastConn = err
	h.s.lastConnMu.Unlock()
	if err != nil {
		h.s.metrics.errors.WithLabelValues(kindBrokerConnect).Inc()
	}
}
