package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// plainHit is hit without its MarshalJSON: what encoding/json writes for it.
type plainHit hit

func decodeAny(t testing.TB, b []byte) any {
	t.Helper()
	if !json.Valid(b) || !utf8.Valid(b) {
		t.Fatalf("not valid JSON in UTF-8: %q", b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSearchJSON: the hand-written answer of /api/search decodes to what encoding/json's
// encoding of the same answer decodes to.
func TestSearchJSON(t *testing.T) {
	total, est := int64(12), true
	strs := []string{"", "plain", `q"uote\back`, "ctl\x00\x01\x1f\n\r\t\b\f", "bad\xffutf8\xc3", "ls\u2028ps\u2029",
		"<tag>&amp;", "café 😀", "\x7f"}
	resp := searchResp{Cursor: `c"1`, Total: &total, TotalEstimated: &est, StepMS: 60000, TookMS: 3,
		Buckets: []bucket{{Time: "2026-12-02T00:00:00Z", Count: 5}, {Time: "2026-12-02T00:01:00Z", Count: 0}}}
	for i, s := range strs {
		resp.Hits = append(resp.Hits, hit{Time: s, ReadTime: strs[(i+1)%len(strs)], Host: s, Path: s, Topic: s, Offset: int64(i) - 1,
			FileID: s, Message: s + s, Fields: map[string]string{s: s, "z" + s: "", "a": s}, Highlight: [][2]int{{0, i}, {i, 2 * i}}, ID: s})
	}
	resp.Hits = append(resp.Hits, hit{Fields: map[string]string{}, Highlight: [][2]int{}}, hit{})
	// The answer's own struct with its hits as encoding/json writes them: the outer
	// "hits" hides the embedded one (and hit.MarshalJSON, the code under test).
	want, err := json.Marshal(struct {
		searchResp
		Hits []plainHit `json:"hits"`
	}{resp, plainHits(resp.Hits)})
	if err != nil {
		t.Fatal(err)
	}
	if got, w := decodeAny(t, appendSearch(nil, &resp)), decodeAny(t, want); !reflect.DeepEqual(got, w) {
		t.Errorf("appendSearch:\n%s\nencoding/json:\n%s", appendSearch(nil, &resp), want)
	}
	empty := searchResp{Hits: []hit{}}
	if got, w := string(appendSearch(nil, &empty)), `{"hits":[],"cursor":"","took_ms":0}`+"\n"; got != w {
		t.Errorf("empty answer %q, want %q", got, w)
	}
	for _, h := range resp.Hits {
		b, err := json.Marshal(h) // MarshalJSON, as context and tail write hits
		if err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(plainHit(h))
		if !reflect.DeepEqual(decodeAny(t, b), decodeAny(t, w)) {
			t.Errorf("hit %s, encoding/json %s", b, w)
		}
	}
}

func plainHits(hs []hit) []plainHit {
	out := make([]plainHit, len(hs))
	for i, h := range hs {
		out[i] = plainHit(h)
	}
	return out
}
