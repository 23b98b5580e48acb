package kafkaout

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// minBatchBytes is franz-go's lowest accepted batch cap.
const minBatchBytes = 512

// topicLimits caps each topic's batches at the topic's max.message.bytes. The broker
// refuses a whole batch that is larger than that, so without the cap one long line would
// take the ordinary lines batched with it into the dead-letter file; with it, franz-go
// fails only the record that is too large on its own.
type topicLimits struct {
	admin   *kadm.Client
	def     int32
	log     *slog.Logger
	timeout time.Duration

	mu sync.Mutex
	m  map[string]int32
}

// limit is franz-go's ProducerBatchMaxBytesFn: it is called once per partition when the
// partition is first discovered, from franz-go's metadata goroutine, so the lookup goes
// through a separate admin client and is bounded by a timeout.
func (l *topicLimits) limit(topic string) int32 {
	if topic == "" || l.admin == nil {
		return l.def
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.m[topic]; ok {
		return v
	}
	v := l.def
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	rcs, err := l.admin.DescribeTopicConfigs(ctx, topic)
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = rcs.On(topic, nil); err == nil && rc.Err == nil {
			for _, c := range rc.Configs {
				if c.Key != "max.message.bytes" || c.Value == nil {
					continue
				}
				if n, perr := strconv.ParseInt(*c.Value, 10, 32); perr == nil && n > 0 {
					v = int32(max(min(int64(l.def), n), minBatchBytes))
				}
			}
		} else if err == nil {
			err = rc.Err
		}
	}
	if err != nil {
		// Not cached: the next partition of the topic asks again. Meanwhile the
		// configured batch size applies.
		l.log.Debug("cannot read the topic's max.message.bytes; using kafka.batch_max_bytes", "topic", topic, "err", err)
		return v
	}
	l.m[topic] = v
	return v
}
