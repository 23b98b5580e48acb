package kafkaout

import (
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

// batchSizes sizes a batch's slices as build fills them, so that no record's headers or
// values move to a second allocation.
func TestBatchSizesMatchBuild(t *testing.T) {
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
	var z batchSizes
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
	if &b.recs[2].r.Headers[7] == &b.recs[3].r.Headers[7] || string(b.recs[3].r.Headers[7].Value) != string(b.recs[2].r.Headers[7].Value) {
		t.Errorf("field headers of equal field maps differ")
	}
	if &b.recs[2].r.Headers[7].Value[0] != &b.recs[3].r.Headers[7].Value[0] {
		t.Errorf("field header values of equal field maps are copied per record, not shared")
	}
}

// Consecutive records with the same event time share its formatted header, and the
// budget counts it once; a record without the header in between ends the sharing.
func TestEventTimeSharedByConsecutiveRecords(t *testing.T) {
	readAt := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := time.Date(2026, 12, 2, 9, 59, 58, 0, time.UTC)
	ev := func(off int64, evTime time.Time) pipeline.Event {
		return pipeline.Event{Topic: "t", Host: "h", Path: "/a.log", FileID: "8:1", Offset: off, End: off + 1,
			Time: evTime, ReadTime: readAt, Line: []byte("x")}
	}
	evs := []pipeline.Event{ev(0, at), ev(1, at), ev(2, at), ev(3, readAt), ev(4, at), ev(5, at.Add(time.Second))}
	var z batchSizes
	costs := make([]int64, len(evs))
	for i := range evs {
		var prev *pipeline.Event
		if i > 0 {
			prev = &evs[i-1]
		}
		costs[i] = z.add(&evs[i], prev)
	}
	s := &Sink{}
	b := s.getBatch(len(evs), z)
	for i := range evs {
		b.build(i, &evs[i])
	}
	if len(b.scratch) > z.scratch {
		t.Errorf("scratch: %d bytes used, %d counted", len(b.scratch), z.scratch)
	}
	timeOf := func(i int) []byte {
		for _, h := range b.recs[i].r.Headers {
			if h.Key == hdrTime {
				return h.Value
			}
		}
		return nil
	}
	for i, e := range evs {
		got, want := string(timeOf(i)), e.Time.Format(time.RFC3339Nano)
		if e.Time.Equal(readAt) {
			want = ""
		}
		if got != want {
			t.Errorf("record %d: time header %q, want %q", i, got, want)
		}
	}
	if &timeOf(0)[0] != &timeOf(1)[0] || &timeOf(1)[0] != &timeOf(2)[0] {
		t.Errorf("records 0–2 with one event time each hold their own copy of it")
	}
	if &timeOf(4)[0] == &timeOf(2)[0] {
		t.Errorf("record 4 shares record 2's time across record 3, which has none: not what the budget counted")
	}
	if costs[5]-costs[2] != int64(timeBytes) {
		t.Errorf("a record sharing the event time costs %d, one with a new time %d: want %d less", costs[2], costs[5], timeBytes)
	}
}
