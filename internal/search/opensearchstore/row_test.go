package opensearchstore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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
			var src source
			dec := json.NewDecoder(strings.NewReader(tc.doc))
			dec.UseNumber()
			if err := dec.Decode(&src); err != nil {
				t.Fatal(err)
			}
			r := row(src, nil)
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
