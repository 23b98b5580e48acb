package document

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
)

func agentRecord(value string, hdrs ...string) *kgo.Record {
	r := &kgo.Record{Topic: "web_log", Partition: 2, Offset: 77, Value: []byte(value),
		Timestamp: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)}
	for i := 0; i+1 < len(hdrs); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: hdrs[i], Value: []byte(hdrs[i+1])})
	}
	return r
}

var fullHeaders = []string{"host", "h1", "path", "/var/log/a.log", "offset", "1234", "file_id", "8:99",
	"ts", "2026-12-01T08:00:00.123456789Z", "f.service", "checkout"}

func decode(t *testing.T, d Document) map[string]any {
	t.Helper()
	b := d.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return m
}

func TestBuildAgentRecord(t *testing.T) {
	b, _ := NewBuilder(nil)
	d := b.Build(agentRecord(`a "quoted" line	with tab`, fullHeaders...))
	m := decode(t, d)
	want := map[string]any{"@timestamp": "2026-12-01T08:00:00.123456789Z", "read_time": "2026-12-01T08:00:00.123456789Z", "message": "a \"quoted\" line\twith tab",
		"host": "h1", "path": "/var/log/a.log", "file_id": "8:99", "offset": float64(1234), "topic": "web_log",
		"fields": map[string]any{"service": "checkout"}, "kafka": map[string]any{"partition": float64(2), "offset": float64(77)}}
	if len(m) != len(want) {
		t.Errorf("document %v, want %v", m, want)
	}
	wantFields(t, m, want)
	if d.ID != FileIdentityID("h1", "8:99", 1234) {
		t.Errorf("_id %s is not the file identity id", d.ID)
	}
	// Redelivered at another Kafka offset (a retried produce): the same _id.
	r2 := agentRecord(`a "quoted" line	with tab`, fullHeaders...)
	r2.Offset = 900
	if b.Build(r2).ID != d.ID {
		t.Error("the same line at another Kafka offset got another _id")
	}
	other := b.Build(agentRecord("x", "host", "h1", "path", "/var/log/a.log", "offset", "1235", "file_id", "8:99"))
	if other.ID == d.ID || len(d.ID) != 22 {
		t.Errorf("ids %q %q", d.ID, other.ID)
	}
}

// A compact record (kafka.headers compact) has its host and path in its key and its read
// time in its timestamp: the same document, and the same _id, as the full record.
func TestBuildCompactAgentRecord(t *testing.T) {
	b, _ := NewBuilder(nil)
	full := b.Build(agentRecord("a line", fullHeaders...))
	r := agentRecord("a line", "offset", "1234", "file_id", "8:99", "f.service", "checkout")
	r.Key = []byte("h1:/var/log/a.log")
	r.Timestamp = time.Date(2026, 12, 1, 8, 0, 0, 123000000, time.Local)
	buildsAs(t, b, r, full.ID, map[string]any{"host": "h1", "path": "/var/log/a.log", "offset": float64(1234),
		"@timestamp": "2026-12-01T08:00:00.123Z", "read_time": "2026-12-01T08:00:00.123Z"})
	// A path may hold ':'; the agent id never does.
	r.Key = []byte("h1:/var/log/a:b.log")
	if d := b.Build(r); d.Host != "h1" || d.Path != "/var/log/a:b.log" {
		t.Errorf("key %q: host %q path %q", r.Key, d.Host, d.Path)
	}
}

// A compact record of agents since the lc header (kafka.HeaderMeta) carries its offset,
// file identity and event time in that one binary header: the same document, and the
// same _id, as the text headers give. An lc header this version cannot read leaves the
// record without them, indexed under its Kafka coordinates.
func TestBuildMetaAgentRecord(t *testing.T) {
	b, _ := NewBuilder(nil)
	full := b.Build(agentRecord("a line", append(append([]string{}, fullHeaders...), "time", "2026-03-09T07:15:30.5Z")...))
	at := time.Date(2026, 3, 9, 7, 15, 30, 500_000_000, time.UTC)
	meta := kafka.AppendMeta(nil, 1234, kafka.AppendFileID(nil, "8:99"), at)
	r := agentRecord("a line", "f.service", "checkout")
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: kafka.HeaderMeta, Value: meta})
	r.Key = []byte("h1:/var/log/a.log")
	r.Timestamp = time.Date(2026, 12, 1, 8, 0, 0, 123000000, time.UTC)
	buildsAs(t, b, r, full.ID, map[string]any{"host": "h1", "path": "/var/log/a.log", "offset": float64(1234), "file_id": "8:99",
		"@timestamp": "2026-03-09T07:15:30.5Z", "read_time": "2026-12-01T08:00:00.123Z",
		"fields": map[string]any{"service": "checkout"}})

	r.Headers[len(r.Headers)-1].Value = meta[:len(meta)-1]
	if d := b.Build(r); d.ID != RecordID("web_log", 2, 77) || d.Offset != -1 || d.FileID != "" || !d.Time.Equal(r.Timestamp) {
		t.Errorf("a cut lc header: _id %s offset %d file id %q time %s", d.ID, d.Offset, d.FileID, d.Time)
	}
}

// Another producer's key is not read as a host and path: only an agent's record (one
// with a file_id header) is.
func TestBuildForeignKeyedRecord(t *testing.T) {
	b, _ := NewBuilder(nil)
	r := agentRecord("from another producer", "offset", "5")
	r.Key = []byte("user:42")
	d := b.Build(r)
	if d.Host != "" || d.Path != "" || !d.ReadTime.IsZero() || d.ID != RecordID("web_log", 2, 77) {
		t.Errorf("host %q path %q read time %s _id %s", d.Host, d.Path, d.ReadTime, d.ID)
	}
}

// buildsAs checks that r builds into a document with the _id id and the fields of want.
func buildsAs(t *testing.T, b *Builder, r *kgo.Record, id string, want map[string]any) {
	t.Helper()
	d := b.Build(r)
	if d.ID != id {
		t.Errorf("_id %s, want %s", d.ID, id)
	}
	wantFields(t, decode(t, d), want)
}

// wantFields checks that each field of want is in the decoded document m, as JSON.
func wantFields(t *testing.T, m, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got, _ := json.Marshal(m[k]); string(got) != mustJSON(v) {
			t.Errorf("%s = %s, want %s", k, got, mustJSON(v))
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBuildForeignRecord(t *testing.T) {
	b, _ := NewBuilder(nil)
	d := b.Build(agentRecord("from another producer", "offset", "notanumber"))
	m := decode(t, d)
	if d.ID != RecordID("web_log", 2, 77) {
		t.Errorf("_id of a record without file headers: %s", d.ID)
	}
	if _, ok := m["offset"]; ok || m["host"] != nil {
		t.Errorf("absent headers should be left out: %v", m)
	}
	if m["@timestamp"] != "2026-12-01T07:00:00Z" {
		t.Errorf("@timestamp %v, want the record timestamp", m["@timestamp"])
	}
}

func TestBuildInvalidUTF8(t *testing.T) {
	b, _ := NewBuilder(nil)
	d := b.Build(agentRecord("bad \xff\xfe end\x01", fullHeaders...))
	m := decode(t, d)
	if m["message"] != "bad \uFFFD end\x01" || m["invalid_utf8"] != true {
		t.Errorf("message %q invalid_utf8 %v", m["message"], m["invalid_utf8"])
	}
}

func TestBuildParsed(t *testing.T) {
	b, err := NewBuilder([]config.ParseRule{{Topic: "web_*", Format: "json", TimeField: "time"}})
	if err != nil {
		t.Fatal(err)
	}
	d := b.Build(agentRecord(`{"time":"2026-11-30T10:00:00Z","message":"inner","status":200,"nested":{"a":[1]}}`, fullHeaders...))
	m := decode(t, d)
	if m["@timestamp"] != "2026-11-30T10:00:00Z" {
		t.Errorf("@timestamp %v, want the parsed time", m["@timestamp"])
	}
	if m["parsed_message"] != "inner" || m["status"] != float64(200) || mustJSON(m["nested"]) != `{"a":[1]}` {
		t.Errorf("parsed fields: %v", m)
	}
	if !strings.HasPrefix(m["message"].(string), `{"time"`) {
		t.Errorf("message must stay the whole line: %v", m["message"])
	}
	bad := b.Build(agentRecord("not json", fullHeaders...))
	if mb := decode(t, bad); mb["parse_error"] != true || mb["message"] != "not json" {
		t.Errorf("a bad line: %v", mb)
	}
	// A topic without a rule is not parsed.
	r := agentRecord(`{"a":1}`, fullHeaders...)
	r.Topic = "app_log"
	if d := b.Build(r); d.Parsed != nil || d.ParseError {
		t.Errorf("app_log was parsed: %+v", d)
	}
}

// The event time is the time header; the read time stays as read_time; the format header
// parses fields when no transfer.parse rule matches; a rule's time_field overrides.
func TestBuildEventTimeAndFormat(t *testing.T) {
	b, err := NewBuilder([]config.ParseRule{{Topic: "ruled", Format: "logfmt", TimeField: "at"}})
	if err != nil {
		t.Fatal(err)
	}
	line := `10.0.0.1 - - [09/Mar/2026:08:15:30 +0100] "GET /a HTTP/1.1" 404 12 "-" "curl/8"`
	hdrs := append(append([]string{}, fullHeaders...), "time", "2026-03-09T07:15:30Z", "format", "nginx_combined")
	m := decode(t, b.Build(agentRecord(line, hdrs...)))
	if m["@timestamp"] != "2026-03-09T07:15:30Z" || m["read_time"] != "2026-12-01T08:00:00.123456789Z" {
		t.Errorf("@timestamp %v read_time %v", m["@timestamp"], m["read_time"])
	}
	if m["status"] != float64(404) || m["url"] != "/a" || m["parse_error"] != nil {
		t.Errorf("fields of the format header: %v", m)
	}

	// A format without fields here (cri: the envelope is gone) and an unknown one: not parsed.
	for _, f := range []string{"cri", "plain", "from_the_future"} {
		d := b.Build(agentRecord(`{"a":1}`, "format", f))
		if d.Parsed != nil || d.ParseError {
			t.Errorf("format %s: parsed %v error %v", f, d.Parsed, d.ParseError)
		}
	}

	// A rule wins over the header, its time field over the time header.
	r := agentRecord(`at=2026-01-02T03:04:05Z level=warn`, append(hdrs[:len(hdrs):len(hdrs)], "format", "json")...)
	r.Topic = "ruled"
	m = decode(t, b.Build(r))
	if m["@timestamp"] != "2026-01-02T03:04:05Z" || m["level"] != "warn" {
		t.Errorf("rule: %v", m)
	}

	// A malformed time header: the read time.
	d := b.Build(agentRecord("x", "ts", "2026-12-01T08:00:00Z", "time", "yesterday"))
	if !d.Time.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("@timestamp %v, want the read time", d.Time)
	}
}

func BenchmarkBuildAndEncode(b *testing.B) {
	bl, _ := NewBuilder(nil)
	r := agentRecord(`127.0.0.1 - - [01/Dec/2026:09:00:00 +0000] "GET /item/1 HTTP/1.1" 200 512 "-" "curl/8"`, fullHeaders...)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		d := bl.Build(r)
		buf = d.AppendJSON(buf[:0])
	}
}
