//go:build integration

package kafkaout

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// createTopic makes a fresh topic with a unique name on the real broker.
func createTopic(t *testing.T, brokers []string, prefix string, partitions int32, configs map[string]*string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	name := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, configs, name); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return name
}

func TestIntegrationFilesArriveInOrderWithHeaders(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := createTopic(t, brokers, "kafkaout-order", 3, nil)
	s := newTestSink(t, testConfig(brokers), Deps{})
	acks := newAckLog()
	const files, perFile, step = 4, 5000, 250
	fields := map[string]string{"service": "checkout", "env": "test"}
	var all [files][]pipeline.Event
	for f := range files {
		all[f] = fileEvents(topic, "agent-7", "/var/log/app"+strconv.Itoa(f)+".log", 0, perFile, acks, fields)
	}
	for i := 0; i < perFile; i += step {
		for f := range files {
			if err := s.Publish(context.Background(), all[f][i:i+step]); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, 60*time.Second, "all acks", func() bool { return acks.count() == files*perFile })

	got := consumeAll(t, brokers, topic, files*perFile, 60*time.Second)
	if len(got) != files*perFile {
		t.Fatalf("%d records, want %d", len(got), files*perFile)
	}
	partOf := map[string]int32{}
	next := map[string]int{}
	for _, r := range got {
		if p, ok := partOf[r.Key]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", r.Key, p, r.Partition)
		}
		partOf[r.Key] = r.Partition
		path := strings.TrimPrefix(r.Key, "agent-7:")
		f, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "/var/log/app"), ".log"))
		ev := all[f][next[r.Key]]
		if r.Value != string(ev.Line) {
			t.Fatalf("key %s record %d: value %q, want %q", r.Key, next[r.Key], r.Value, ev.Line)
		}
		want := map[string]string{"lc.offset": strconv.FormatInt(ev.Offset, 10),
			"lc.file_id": "8:1234", "f.service": "checkout", "f.env": "test"}
		if !r.Timestamp.Equal(ev.Time.Truncate(time.Millisecond)) {
			t.Fatalf("key %s record %d: timestamp %s, want the read time %s", r.Key, next[r.Key], r.Timestamp, ev.Time)
		}
		if len(r.Headers) != len(want) {
			t.Fatalf("headers %v, want %v", r.Headers, want)
		}
		for k, v := range want {
			if r.Headers[k] != v {
				t.Fatalf("header %s = %q, want %q", k, r.Headers[k], v)
			}
		}
		next[r.Key]++
	}
	if len(next) != files {
		t.Fatalf("%d keys, want %d", len(next), files)
	}
}

func TestIntegrationOutageNothingLostBounded(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	topic := createTopic(t, brokers, "kafkaout-outage", 3, nil)
	d := &cutDialer{}
	cfg := testConfig(brokers)
	const budgetBytes = 1 << 20
	cfg.MaxBufferedBytes = budgetBytes
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	logs := &logBuf{}
	s := newTestSink(t, cfg, Deps{ClientOpts: []kgo.Opt{kgo.Dialer(d.dial)}, DataDir: dir, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	acks := newAckLog()

	const total = 100000
	evs := fileEvents(topic, "h1", "/logs/outage.log", 0, total, acks, nil)
	if err := s.Publish(context.Background(), evs[:1000]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "warm-up acks", func() bool { return acks.count() == 1000 })

	d.set(true)
	var handed atomic.Int64
	pubDone := make(chan error, 1)
	go func() {
		for i := 1000; i < total; i += 500 {
			if err := s.Publish(context.Background(), evs[i:i+500]); err != nil {
				pubDone <- err
				return
			}
			handed.Add(500)
		}
		pubDone <- nil
	}()
	eventually(t, 20*time.Second, "degraded", func() bool { return s.Health().Status == StatusDegraded })
	eventually(t, 20*time.Second, "budget full", func() bool { return s.budget.inUse() > budgetBytes*3/4 })
	var maxUsed int64
	outageEnd := time.Now().Add(5 * time.Second)
	for time.Now().Before(outageEnd) { // sample the budget through the outage
		maxUsed = max(maxUsed, s.budget.inUse())
		time.Sleep(10 * time.Millisecond)
	}
	if maxUsed > budgetBytes {
		t.Fatalf("in-flight bytes reached %d, budget %d", maxUsed, budgetBytes)
	}
	if h := handed.Load(); h >= total-1000 {
		t.Fatalf("all events handed over during the outage")
	}
	acksDuring := acks.count()

	d.set(false)
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "all acks", func() bool { return acks.count() >= total })
	got, consumeErr := consumeUpTo(brokers, topic, total, 120*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		seen[offsetOf(r.Headers)] = true
	}
	// A cut network is no refusal by Kafka: nothing may be dead-lettered, and every line
	// acknowledged must be in the topic.
	dead := readDeadLettersIfAny(t, dir)
	if consumeErr != nil || len(seen) != total || len(dead) > 0 {
		t.Fatalf("%d distinct lines in Kafka, want %d; %s\nmissing: %s\n%s\nerrors_total: %s\nproducer log: %s",
			len(seen), total, errText(consumeErr), missingLines(evs, seen), deadLetterSummary(dead),
			counterVecText(t, reg, "logcollect_kafka_errors_total"), logs.lines("fail", 20))
	}
	t.Logf("outage: %d acks during the cut (in flight before it), %d duplicates in Kafka, peak in-flight %d bytes",
		acksDuring-1000, len(got)-total, maxUsed)
}

func TestIntegrationRefusedAndBadTopicDeadLettered(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	limit := "20000"
	topic := createTopic(t, brokers, "kafkaout-small", 1, map[string]*string{"max.message.bytes": &limit})
	cfg := testConfig(brokers)
	cfg.Compression = "none"
	dir := t.TempDir()
	s := newTestSink(t, cfg, Deps{DataDir: dir})
	acks := newAckLog()

	huge := pipeline.Event{Topic: topic, Host: "h1", Path: "/logs/big.log", FileID: "1:2", Offset: 7, End: 50008,
		Time: time.Now(), Line: []byte(strings.Repeat("y", 50000)), Ack: acks}
	// A topic name Kafka can never create: its records must not block the good topic.
	badTopic := "no such topic!"
	bad := fileEvents(badTopic, "h1", "/logs/bad.log", 0, 20, acks, nil)
	if err := s.Publish(context.Background(), append([]pipeline.Event{huge}, bad...)); err != nil {
		t.Fatal(err)
	}
	good := fileEvents(topic, "h1", "/logs/good.log", 0, 100, acks, nil)
	if err := s.Publish(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "every event acknowledged", func() bool { return acks.count() == 121 })
	consumeAll(t, brokers, topic, 100, 30*time.Second)

	dl := readDeadLetters(t, dir)
	kinds := map[string]int{}
	for _, d := range dl {
		kinds[d.Topic+" "+d.Kind]++
	}
	if kinds[topic+" "+kindTooLarge] != 1 {
		t.Errorf("too-large dead letters: %v", kinds)
	}
	if kinds[badTopic+" "+kindInvalidTopic]+kinds[badTopic+" "+kindUnknownTopic] != 20 {
		t.Errorf("bad-topic dead letters: %v", kinds)
	}
	eventually(t, 5*time.Second, "health names the bad topic", func() bool {
		return s.Health().TopicErrors[badTopic] != ""
	})
}

// missingLines names the events whose line is not in seen (by offset header), as index
// ranges with their byte offsets, so a failure says which records are missing.
func missingLines(evs []pipeline.Event, seen map[string]bool) string {
	var ranges []string
	n := 0
	for i := 0; i < len(evs); {
		if seen[strconv.FormatInt(evs[i].Offset, 10)] {
			i++
			continue
		}
		j := i
		for j < len(evs) && !seen[strconv.FormatInt(evs[j].Offset, 10)] {
			j++
		}
		n += j - i
		if len(ranges) < 20 {
			ranges = append(ranges, fmt.Sprintf("events %d..%d (offsets %d..%d)", i, j-1, evs[i].Offset, evs[j-1].Offset))
		}
		i = j
	}
	if n == 0 {
		return "none"
	}
	return fmt.Sprintf("%d events in %d+ ranges: %s", n, len(ranges), strings.Join(ranges, ", "))
}

func errText(err error) string {
	if err == nil {
		return "consumer: read all it waited for"
	}
	return err.Error()
}
