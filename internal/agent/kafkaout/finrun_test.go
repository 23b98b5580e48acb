package kafkaout

import (
	"context"
	"testing"
)

// finishedBatch builds a batch of n records of topic as Publish hands them over, with
// its budget taken, and lets go of Publish's hold.
func finishedBatch(t *testing.T, s *Sink, topic string, n int, ack *ackLog) *batchBuf {
	t.Helper()
	b := s.getBatch(n, batchSizes{})
	taken, err := s.budget.acquire(context.Background(), 100*int64(n))
	if err != nil {
		t.Fatal(err)
	}
	b.cost = taken
	ts := s.topic(topic)
	for i := range b.recs {
		m := &b.recs[i]
		m.r.Topic, m.r.Value, m.r.Context = topic, []byte("line"), m
		m.b, m.idx, m.ts, m.ack = b, int32(i), ts, ack
		m.off, m.end, m.last = int64(i), int64(i+1), i == n-1
	}
	s.inflight.Add(int64(n))
	b.pending.Add(int32(n))
	s.done(b) // Publish returned
	return b
}

// Finished records are given back to their batch once per run, never one by one; a run
// must still end when the records that would end it are not coming: a record finished
// after its batch's last (franz-go produced it again) and records of one batch
// interleaved with another's (two partitions).
func TestFinishedRunsGiveTheBudgetBack(t *testing.T) {
	c := newCluster(t)
	s := newTestSink(t, testConfig(c.ListenAddrs()), Deps{})
	ack := newAckLog()

	b := finishedBatch(t, s, "late", 3, ack)
	s.finish(&b.recs[0], nil)
	s.finish(&b.recs[2], nil) // the batch's last, before record 1
	if s.budget.inUse() == 0 {
		t.Fatal("budget given back while record 1 is still in flight")
	}
	s.finish(&b.recs[1], nil) // nothing follows it
	if used := s.budget.inUse(); used != 0 {
		t.Fatalf("%d bytes of budget still taken after every record finished: the last run was never flushed", used)
	}

	x := finishedBatch(t, s, "x", 2, ack)
	y := finishedBatch(t, s, "y", 2, ack)
	s.finish(&x.recs[0], nil)
	s.finish(&y.recs[0], nil)
	s.finish(&x.recs[1], nil) // x is done, y's last record still in flight
	if used, want := s.budget.inUse(), y.cost; used != want {
		t.Fatalf("budget in use %d, want %d (y's alone): x's run was not flushed when it ended", used, want)
	}
	s.finish(&y.recs[1], nil)
	if used := s.budget.inUse(); used != 0 {
		t.Fatalf("%d bytes of budget still taken", used)
	}

	for topic, want := range map[string]float64{"late": 3, "x": 2, "y": 2} {
		if n := counterValue(t, s.metrics.records.WithLabelValues(topic)); n != want {
			t.Errorf("records_sent_total{topic=%s} = %v, want %v", topic, n, want)
		}
		if n := counterValue(t, s.metrics.bytes.WithLabelValues(topic)); n != want*4 {
			t.Errorf("sent_bytes_total{topic=%s} = %v, want %v", topic, n, want*4)
		}
	}
	if got := s.acked.Load(); got != 7 {
		t.Errorf("acknowledged count %d, want 7", got)
	}
	if got := ack.count(); got != 7 {
		t.Errorf("%d acknowledgements, want 7", got)
	}
}
