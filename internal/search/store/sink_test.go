package store

import (
	"context"
	"testing"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

// heldStore is a Store whose Append keeps each batch's done for the test to call (the
// commit), after copying the messages as the real store encodes them.
type heldStore struct {
	Store
	msgs []string
	done []func()
}

func (h *heldStore) Append(_ context.Context, rows []Row, done func()) error {
	for _, r := range rows {
		h.msgs = append(h.msgs, string([]byte(r.Message)))
	}
	h.done = append(h.done, done)
	return nil
}

// TestSinkAcksAfterCommitWithoutTheBatch: the sink is done with the batch when Publish
// returns (the agent reuses its memory), and acknowledges every event's bytes only at
// the commit, runs of adjacent lines as one range, gaps (a dropped line acknowledged
// on its own) kept.
func TestSinkAcksAfterCommitWithoutTheBatch(t *testing.T) {
	h := &heldStore{}
	k := NewSink(h)
	if !k.DoneOnReturn() {
		t.Fatal("the sink must let the agent reuse its batches")
	}
	a, b := checkpoint.NewWatermark(0, nil), checkpoint.NewWatermark(100, nil)
	arena := []byte("onetwothreefour")
	batch := []pipeline.Event{
		{Offset: 0, End: 4, Line: arena[0:3], Ack: a},
		{Offset: 4, End: 8, Line: arena[3:6], Ack: a},
		{Offset: 100, End: 106, Line: arena[6:11], Ack: b},
		{Offset: 12, End: 17, Line: arena[11:15], Ack: a}, // after a gap: 8..12 not yet acknowledged
	}
	if err := k.Publish(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	copy(arena, "XXXXXXXXXXXXXXX") // the agent's next read
	for i := range batch {
		batch[i] = pipeline.Event{}
	}
	if a.Offset() != 0 || b.Offset() != 100 {
		t.Fatalf("acknowledged before the commit: %d, %d", a.Offset(), b.Offset())
	}
	h.done[0]()
	if a.Offset() != 8 || b.Offset() != 106 {
		t.Fatalf("after the commit: %d, %d; want 8 (the gap at 8..12 holds it), 106", a.Offset(), b.Offset())
	}
	a.Ack(8, 12)
	if a.Offset() != 17 {
		t.Fatalf("after the gap: %d, want 17 (the range past it was kept)", a.Offset())
	}
	if got := h.msgs; len(got) != 4 || got[0] != "one" || got[3] != "four" {
		t.Fatalf("messages %q", got)
	}
}

func TestAckRangesMergeAdjacentLines(t *testing.T) {
	a, b := checkpoint.NewWatermark(0, nil), checkpoint.NewWatermark(0, nil)
	got := ackRanges([]pipeline.Event{
		{Offset: 0, End: 4, Ack: a}, {Offset: 4, End: 8, Ack: a}, {Offset: 8, End: 9, Ack: a},
		{Offset: 9, End: 12, Ack: b}, {Offset: 20, End: 22, Ack: a}, {Offset: 22, End: 30},
	})
	want := []ackRange{{a, 0, 9}, {b, 9, 12}, {a, 20, 22}}
	if len(got) != len(want) {
		t.Fatalf("got %d ranges, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("range %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
