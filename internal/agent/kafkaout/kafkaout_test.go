package kafkaout

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		mutate  func(*config.Kafka)
		noDir   bool   // New without Deps.DataDir
		wantErr string // "" means New succeeds
	}{
		{name: "defaults", mutate: func(*config.Kafka) {}},
		{name: "acks leader", mutate: func(c *config.Kafka) { c.Acks = "leader" }},
		{name: "acks none", mutate: func(c *config.Kafka) { c.Acks = "none" }},
		{name: "gzip", mutate: func(c *config.Kafka) { c.Compression = "gzip" }},
		{name: "snappy", mutate: func(c *config.Kafka) { c.Compression = "snappy" }},
		{name: "zstd", mutate: func(c *config.Kafka) { c.Compression = "zstd" }},
		{name: "no compression", mutate: func(c *config.Kafka) { c.Compression = "none" }},
		{name: "round robin", mutate: func(c *config.Kafka) { c.Partitioner = "round_robin" }},
		{name: "scram", mutate: func(c *config.Kafka) { c.SASL = config.SASL{Mechanism: "SCRAM-SHA-512", Username: "u", Password: "p"} }},
		{name: "tls skip verify", mutate: func(c *config.Kafka) { c.TLS = config.TLS{Enabled: true, InsecureSkipVerify: true} }},
		{name: "bad acks", mutate: func(c *config.Kafka) { c.Acks = "most" }, wantErr: "kafka.acks"},
		{name: "bad compression", mutate: func(c *config.Kafka) { c.Compression = "brotli" }, wantErr: "kafka.compression"},
		{name: "bad partitioner", mutate: func(c *config.Kafka) { c.Partitioner = "random" }, wantErr: "kafka.partitioner"},
		{name: "bad sasl", mutate: func(c *config.Kafka) { c.SASL.Mechanism = "GSSAPI" }, wantErr: "kafka.sasl.mechanism"},
		{name: "sasl without user", mutate: func(c *config.Kafka) { c.SASL.Mechanism = "PLAIN" }, wantErr: "kafka.sasl.username"},
		{name: "no brokers", mutate: func(c *config.Kafka) { c.Brokers = nil }, wantErr: "kafka.brokers"},
		{name: "zero budget", mutate: func(c *config.Kafka) { c.MaxBufferedBytes = 0 }, wantErr: "kafka.max_buffered_bytes"},
		{name: "negative linger", mutate: func(c *config.Kafka) { c.Linger = -1 }, wantErr: "kafka.linger"},
		{name: "missing ca", mutate: func(c *config.Kafka) { c.TLS = config.TLS{Enabled: true, CAFile: filepath.Join(dir, "nope.pem")} }, wantErr: "kafka.tls.ca_file"},
		{name: "cert without key", mutate: func(c *config.Kafka) { c.TLS = config.TLS{Enabled: true, CertFile: "c.pem"} }, wantErr: "kafka.tls.cert_file"},
		{name: "no data dir", mutate: func(*config.Kafka) {}, noDir: true, wantErr: "data dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default().Kafka
			tc.mutate(&cfg)
			deps := Deps{DataDir: dir}
			if tc.noDir {
				deps.DataDir = ""
			}
			s, err := New(cfg, deps)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := s.Close(context.Background()); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			if err == nil {
				_ = s.Close(context.Background())
				t.Fatalf("New succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not name %q", err, tc.wantErr)
			}
		})
	}
}

// TestRecordFormat checks the record contract (docs/architecture.md, "Kafka record") in
// both kafka.headers modes: compact leaves the host and path to the key and the read
// time to the record's timestamp; full carries them as headers too.
func TestRecordFormat(t *testing.T) {
	readAt := time.Date(2026, 11, 25, 14, 0, 0, 123456789, time.UTC)
	full := map[string]string{"host": "agent-1", "ts": "2026-11-25T14:00:00.123456789Z"}
	for _, mode := range []string{config.HeadersCompact, config.HeadersFull} {
		t.Run(mode, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(3, "web_log"))
			brokers := c.ListenAddrs()
			reg := prometheus.NewRegistry()
			cfg := testConfig(brokers)
			cfg.Headers = mode
			s := newTestSink(t, cfg, Deps{Registerer: reg})
			acks := newAckLog()
			batch := []pipeline.Event{
				{Topic: "web_log", Host: "agent-1", Path: "/var/log/a.log", FileID: "8:42", Offset: 0, End: 12,
					Time: readAt.Add(-36 * time.Hour), ReadTime: readAt, Format: "nginx_combined",
					Line: []byte("first line\r"), Fields: map[string]string{"service": "checkout"}, Ack: acks},
				{Topic: "web_log", Host: "agent-1", Path: "/var/log/a.log", FileID: "8:42", Offset: 12, End: 30,
					Time: readAt, ReadTime: readAt, Line: []byte("multi\n  line event"), Fields: map[string]string{"service": "checkout"}, Ack: acks},
				{Topic: "web_log", Host: "agent-1", Path: "/var/log/b.log", FileID: "8:43", Offset: 1 << 40, End: 1<<40 + 1,
					Time: readAt, Line: []byte{}, Ack: acks},
			}
			if err := s.Publish(context.Background(), batch); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			eventually(t, 10*time.Second, "3 acks", func() bool { return acks.count() == 3 })
			for _, ev := range batch {
				if !acks.has(ev.Offset, ev.End) {
					t.Errorf("event [%d,%d) not acknowledged", ev.Offset, ev.End)
				}
			}

			got := consumeAll(t, brokers, "web_log", 3, 10*time.Second)
			byValue := map[string]consumed{}
			for _, r := range got {
				byValue[r.Value] = r
			}
			tests := []struct {
				value   string
				key     string
				headers map[string]string
			}{
				{"first line\r", "agent-1:/var/log/a.log", map[string]string{"offset": "0", "file_id": "8:42",
					"f.service": "checkout", "time": "2026-11-24T02:00:00.123456789Z", "format": "nginx_combined"}},
				{"multi\n  line event", "agent-1:/var/log/a.log", map[string]string{"offset": "12", "file_id": "8:42", "f.service": "checkout"}},
				{"", "agent-1:/var/log/b.log", map[string]string{"offset": strconv.FormatInt(1<<40, 10), "file_id": "8:43"}},
			}
			for _, tc := range tests {
				r, ok := byValue[tc.value]
				if !ok {
					t.Errorf("no record with value %q", tc.value)
					continue
				}
				if r.Key != tc.key {
					t.Errorf("value %q: key %q, want %q", tc.value, r.Key, tc.key)
				}
				if !r.Timestamp.Equal(readAt.Truncate(time.Millisecond)) {
					t.Errorf("value %q: timestamp %s, want the read time %s", tc.value, r.Timestamp, readAt)
				}
				want := maps.Clone(tc.headers)
				if mode == config.HeadersFull {
					maps.Copy(want, full)
					want["path"] = strings.TrimPrefix(tc.key, "agent-1:")
				} else {
					// One binary lc header holds the offset, file id and event time.
					for _, k := range []string{"offset", "file_id", "time"} {
						if v, ok := want[k]; ok {
							want["lc."+k] = v
							delete(want, k)
						}
					}
				}
				if !maps.Equal(r.Headers, want) {
					t.Errorf("value %q: headers %v, want %v", tc.value, r.Headers, want)
				}
			}
			if n := counterValue(t, s.metrics.records.WithLabelValues("web_log")); n != 3 {
				t.Errorf("records_sent_total{topic=web_log} = %v, want 3", n)
			}
			if n := counterValue(t, s.metrics.bytes.WithLabelValues("web_log")); n != float64(len("first line\r")+len("multi\n  line event")) {
				t.Errorf("sent_bytes_total = %v", n)
			}
			if n := histogramCount(t, reg, "logcollect_kafka_produce_latency_seconds"); n != 0 {
				t.Errorf("latency histogram holds %d observations, want 0 (1 in %d records is sampled)", n, latencySampleEvery)
			}
			more := fileEvents("web_log", "agent-1", "/var/log/c.log", 0, latencySampleEvery, acks, nil)
			if err := s.Publish(context.Background(), more); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "more acks", func() bool { return acks.count() == 3+latencySampleEvery })
			if n := histogramCount(t, reg, "logcollect_kafka_produce_latency_seconds"); n != 1 {
				t.Errorf("latency histogram holds %d observations, want 1", n)
			}
		})
	}
}

func TestOrderPerFile(t *testing.T) {
	for _, compression := range []string{"lz4", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(4, "app_log"))
			cfg := testConfig(c.ListenAddrs())
			cfg.Compression = compression
			cfg.BatchMaxBytes = 16 << 10 // many batches in flight
			s := newTestSink(t, cfg, Deps{})
			acks := newAckLog()
			const files, perFile, step = 5, 2000, 100
			var all [files][]pipeline.Event
			for f := range files {
				all[f] = fileEvents("app_log", "h1", "/logs/f"+strconv.Itoa(f)+".log", 0, perFile, acks, nil)
			}
			// Interleave the files batch by batch, as the tailing engine would.
			for i := 0; i < perFile; i += step {
				for f := range files {
					if err := s.Publish(context.Background(), all[f][i:i+step]); err != nil {
						t.Fatalf("Publish: %v", err)
					}
				}
			}
			eventually(t, 20*time.Second, "all acks", func() bool { return acks.count() == files*perFile })

			got := consumeAll(t, c.ListenAddrs(), "app_log", files*perFile, 20*time.Second)
			partOf := map[string]int32{}
			next := map[string]int{}
			for _, r := range got {
				if p, ok := partOf[r.Key]; ok && p != r.Partition {
					t.Fatalf("key %s in partitions %d and %d", r.Key, p, r.Partition)
				}
				partOf[r.Key] = r.Partition
				path := strings.TrimPrefix(r.Key, "h1:")
				want := path + " line " + strconv.Itoa(next[r.Key] + 10000000)[1:]
				if !strings.HasPrefix(r.Value, want+" ") {
					t.Fatalf("key %s: got %q, want line %d next", r.Key, r.Value, next[r.Key])
				}
				next[r.Key]++
			}
			for k, n := range next {
				if n != perFile {
					t.Errorf("%s: %d lines, want %d", k, n, perFile)
				}
			}
		})
	}
}

// outage makes every request to the cluster fail by closing the connection while on.
func outage(c *kfake.Cluster) *atomic.Bool {
	var down atomic.Bool
	c.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down (test)"), true
		}
		return nil, nil, false
	})
	return &down
}

func TestOutageBoundedAndNothingLost(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "app_log"))
	down := outage(c)
	cfg := testConfig(c.ListenAddrs())
	const budgetBytes = 256 << 10
	cfg.MaxBufferedBytes = budgetBytes
	logs := &logBuf{}
	s := newTestSink(t, cfg, Deps{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	acks := newAckLog()

	// Warm up so the producer id and metadata are known, then take the broker down.
	warm := fileEvents("app_log", "h1", "/logs/a.log", 0, 10, acks, nil)
	if err := s.Publish(context.Background(), warm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "warm-up acks", func() bool { return acks.count() == 10 })
	down.Store(true)
	outageStart := time.Now()

	const total = 20000
	evs := fileEvents("app_log", "h1", "/logs/a.log", 10, total, acks, nil)
	var handed atomic.Int64
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()
	pubDone := make(chan error, 1)
	go func() {
		for i := 0; i < total; i += 100 {
			if err := s.Publish(pubCtx, evs[i:i+100]); err != nil {
				pubDone <- err
				return
			}
			handed.Add(100)
		}
		pubDone <- nil
	}()

	// While down: the budget fills, Publish blocks, nothing is acknowledged, health degrades.
	eventually(t, 10*time.Second, "degraded health", func() bool { return s.Health().Status == StatusDegraded })
	eventually(t, 10*time.Second, "budget nearly full", func() bool { return s.budget.inUse() > budgetBytes/2 })
	if h := handed.Load(); h >= total {
		t.Fatalf("all %d events handed over during the outage; the budget did not block", h)
	}
	if used := s.budget.inUse(); used > budgetBytes {
		t.Fatalf("in-flight %d bytes exceeds the budget %d", used, budgetBytes)
	}
	if n := acks.count(); n != 10 {
		t.Fatalf("%d acks during the outage, want only the 10 warm-up ones", n)
	}
	eventually(t, 5*time.Second, "health reason naming the stall", func() bool {
		return strings.Contains(s.Health().Reason, "acknowledged nothing")
	})

	outage := time.Since(outageStart)
	down.Store(false)
	if err := <-pubDone; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	eventually(t, 30*time.Second, "all acks after the outage", func() bool { return acks.count() == total+10 })
	for _, ev := range evs {
		if !acks.has(ev.Offset, ev.End) {
			t.Fatalf("event at %d never acknowledged", ev.Offset)
		}
	}
	eventually(t, 5*time.Second, "healthy again", func() bool { return s.Health().Status == StatusOK && s.Check() == nil })
	eventually(t, 5*time.Second, "a recovery log line", func() bool { return logs.count("kafka healthy again") >= 1 })
	// One warning per report interval (100ms here) until Kafka acknowledges again, never
	// one per record (20,000 records waited).
	degradedFor := time.Since(outageStart)
	if n, most := logs.count("kafka degraded"), int(degradedFor/(100*time.Millisecond))+3; n == 0 || n > most {
		t.Errorf("%d 'kafka degraded' log lines in %s (outage %s), want 1..%d", n, degradedFor.Round(time.Millisecond), outage.Round(time.Millisecond), most)
	}

	got := consumeAll(t, c.ListenAddrs(), "app_log", total+10, 20*time.Second)
	seen := map[string]int{}
	for _, r := range got {
		seen[offsetOf(r.Headers)]++
	}
	if len(seen) != total+10 {
		t.Fatalf("%d distinct lines in Kafka, want %d", len(seen), total+10)
	}
	dups := len(got) - len(seen)
	t.Logf("outage: %d lines delivered, %d duplicates", len(seen), dups)
}

func readDeadLetters(t *testing.T, dir string) []deadLetterRecord {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, DeadLetterFile)); err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	return readDeadLettersIfAny(t, dir)
}

// readDeadLettersIfAny is readDeadLetters where no file means no dead letters.
func readDeadLettersIfAny(t *testing.T, dir string) []deadLetterRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, DeadLetterFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	defer f.Close()
	var out []deadLetterRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r deadLetterRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

func TestRefusedRecordsGoToDeadLetter(t *testing.T) {
	tests := []struct {
		name     string
		topicCfg map[string]string // broker-side limit
		batchMax int               // client-side limit
	}{
		{name: "client side too large", batchMax: 4096},
		{name: "broker refuses too large", topicCfg: map[string]string{"max.message.bytes": "20000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			if err := c.CreateTopic("app_log", 1, tc.topicCfg); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(c.ListenAddrs())
			cfg.Compression = "none" // the limits apply to the compressed batch
			if tc.batchMax > 0 {
				cfg.BatchMaxBytes = tc.batchMax
			}
			dir := t.TempDir()
			reg := prometheus.NewRegistry()
			s := newTestSink(t, cfg, Deps{DataDir: dir, Registerer: reg})
			acks := newAckLog()

			huge := pipeline.Event{Topic: "app_log", Host: "h1", Path: "/logs/big.log", FileID: "1:2",
				Offset: 100, End: 30101, Time: time.Now(), Line: []byte(strings.Repeat("x", 30000)),
				Fields: map[string]string{"service": "web"}, Ack: acks}
			// The huge line amid normal ones: only it is refused, the others flow on.
			normal := fileEvents("app_log", "h1", "/logs/a.log", 0, 50, acks, nil)
			batch := append(append(append([]pipeline.Event{}, normal[:25]...), huge), normal[25:]...)
			if err := s.Publish(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "normal lines acknowledged", func() bool { return acks.count() == 51 })
			got := consumeAll(t, c.ListenAddrs(), "app_log", 50, 10*time.Second)
			for _, r := range got {
				if len(r.Value) > 1000 {
					t.Fatalf("the refused line reached Kafka")
				}
			}

			dl := readDeadLetters(t, dir)
			if len(dl) != 1 {
				t.Fatalf("%d dead letters, want 1: %+v", len(dl), dl)
			}
			d := dl[0]
			if d.Kind != kindTooLarge || !strings.Contains(d.Reason, "MESSAGE_TOO_LARGE") {
				t.Errorf("dead letter kind %q reason %q", d.Kind, d.Reason)
			}
			readAt, _ := time.Parse(time.RFC3339Nano, d.ReadAt) // franz-go may give the record back to the millisecond
			if d.Host != "h1" || !readAt.Truncate(time.Millisecond).Equal(huge.Time.Truncate(time.Millisecond)) {
				t.Errorf("dead letter of a compact record: host %q, read at %q; want them from its key and timestamp", d.Host, d.ReadAt)
			}
			if d.Path != "/logs/big.log" || d.Offset != 100 || d.FileID != "1:2" || d.Topic != "app_log" || d.Line == nil || len(*d.Line) != 30000 || d.Fields["service"] != "web" {
				t.Errorf("dead letter does not identify the line: %+v", d)
			}
			if n := counterValue(t, s.metrics.errors.WithLabelValues(kindTooLarge)); n != 1 {
				t.Errorf("errors_total{kind=too_large} = %v, want 1", n)
			}
			if n := counterValue(t, s.metrics.deadLetter.WithLabelValues("app_log")); n != 1 {
				t.Errorf("deadletter_records_total = %v, want 1", n)
			}
			eventually(t, 5*time.Second, "topic error in health", func() bool {
				return strings.Contains(s.Health().TopicErrors["app_log"], "too_large")
			})
		})
	}
}

// A batch costing more than the whole budget takes all of it and goes alone; the budget
// comes back whole once its records are acknowledged, and so does that of batches with
// dead-lettered records.
func TestBudgetComesBack(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "app_log"))
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxBufferedBytes = 64 << 10
	s := newTestSink(t, cfg, Deps{BadTopicPause: time.Hour})
	acks := newAckLog()
	huge := fileEvents("app_log", "h1", "/logs/a.log", 0, 1000, acks, nil) // ~600 KB of cost
	if err := s.Publish(context.Background(), huge); err != nil {
		t.Fatal(err)
	}
	if used := s.budget.inUse(); used > cfg.MaxBufferedBytes {
		t.Fatalf("%d bytes taken, more than the budget %d", used, cfg.MaxBufferedBytes)
	}
	more := fileEvents("app_log", "h1", "/logs/a.log", 1000, 10, acks, nil)
	if err := s.Publish(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "all acks", func() bool { return acks.count() == 1010 })
	eventually(t, 5*time.Second, "budget given back", func() bool { return s.budget.inUse() == 0 && s.inflight.Load() == 0 })
}

func TestMissingTopicDoesNotBlockOthers(t *testing.T) {
	// No auto-creation: "missing" can never be created.
	c := newCluster(t, kfake.SeedTopics(1, "good"))
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxBufferedBytes = 64 << 10 // a few hundred records: a stuck topic would starve "good"
	dir := t.TempDir()
	s := newTestSink(t, cfg, Deps{DataDir: dir, BadTopicPause: time.Hour})
	goodAcks, badAcks := newAckLog(), newAckLog()

	const n = 3000
	good := fileEvents("good", "h1", "/logs/good.log", 0, n, goodAcks, nil)
	bad := fileEvents("missing", "h1", "/logs/bad.log", 0, n, badAcks, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < n; i += 100 {
		if err := s.Publish(ctx, append(append([]pipeline.Event{}, bad[i:i+100]...), good[i:i+100]...)); err != nil {
			t.Fatalf("Publish blocked by the missing topic: %v", err)
		}
	}
	start := time.Now()
	eventually(t, 20*time.Second, "good lines acknowledged", func() bool { return goodAcks.count() == n })
	t.Logf("good topic fully acknowledged %s after publishing", time.Since(start))
	eventually(t, 20*time.Second, "missing-topic lines dead-lettered", func() bool { return badAcks.count() == n })
	eventually(t, 5*time.Second, "budget given back", func() bool { return s.budget.inUse() == 0 })
	consumeAll(t, c.ListenAddrs(), "good", n, 10*time.Second)

	dl := readDeadLetters(t, dir)
	if len(dl) != n {
		t.Fatalf("%d dead letters, want %d", len(dl), n)
	}
	if dl[0].Kind != kindUnknownTopic || dl[0].Topic != "missing" {
		t.Errorf("first dead letter: kind %q topic %q", dl[0].Kind, dl[0].Topic)
	}
	eventually(t, 5*time.Second, "health names the topic", func() bool {
		h := s.Health()
		return h.Status == StatusDegraded && h.TopicErrors["missing"] != "" && h.TopicErrors["good"] == ""
	})
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), `topic missing: unknown_topic`) {
		t.Errorf("Check() = %v, want it to name the missing topic", err)
	}
}

func TestCloseFlushesEverything(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "app_log"))
	cfg := testConfig(c.ListenAddrs())
	cfg.Linger = config.Duration(time.Minute) // records sit in the producer until flushed
	s, err := New(cfg, Deps{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog()
	const n = 500
	if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", 0, n, acks, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := acks.count(); got != n {
		t.Fatalf("%d acks after Close, want %d", got, n)
	}
	if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", n, 1, acks, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	consumeAll(t, c.ListenAddrs(), "app_log", n, 10*time.Second)
}

func TestCloseGivesUpWithoutAck(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "app_log"))
	down := outage(c)
	down.Store(true)
	dir := t.TempDir()
	s, err := New(testConfig(c.ListenAddrs()), Deps{DataDir: dir, ClientOpts: []kgo.Opt{fastRetry()}})
	if err != nil {
		t.Fatal(err)
	}
	acks := newAckLog()
	if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", 0, 100, acks, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); err == nil {
		t.Fatal("Close reported success although Kafka had nothing")
	}
	if n := acks.count(); n != 0 {
		t.Fatalf("%d events acknowledged that Kafka never had", n)
	}
	if _, err := os.Stat(filepath.Join(dir, DeadLetterFile)); !os.IsNotExist(err) {
		t.Fatalf("undelivered records were dead-lettered: %v", err)
	}
	if s.inflight.Load() != 0 || s.budget.inUse() != 0 {
		t.Fatalf("after Close: %d records, %d bytes still counted in flight", s.inflight.Load(), s.budget.inUse())
	}
}

func TestPublishHonoursContext(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "app_log"))
	down := outage(c)
	down.Store(true)
	cfg := testConfig(c.ListenAddrs())
	cfg.MaxBufferedBytes = 8 << 10
	s := newTestSink(t, cfg, Deps{})
	acks := newAckLog()

	// A batch whose first records fit is handed over whole, even when ctx ends on the
	// way: the caller must be able to wait for every acknowledgement of a batch it saw
	// accepted.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	first := fileEvents("app_log", "h1", "/logs/a.log", 0, 1000, acks, nil)
	if err := s.Publish(ctx, first); err != nil {
		t.Fatalf("Publish of a batch partly handed over: %v, want nil", err)
	}
	// With the budget full, a new batch hands nothing over and returns with ctx.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	err := s.Publish(ctx2, fileEvents("app_log", "h1", "/logs/a.log", 1000, 10, acks, nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with a full budget: %v, want DeadlineExceeded", err)
	}
	down.Store(false)
	eventually(t, 20*time.Second, "every event of the first batch acknowledged", func() bool { return acks.count() == len(first) })
	for _, ev := range first {
		if !acks.has(ev.Offset, ev.End) {
			t.Fatalf("event at %d not acknowledged", ev.Offset)
		}
	}
}

// A connection refused with an error franz-go does not take for a network one (a proxy's
// or a TLS handshake's) while no request for the buffered records was sent makes franz-go
// fail every buffered record of the partition. Kafka refused nothing: the records must
// wait and be delivered, never be dead-lettered and acknowledged.
func TestUnreachableBrokerNothingDeadLettered(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "app_log"))
	d := &cutDialer{}
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	logs := &logBuf{}
	// Short idle timeout: franz-go closes the idle connections, so no request is in
	// flight or sent when the cut begins (30 s of quiet in production). No health ping
	// (an hour's interval), which would keep a connection busy. Metadata retried every
	// 100 ms: franz-go fails the buffered records on each failed load.
	s := newTestSink(t, testConfig(c.ListenAddrs()), Deps{DataDir: dir, Registerer: reg, ReportInterval: time.Hour,
		ClientOpts: []kgo.Opt{kgo.Dialer(d.dial), kgo.ConnIdleTimeout(200 * time.Millisecond), kgo.MetadataMinAge(100 * time.Millisecond)},
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	acks := newAckLog()
	warm := fileEvents("app_log", "h1", "/logs/a.log", 0, 10, acks, nil)
	if err := s.Publish(context.Background(), warm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "warm-up acks", func() bool { return acks.count() == 10 })
	eventually(t, 10*time.Second, "idle connections closed", func() bool { return d.open() == 0 })

	d.set(true)
	const total = 1000
	evs := fileEvents("app_log", "h1", "/logs/a.log", 10, total, acks, nil)
	if err := s.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	failed := func() float64 {
		return counterValue(t, s.metrics.errors.WithLabelValues(kindRetried)) + counterValue(t, s.metrics.errors.WithLabelValues(kindOther))
	}
	eventually(t, 10*time.Second, "franz-go failing the buffered records", func() bool { return failed() >= total })
	d.set(false)

	eventually(t, 10*time.Second, "every event acknowledged", func() bool { return acks.count() >= total+10 })
	if dead := readDeadLettersIfAny(t, dir); len(dead) > 0 {
		t.Fatalf("%s; errors_total %s\n%s", deadLetterSummary(dead), counterVecText(t, reg, "logcollect_kafka_errors_total"), logs.lines("will_fail=true", 3))
	}
	got := consumeAll(t, c.ListenAddrs(), "app_log", total+10, 10*time.Second)
	seen := map[string]bool{}
	for _, r := range got {
		seen[offsetOf(r.Headers)] = true
	}
	if len(seen) != total+10 {
		t.Fatalf("%d distinct lines in Kafka, want %d", len(seen), total+10)
	}
	for _, ev := range evs {
		if !acks.has(ev.Offset, ev.End) {
			t.Fatalf("event at %d never acknowledged", ev.Offset)
		}
	}
	if n := counterValue(t, s.metrics.errors.WithLabelValues(kindRetried)); n < total {
		t.Errorf("errors_total{kind=retried} = %v, want >= %d", n, total)
	}
}

func TestRefusedOnlyForKafkaRefusals(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "broker: too large", err: kerr.MessageTooLarge, want: true},
		{name: "client: too large", err: fmt.Errorf("%w (uncompressed_bytes=9)", kerr.MessageTooLarge), want: true},
		{name: "unknown topic", err: kerr.UnknownTopicOrPartition, want: true},
		{name: "topic authorization", err: kerr.TopicAuthorizationFailed, want: true},
		{name: "other kafka code", err: kerr.PolicyViolation, want: true},
		{name: "dialer's own error", err: fmt.Errorf("unable to dial: %w", errors.New("network cut")), want: false},
		{name: "tls handshake", err: x509.UnknownAuthorityError{}, want: false},
		{name: "sasl authentication", err: kerr.SaslAuthenticationFailed, want: false},
		{name: "record timeout", err: kgo.ErrRecordTimeout, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refused(tc.err); got != tc.want {
				t.Errorf("refused(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
