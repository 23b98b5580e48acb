// Package transfer is the consuming side of logcollect: a Kafka consumer group
// (cooperative-sticky) that turns records into documents, hands them to a sink in
// batches, and commits each partition's offsets only up to the last record whose
// document the sink accepted or that was dead-lettered — contiguous, never ahead. With
// _ids derived from the record, a redelivery after a crash overwrites itself: at least
// once from Kafka, exactly once in the index.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/lifecycle"
	"github.com/logcollect/logcollect/internal/transfer/document"
)

// Sink stores documents. Write returns when every document is durably accepted or
// refused for good (returned, to be dead-lettered); retriable failures are retried inside
// Write until ctx ends, when it returns an error and none of docs counts as written.
// Writes run concurrently (Batching.Concurrency at once).
type Sink interface {
	Write(ctx context.Context, docs []document.Document) ([]document.Rejection, error)
}

// Config is the consumer's configuration: the transfer section as the user wrote it and
// the batching of the sink's writes (for the OpenSearch sink, the opensearch section's
// bulk_max_docs, bulk_max_bytes, flush_interval and bulk_concurrency).
type Config struct {
	config.Transfer
	Batching Batching
}

// Batching bounds the batches handed to the sink.
type Batching struct {
	MaxDocs       int
	MaxBytes      int
	FlushInterval time.Duration
	Concurrency   int
}

// Validate checks the transfer section, the batching, and that the byte budget holds two
// batches.
func (c Config) Validate() error {
	if err := c.Transfer.Validate(); err != nil {
		return err
	}
	if len(c.Topics) == 0 && c.TopicRegex == "" {
		return errors.New("transfer.topics: set the topics to consume (or transfer.topic_regex)")
	}
	b := c.Batching
	if b.MaxDocs < 1 || b.MaxBytes < 1 || b.FlushInterval <= 0 || b.Concurrency < 1 {
		return fmt.Errorf("transfer: bad batching %+v", b)
	}
	if c.MaxBufferedBytes < 2*int64(b.MaxBytes) {
		return fmt.Errorf("transfer.max_buffered_bytes: must be at least twice the batch size (%d)", b.MaxBytes)
	}
	return nil
}

// Deps are the consumer's collaborators. Sink and KafkaOpts are required.
type Deps struct {
	Sink Sink
	// KafkaOpts connect to the cluster (brokers, TLS, SASL): kafka.ClientOpts.
	KafkaOpts  []kgo.Opt
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Hostname expands {hostname} in transfer.instance_id; os.Hostname when nil.
	Hostname func() (string, error)
}

// docOverhead is what a document costs in memory beyond its line (struct, _id, headers).
const docOverhead = 256

// Consumer is the transfer process body.
type Consumer struct {
	cfg        config.Transfer
	instanceID string // group.instance.id; "" for a dynamic member
	batching   Batching
	deps       Deps
	log        *slog.Logger
	builder    *document.Builder
	budget     *budget
	m          metrics
	lagColl    *lagCollector
	dlq        dlqName

	cl       *kgo.Client
	producer *kgo.Client
	batches  chan *batch
	commitCh chan struct{}
	commitMu sync.Mutex // one commit at a time, so a slower one never moves an offset back

	mu      sync.Mutex
	parts   map[topicPartition]*partition
	open    *batch
	closing bool
	fenced  atomic.Bool // another member took transfer.instance_id
}

// batch is documents handed to the sink together, with the partition segments they
// finish.
type batch struct {
	docs  []document.Document
	recs  []*kgo.Record
	bytes int64
	segs  map[*partition]*segment
}

// New validates the configuration and allocates; it connects to nothing.
func New(cfg Config, deps Deps) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Sink == nil {
		return nil, errors.New("transfer: no sink")
	}
	builder, err := document.NewBuilder(cfg.Parse)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Hostname == nil {
		deps.Hostname = os.Hostname
	}
	instanceID, err := resolveInstanceID(cfg.InstanceID, deps.Hostname)
	if err != nil {
		return nil, err
	}
	c := &Consumer{
		cfg: cfg.Transfer, instanceID: instanceID, batching: cfg.Batching, deps: deps, builder: builder,
		log:      deps.Logger.With("component", "transfer", "group", cfg.Group),
		budget:   newBudget(cfg.MaxBufferedBytes),
		dlq:      parseDLQName(cfg.DLQTopic),
		batches:  make(chan *batch, cfg.Batching.Concurrency), // one batch ready for each request in flight
		commitCh: make(chan struct{}, 1),
		parts:    map[topicPartition]*partition{},
	}
	c.m = newMetrics(c)
	c.lagColl = newLagCollector(c)
	if deps.Registerer != nil {
		if err := c.m.register(deps.Registerer, c.lagColl); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// clientOpts are the consumer group's options.
func (c *Consumer) clientOpts() []kgo.Opt {
	start := kgo.NewOffset().AtStart()
	if c.cfg.Start == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	// Fetch sizes count compressed bytes, and every record of a fetch is decoded at once
	// (a Record, its headers, its value: ~5-8x the compressed size of a short line). A
	// thirty-second of the budget keeps the fetched records within a fifth of it.
	fetchMax := int32(min(max(c.cfg.MaxBufferedBytes/32, 1<<20), 16<<20))
	opts := append([]kgo.Opt{}, c.deps.KafkaOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(time.Duration(c.cfg.SessionTimeout)),
		kgo.HeartbeatInterval(time.Duration(c.cfg.SessionTimeout)/10),
		kgo.ConsumeResetOffset(start),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.FetchMaxBytes(fetchMax),
		kgo.FetchMaxPartitionBytes(fetchMax/2),
		// Partitions added in a cooperative rebalance join the next fetch request, after
		// the one in flight returns: with idle partitions that waits the whole MaxWait
		// (franz-go's default 5 s; Java's 500 ms).
		kgo.FetchMaxWait(500*time.Millisecond),
		// A topic created later that matches topic_regex is found within 5 s.
		kgo.MetadataMaxAge(5*time.Second),
		kgo.WithLogger(kafka.Logger(c.log)),
	)
	if c.instanceID != "" {
		// Static membership: a restarted instance rejoins as the member it was and gets
		// its partitions back without waiting for its old session to expire.
		opts = append(opts, kgo.InstanceID(c.instanceID))
	}
	if c.cfg.TopicRegex != "" {
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(c.cfg.TopicRegex),
			// Never the dead-letter topics of the topics it reads, nor Kafka's own.
			kgo.ConsumeExcludeTopics(`^__.*`))
		if ex := c.dlq.excludeRegex(); ex != "" {
			opts = append(opts, kgo.ConsumeExcludeTopics(ex))
		}
	} else {
		opts = append(opts, kgo.ConsumeTopics(c.cfg.Topics...))
	}
	return opts
}

// Run consumes until ctx ends, then drains: it stops fetching, lets the sink finish what
// it holds (up to transfer.shutdown_timeout), commits, and leaves the group. It returns
// an error when another member took over its transfer.instance_id.
func (c *Consumer) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(c.clientOpts()...)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	producer, err := kgo.NewClient(append(append([]kgo.Opt{}, c.deps.KafkaOpts...),
		kgo.AllowAutoTopicCreation(), kgo.WithLogger(kafka.Logger(c.log)))...)
	if err != nil {
		cl.Close()
		return fmt.Errorf("kafka dead-letter producer: %w", err)
	}
	c.cl, c.producer = cl, producer
	defer producer.Close()

	// Downstream first: the commits outlive the sink, whose accepted documents they
	// commit last; the sink drains the batches the poller hands it when it stops.
	err = lifecycle.Group{Logger: c.log, StopTimeout: time.Duration(c.cfg.ShutdownTimeout), Parts: []lifecycle.Part{
		{Name: "commits", Run: c.commitLoop, Close: func(ctx context.Context) error {
			c.commit(ctx, c.assigned())
			member, _ := cl.GroupMetadata()
			cl.Close() // a dynamic member leaves the group here; the final revoke commits nothing new
			if c.instanceID != "" && !c.fenced.Load() {
				c.leaveStatic(ctx, member)
			}
			return nil
		}},
		{Name: "sink", Run: c.runSink, Drains: true},
		{Name: "poll", Run: c.poll, Close: c.closeBatches},
	}}.Run(ctx)
	c.log.Info("transfer stopped")
	return err
}

// runSink hands the batches to the sink, transfer.bulk_concurrency at a time, until the
// batches are closed; ctx ends the sink's requests (after transfer.shutdown_timeout at a
// stop: what was not accepted is read again after a restart).
func (c *Consumer) runSink(ctx context.Context) error {
	var workers sync.WaitGroup
	for range c.batching.Concurrency {
		workers.Go(func() {
			for b := range c.batches {
				c.process(ctx, b)
			}
		})
	}
	workers.Wait()
	return nil
}

// closeBatches sends the open batch to the sink and closes the batches: from now on a
// revoke sends nothing to the sink.
func (c *Consumer) closeBatches(context.Context) error {
	c.mu.Lock()
	b := c.takeOpen()
	c.closing = true
	c.mu.Unlock()
	if b != nil {
		c.batches <- b
	}
	close(c.batches)
	return nil
}

// leaveStatic leaves the group for a static member, which Close does not do: an instance
// stopped on purpose hands its partitions over at once instead of holding them for
// transfer.session_timeout. Everything it read is committed by now.
func (c *Consumer) leaveStatic(ctx context.Context, member string) {
	if member == "" {
		return // never joined
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = c.cfg.Group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = member // the broker refuses it if another member took the instance id meanwhile
	m.InstanceID = kmsg.StringPtr(c.instanceID)
	m.Reason = kmsg.StringPtr("logcollect transfer stopped")
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, c.producer)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		for _, rm := range resp.Members {
			err = errors.Join(err, kerr.ErrorForCode(rm.ErrorCode))
		}
	}
	if errors.Is(err, kerr.UnknownMemberID) {
		err = nil // the client left by itself (it had revoked partitions it was to hand over)
	}
	if err != nil {
		c.log.Warn("leaving the group failed; the partitions move on after transfer.session_timeout",
			"instance_id", c.instanceID, "timeout", time.Duration(c.cfg.SessionTimeout), "err", err)
		return
	}
	c.log.Info("left the group", "instance_id", c.instanceID)
}

// poll reads records into batches until ctx ends.
func (c *Consumer) poll(ctx context.Context) error {
	var flushAt time.Time
	for ctx.Err() == nil {
		if c.budget.waitRoom(ctx) {
			c.m.paused.Set(0)
		}
		if c.budget.inUse() >= c.budget.max {
			continue
		}
		wait := c.batching.FlushInterval
		if !flushAt.IsZero() {
			wait = max(time.Until(flushAt), time.Millisecond)
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		fetches := c.cl.PollRecords(pctx, c.batching.MaxDocs)
		cancel()
		if fetches.IsClientClosed() {
			return errors.New("kafka client closed")
		}
		var fenced error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			if isFenced(err) {
				fenced = err
				return
			}
			c.log.Warn("fetch failed", "topic", topic, "partition", p, "err", err)
		})
		if fenced != nil {
			c.fenced.Store(true) // nothing to leave: the group has another member by this id
			return c.fencedError(fenced)
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if p := c.lookup(fp.Topic, fp.Partition); p != nil {
				p.setHighWatermark(fp.HighWatermark)
			}
		})
		for _, b := range c.add(fetches) {
			c.batches <- b
		}
		// The open batch waits at most flush_interval after its first record.
		var due *batch
		c.mu.Lock()
		switch {
		case c.open == nil:
			flushAt = time.Time{}
		case flushAt.IsZero():
			flushAt = time.Now().Add(c.batching.FlushInterval)
		case !time.Now().Before(flushAt):
			due = c.takeOpen()
			flushAt = time.Time{}
		}
		c.mu.Unlock()
		if due != nil {
			c.batches <- due
		}
		if c.budget.inUse() >= c.budget.max {
			c.m.paused.Set(1)
			// A partly filled batch holds budget too: send it, or nothing would free.
			c.mu.Lock()
			b := c.takeOpen()
			c.mu.Unlock()
			if b != nil {
				c.batches <- b
			}
			flushAt = time.Time{}
		}
	}
	return nil
}

// add builds the documents of fetches into the open batch and returns the batches that
// filled up.
func (c *Consumer) add(fetches kgo.Fetches) []*batch {
	var recs []*kgo.Record
	fetches.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	if len(recs) == 0 {
		return nil
	}
	docs := make([]document.Document, len(recs))
	for i, r := range recs {
		docs[i] = c.builder.Build(r)
		if docs[i].ParseError {
			c.m.parseErrors.WithLabelValues(r.Topic).Inc()
		}
		if docs[i].InvalidUTF8 {
			c.m.invalidUTF8.Inc()
		}
	}
	c.m.records.Add(float64(len(recs)))

	var full []*batch
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, r := range recs {
		p := c.parts[topicPartition{r.Topic, r.Partition}]
		if p == nil {
			continue // revoked after this poll: its new owner reads it
		}
		if c.open == nil {
			c.open = &batch{segs: map[*partition]*segment{}}
		}
		b := c.open
		size := int64(len(docs[i].Message) + docOverhead)
		b.docs = append(b.docs, docs[i])
		b.recs = append(b.recs, r)
		b.bytes += size
		c.budget.take(size)
		b.segs[p] = p.add(b.segs[p], r)
		if len(b.docs) >= c.batching.MaxDocs || b.bytes >= int64(c.batching.MaxBytes) {
			full = append(full, c.takeOpen())
		}
	}
	return full
}

// takeOpen returns the open batch and starts none; c.mu is held.
func (c *Consumer) takeOpen() *batch {
	b := c.open
	c.open = nil
	return b
}

// process hands a batch to the sink, dead-letters what it refused, then finishes the
// batch's segments. A batch the sink could not finish (shutdown) is left unfinished: its
// records are read again after a restart.
func (c *Consumer) process(ctx context.Context, b *batch) {
	defer c.budget.release(b.bytes)
	rejected, err := c.write(ctx, b)
	if err != nil {
		c.log.Warn("batch not written; it is read again after a restart", "docs", len(b.docs), "err", err)
		return
	}
	if len(rejected) > 0 {
		if err := c.deadLetter(ctx, b, rejected); err != nil {
			c.log.Warn("dead-lettering failed; the batch is read again after a restart", "err", err)
			return
		}
	}
	c.m.written.Add(float64(len(b.docs) - len(rejected)))
	for p, seg := range b.segs {
		p.finish(seg)
	}
	select {
	case c.commitCh <- struct{}{}:
	default:
	}
}

// write calls the sink until it succeeds or ctx ends. Sinks retry by themselves; this
// loop is for one that returns an error early (a full disk under the file sink): the
// batch must finish, or the partition's watermark could never move past it.
func (c *Consumer) write(ctx context.Context, b *batch) ([]document.Rejection, error) {
	delay := 100 * time.Millisecond
	for {
		rejected, err := c.deps.Sink.Write(ctx, b.docs)
		if err == nil || ctx.Err() != nil {
			return rejected, err
		}
		c.log.Warn("sink write failed; retrying", "docs", len(b.docs), "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// commitLoop commits the watermarks at most every transfer.commit_interval.
func (c *Consumer) commitLoop(ctx context.Context) error {
	t := time.NewTicker(time.Duration(c.cfg.CommitInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		select {
		case <-c.commitCh:
			c.commit(ctx, c.assigned())
		default:
		}
	}
}

// commit commits the watermarks of parts that moved since the last commit.
func (c *Consumer) commit(ctx context.Context, parts []*partition) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	offsets := map[string]map[int32]kgo.EpochOffset{}
	for _, p := range parts {
		if eo, ok := p.toCommit(); ok {
			if offsets[p.topic] == nil {
				offsets[p.topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[p.topic][p.id] = eo
		}
	}
	if len(offsets) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c.cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			c.m.commits.WithLabelValues("error").Inc()
			c.log.Warn("offset commit failed; retried with the next one", "err", err)
			return
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				if rp.ErrorCode != 0 {
					c.m.commits.WithLabelValues("error").Inc()
					err := kerr.ErrorForCode(rp.ErrorCode)
					if isFenced(err) {
						err = c.fencedError(err)
					}
					c.log.Warn("offset commit refused", "topic", t.Topic, "partition", rp.Partition, "err", err)
					continue
				}
				if p := c.lookupIn(parts, t.Topic, rp.Partition); p != nil {
					p.setCommitted(offsets[t.Topic][rp.Partition].Offset)
				}
			}
		}
		c.m.commits.WithLabelValues("ok").Inc()
	})
}

func (c *Consumer) lookupIn(parts []*partition, topic string, id int32) *partition {
	for _, p := range parts {
		if p.topic == topic && p.id == id {
			return p
		}
	}
	return nil
}

func (c *Consumer) lookup(topic string, id int32) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parts[topicPartition{topic, id}]
}

// assigned returns the partitions this member owns now.
func (c *Consumer) assigned() []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*partition, 0, len(c.parts))
	for _, p := range c.parts {
		out = append(out, p)
	}
	return out
}

func (c *Consumer) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for topic, ids := range assigned {
		for _, id := range ids {
			c.parts[topicPartition{topic, id}] = newPartition(topic, id)
			n++
		}
	}
	c.m.rebalances.WithLabelValues("assigned").Add(float64(n))
	c.log.Info("partitions assigned", "partitions", formatParts(assigned))
}

// onRevoked hands the documents already read from the revoked partitions to the sink,
// waits for them, and commits their offsets before the partitions go to another member.
func (c *Consumer) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	gone := c.remove(revoked)
	if len(gone) == 0 {
		return
	}
	c.m.rebalances.WithLabelValues("revoked").Add(float64(len(gone)))
	c.mu.Lock()
	b, closing := c.open, c.closing
	if b != nil && b.hasAny(gone) && !closing {
		c.open = nil
	} else {
		b = nil
	}
	c.mu.Unlock()
	if b != nil {
		c.batches <- b
	}
	if !closing {
		// Within the rebalance timeout; a batch still stuck after that is read again
		// by the partition's next owner (its _ids make that harmless).
		deadline := time.Now().Add(20 * time.Second)
		for _, p := range gone {
			p.waitIdle(ctx, deadline)
		}
	}
	c.commit(ctx, gone)
	c.log.Info("partitions revoked", "partitions", formatParts(revoked))
}

func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	gone := c.remove(lost)
	c.m.rebalances.WithLabelValues("lost").Add(float64(len(gone)))
	c.log.Warn("partitions lost (no commit possible); their records are read again by their next owner",
		"partitions", formatParts(lost))
}

func (c *Consumer) remove(tps map[string][]int32) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gone []*partition
	for topic, ids := range tps {
		for _, id := range ids {
			k := topicPartition{topic, id}
			if p := c.parts[k]; p != nil {
				gone = append(gone, p)
				delete(c.parts, k)
			}
		}
	}
	return gone
}

func (b *batch) hasAny(parts []*partition) bool {
	for _, p := range parts {
		if _, ok := b.segs[p]; ok {
			return true
		}
	}
	return false
}

// Assigned returns how many partitions this instance owns now.
func (c *Consumer) Assigned() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.parts)
}

// Check reports whether a Kafka broker answers (for /healthz).
func (c *Consumer) Check() error {
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl == nil {
		return errors.New("kafka: not started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}

func formatParts(m map[string][]int32) string {
	var parts []string
	for t, ids := range m {
		parts = append(parts, fmt.Sprintf("%s%v", t, ids))
	}
	return strings.Join(parts, " ")
}

// dlqName is transfer.dlq_topic split at {topic}.
type dlqName struct {
	prefix, suffix string
	on, templated  bool
}

func parseDLQName(s string) dlqName {
	if s == "" {
		return dlqName{}
	}
	pre, suf, ok := strings.Cut(s, "{topic}")
	if !ok {
		return dlqName{prefix: s, on: true}
	}
	return dlqName{prefix: pre, suffix: suf, on: true, templated: true}
}

func (d dlqName) topic(src string) string {
	if !d.templated {
		return d.prefix
	}
	return d.prefix + src + d.suffix
}

// excludeRegex matches the dead-letter topics, so that topic_regex never consumes them.
func (d dlqName) excludeRegex() string {
	if !d.on {
		return ""
	}
	if !d.templated {
		return "^" + regexp.QuoteMeta(d.prefix) + "$"
	}
	return "^" + regexp.QuoteMeta(d.prefix) + ".+" + regexp.QuoteMeta(d.suffix) + "$"
}
