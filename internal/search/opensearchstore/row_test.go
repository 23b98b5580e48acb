package opensearchstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRowTimes(t *testing.T) {
	for _, tc := range []struct {
		name, doc      string
		time, readTime string // RFC 3339; "" for zero
	}{
		{"event and read time", `{"@timestamp":"2026-12-01T08:00:03Z","read_time":"2026-12-02T21:40:34.003+01:00","message":"m"}`,
			"2026-12-01T08:00:03Z", "2026-12-02T20:40:34.003Z"},
		{"no read_time", `{"@timestamp":"2026-12-01T08:00:03.5Z","message":"m"}`, "2026-12-01T08:00:03.5Z", ""},
		{"read_time not a time", `{"@timestamp":"2026-12-01T08:00:03Z","read_time":"soon","message":"m"}`, "2026-12-01T08:00:03Z", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := row(source(tc.doc), nil)
			if got := format(r.Time); got != tc.time {
				t.Errorf("Time = %q, want %q", got, tc.time)
			}
			if got := format(r.ReadTime); got != tc.readTime {
				t.Errorf("ReadTime = %q, want %q", got, tc.readTime)
			}
			if _, ok := r.Fields["read_time"]; ok {
				t.Errorf("read_time listed as a parsed field: %v", r.Fields)
			}
		})
	}
}

func format(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// TestRowFields: a document's members as the store shows them — escapes undone, numbers
// and booleans as written, null empty, an object as its JSON text — the entry's fields
// (fields.*) over parsed ones of the same name, the document's own keys not fields.
func TestRowFields(t *testing.T) {
	doc := `{ "@timestamp" : "2026-12-01T08:00:03Z", "message":"GET \"/a\\b\" caf\u00e9 \ud83d\ude00\n",
		"host":"h1","path":"/var/log/x.log","file_id":"1:2","offset":  1500 ,"topic":"web","kafka":{"partition":1,"offset":7},
		"status":404, "ok":true, "gone":null, "ua":"Mozilla \/5.0", "tags":["a","}"], "obj":{"k":"{[\""},
		"sev":"parsed", "fields":{"sev":"entry","team":"ops"}, "parse_error":"x", "read_time":"2026-12-01T08:00:04Z"}`
	r := row(source(doc), nil)
	if want := "GET \"/a\\b\" café 😀\n"; r.Message != want {
		t.Errorf("Message = %q, want %q", r.Message, want)
	}
	if r.Host != "h1" || r.Path != "/var/log/x.log" || r.FileID != "1:2" || r.Topic != "web" || r.Offset != 1500 {
		t.Errorf("row = %+v", r)
	}
	if r.End != 1500+int64(len(r.Message))+1 {
		t.Errorf("End = %d", r.End)
	}
	want := map[string]string{"status": "404", "ok": "true", "gone": "", "ua": "Mozilla /5.0", "tags": `["a","}"]`,
		"obj": `{"k":"{[\""}`, "sev": "entry", "team": "ops"}
	if len(r.Fields) != len(want) {
		t.Errorf("Fields = %q, want %q", r.Fields, want)
	}
	for k, v := range want {
		if got, ok := r.Fields[k]; !ok || got != v {
			t.Errorf("Fields[%s] = %q, want %q", k, got, v)
		}
	}
}

// FuzzSource: for any JSON object, the walk over its raw text finds the members
// encoding/json decodes, with the same values; for any array, the scanner its elements.
func FuzzSource(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":"\u00e9\ud83d\ude00\ud800x","b":[1,{"c":"]"}],"d":null}`,
		` { "a" : -1.5e3 , "a" : true }`, `{"\"k":"\\\/\b\f\n\r\t"}`, `{"a":{"b":{"c":[[],{}]}}}`} {
		f.Add([]byte(s))
	}
	f.Add([]byte(` [ 1 , "]" , [ ] , {"a":[2]} ,null]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		// OpenSearch answers in valid UTF-8; encoding/json would replace invalid bytes.
		if !json.Valid(doc) || !utf8.Valid(doc) || dec.Decode(&v) != nil {
			return
		}
		if arr, ok := v.([]any); ok {
			var got []any
			sc := scanner{b: doc}
			sc.array(func() {
				e := sc.value()
				var x any
				d := json.NewDecoder(bytes.NewReader(e))
				d.UseNumber()
				if err := d.Decode(&x); err != nil {
					t.Fatalf("element %s: %v", e, err)
				}
				got = append(got, x)
			})
			if len(got) != len(arr) || (len(arr) > 0 && !reflect.DeepEqual(got, arr)) {
				t.Fatalf("elements %v, encoding/json %v", got, arr)
			}
			return
		}
		want, ok := v.(map[string]any)
		if !ok {
			return
		}
		got := map[string]string{}
		members(doc, func(k, v []byte) { got[unescape(k)] = valueText(v) })
		if len(got) != len(want) {
			t.Fatalf("%d members, encoding/json %d: %q vs %v", len(got), len(want), got, want)
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Fatalf("member %q not found: %q", k, got)
			}
			switch w := w.(type) {
			case map[string]any, []any:
				var v any
				d := json.NewDecoder(strings.NewReader(g))
				d.UseNumber()
				if err := d.Decode(&v); err != nil || !reflect.DeepEqual(v, w) {
					t.Fatalf("member %q = %s, encoding/json %v (%v)", k, g, w, err)
				}
			default:
				if s := scalar(w); g != s {
					t.Fatalf("member %q = %q, encoding/json %q", k, g, s)
				}
			}
		}
	})
}

// TestReadAnswer: a search answer read by walking it holds what encoding/json decodes
// from it.
func TestReadAnswer(t *testing.T) {
	answer := []byte(strings.Replace(string(pageAnswer(3)), `{"took":3,"hits":{`,
		`{"took":3,"hits":{"total":{"value":3,"relation":"eq"},`, 1))
	var got, want hitsResp
	if err := got.read(answer); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(answer, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(got.Hits.Hits) != 3 || got.Hits.Total.Value != 3 || len(got.Aggregations["h"]) == 0 {
		t.Errorf("read:\n%+v\nencoding/json:\n%+v", got, want)
	}
	if err := got.read([]byte(`{"hits":`)); err == nil {
		t.Error("a cut answer read without an error")
	}
}

// FuzzReadAnswer: on any bytes, reading an answer ends without a panic; on an answer
// encoding/json decodes, it finds the same hits, total and aggregations.
func FuzzReadAnswer(f *testing.F) {
	f.Add(pageAnswer(2))
	for _, s := range []string{`{"hits":{"total":{"value":1,"relation":"eq"},"hits":[{"_source":{"a":1},"sort":[1,2]}]}}`,
		`{"hits":{"hits":[{"_source":{"message":"\"x\\"}}]}, "aggregations":{"h":{"buckets":[]}}}`,
		`{"aggregations":{"h":{"buckets":[{"key":1,"doc_count":2},{"key_as_string":"x","key":3,"doc_count":4}]}}}`,
		`{"aggregations":null}`, `{"aggregations":{}}`, `{"hits"`, `{"a"  `, `{"hits":{"hits":[}]}}`, `[{"hits":1}]`, `{"hits":{"hits":[1,,2]}}`, `{"\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got hitsResp
		err := got.read(b)
		for _, h := range got.Hits.Hits {
			_ = row(h.Source, map[string]string{})
		}
		// encoding/json matches keys whatever their case (OpenSearch writes them in lower
		// case; the walk matches them exactly): compared only without upper case.
		var want hitsResp
		if !utf8.Valid(b) || !bytes.Equal(bytes.ToLower(b), b) || json.Unmarshal(b, &want) != nil {
			return
		}
		if err != nil {
			t.Fatalf("encoding/json reads %q, read: %v", b, err)
		}
		if len(got.Hits.Hits) != len(want.Hits.Hits) || got.Hits.Total != want.Hits.Total ||
			!reflect.DeepEqual(got.Aggregations, want.Aggregations) {
			t.Fatalf("read %+v, encoding/json %+v", got, want)
		}
		for i, h := range got.Hits.Hits {
			if !bytes.Equal(h.Source, want.Hits.Hits[i].Source) {
				t.Fatalf("hit %d: _source %s, encoding/json %s", i, h.Source, want.Hits.Hits[i].Source)
			}
		}
		var h struct {
			Buckets []struct {
				Key      int64 `json:"key"`
				DocCount int64 `json:"doc_count"`
			} `json:"buckets"`
		}
		if raw, ok := want.Aggregations["h"]; ok && json.Unmarshal(raw, &h) == nil {
			keys, counts, err := histogramCounts(got.Aggregations["h"])
			if err != nil || len(keys) != len(h.Buckets) {
				t.Fatalf("histogram %v %v (%v), encoding/json %+v", keys, counts, err, h.Buckets)
			}
			for i, b := range h.Buckets {
				if keys[i] != b.Key || counts[i] != b.DocCount {
					t.Fatalf("bucket %d: %d %d, encoding/json %+v", i, keys[i], counts[i], b)
				}
			}
		}
	})
}
