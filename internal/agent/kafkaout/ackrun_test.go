package kafkaout

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

// rangeLog is a rangeAcker that records each Ack call.
type rangeLog struct{ *ackLog }

func (*rangeLog) AcceptsRanges() {}

// Acknowledgements of consecutive events of one Watermark are gathered into few calls,
// never across a gap (a dropped line the engine acknowledges itself), and every byte
// ends up acknowledged; the watermark reaches the end only once the gap is filled.
func TestAcksGatheredPerBatch(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "gather"))
	s := newTestSink(t, testConfig(c.ListenAddrs()), Deps{})
	wm := checkpoint.NewWatermark(0, nil)
	evs := fileEvents("gather", "h", "/var/log/g.log", 0, 3000, wm, nil)
	gap := evs[1500]
	batch := append(append([]pipeline.Event(nil), evs[:1500]...), evs[1501:]...)
	if err := s.Publish(context.Background(), batch[:2000]); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(context.Background(), batch[2000:]); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the watermark up to the gap", func() bool { return wm.Offset() == gap.Offset })
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := wm.Offset(); got != gap.Offset {
		t.Fatalf("watermark %d passed the unacknowledged gap at %d", got, gap.Offset)
	}
	wm.Ack(gap.Offset, gap.End)
	if got, want := wm.Offset(), evs[len(evs)-1].End; got != want {
		t.Fatalf("watermark %d after the gap was filled, want %d: an acknowledgement is missing", got, want)
	}

	// The same through a recording rangeAcker: contiguous ranges, fewer calls than
	// events, and exactly the events' bytes.
	s2 := newTestSink(t, testConfig(c.ListenAddrs()), Deps{})
	rl := &rangeLog{ackLog: newAckLog()}
	evs2 := fileEvents("gather", "h", "/var/log/r.log", 0, 1000, rl, nil)
	if err := s2.Publish(context.Background(), evs2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var covered int64
	rl.mu.Lock()
	for r, n := range rl.acked {
		covered += int64(n) * (r[1] - r[0])
	}
	calls := rl.n
	rl.mu.Unlock()
	if want := evs2[len(evs2)-1].End; covered != want {
		t.Fatalf("acknowledged %d bytes, want %d", covered, want)
	}
	// At best one call per ackRunMax events; a run also ends where the producer's
	// requests split the records, which depends on timing, so the bound only asks that
	// acknowledgements were gathered at all (one call per event without it).
	if calls > len(evs2)/10 {
		t.Fatalf("%d Ack calls for %d events: nothing was gathered", calls, len(evs2))
	}
	t.Logf("%d events acknowledged in %d calls", len(evs2), calls)
}
