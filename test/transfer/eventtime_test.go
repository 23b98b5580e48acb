//go:build integration

package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// A month of an nginx access log loaded with start: beginning, through the real agent,
// Kafka and the real transfer: every document's @timestamp is its line's own time (lines
// written in two time zones), read_time is when the agent read it, and each document is
// in the daily index of its day, with exact counts per index.
func TestEventTimeBackfillDailyIndices(t *testing.T) {
	e := newEnv(t, "evtime")
	topic := e.name
	e.createTopic(topic, 3)
	const n = 3000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 30 * 24 * time.Hour / n // 864 s: 100 lines a day for 30 days
	paris := time.FixedZone("", 2*3600)

	logPath := filepath.Join(e.dir, "access.log")
	var file bytes.Buffer
	offsets := make([]int64, n)
	wantTime := make([]time.Time, n)
	perIndex := map[string]int{}
	for i := range n {
		t := base.Add(time.Duration(i) * step)
		wantTime[i] = t
		local := t
		if i%3 == 0 {
			local = t.In(paris) // written with +0200: the same instant
		}
		offsets[i] = int64(file.Len())
		fmt.Fprintf(&file, "10.0.%d.%d - - [%s] \"GET /item/%d HTTP/1.1\" 200 %d \"-\" \"curl/8\"\n",
			i/256%256, i%256, local.Format("02/Jan/2006:15:04:05 -0700"), i, 100+i)
		perIndex[e.name+"-"+topic+"-"+t.Format("2006.01.02")]++
	}
	if err := os.WriteFile(logPath, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(e.dir, "agent")
	if err := os.Mkdir(agentDir, 0o755); err != nil {
		t.Fatal(err)
	}
	agentCfg := e2etest.KafkaAgentConfig(t, agentDir, "evtime-agent", logPath, topic, "127.0.0.1:0", e.brokers)
	b, err := os.ReadFile(agentCfg)
	if err != nil {
		t.Fatal(err)
	}
	withFormat := strings.Replace(string(b), "start: beginning}", "start: beginning, format: nginx_combined}", 1)
	if withFormat == string(b) {
		t.Fatalf("the agent config has no entry to give a format: %s", b)
	}
	e2etest.WriteFile(t, agentCfg, withFormat)
	started := time.Now()
	agent := e2etest.Start(t, "", "agent", "--config", agentCfg)
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]", e.osURL, e2etest.FreeAddr(t), "")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)

	await.Until(t, 90*time.Second, "N documents in OpenSearch", func() bool { return e.count() >= n })
	agent.Stop()
	tr.Stop()
	if got := e.count(); got != n {
		t.Fatalf("%d documents, want exactly %d", got, n)
	}

	// Documents per daily index, exact.
	code, body := e.osDo(http.MethodGet, "/_cat/indices/"+e.name+"-*?format=json&h=index,docs.count", nil)
	if code != http.StatusOK {
		t.Fatalf("_cat/indices: HTTP %d: %s", code, body)
	}
	var cat []struct {
		Index string `json:"index"`
		Count string `json:"docs.count"`
	}
	if err := json.Unmarshal(body, &cat); err != nil {
		t.Fatalf("decode _cat/indices: %v: %s", err, body)
	}
	got := map[string]int{}
	for _, c := range cat {
		var k int
		fmt.Sscan(c.Count, &k)
		got[c.Index] = k
	}
	if len(got) != len(perIndex) || len(perIndex) != 30 {
		t.Errorf("%d indices, want %d (one a day): %v", len(got), len(perIndex), got)
	}
	for idx, want := range perIndex {
		if got[idx] != want {
			t.Errorf("index %s holds %d documents, want %d", idx, got[idx], want)
		}
	}

	// Each document: @timestamp the line's time, read_time when read, fields parsed by the
	// format header, in the index of its day.
	hits := e.search(map[string]any{"match_all": map[string]any{}}, n)
	if len(hits) != n {
		t.Fatalf("search returned %d hits, want %d", len(hits), n)
	}
	byOffset := map[int64]hit{}
	for _, h := range hits {
		byOffset[int64(h.Source["offset"].(float64))] = h
	}
	for i := range n {
		h, ok := byOffset[offsets[i]]
		if !ok {
			t.Fatalf("no document for line %d (offset %d)", i, offsets[i])
		}
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(h.Source["@timestamp"]))
		if err != nil || !ts.Equal(wantTime[i]) {
			t.Fatalf("line %d: @timestamp %v, want %v", i, h.Source["@timestamp"], wantTime[i].Format(time.RFC3339))
		}
		rt, err := time.Parse(time.RFC3339Nano, fmt.Sprint(h.Source["read_time"]))
		if err != nil || rt.Before(started.Add(-time.Second)) || rt.After(time.Now()) {
			t.Fatalf("line %d: read_time %v is not when the agent read it", i, h.Source["read_time"])
		}
		// The agent's records are compact (kafka.headers): host and path come from the key.
		if h.Source["host"] != "evtime-agent" || h.Source["path"] != logPath {
			t.Fatalf("line %d: host %v path %v, want evtime-agent %s", i, h.Source["host"], h.Source["path"], logPath)
		}
		if want := e.name + "-" + topic + "-" + wantTime[i].Format("2006.01.02"); h.Index != want {
			t.Fatalf("line %d in index %s, want %s", i, h.Index, want)
		}
		if h.Source["status"] != float64(200) || h.Source["url"] != fmt.Sprintf("/item/%d", i) {
			t.Fatalf("line %d: fields not parsed by the format header: %v", i, h.Source)
		}
	}
}
