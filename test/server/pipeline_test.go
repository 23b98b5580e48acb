//go:build integration

package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// pipeline is the cluster's log path through the real binaries: files → `logcollect
// agent` → Kafka → `logcollect transfer` → OpenSearch (indices and template of this test
// only) → `logcollect server` with a bearer token.
type pipeline struct {
	t       *testing.T
	dir     string
	name    string // index prefix, template and consumer group
	osURL   string
	base    string // the server's http://addr
	token   string
	brokers []string
}

// The files and topics of the query table (querycases): the topic names are part of the
// queries (topic:app), so they are shared Kafka topics; the transfer of each run starts at
// their end (transfer.start: latest), after its partitions are assigned.
var pipelineTopics = []string{"app", "other"}

// startPipeline runs transfer, agent and server. The agent collects dir/app.log (topic
// app) and dir/other.log (topic other, entry field team=core) from the beginning as host
// h1; the transfer parses topic app as logfmt (as the reader's own test does).
func startPipeline(t *testing.T) *pipeline {
	t.Helper()
	p := &pipeline{t: t, dir: t.TempDir(), name: fmt.Sprintf("it-server-e2e-%d", time.Now().UnixNano()),
		osURL: testenv.OpenSearchURL(t), token: "e2e-" + suffix(t), brokers: testenv.KafkaBrokers(t)}
	p.ensureTopics()
	t.Cleanup(p.dropIndices)

	trAddr := e2etest.FreeAddr(t)
	tr := e2etest.Start(t, p.dir, "transfer", "--config", p.write("transfer.yaml", fmt.Sprintf(`kafka:
  brokers: [%[1]s]
etcd:
  endpoints: []
transfer:
  group: %[2]s
  instance_id: %[2]s
  topics: [app, other]
  start: latest
  parse:
    - {topic: app, format: logfmt}
opensearch:
  addresses: ["%[3]s"]
  index: "%[2]s-{topic}-{date}"
  template: %[2]s
  flush_interval: 200ms
http:
  listen: %[4]s
`, strings.Join(p.brokers, ", "), p.name, p.osURL, trAddr)))
	t.Cleanup(tr.Stop)
	// Every partition of both topics assigned: from here on, nothing written is missed.
	await.Until(t, 60*time.Second, "the transfer to be assigned the partitions of app and other", func() bool {
		m, err := e2etest.Metrics(trAddr)
		return err == nil && m["logcollect_transfer_assigned_partitions"] >= float64(p.partitions())
	})

	ag := e2etest.Start(t, p.dir, "agent", "--config", p.write("agent.yaml", fmt.Sprintf(`agent:
  id: h1
  data_dir: %[1]s
  output: kafka
  scan_interval: 200ms
  collect:
    - {path: %[2]s, topic: app, start: beginning}
    - {path: %[3]s, topic: other, start: beginning, fields: {team: core}}
kafka:
  brokers: [%[4]s]
etcd:
  endpoints: []
http:
  listen: 127.0.0.1:0
`, filepath.Join(p.dir, "data"), p.file("app.log"), p.file("other.log"), strings.Join(p.brokers, ", "))))
	t.Cleanup(ag.Stop)

	srvAddr := e2etest.FreeAddr(t)
	srv := e2etest.Start(t, p.dir, "server", "--config", p.write("server.yaml", fmt.Sprintf(`http:
  listen: %s
  auth: {token: %q}
opensearch:
  addresses: ["%s"]
  index: "%s-{topic}-{date}"
etcd:
  endpoints: ["%s"]
sysagent:
  influxdb: {url: "%s", database: it_server_e2e}
`, srvAddr, p.token, p.osURL, p.name, testenv.EtcdEndpoints(t)[0], testenv.InfluxDBURL(t))))
	t.Cleanup(srv.Stop)
	p.base = "http://" + srvAddr
	await.Until(t, 30*time.Second, "the server to answer /healthz", func() bool {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return p
}

func (p *pipeline) file(name string) string { return filepath.Join(p.dir, name) }

func (p *pipeline) write(name, content string) string {
	path := p.file(name)
	e2etest.WriteFile(p.t, path, content)
	return path
}

// appendLines appends lines to one of the collected files.
func (p *pipeline) appendLines(name string, lines ...string) {
	p.t.Helper()
	f, err := os.OpenFile(p.file(name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pipeline) admin() *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers...))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// ensureTopics creates app and other when missing (one partition each is enough).
func (p *pipeline) ensureTopics() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := p.admin().CreateTopics(ctx, 1, 1, nil, pipelineTopics...)
	if err != nil {
		p.t.Fatalf("create topics %v: %v", pipelineTopics, err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			p.t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}

// partitions counts the partitions of app and other.
func (p *pipeline) partitions() int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	td, err := p.admin().ListTopics(ctx, pipelineTopics...)
	if err != nil {
		p.t.Fatalf("list topics: %v", err)
	}
	n := 0
	for _, d := range td {
		n += len(d.Partitions)
	}
	return n
}

func (p *pipeline) dropIndices() {
	for _, path := range []string{"/" + p.name + "-*", "/_index_template/" + p.name} {
		req, _ := http.NewRequest(http.MethodDelete, p.osURL+path, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}

// get sends an authenticated GET to the server.
func (p *pipeline) get(path string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	return http.DefaultClient.Do(req)
}
