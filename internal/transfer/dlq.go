package transfer

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/transfer/document"
)

// Headers the transfer adds to a dead-lettered record (its own headers are kept).
const (
	HeaderDLQReason    = "dlq.reason"
	HeaderDLQTopic     = "dlq.topic"
	HeaderDLQPartition = "dlq.partition"
	HeaderDLQOffset    = "dlq.offset"
)

// deadLetter writes the records whose documents the sink refused for good to the
// dead-letter topic, unchanged, with the reason in a header. It returns once Kafka has
// them (or ctx ended), so their offsets can be committed.
func (c *Consumer) deadLetter(ctx context.Context, b *batch, rejected []document.Rejection) error {
	if !c.dlq.on {
		for _, rj := range rejected {
			r := b.recs[rj.Doc]
			c.log.Error("document refused by the sink and transfer.dlq_topic is empty: not indexed",
				"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "reason", rj.Reason)
		}
		c.m.deadLettered.WithLabelValues("logged").Add(float64(len(rejected)))
		return nil
	}
	recs := make([]*kgo.Record, len(rejected))
	for i, rj := range rejected {
		r := b.recs[rj.Doc]
		hdrs := make([]kgo.RecordHeader, 0, len(r.Headers)+4)
		hdrs = append(hdrs, r.Headers...)
		hdrs = append(hdrs,
			kgo.RecordHeader{Key: HeaderDLQReason, Value: []byte(rj.Reason)},
			kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
			kgo.RecordHeader{Key: HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
			kgo.RecordHeader{Key: HeaderDLQOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
		)
		recs[i] = &kgo.Record{Topic: c.dlq.topic(r.Topic), Key: r.Key, Value: r.Value, Headers: hdrs, Timestamp: r.Timestamp}
		c.log.Warn("document refused by the sink; dead-lettered", "topic", r.Topic, "partition", r.Partition,
			"offset", r.Offset, "dlq", recs[i].Topic, "reason", rj.Reason)
	}
	if err := c.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce to dead-letter topic: %w", err)
	}
	c.m.deadLettered.WithLabelValues("written").Add(float64(len(rejected)))
	return nil
}
