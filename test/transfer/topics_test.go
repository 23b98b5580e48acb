//go:build integration

package transfer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// A mapping conflict (a field once a number, then an object) sends that document to the
// dead-letter topic with its reason; every other document is indexed and the offset moves
// on. On a second topic, nginx lines get typed fields and a bad line parse_error.
func TestDeadLetterAndParsing(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	e := newEnv(t, "dlq")
	jsonTopic, nginxTopic := e.name+"-json", e.name+"-nginx"
	e.createTopic(jsonTopic, 1) // one partition: the conflicting document comes after the first
	e.createTopic(nginxTopic, 1)
	cfg := e.transferConfig("transfer.yaml", fmt.Sprintf(`topics: [%s, %s]
  parse:
    - {topic: %s, format: json}
    - {topic: %s, format: nginx_combined}`, jsonTopic, nginxTopic, jsonTopic, nginxTopic), e.osURL, "127.0.0.1:0", "")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)

	p := newProducer(t, e.brokers)
	var recs []*kgo.Record
	for i := range 200 {
		v := fmt.Sprintf(`{"x": %d, "i": %d, "level": "info"}`, i, i)
		if i == 100 {
			v = `{"x": {"a": 1}, "i": 100, "level": "info"}`
		}
		recs = append(recs, &kgo.Record{Topic: jsonTopic, Value: []byte(v)})
	}
	nginx := []string{
		`10.0.0.1 - alice [01/Dec/2026:10:11:12 +0100] "GET /index.html HTTP/1.1" 200 5120 "https://example.com/" "Mozilla/5.0 (X11)"`,
		`10.0.0.2 - - [01/Dec/2026:10:11:13 +0100] "POST /api/v1/items?x=1 HTTP/2.0" 503 - "-" "curl/8.5.0"`,
		`this is not an access log line`,
	}
	for _, l := range nginx {
		recs = append(recs, &kgo.Record{Topic: nginxTopic, Value: []byte(l)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 60*time.Second, "both topics committed to the end", func() bool {
		return e.committed(e.name, jsonTopic) == 200 && e.committed(e.name, nginxTopic) == 3
	})
	tr.Stop()
	if got := e.count(); got != 199+3 {
		t.Fatalf("%d documents, want 199 JSON + 3 nginx", got)
	}
	if hits := e.search(map[string]any{"term": map[string]any{"i": 100}}, 5); len(hits) != 0 {
		t.Errorf("the conflicting document was indexed: %v", hits)
	}
	if hits := e.search(map[string]any{"term": map[string]any{"i": 101}}, 5); len(hits) != 1 || hits[0].Source["level"] != "info" {
		t.Errorf("JSON fields not indexed: %v", hits)
	}

	// The dead-letter topic holds the record, unchanged, with the reason.
	dlq := consumeAll(t, e.brokers, jsonTopic+".dlq", 1)
	if string(dlq[0].Value) != `{"x": {"a": 1}, "i": 100, "level": "info"}` {
		t.Errorf("dead-lettered value %q", dlq[0].Value)
	}
	reason := header(dlq[0], "dlq.reason")
	if !strings.Contains(reason, "pars") || !strings.Contains(reason, "400") {
		t.Errorf("dlq.reason header %q does not say it is a mapping failure", reason)
	}
	if header(dlq[0], "dlq.offset") != "100" || header(dlq[0], "dlq.topic") != jsonTopic {
		t.Errorf("dlq headers: topic %q offset %q", header(dlq[0], "dlq.topic"), header(dlq[0], "dlq.offset"))
	}

	ok := e.search(map[string]any{"term": map[string]any{"remote_user": "alice"}}, 5)
	if len(ok) != 1 {
		t.Fatalf("nginx line by remote_user: %d hits", len(ok))
	}
	src := ok[0].Source
	if src["status"] != float64(200) || src["body_bytes_sent"] != float64(5120) || src["method"] != "GET" || src["url"] != "/index.html" {
		t.Errorf("nginx fields not typed: %v", src)
	}
	if src["@timestamp"] != "2026-12-01T09:11:12Z" {
		t.Errorf("@timestamp %v, want the line's time in UTC", src["@timestamp"])
	}
	if hits := e.search(map[string]any{"term": map[string]any{"status": 503}}, 5); len(hits) != 1 {
		t.Errorf("term query on the integer status 503: %d hits", len(hits))
	}
	bad := e.search(map[string]any{"term": map[string]any{"parse_error": true}}, 5)
	if len(bad) != 1 || bad[0].Source["message"] != nginx[2] {
		t.Errorf("the bad nginx line: %v", bad)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// consumeAll reads a topic from the start until it has n records.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d records in %s within 30 s", len(out), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// A topic created after the transfer started that matches topic_regex is consumed within
// 15 s; its dead-letter topic is not.
func TestTopicRegexFindsNewTopic(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	e := newEnv(t, "regex")
	listen := e2etest.FreeAddr(t)
	cfg := e.transferConfig("transfer.yaml", fmt.Sprintf("topic_regex: '^%s-.*'", e.name), e.osURL, listen, "")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)
	await.Until(t, 30*time.Second, "the transfer serving /healthz", func() bool { code, _ := healthz(listen); return code != 0 })

	p := newProducer(t, e.brokers)
	topic := e.name + "-late"
	e.createTopic(topic, 2)
	e.createTopic(topic+".dlq", 1)
	p.produce(topic+".dlq", "h", "/dlq", 0, 5)
	created := time.Now()
	p.produce(topic, "late-host", "/var/log/late.log", 0, 20)
	await.Until(t, 20*time.Second, "the new topic's lines indexed", func() bool { return e.count() >= 20 })
	took := time.Since(created)
	tr.Stop()
	if took > 15*time.Second {
		t.Errorf("the new topic was consumed %s after it was created, want within 15 s", took)
	}
	if got := e.count(); got != 20 {
		t.Errorf("%d documents, want 20 (the .dlq topic must not be consumed)", got)
	}
	t.Logf("new topic consumed %s after creation", took.Round(100*time.Millisecond))
}

// Two instances in one group (their own transfer.instance_id each), one killed with
// SIGKILL mid-stream and not restarted, records written to its partitions after that: its
// partitions move to the other once its session ends, which indexes the rest within
// transfer.session_timeout (10 s) + 5 s of the kill. Exactly N.
func TestTwoInstancesOneKilled(t *testing.T) {
	e := newEnv(t, "pair")
	topic := e.name
	e.createTopic(topic, 4)
	listenA, listenB := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	cfgA := e.transferConfig("transfer-a.yaml", "topics: ["+topic+"]\n  instance_id: \"{hostname}-a\"", e.osURL, listenA, "")
	cfgB := e.transferConfig("transfer-b.yaml", "topics: ["+topic+"]\n  instance_id: \"{hostname}-b\"", e.osURL, listenB, "")
	a := e2etest.Start(t, "", "transfer", "--config", cfgA)
	b := e2etest.Start(t, "", "transfer", "--config", cfgB)
	p := newProducer(t, e.brokers)
	s := p.stream(topic, 100, 50*time.Millisecond) // ~2,000 lines/s
	await.Until(t, 60*time.Second, "both instances owning partitions and indexing", func() bool {
		return metric(listenA, "logcollect_transfer_assigned_partitions") > 0 &&
			metric(listenB, "logcollect_transfer_assigned_partitions") > 0 && e.count() > 2000
	})
	a.Kill()
	killed := time.Now()
	n := int64(s.stop())
	// 100 records on each partition after the kill: those on the dead one's partitions
	// can only be indexed by the survivor.
	p.produce(topic, "stream-host", "/var/log/stream.log", int(n), 400)
	n += 400
	if got := e.awaitCount(n, killed.Add(15*time.Second)); got < n {
		t.Fatalf("%d of %d records indexed 15 s (session_timeout + 5 s) after the kill; the survivor: %v partitions, lag %v",
			got, n, metric(listenB, "logcollect_transfer_assigned_partitions"), metric(listenB, "logcollect_transfer_lag_records"))
	}
	t.Logf("%d records: all indexed %s after the kill", n, time.Since(killed).Round(100*time.Millisecond))
	if got := metric(listenB, "logcollect_transfer_assigned_partitions"); got != 4 {
		t.Errorf("the survivor owns %v partitions, want all 4", got)
	}
	await.Until(t, 30*time.Second, "every record committed", func() bool { return e.committed(e.name, topic) == n })
	b.Stop()
	if got := e.count(); got != n {
		t.Fatalf("%d documents, want exactly %d", got, n)
	}
}

// Two transfers of one group with the same transfer.instance_id: the one fenced out
// exits with an error that names the key.
func TestDuplicateInstanceIDExits(t *testing.T) {
	t.Parallel() // mostly waiting: overlaps the others
	e := newEnv(t, "dupid")
	topic := e.name
	e.createTopic(topic, 2)
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]\n  instance_id: same", e.osURL, "127.0.0.1:0", "")
	a := e2etest.Start(t, "", "transfer", "--config", cfg)
	a.WaitLog("partitions assigned", 1, 60*time.Second)
	b := e2etest.Start(t, "", "transfer", "--config", cfg)
	b.WaitLog("partitions assigned", 1, 60*time.Second)
	await.Until(t, 30*time.Second, "the fenced transfer exiting", func() bool { return !a.Running() })
	if err := a.Wait(); err == nil {
		t.Error("the fenced transfer exited 0")
	}
	if log := a.Log(); !strings.Contains(log, "transfer.instance_id") || !strings.Contains(log, "is used by another transfer of group") {
		t.Errorf("the fenced transfer's log does not name transfer.instance_id:\n%s", e2etest.Tail(a.Log(), 2000))
	}
	b.Stop()
}
