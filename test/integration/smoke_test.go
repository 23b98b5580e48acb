//go:build integration

// Package integration holds smoke tests of the real services that scripts/services.sh starts.
// They prove each service is up and usable the way logcollect uses it, so a failure in a
// component's integration test can be told apart from a broken environment. They fail (never
// skip) when a service is missing: start them with `scripts/services.sh up`.
package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/testing/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// testenv probes the services through http.DefaultTransport; its idle keep-alive
	// connections belong to the process, not to a test, so close them before looking for leaks.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// unique returns a name no earlier run used, so runs never see each other's data.
func unique(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

func TestKafkaProduceConsume(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := unique(t, "smoke")

	// The producer relies on the broker's auto topic creation, as the agent does by default.
	prod, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("kafka producer: %v", err)
	}
	defer prod.Close()
	adm := kadm.NewClient(prod)
	defer func() { // before prod.Close: defers run last-in first-out
		dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer dcancel()
		if _, err := adm.DeleteTopic(dctx, topic); err != nil {
			t.Errorf("delete topic %s: %v", topic, err)
		}
	}()

	want := &kgo.Record{
		Topic:   topic,
		Key:     []byte("host-1:/var/log/app.log"),
		Value:   []byte("2026-01-02 03:04:05 INFO smoke line"),
		Headers: []kgo.RecordHeader{{Key: "offset", Value: []byte("1234")}},
	}
	if err := prod.ProduceSync(ctx, want).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}

	// services.sh sets num.partitions=3 so key-ordering tests have partitions to spread over.
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatalf("list topic %s: %v", topic, err)
	}
	if got := len(details[topic].Partitions); got != 3 {
		t.Errorf("auto-created topic %s has %d partitions, want 3 (num.partitions)", topic, got)
	}

	cons, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		t.Fatalf("kafka consumer: %v", err)
	}
	defer cons.Close()

	var got *kgo.Record
	for got == nil {
		fetches := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no record consumed from %s before the deadline", topic)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("fetch from %s: %v", topic, errs[0].Err)
		}
		if recs := fetches.Records(); len(recs) > 0 {
			got = recs[0]
		}
	}
	if !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Value, want.Value) {
		t.Errorf("consumed key %q value %q, want key %q value %q", got.Key, got.Value, want.Key, want.Value)
	}
	if len(got.Headers) != 1 || got.Headers[0].Key != "offset" || string(got.Headers[0].Value) != "1234" {
		t.Errorf("consumed headers %v, want [offset=1234]", got.Headers)
	}
}

func TestEtcdPutGetWatch(t *testing.T) {
	endpoints := testenv.EtcdEndpoints(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	defer cli.Close()
	key := unique(t, "/logcollect-smoke/collect_log_conf")
	defer func() {
		if _, err := cli.Delete(context.Background(), key); err != nil {
			t.Errorf("delete %s: %v", key, err)
		}
	}()

	const first = `[{"path":"/var/log/a.log","topic":"a_log"}]`
	put, err := cli.Put(ctx, key, first)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	rev := put.Header.Revision

	get, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(get.Kvs) != 1 || string(get.Kvs[0].Value) != first {
		t.Fatalf("get %s = %v, want one value %s", key, get.Kvs, first)
	}

	// Watching from the put's revision must replay that put: this is how the agent avoids
	// losing a change made between its read and its watch.
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wch := cli.Watch(wctx, key, clientv3.WithRev(rev))
	const second = `[{"path":"/var/log/b.log","topic":"b_log"}]`
	if _, err := cli.Put(ctx, key, second); err != nil {
		t.Fatalf("second put %s: %v", key, err)
	}

	var seen []string
	for len(seen) < 2 {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatalf("watch closed after %d events: %v", len(seen), ctx.Err())
			}
			if err := resp.Err(); err != nil {
				t.Fatalf("watch %s: %v", key, err)
			}
			for _, ev := range resp.Events {
				if ev.Type != clientv3.EventTypePut {
					t.Errorf("event type %v, want PUT", ev.Type)
				}
				if len(seen) == 0 && ev.Kv.ModRevision != rev {
					t.Errorf("first event at revision %d, want the put's %d", ev.Kv.ModRevision, rev)
				}
				seen = append(seen, string(ev.Kv.Value))
			}
		case <-ctx.Done():
			t.Fatalf("watch saw %d of 2 events before the deadline", len(seen))
		}
	}
	if seen[0] != first || seen[1] != second {
		t.Errorf("watch values %q, want [%q %q]", seen, first, second)
	}
}

func TestOpenSearchIndexSearch(t *testing.T) {
	base := testenv.OpenSearchURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	client, err := opensearchapi.NewClient(opensearchapi.Config{
		Client: opensearch.Config{Addresses: []string{base}},
	})
	if err != nil {
		t.Fatalf("opensearch client: %v", err)
	}
	// Close stops the client's health and discovery pollers (goleak checks it).
	defer client.Client.Close()
	index := unique(t, "smoke")
	defer func() {
		if _, err := client.Indices.Delete(context.Background(), opensearchapi.IndicesDeleteReq{Indices: []string{index}}); err != nil {
			t.Errorf("delete index %s: %v", index, err)
		}
	}()

	term := unique(t, "needle")
	docs := map[string]string{
		"1": "a line with " + term + " in it",
		"2": "a line without the term",
	}
	for id, msg := range docs {
		body, _ := json.Marshal(map[string]any{"message": msg, "@timestamp": time.Now().UTC().Format(time.RFC3339Nano)})
		if _, err := client.Index(ctx, opensearchapi.IndexReq{Index: index, DocumentID: id, Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("index doc %s into %s: %v", id, index, err)
		}
	}
	if _, err := client.Indices.Refresh(ctx, &opensearchapi.IndicesRefreshReq{Index: []string{index}}); err != nil {
		t.Fatalf("refresh %s: %v", index, err)
	}

	query := fmt.Sprintf(`{"query":{"match":{"message":%q}}}`, term)
	res, err := client.Search(ctx, &opensearchapi.SearchReq{Indices: []string{index}, Body: strings.NewReader(query)})
	if err != nil {
		t.Fatalf("search %s: %v", index, err)
	}
	if res.Hits.Total.Value != 1 || len(res.Hits.Hits) != 1 || res.Hits.Hits[0].ID != "1" {
		t.Fatalf("search for %s: total %d hits %d, want exactly document 1", term, res.Hits.Total.Value, len(res.Hits.Hits))
	}
	var src struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(res.Hits.Hits[0].Source, &src); err != nil {
		t.Fatalf("decode hit source: %v", err)
	}
	if src.Message != docs["1"] {
		t.Errorf("hit message %q, want %q", src.Message, docs["1"])
	}
}

func TestInfluxDBWriteQuery(t *testing.T) {
	base := testenv.InfluxDBURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	// services.sh creates the sysinfo database; writing to it also proves it exists (a write
	// to a missing database is a 404).
	const db = "sysinfo"
	run := unique(t, "run")
	ts := time.Now().UnixNano()
	line := fmt.Sprintf("logcollect_smoke,run=%s value=42i,note=\"ok\" %d\n", run, ts)

	do := func(method, path string, form url.Values, body io.Reader, wantStatus int) []byte {
		t.Helper()
		u := base + path + "?" + form.Encode()
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			t.Fatalf("request %s: %v", u, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read %s response: %v", path, err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, out)
		}
		return out
	}
	defer func() {
		q := fmt.Sprintf("DROP SERIES FROM logcollect_smoke WHERE run = '%s'", run)
		do(http.MethodPost, "/query", url.Values{"db": {db}, "q": {q}}, nil, http.StatusOK)
	}()

	do(http.MethodPost, "/write", url.Values{"db": {db}, "precision": {"ns"}}, strings.NewReader(line), http.StatusNoContent)

	q := fmt.Sprintf("SELECT value, note FROM logcollect_smoke WHERE run = '%s'", run)
	out := do(http.MethodGet, "/query", url.Values{"db": {db}, "q": {q}, "epoch": {"ns"}}, nil, http.StatusOK)
	var res struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("decode query result %s: %v", out, err)
	}
	if len(res.Results) != 1 || res.Results[0].Error != "" || len(res.Results[0].Series) != 1 ||
		len(res.Results[0].Series[0].Values) != 1 {
		t.Fatalf("query returned %s, want one series with one point", out)
	}
	row := res.Results[0].Series[0].Values[0]
	if len(row) != 3 {
		t.Fatalf("row %v, want time, value, note", row)
	}
	if got := fmt.Sprint(row[0]); got != fmt.Sprint(ts) {
		t.Errorf("point time %s, want %d", got, ts)
	}
	if got := fmt.Sprint(row[1]); got != "42" {
		t.Errorf("point value %s, want 42", got)
	}
	if got := fmt.Sprint(row[2]); got != "ok" {
		t.Errorf("point note %s, want ok", got)
	}
}
