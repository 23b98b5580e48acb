package kafkaout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Batches merged by streaming compression stay within kafka.batch_max_bytes uncompressed
// too: a consumer that bounds its decompressed batches at that size reads every record.
// The first produce request is held until every record is with the producer, so the
// rest wait in many batches and are merged when it is answered.
func TestMergedBatchesBoundedUncompressed(t *testing.T) {
	const topic, batchMax, lines = "merged", 16 << 10, 3000
	release := make(chan struct{})
	c := newCluster(t, kfake.SeedTopics(1, topic))
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		<-release
		return nil, nil, false
	})
	cfg := testConfig(c.ListenAddrs())
	cfg.BatchMaxBytes = batchMax
	cfg.Compression = "snappy"
	s := newTestSink(t, cfg, Deps{})
	acks := newAckLog()
	if err := s.Publish(context.Background(), fileEvents(topic, "h", "/var/log/m.log", 0, lines, acks, nil)); err != nil {
		t.Fatal(err)
	}
	close(release)
	eventually(t, 10*time.Second, "every record acknowledged", func() bool { return acks.count() == lines })

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MaxDecompressBatchBytes(batchMax))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got int
	for got < lines {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", got, lines, err)
		}
		for _, fe := range fs.Errors() {
			if tooLarge := (*kgo.ErrDecompressTooLarge)(nil); errors.As(fe.Err, &tooLarge) {
				t.Fatalf("a batch decompresses to more than batch_max_bytes (%d B) after %d records: %v", batchMax, got, fe.Err)
			}
			t.Fatalf("fetch: %v", fe.Err)
		}
		got += fs.NumRecords()
	}
}
