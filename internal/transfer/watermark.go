package transfer

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition tracks one assigned partition's commit watermark. Records are added to
// batches in offset order; each batch holds one contiguous segment of the partition, and
// batches finish in any order. The watermark moves only over the finished segments at the
// front, so a commit never runs ahead of a record the sink has not accepted.
type partition struct {
	topic string
	id    int32

	mu        sync.Mutex
	segs      []*segment // unfinished and finished segments, oldest first
	next      int64      // offset to commit: one past the last record of the finished prefix; -1 none yet
	first     int64      // offset of the first record read since the assignment; -1 none yet
	epoch     int32      // leader epoch of that record
	committed int64      // what Kafka has; -1 none
	hw        int64      // high watermark seen in the last fetch
	changed   chan struct{}
}

type segment struct {
	last  int64
	epoch int32
	done  bool
}

func newPartition(topic string, id int32) *partition {
	return &partition{topic: topic, id: id, next: -1, first: -1, committed: -1, hw: -1, changed: make(chan struct{}, 1)}
}

// add records r in the segment seg (nil: a new one) and returns the segment.
func (p *partition) add(seg *segment, r *kgo.Record) *segment {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seg == nil {
		seg = &segment{}
		p.segs = append(p.segs, seg)
	}
	if p.first < 0 {
		p.first = r.Offset
	}
	seg.last, seg.epoch = r.Offset, r.LeaderEpoch
	return seg
}

// finish marks seg done and advances the watermark over the finished prefix.
func (p *partition) finish(seg *segment) {
	p.mu.Lock()
	seg.done = true
	n := 0
	for n < len(p.segs) && p.segs[n].done {
		p.next, p.epoch = p.segs[n].last+1, p.segs[n].epoch
		n++
	}
	if n > 0 {
		clear(p.segs[:n])
		p.segs = p.segs[n:]
	}
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// toCommit returns the offset to commit when it is ahead of what Kafka has.
func (p *partition) toCommit() (kgo.EpochOffset, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next < 0 || p.next <= p.committed {
		return kgo.EpochOffset{}, false
	}
	return kgo.EpochOffset{Epoch: p.epoch, Offset: p.next}, true
}

func (p *partition) setCommitted(off int64) {
	p.mu.Lock()
	p.committed = max(p.committed, off)
	p.mu.Unlock()
}

func (p *partition) setHighWatermark(hw int64) {
	p.mu.Lock()
	p.hw = hw
	p.mu.Unlock()
}

// lag is the records of the partition not yet in the sink: high watermark − the offset to
// commit (before the first batch finished: − the first offset read since the
// assignment). ok is false before a fetch returned the partition.
func (p *partition) lag() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos := p.next
	if pos < 0 {
		pos = p.first
	}
	if p.hw < 0 || pos < 0 {
		return 0, false
	}
	return max(p.hw-pos, 0), true
}

// waitIdle waits until every segment handed to the sink finished, or until the deadline
// or ctx ends; it reports whether the partition is idle.
func (p *partition) waitIdle(ctx context.Context, deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		p.mu.Lock()
		idle := len(p.segs) == 0
		p.mu.Unlock()
		if idle {
			return true
		}
		select {
		case <-p.changed:
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		}
	}
}

type topicPartition struct {
	topic string
	id    int32
}
