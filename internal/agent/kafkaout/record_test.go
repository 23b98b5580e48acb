package kafkaout

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

// batchSizes sizes a batch's slices as build fills them, so that no record's headers or
// values move to a second allocation, in both kafka.headers modes.
func TestBatchSizesMatchBuild(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) { checkBatchSizes(t, full) })
	}
}

func checkBatchSizes(t *testing.T, full bool) {
	readAt := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	fields := map[string]string{"service": "checkout", "team": "payments"}
	sameFields := map[string]string{"service": "checkout", "team": "payments"}
	evs := []pipeline.Event{
		{Topic: "t", Host: "h", Path: "/a.log", FileID: "8:1", Offset: 0, End: 10, Time: readAt, ReadTime: readAt, Line: []byte("line one")},
		{Topic: "t", Host: "h", Path: "/a.log", FileID: "8:1", Offset: 10, End: 20, Time: readAt, ReadTime: readAt, Line: []byte("line two")},
		{Topic: "t", Host: "h", Path: "/a.log", FileID: "8:1", Offset: 1 << 40, End: 1<<40 + 5, Time: readAt.Add(-time.Hour),
			ReadTime: readAt.Add(time.Millisecond), Format: "json", Fields: fields, Line: []byte(`{"a":1}`)},
		{Topic: "t", Host: "h", Path: "/a.log", FileID: "8:1", Offset: 1<<40 + 5, End: 1<<40 + 9, Time: readAt.Add(-time.Minute),
			ReadTime: readAt.Add(time.Millisecond), Format: "json", Fields: sameFields, Line: []byte(`{}`)},
		{Topic: "u", Host: "h", Path: "/b.log", FileID: "8:2", Offset: 0, End: 1, Time: readAt, Line: nil},
	}
	z := batchSizes{full: full}
	for i := range evs {
		var prev *pipeline.Event
		if i > 0 {
			prev = &evs[i-1]
		}
		z.add(&evs[i], prev)
	}
	s := &Sink{}
	b := s.getBatch(len(evs), z)
	scratch, hdrs, arena := &b.scratch[:1][0], &b.hdrs[:1][0], &b.arena[:1][0]
	for i := range evs {
		m := b.build(i, &evs[i])
		if got := recOf(&m.r); got != m {
			t.Fatalf("record %d: recOf gives another rec", i)
		}
	}
	if len(b.hdrs) != z.hdrs || &b.hdrs[:1][0] != hdrs {
		t.Errorf("headers: %d built, sized %d, replaced: %v", len(b.hdrs), z.hdrs, &b.hdrs[:1][0] != hdrs)
	}
	if len(b.arena) != z.arena || &b.arena[:1][0] != arena {
		t.Errorf("arena: %d bytes built, sized %d, replaced: %v", len(b.arena), z.arena, &b.arena[:1][0] != arena)
	}
	if len(b.scratch) > z.scratch || &b.scratch[:1][0] != scratch {
		t.Errorf("scratch: %d bytes used, sized %d, replaced: %v", len(b.scratch), z.scratch, &b.scratch[:1][0] != scratch)
	}
	f := 2 // the first field header, after lc and format
	if full {
		f = fullHeaders + 2 // after time and format
	}
	if !strings.HasPrefix(b.recs[2].r.Headers[f].Key, hdrFieldPrefix) {
		t.Fatalf("header %d of record 2 is %q, not a field", f, b.recs[2].r.Headers[f].Key)
	}
	if &b.recs[2].r.Headers[f] == &b.recs[3].r.Headers[f] || string(b.recs[3].r.Headers[f].Value) != string(b.recs[2].r.Headers[f].Value) {
		t.Errorf("field headers of equal field maps differ")
	}
	if &b.recs[2].r.Headers[f].Value[0] != &b.recs[3].r.Headers[f].Value[0] {
		t.Errorf("field header values of equal field maps are copied per record, not shared")
	}
}
