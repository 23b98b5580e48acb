package transfer

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/transfer/document"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memSink keeps the documents it accepted, by _id; it can be made to fail or to refuse.
type memSink struct {
	mu     sync.Mutex
	byID   map[string]int
	writes int
	tries  int
	fail   bool            // every Write fails until cleared (retried by the consumer)
	refuse map[string]bool // messages refused for good
}

func newMemSink() *memSink { return &memSink{byID: map[string]int{}, refuse: map[string]bool{}} }

func (s *memSink) Write(ctx context.Context, docs []document.Document) ([]document.Rejection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if s.fail {
		return nil, errors.New("sink down")
	}
	var rej []document.Rejection
	for i, d := range docs {
		if s.refuse[d.Message] {
			rej = append(rej, document.Rejection{Doc: i, Reason: "400 mapper_parsing_exception: test"})
			continue
		}
		s.byID[d.ID]++
	}
	s.writes++
	return rej, nil
}

func (s *memSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *memSink) setFail(f bool) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

type fixture struct {
	t       *testing.T
	cluster *kfake.Cluster
	cl      *kgo.Client
	adm     *kadm.Client
	topic   string
	members int // consumers made: each gets its own instance id
}

func newFixture(t *testing.T, partitions int32) *fixture {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "app_log"),
		kfake.AllowAutoTopicCreation(), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &fixture{t: t, cluster: c, cl: cl, adm: kadm.NewClient(cl), topic: "app_log"}
}

func (f *fixture) produce(from, n int) {
	f.t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k := from + i
		recs[i] = &kgo.Record{Topic: f.topic, Value: []byte("line " + strconv.Itoa(k)), Headers: []kgo.RecordHeader{
			{Key: "host", Value: []byte("h")}, {Key: "path", Value: []byte("/a.log")},
			{Key: "file_id", Value: []byte("1:2")}, {Key: "offset", Value: []byte(strconv.Itoa(k * 10))},
		}}
	}
	if err := f.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) committed(group string) int64 {
	offs, err := f.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		return -1
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == f.topic && o.At > 0 {
			n += o.At
		}
	})
	return n
}

func (f *fixture) consumer(sink Sink, reg prometheus.Registerer) *Consumer {
	f.t.Helper()
	f.members++
	return f.consumerAs("member-"+strconv.Itoa(f.members), sink, reg)
}

// consumerAs makes a consumer of group g with the instance id id.
func (f *fixture) consumerAs(id string, sink Sink, reg prometheus.Registerer) *Consumer {
	f.t.Helper()
	cfg := config.Default().Transfer
	cfg.InstanceID = id
	cfg.Group = "g"
	cfg.Topics = []string{f.topic}
	cfg.SessionTimeout = config.Duration(6 * time.Second)
	cfg.CommitInterval = config.Duration(20 * time.Millisecond)
	cfg.ShutdownTimeout = config.Duration(2 * time.Second)
	c, err := New(Config{Transfer: cfg, Batching: Batching{MaxDocs: 50, MaxBytes: 1 << 20, FlushInterval: 20 * time.Millisecond, Concurrency: 3}},
		Deps{Sink: sink, KafkaOpts: []kgo.Opt{kgo.SeedBrokers(f.cluster.ListenAddrs()...)}, Registerer: reg,
			// In the test's output when it fails: rebalances, leaves, fencing.
			Logger: slog.New(slog.NewTextHandler(f.t.Output(), nil)).With("member", id)})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return 15 s after cancel")
		}
	}
}

func TestConsumeAndCommit(t *testing.T) {
	f := newFixture(t, 3)
	f.produce(0, 1000)
	sink := newMemSink()
	reg := prometheus.NewRegistry()
	stop := run(t, f.consumer(sink, reg))
	await.Until(t, 10*time.Second, "1000 documents", func() bool { return sink.distinct() == 1000 })
	await.Until(t, 10*time.Second, "offsets committed to the end", func() bool { return f.committed("g") == 1000 })
	// Every partition fetched and indexed to its high watermark: three lag series of 0.
	if got := gathered(t, reg, "logcollect_transfer_assigned_partitions"); len(got) != 1 || got[0] != 3 {
		t.Errorf("assigned_partitions %v, want [3]", got)
	}
	if got := gathered(t, reg, "logcollect_transfer_lag_records"); len(got) != 3 || got[0]+got[1]+got[2] != 0 {
		t.Errorf("lag_records %v, want three partitions at 0", got)
	}
	stop()
}

// A consumer that read records it has not indexed yet reports them as lag.
func TestLagCountsUnindexed(t *testing.T) {
	f := newFixture(t, 1)
	f.produce(0, 100)
	sink := newMemSink()
	sink.setFail(true)
	reg := prometheus.NewRegistry()
	stop := run(t, f.consumer(sink, reg))
	defer stop()
	await.Until(t, 10*time.Second, "a lag of 100", func() bool {
		got := gathered(t, reg, "logcollect_transfer_lag_records")
		return len(got) == 1 && got[0] == 100
	})
	sink.setFail(false)
	await.Until(t, 10*time.Second, "a lag of 0", func() bool {
		got := gathered(t, reg, "logcollect_transfer_lag_records")
		return len(got) == 1 && got[0] == 0
	})
}

// gathered returns the values of a metric's series.
func gathered(t *testing.T, reg *prometheus.Registry, name string) []float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out = append(out, m.GetGauge().GetValue())
		}
	}
	return out
}

// While the sink fails, nothing is committed; when it recovers everything is.
func TestNoCommitWhileSinkFails(t *testing.T) {
	f := newFixture(t, 2)
	sink := newMemSink()
	sink.setFail(true)
	f.produce(0, 200)
	stop := run(t, f.consumer(sink, nil))
	await.Until(t, 10*time.Second, "the failing sink retried", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.tries >= 4 // the retries span several commit intervals
	})
	if c := f.committed("g"); c > 0 {
		t.Fatalf("committed %d while the sink failed", c)
	}
	sink.setFail(false)
	await.Until(t, 10*time.Second, "everything committed after recovery", func() bool { return f.committed("g") == 200 })
	stop()
	if sink.distinct() != 200 {
		t.Errorf("%d documents", sink.distinct())
	}
}

// A refused document goes to <topic>.dlq with its reason; the offset moves past it.
func TestDeadLetter(t *testing.T) {
	f := newFixture(t, 1)
	sink := newMemSink()
	sink.refuse["line 5"] = true
	f.produce(0, 10)
	stop := run(t, f.consumer(sink, nil))
	await.Until(t, 10*time.Second, "all offsets committed", func() bool { return f.committed("g") == 10 })
	stop()
	if sink.distinct() != 9 {
		t.Errorf("%d documents, want 9", sink.distinct())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.cluster.ListenAddrs()...), kgo.ConsumeTopics("app_log.dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Polled until a record comes (a new client finds the topic and its offsets first:
	// under load one 5 s poll came back empty).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) == 0 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		recs = append(recs, fs.Records()...)
		fs.EachError(func(topic string, p int32, err error) {
			if ctx.Err() == nil {
				t.Logf("poll %s[%d]: %v", topic, p, err)
			}
		})
	}
	if len(recs) != 1 || string(recs[0].Value) != "line 5" {
		t.Fatalf("dead-letter records %v, want the one of line 5", recs)
	}
	got := map[string]string{}
	for _, h := range recs[0].Headers {
		got[h.Key] = string(h.Value)
	}
	if got[HeaderDLQReason] != "400 mapper_parsing_exception: test" || got[HeaderDLQTopic] != "app_log" || got["host"] != "h" {
		t.Errorf("headers %v", got)
	}
}

// A second member joins mid-stream: the first flushes and commits what it read from the
// partitions it gives up; every line arrives and the group ends at the end offsets.
func TestRebalance(t *testing.T) {
	f := newFixture(t, 4)
	sink := newMemSink()
	stopA := run(t, f.consumer(sink, nil))
	f.produce(0, 500)
	await.Until(t, 10*time.Second, "the first member consuming", func() bool { return sink.distinct() >= 500 })
	stopB := run(t, f.consumer(sink, nil))
	for i := 1; i <= 5; i++ {
		f.produce(i*500, 500)
	}
	await.Until(t, 20*time.Second, "3000 documents", func() bool { return sink.distinct() == 3000 })
	await.Until(t, 20*time.Second, "offsets at the end", func() bool { return f.committed("g") == 3000 })
	stopA()
	f.produce(3000, 500)
	await.Until(t, 20*time.Second, "the rest by the second member", func() bool { return f.committed("g") == 3500 })
	stopB()
	if sink.distinct() != 3500 {
		t.Errorf("%d documents, want 3500", sink.distinct())
	}
}

func TestWatermarkContiguous(t *testing.T) {
	p := newPartition("t", 0)
	segs := make([]*segment, 3)
	for i := range segs {
		segs[i] = p.add(nil, &kgo.Record{Offset: int64(i*10 + 9)})
	}
	if _, ok := p.toCommit(); ok {
		t.Fatal("committable before anything finished")
	}
	p.finish(segs[2])
	p.finish(segs[1])
	if _, ok := p.toCommit(); ok {
		t.Fatal("committable past an unfinished first segment")
	}
	p.finish(segs[0])
	eo, ok := p.toCommit()
	if !ok || eo.Offset != 30 {
		t.Fatalf("toCommit = %v %v, want 30", eo, ok)
	}
	p.setCommitted(30)
	if _, ok := p.toCommit(); ok {
		t.Error("committable again after the commit")
	}
	if !p.waitIdle(context.Background(), time.Now().Add(time.Second)) {
		t.Error("not idle with every segment finished")
	}
}

func TestBudget(t *testing.T) {
	b := newBudget(100)
	b.take(150)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan bool)
	go func() { done <- b.waitRoom(ctx) }()
	select {
	case <-done:
		t.Fatal("waitRoom returned with the budget full")
	case <-time.After(50 * time.Millisecond): // it must still be waiting
	}
	b.release(100)
	if waited := <-done; !waited {
		t.Error("waitRoom did not report waiting")
	}
}

func TestNewValidates(t *testing.T) {
	cfg := Config{Transfer: config.Default().Transfer,
		Batching: Batching{MaxDocs: 10, MaxBytes: 1 << 20, FlushInterval: time.Second, Concurrency: 1}}
	if _, err := New(cfg, Deps{Sink: newMemSink()}); err == nil {
		t.Error("no topics accepted")
	}
	cfg.Topics = []string{"a"}
	if _, err := New(cfg, Deps{}); err == nil {
		t.Error("no sink accepted")
	}
	cfg.Batching.MaxBytes = 64 << 20
	if _, err := New(cfg, Deps{Sink: newMemSink()}); err == nil {
		t.Error("a batch larger than half the budget accepted")
	}
}

func TestDLQName(t *testing.T) {
	d := parseDLQName("{topic}.dlq")
	if d.topic("web") != "web.dlq" || d.excludeRegex() != `^.+\.dlq$` {
		t.Errorf("%q %q", d.topic("web"), d.excludeRegex())
	}
	if d := parseDLQName("dead"); d.topic("web") != "dead" || d.excludeRegex() != "^dead$" {
		t.Errorf("fixed name: %q %q", d.topic("web"), d.excludeRegex())
	}
	if d := parseDLQName(""); d.on || d.excludeRegex() != "" {
		t.Error("empty name is on")
	}
}

func TestResolveInstanceID(t *testing.T) {
	host := func() (string, error) { return "web-1.example", nil }
	noHost := func() (string, error) { return "", errors.New("no uts") }
	tests := []struct {
		name, tmpl, want, wantErr string
		hostname                  func() (string, error)
	}{
		{name: "default", tmpl: "{hostname}", hostname: host, want: "web-1.example"},
		{name: "second on a host", tmpl: "{hostname}-2", hostname: host, want: "web-1.example-2"},
		{name: "literal", tmpl: "transfer_a", hostname: noHost, want: "transfer_a"},
		{name: "off", tmpl: "", hostname: noHost, want: ""},
		{name: "no hostname", tmpl: "{hostname}", hostname: noHost, wantErr: "transfer.instance_id: {hostname}: no uts"},
		{name: "bad character", tmpl: "a b", hostname: host, wantErr: `transfer.instance_id: "a b" is not`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveInstanceID(tt.tmpl, tt.hostname)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// A second consumer with the same instance id fences the first, which stops with an error
// that names transfer.instance_id instead of rejoining and fencing the other in turn.
func TestFencedInstanceIDStops(t *testing.T) {
	f := newFixture(t, 2)
	f.produce(0, 100)
	sink := newMemSink()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.consumerAs("dup", sink, nil).Run(ctx) }()
	await.Until(t, 10*time.Second, "the first consumer indexing", func() bool { return sink.distinct() == 100 })
	stopB := run(t, f.consumerAs("dup", sink, nil))
	defer stopB()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `transfer.instance_id "dup" is used by another transfer`) ||
			!isFenced(err) {
			t.Fatalf("fenced consumer returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the fenced consumer did not stop within 15 s")
	}
}

// A static member stopped on purpose leaves the group at once (Close alone would leave
// it there until the 6 s session timeout), so the other member gets its partitions.
func TestStaticMemberLeavesOnStop(t *testing.T) {
	f := newFixture(t, 2)
	sink := newMemSink()
	a, b := f.consumerAs("a", sink, nil), f.consumerAs("b", sink, nil)
	stopA := run(t, a)
	stopB := run(t, b)
	defer stopB()
	f.produce(0, 100)
	// Each with its partition: the cooperative rebalance's second round done (b having
	// given one up is not yet a having it; stopped between the rounds, a has nothing to
	// hand over and the test would not test the leave).
	await.Until(t, 15*time.Second, "both members with a partition", func() bool {
		return a.Assigned() == 1 && b.Assigned() == 1 && sink.distinct() == 100
	})
	stopA()
	await.Until(t, 4*time.Second, "the stopped member's partition with the other", func() bool { return b.Assigned() == 2 })
}
