//go:build integration

package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// env is what every test here needs: the real services and unique names.
type env struct {
	t       *testing.T
	brokers []string
	osURL   string
	name    string // unique: topic, group, index prefix and template are derived from it
	dir     string
	etcd    string // etcd.endpoints of the transfer's config: none unless a test sets it
	adm     *kadm.Client
}

func newEnv(t *testing.T, prefix string) *env {
	t.Helper()
	e := &env{t: t, brokers: testenv.KafkaBrokers(t), osURL: testenv.OpenSearchURL(t), dir: t.TempDir(), etcd: "[]"}
	e.name = fmt.Sprintf("t8-%s-%d", prefix, time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e.adm = kadm.NewClient(cl)
	t.Cleanup(func() {
		// Indices and the template of this test only.
		e.osDo(http.MethodDelete, "/"+e.name+"-*", nil)
		e.osDo(http.MethodDelete, "/_index_template/"+e.name, nil)
	})
	return e
}

// index is the index pattern the transfer of this test writes.
func (e *env) index() string { return e.name + "-{topic}-{date}" }

func (e *env) createTopic(name string, partitions int32) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.adm.CreateTopic(ctx, partitions, 1, nil, name); err != nil {
		e.t.Fatalf("create topic %s: %v", name, err)
	}
}

// transferConfig writes a transfer config; extra is appended YAML (more sections).
func (e *env) transferConfig(file, topicsYAML, osAddr, listen, extra string) string {
	e.t.Helper()
	cfg := fmt.Sprintf(`kafka:
  brokers: [%s]
etcd:
  endpoints: %s
  lease_ttl: 3s
transfer:
  group: %s
  %s
  shutdown_timeout: 10s
opensearch:
  addresses: [%s]
  index: "%s"
  template: %s
  flush_interval: 200ms
  max_retry_backoff: 1s
http:
  listen: %s
log:
  level: info
%s`, strings.Join(e.brokers, ", "), e.etcd, e.name, topicsYAML, osAddr, e.index(), e.name, listen, extra)
	path := filepath.Join(e.dir, file)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// osDo sends one request to the shared OpenSearch and returns status and body.
func (e *env) osDo(method, path string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.osURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// count refreshes the test's indices and returns how many documents they hold.
func (e *env) count() int64 {
	e.t.Helper()
	e.osDo(http.MethodPost, "/"+e.name+"-*/_refresh?allow_no_indices=true", nil)
	code, b := e.osDo(http.MethodGet, "/"+e.name+"-*/_count?allow_no_indices=true", nil)
	if code != http.StatusOK {
		return -1
	}
	var r struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatalf("decode _count: %v: %s", err, b)
	}
	return r.Count
}

// awaitCount waits until the test's indices hold at least n documents or the deadline
// passes, and returns the last count.
func (e *env) awaitCount(n int64, deadline time.Time) int64 {
	for {
		got := e.count()
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
}

type hit struct {
	ID     string         `json:"_id"`
	Index  string         `json:"_index"`
	Source map[string]any `json:"_source"`
}

// search runs a query over the test's indices.
func (e *env) search(query map[string]any, size int) []hit {
	e.t.Helper()
	code, b := e.osDo(http.MethodPost, "/"+e.name+"-*/_search", map[string]any{"query": query, "size": size})
	if code != http.StatusOK {
		e.t.Fatalf("search: HTTP %d: %s", code, b)
	}
	var r struct {
		Hits struct {
			Hits []hit `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatal(err)
	}
	return r.Hits.Hits
}

// committed returns the group's committed offsets summed over the topic's partitions.
func (e *env) committed(group, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := e.adm.FetchOffsets(ctx, group)
	if err != nil {
		return -1
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n
}

// producer writes agent-shaped records (value the line, headers host, path, offset,
// file_id, ts) straight to Kafka.
type producer struct {
	t  *testing.T
	cl *kgo.Client
}

func newProducer(t *testing.T, brokers []string) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{t: t, cl: cl}
}

// line is the i-th test line.
func line(i int) string {
	return fmt.Sprintf(`127.0.0.1 - - [01/Dec/2026:09:00:00 +0000] "GET /item/%d HTTP/1.1" 200 %d "-" "curl/8" word%d`, i, i%5000, i)
}

// produce writes lines [from, from+n) of host/path as agent records, in one go.
func (p *producer) produce(topic, host, path string, from, n int) {
	p.t.Helper()
	recs := make([]*kgo.Record, 0, n)
	ts := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	for i := from; i < from+n; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(line(i)), Headers: []kgo.RecordHeader{
			{Key: "host", Value: []byte(host)}, {Key: "path", Value: []byte(path)},
			{Key: "offset", Value: []byte(strconv.Itoa(i * 100))}, {Key: "file_id", Value: []byte("8:42")},
			{Key: "ts", Value: ts},
		}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
}

// streamer produces batches in the background until stopped.
type streamer struct {
	stopCh chan struct{}
	done   chan int
}

func (p *producer) stream(topic string, batch int, every time.Duration) *streamer {
	s := &streamer{stopCh: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		n := 0
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stopCh:
				s.done <- n
				return
			case <-tick.C:
				p.produce(topic, "stream-host", "/var/log/stream.log", n, batch)
				n += batch
			}
		}
	}()
	return s
}

// stop returns how many lines were produced.
func (s *streamer) stop() int {
	close(s.stopCh)
	return <-s.done
}

// healthz returns the /healthz status code and the check results.
func healthz(addr string) (int, map[string]string) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var rep struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	return resp.StatusCode, rep.Checks
}

// metric returns the sum of a metric's samples from /metrics (all label sets), -1 when
// /metrics cannot be read.
func metric(addr, name string) float64 {
	samples, err := e2etest.Metrics(addr)
	if err != nil {
		return -1
	}
	var sum float64
	for k, v := range samples {
		if k == name || strings.HasPrefix(k, name+"{") {
			sum += v
		}
	}
	return sum
}
