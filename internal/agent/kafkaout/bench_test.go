package kafkaout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

// benchBatch is the tailing engine's batch size (lines handed to Publish at once).
const benchBatch = 4096

// byteAcker counts acknowledged bytes; it takes ranges, as checkpoint.Watermark does.
type byteAcker struct{ n atomic.Int64 }

func (a *byteAcker) Ack(offset, end int64) { a.n.Add(end - offset) }
func (*byteAcker) AcceptsRanges()          {}

// accessEvents makes n events of one plain file like the bench's access log (~120-byte
// lines, read in batches that share a read time), starting at byte offset off.
func accessEvents(n int, off int64, ack pipeline.Acker) []pipeline.Event {
	evs := make([]pipeline.Event, n)
	readAt := time.Now()
	for i := range evs {
		if i%benchBatch == 0 {
			readAt = readAt.Add(time.Millisecond)
		}
		line := fmt.Appendf(nil, `10.0.%d.%d - - [02/Dec/2026:10:00:00 +0000] "GET /api/v1/items/%07d HTTP/1.1" 200 5316 "-" "Mozilla/5.0 (X11)"`,
			i%250, i%200, i)
		end := off + int64(len(line)) + 1
		evs[i] = pipeline.Event{
			Topic: "bench", Host: "bench", Path: "/var/log/nginx/access.log", FileID: "2049:1234567",
			Offset: off, End: end, Time: readAt, ReadTime: readAt, Line: line, Ack: ack,
		}
		off = end
	}
	return evs
}

// answerProduce makes the fake broker acknowledge every produce request without storing
// its records, so the benchmark measures the sink and franz-go, not kfake's log; while
// the gate is held, produce requests wait for its release.
func answerProduce(c *kfake.Cluster, g *gate) {
	var next atomic.Int64
	c.Control(func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req, ok := kreq.(*kmsg.ProduceRequest)
		if !ok {
			return nil, nil, false
		}
		if g.held.Load() {
			// Sleep this connection's requests (not the cluster's) until released:
			// the records stay in flight, as while a broker is slow to acknowledge.
			c.SleepControl(func() { <-g.release })
		}
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.Topic, t.TopicID
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.BaseOffset = next.Add(1 << 20)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
}

// gate holds produce requests without an answer while held is set, until release is
// closed.
type gate struct {
	held    atomic.Bool
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func newBenchSink(b *testing.B, c *kfake.Cluster, budget int64) *Sink {
	b.Helper()
	cfg := testConfig(c.ListenAddrs())
	cfg.Linger = 0 // the default
	if budget > 0 {
		cfg.MaxBufferedBytes = budget
	}
	s, err := New(cfg, Deps{DataDir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientOpts: []kgo.Opt{fastRetry()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

func waitAcked(b *testing.B, a *byteAcker, want int64) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for a.n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("acknowledged %d of %d bytes after a minute", a.n.Load(), want)
		}
		time.Sleep(time.Millisecond) // polling a counter in a benchmark, not a test's synchronisation
	}
}

// BenchmarkPublish is the sink's cost per line (ns, B and allocs per op are per line) with
// a broker that answers at once: building records, the byte budget, franz-go's batching
// and snappy, the promises and the gathered acknowledgements.
func BenchmarkPublish(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	answerProduce(c, newGate())
	s := newBenchSink(b, c, 0)
	acks := &byteAcker{}
	evs := accessEvents(64*benchBatch, 0, acks)
	var total int64
	publish := func(batch []pipeline.Event) {
		if err := s.Publish(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		total += batch[len(batch)-1].End - batch[0].Offset
	}
	publish(evs[:benchBatch]) // connect, metadata, producer id
	waitAcked(b, acks, total)

	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		i := done % len(evs)
		n := min(benchBatch, b.N-done, len(evs)-i)
		publish(evs[i : i+n])
		done += n
	}
	waitAcked(b, acks, total)
}

// BenchmarkInFlight fills the byte budget while the broker holds every produce request
// unanswered and reports what the
// in-flight records hold: heap-B/rec is the live heap per record (the sink's batches and
// franz-go's buffers), budget-B/rec what the budget counts for each, heap/budget their
// ratio (1 means max_buffered_bytes is the real memory of the records in flight).
func BenchmarkInFlight(b *testing.B) {
	for _, mib := range []int64{12, 16} { // the default, and the default before issue 20
		b.Run(fmt.Sprintf("budget=%dMiB", mib), func(b *testing.B) { benchInFlight(b, mib<<20) })
	}
}

func benchInFlight(b *testing.B, budget int64) {
	for range b.N {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "bench"))
		if err != nil {
			b.Fatal(err)
		}
		g := newGate()
		answerProduce(c, g)
		s := newBenchSink(b, c, budget)
		acks := &byteAcker{}
		evs := accessEvents(64*benchBatch, 0, acks)
		if err := s.Publish(context.Background(), evs[:benchBatch]); err != nil {
			b.Fatal(err)
		}
		waitAcked(b, acks, evs[benchBatch-1].End)
		evs = evs[benchBatch:]
		g.held.Store(true)

		before := liveHeap()
		ctx, cancel := context.WithCancel(context.Background())
		published := make(chan error, 1)
		go func() {
			for i := 0; i < len(evs); i += benchBatch {
				if err := s.Publish(ctx, evs[i:i+benchBatch]); err != nil {
					published <- err
					return
				}
			}
			published <- nil
		}()
		deadline := time.Now().Add(time.Minute)
		for s.budget.waiters.Load() == 0 {
			if time.Now().After(deadline) {
				b.Fatal("the budget never filled")
			}
			time.Sleep(time.Millisecond)
		}
		held := liveHeap() - before
		recs, used := s.inflight.Load(), s.budget.inUse()
		b.ReportMetric(float64(held)/float64(recs), "heap-B/rec")
		b.ReportMetric(float64(used)/float64(recs), "budget-B/rec")
		b.ReportMetric(float64(held)/float64(used), "heap/budget")
		b.ReportMetric(float64(recs), "records")
		cancel()
		if err := <-published; !errors.Is(err, context.Canceled) {
			b.Fatalf("Publish: %v, want context.Canceled", err)
		}
		close(g.release)
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.Close(cctx); err != nil {
			b.Errorf("Close: %v", err)
		}
		ccancel()
		c.Close()
	}
}

// liveHeap is the heap still reachable after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
