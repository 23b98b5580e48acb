//go:build integration

package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// fileLine is line i of the agent test's file: ASCII, multi-byte UTF-8, and one line
// that is not UTF-8 at all.
func fileLine(i int) []byte {
	switch {
	case i == 777:
		return []byte(fmt.Sprintf("bad \xff\xfe bytes %d", i))
	case i%10 == 3:
		return []byte(fmt.Sprintf("héllo wörld 日本語 ünïcode line %d", i))
	}
	return []byte(fmt.Sprintf("plain ascii line %d word%d with \"quotes\" and \\ backslash\ttab", i, i))
}

// N lines written to a file, shipped by the real agent, transferred by the real transfer:
// exactly N documents, each field right, a word search finds its line, and the transfer
// is listed in etcd with its role.
func TestAgentToOpenSearch(t *testing.T) {
	e := newEnv(t, "e2e")
	etcd := testenv.EtcdEndpoints(t)
	topic := e.name
	e.createTopic(topic, 3)
	const n = 5000

	logPath := filepath.Join(e.dir, "app.log")
	var file bytes.Buffer
	offsets := make([]int64, n)
	for i := range n {
		offsets[i] = int64(file.Len())
		file.Write(fileLine(i))
		file.WriteByte('\n')
	}
	if err := os.WriteFile(logPath, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	agentDir := filepath.Join(e.dir, "agent")
	if err := os.Mkdir(agentDir, 0o755); err != nil {
		t.Fatal(err)
	}
	agentCfg := e2etest.KafkaAgentConfig(t, agentDir, "t8-agent", logPath, topic, "127.0.0.1:0", e.brokers)
	agent := e2etest.Start(t, "", "agent", "--config", agentCfg)

	listen := e2etest.FreeAddr(t)
	e.etcd = "[" + etcd[0] + "]"
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]", e.osURL, listen, "")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)

	await.Until(t, 90*time.Second, "N documents in OpenSearch", func() bool { return e.count() >= n })

	// Listed in etcd as a live component with its role, group and topics.
	out, err := exec.Command(testenv.Binary(t), "ctl", "--endpoints", etcd[0], "agents", "--json").Output()
	if err != nil {
		t.Fatalf("ctl agents: %v", err)
	}
	var agents []map[string]any
	if err := json.Unmarshal(out, &agents); err != nil {
		t.Fatalf("ctl agents --json: %v: %s", err, out)
	}
	found := false
	for _, a := range agents {
		if a["role"] == "transfer" && a["group"] == e.name {
			found = true
		}
	}
	if !found {
		t.Errorf("ctl agents lists no transfer of group %s: %s", e.name, out)
	}

	agent.Stop()
	tr.Stop()
	if got := e.count(); got != n {
		t.Fatalf("%d documents, want exactly %d", got, n)
	}
	if c := e.committed(e.name, topic); c != n {
		t.Errorf("committed offsets add up to %d after SIGTERM, want %d", c, n)
	}

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
		src := h.Source
		want := string(fileLine(i))
		if i == 777 {
			want = strings.ToValidUTF8(want, "\uFFFD")
			if src["invalid_utf8"] != true {
				t.Errorf("line 777 is not UTF-8 but invalid_utf8 is %v", src["invalid_utf8"])
			}
		}
		if src["message"] != want {
			t.Fatalf("line %d: message %q, want %q", i, src["message"], want)
		}
		if src["host"] != "t8-agent" || src["path"] != logPath || src["topic"] != topic || src["file_id"] == "" {
			t.Fatalf("line %d: host %v path %v topic %v file_id %v", i, src["host"], src["path"], src["topic"], src["file_id"])
		}
		if _, err := time.Parse(time.RFC3339Nano, src["@timestamp"].(string)); err != nil {
			t.Fatalf("line %d: @timestamp %v: %v", i, src["@timestamp"], err)
		}
		if !strings.HasPrefix(h.Index, e.name+"-"+topic+"-") {
			t.Fatalf("line %d in index %s", i, h.Index)
		}
	}

	// Full-text search: a word of one line finds exactly that line.
	words := e.search(map[string]any{"match": map[string]any{"message": "word4242"}}, 10)
	if len(words) != 1 || words[0].Source["message"] != string(fileLine(4242)) {
		t.Errorf("search for word4242: %d hits %v", len(words), words)
	}
	unicode := e.search(map[string]any{"match_phrase": map[string]any{"message": "wörld 日本語 ünïcode line 4243"}}, 10)
	if len(unicode) != 1 {
		t.Errorf("phrase search for a UTF-8 line: %d hits", len(unicode))
	}
	// The template mapped the fields as documented.
	code, body := e.osDo(http.MethodGet, "/"+e.name+"-*/_mapping", nil)
	if code != http.StatusOK || !bytes.Contains(body, []byte(`"host":{"type":"keyword"}`)) ||
		!bytes.Contains(body, []byte(`"message":{"type":"text","analyzer":"logcollect_words"}`)) || !bytes.Contains(body, []byte(`"offset":{"type":"long"}`)) {
		t.Errorf("mapping is not the template's: %s", body)
	}
}

// SIGKILL and restart three times, 1.5 s apart, while records arrive at a steady
// ~8,000/s (30,000-50,000 in all): static membership gives each restarted instance its partitions back at
// once, so every record is indexed within 15 s of the writer finishing — exactly once.
func TestSIGKILLThreeTimes(t *testing.T) {
	e := newEnv(t, "kill")
	topic := e.name
	e.createTopic(topic, 3)
	cfg := e.transferConfig("transfer.yaml", "topics: ["+topic+"]", e.osURL, "127.0.0.1:0", "")
	tr := e2etest.Start(t, "", "transfer", "--config", cfg)
	tr.WaitLog("partitions assigned", 1, 60*time.Second)

	s := newProducer(t, e.brokers).stream(topic, 400, 50*time.Millisecond)
	await.Until(t, 60*time.Second, "the first documents", func() bool { return e.count() > 0 })
	// The kills are the scenario's schedule (a crash-looping transfer), not a wait for
	// anything: each restarted instance is killed 1.5 s after its start.
	const apart = 1500 * time.Millisecond
	for k := 1; k <= 3; k++ {
		tr.Kill()
		tr = e2etest.Start(t, "", "transfer", "--config", cfg)
		time.Sleep(apart)
		t.Logf("kill %d: %d documents, committed %d", k, e.count(), e.committed(e.name, topic))
	}
	n := int64(s.stop())
	finished := time.Now()
	if got := e.awaitCount(n, finished.Add(15*time.Second)); got < n {
		t.Fatalf("%d of %d records indexed 15 s after the writer finished", got, n)
	}
	t.Logf("%d records: all indexed %s after the writer finished", n, time.Since(finished).Round(100*time.Millisecond))
	await.Until(t, 30*time.Second, "every record committed", func() bool { return e.committed(e.name, topic) == n })
	tr.Stop()
	if got := e.count(); got != n {
		t.Fatalf("%d documents after 3 SIGKILLs, want exactly %d", got, n)
	}
}

// appendKeys adds lines under a top-level section of a config file.
func appendKeys(t *testing.T, path, section, lines string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), section+":\n", section+":\n"+lines, 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
