package kafkaout

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
)

// roundRobinStickyBytes is how many bytes go to one partition before the round_robin
// partitioner moves on. Switching partitions per record would cut every batch into
// single-record batches; switching per 64 KiB still spreads the load evenly.
const roundRobinStickyBytes = 64 << 10

// defaultBatchMaxBytes is franz-go's default, Kafka's default max.message.bytes minus the
// batch overhead.
const defaultBatchMaxBytes = 1000012

// batchMaxBytes is the configured batch cap, within franz-go's bounds.
func batchMaxBytes(cfg config.Kafka) int32 {
	if cfg.BatchMaxBytes <= 0 {
		return defaultBatchMaxBytes
	}
	return int32(max(min(cfg.BatchMaxBytes, 1<<30), minBatchBytes))
}

// producerOpts turns the producer keys of the kafka config section into franz-go options.
func producerOpts(cfg config.Kafka) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		// The broker decides whether a missing topic may be created
		// (auto.create.topics.enable); the original project relied on it.
		kgo.AllowAutoTopicCreation(),
		// Retries are unlimited by default in franz-go (records wait for Kafka to come
		// back); an unknown topic still fails after a few metadata loads so that a
		// typo in one entry's topic does not hold memory forever.
		kgo.UnknownTopicRetries(3),
		// Metadata is cheap; refreshing it at most every second (instead of 5s) lets a
		// missing topic fail within seconds instead of tens of seconds, while its
		// records hold part of the byte budget.
		kgo.MetadataMinAge(time.Second),
	}
	switch strings.ToLower(cfg.Acks) {
	case "", "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "leader", "1":
		// The idempotent producer requires acks=all.
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none", "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	default:
		return nil, fmt.Errorf("kafka.acks: %q is not one of all, leader, none", cfg.Acks)
	}

	switch strings.ToLower(cfg.Compression) {
	case "none", "":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		return nil, fmt.Errorf("kafka.compression: %q is not one of none, gzip, snappy, lz4, zstd", cfg.Compression)
	}

	switch strings.ToLower(cfg.Partitioner) {
	case "", "key":
		// Murmur2 like the Java client, so the same key lands on the same partition
		// whichever client wrote it; one file's lines stay in order.
		opts = append(opts, kgo.RecordPartitioner(keyPartitioner{kgo.StickyKeyPartitioner(nil)}))
	case "round_robin", "roundrobin":
		opts = append(opts, kgo.RecordPartitioner(kgo.UniformBytesPartitioner(roundRobinStickyBytes, false, false, nil)))
	default:
		return nil, fmt.Errorf("kafka.partitioner: %q is not one of key, round_robin", cfg.Partitioner)
	}

	if cfg.BatchMaxBytes < 0 {
		return nil, fmt.Errorf("kafka.batch_max_bytes: %d is negative", cfg.BatchMaxBytes)
	}
	if cfg.Linger < 0 {
		return nil, fmt.Errorf("kafka.linger: %s is negative", time.Duration(cfg.Linger))
	}
	// Streaming compression: a produce request carries every batch waiting for its
	// partition, compressed together up to kafka.batch_max_bytes of compressed bytes, and
	// it is compressed before it takes an in-flight slot. Without it each request was one
	// 1 MiB batch (~228 KB compressed) and the connection sat idle while the next was
	// compressed: on the quiet machine it took the agent from 0.77× to 0.9–1.0× kcat's
	// lines/s at 0.95× its CPU per line, and the broker's CPU per line by a third
	// (docs/benchmarks.md, issue 20). A consumer's fetch then inflates to more than its
	// fetch size; the transfer sizes its fetches for that.
	opts = append(opts, kgo.ProducerLinger(time.Duration(cfg.Linger)), kgo.StreamingCompression())

	return opts, nil
}

// keyPartitioner is franz-go's key partitioner (murmur2, as the Java client) with the
// last key's partition remembered per topic: the records of one batch share one key
// slice (batchBuf.build), so hashing it again for each record was pure cost.
type keyPartitioner struct{ kgo.Partitioner }

func (p keyPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &keyTopicPartitioner{TopicPartitioner: p.Partitioner.ForTopic(topic)}
}

// keyTopicPartitioner is used by one record at a time (kgo.Partitioner's contract).
type keyTopicPartitioner struct {
	kgo.TopicPartitioner
	// lastKey is held, so its memory cannot be reused for another key while it is
	// compared by address; key bytes are never changed once a record uses them.
	lastKey []byte
	lastN   int
	lastP   int
}

func (p *keyTopicPartitioner) Partition(r *kgo.Record, n int) int {
	k := r.Key
	if len(k) > 0 && len(k) == len(p.lastKey) && &k[0] == &p.lastKey[0] && n == p.lastN {
		return p.lastP
	}
	part := p.TopicPartitioner.Partition(r, n)
	if len(k) > 0 {
		p.lastKey, p.lastN, p.lastP = k, n, part
	}
	return part
}

// OnNewBatch forwards to the wrapped partitioner (sticky for records without a key).
func (p *keyTopicPartitioner) OnNewBatch() {
	if nb, ok := p.TopicPartitioner.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
