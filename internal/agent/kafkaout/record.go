package kafkaout

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/kafka"
)

const (
	hdrHost        = kafka.HeaderHost
	hdrPath        = kafka.HeaderPath
	hdrOffset      = kafka.HeaderOffset
	hdrFileID      = kafka.HeaderFileID
	hdrTS          = kafka.HeaderTS
	hdrTime        = kafka.HeaderTime
	hdrFormat      = kafka.HeaderFormat
	hdrFieldPrefix = kafka.HeaderFieldPrefix
)

const (
	// fixedHeaders is host, path, offset, file_id, ts, and at most time and format.
	fixedHeaders = 7
	// scratchPerEvent holds the decimal offset (≤ 20 bytes) and two RFC 3339 nano times
	// (≤ 35 bytes each) of one event.
	scratchPerEvent = 96
	// recordOverhead and headerOverhead estimate the memory franz-go and this package keep
	// per buffered record beyond its bytes (kgo.Record, promise, batch bookkeeping; one
	// kgo.RecordHeader). Counting them keeps max_buffered_bytes close to real memory when
	// lines are short.
	recordOverhead = 320
	headerOverhead = 40
)

// batchBuf turns a batch of events into records with few allocations: one slice of
// records, one of headers, one scratch buffer, one arena of line bytes and one of promise
// state per batch, and byte slices for host, path, file id and key shared by consecutive
// events of the same file (franz-go only reads them). Once every record of the batch is
// finished, the slices go back to the sink's pool: at hundreds of thousands of lines a
// second, allocating them anew was a large part of the garbage collector's work.
//
// The line bytes are copied into the arena (a memmove, ~0.01 µs per line), so that the
// sink keeps nothing of the engine's batch once Publish returns (DoneOnReturn) and the
// engine reuses its batch memory too: the whole path then allocates next to nothing per
// line, which is what keeps the garbage collector quiet and the heap near the budget.
type batchBuf struct {
	recs    []kgo.Record
	hdrs    []kgo.RecordHeader
	scratch []byte
	arena   []byte
	metas   []recMeta
	// pending counts records not yet finished, plus one held by Publish while it runs.
	pending atomic.Int32
	seq     uint64 // bumped by every use, so an ackRun never spans two uses

	lastHost, lastPath, lastFileID, lastFormat string
	host, path, fileID, key, format            []byte
	// The engine stamps every event of one read with the same time: format it once.
	lastTime time.Time
	ts       []byte
}

// getBatch takes a batchBuf from the pool, sized for batch.
func (s *Sink) getBatch(batch []pipeline.Event) *batchBuf {
	n := len(batch)
	nh, nb := 0, 0
	for i := range batch {
		nh += fixedHeaders + len(batch[i].Fields)
		nb += len(batch[i].Line)
	}
	b, _ := s.pool.Get().(*batchBuf)
	if b == nil {
		b = &batchBuf{}
	}
	if cap(b.recs) < n {
		b.recs = make([]kgo.Record, n)
		b.metas = make([]recMeta, n)
		for i := range b.metas {
			b.metas[i].fn = b.metas[i].promise // one closure per slot, reused
		}
	}
	b.recs, b.metas = b.recs[:n], b.metas[:n]
	if cap(b.hdrs) < nh {
		b.hdrs = make([]kgo.RecordHeader, 0, nh)
	}
	if cap(b.scratch) < n*scratchPerEvent {
		b.scratch = make([]byte, 0, n*scratchPerEvent)
	}
	if cap(b.arena) < nb {
		b.arena = make([]byte, 0, nb)
	}
	b.hdrs, b.scratch, b.arena = b.hdrs[:0], b.scratch[:0], b.arena[:0]
	b.pending.Store(1)
	b.seq++
	return b
}

// done finishes one pending record (or Publish's hold) and recycles the batch after the last.
func (s *Sink) done(b *batchBuf) {
	if b.pending.Add(-1) != 0 {
		return
	}
	// Drop every reference to line bytes and events before pooling.
	clear(b.recs)
	clear(b.hdrs)
	for i := range b.metas {
		b.metas[i] = recMeta{fn: b.metas[i].fn}
	}
	b.lastHost, b.lastPath, b.lastFileID, b.lastFormat = "", "", "", ""
	b.host, b.path, b.fileID, b.key, b.ts, b.format = nil, nil, nil, nil, nil, nil
	b.lastTime = time.Time{}
	s.pool.Put(b)
}

// build fills record i from ev and returns it with its cost for the byte budget.
func (b *batchBuf) build(i int, ev *pipeline.Event) (*kgo.Record, int64) {
	if ev.Host != b.lastHost || ev.Path != b.lastPath || b.key == nil {
		b.lastHost, b.lastPath = ev.Host, ev.Path
		b.host = []byte(ev.Host)
		b.path = []byte(ev.Path)
		b.key = make([]byte, 0, len(ev.Host)+1+len(ev.Path))
		b.key = append(append(append(b.key, ev.Host...), ':'), ev.Path...)
	}
	if ev.FileID != b.lastFileID || b.fileID == nil {
		b.lastFileID = ev.FileID
		b.fileID = []byte(ev.FileID)
	}

	if cap(b.scratch)-len(b.scratch) < scratchPerEvent {
		// Never grow the buffer by append: records already built point into it.
		b.scratch = make([]byte, 0, scratchPerEvent*64)
	}
	start := len(b.scratch)
	b.scratch = strconv.AppendInt(b.scratch, ev.Offset, 10)
	end := len(b.scratch)
	readTime := ev.ReadTime
	if readTime.IsZero() {
		readTime = ev.Time // a source that knows one time only
	}
	if b.ts == nil || !readTime.Equal(b.lastTime) {
		b.lastTime = readTime
		mid := len(b.scratch)
		b.scratch = readTime.UTC().AppendFormat(b.scratch, time.RFC3339Nano)
		b.ts = b.scratch[mid:len(b.scratch):len(b.scratch)]
	}

	h0 := len(b.hdrs)
	b.hdrs = append(b.hdrs,
		kgo.RecordHeader{Key: hdrHost, Value: b.host},
		kgo.RecordHeader{Key: hdrPath, Value: b.path},
		kgo.RecordHeader{Key: hdrOffset, Value: b.scratch[start:end:end]},
		kgo.RecordHeader{Key: hdrFileID, Value: b.fileID},
		kgo.RecordHeader{Key: hdrTS, Value: b.ts},
	)
	cost := int64(recordOverhead + len(ev.Line) + len(b.key) + (end - start) + len(b.ts))
	// The event time only when it is not the read time (absent means the same), and the
	// format only when it is not plain: most lines pay nothing for either.
	if !ev.Time.Equal(readTime) && !ev.Time.IsZero() {
		t0 := len(b.scratch)
		b.scratch = ev.Time.UTC().AppendFormat(b.scratch, time.RFC3339Nano)
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrTime, Value: b.scratch[t0:len(b.scratch):len(b.scratch)]})
		cost += int64(len(b.scratch) - t0)
	}
	if ev.Format != "" {
		if ev.Format != b.lastFormat || b.format == nil {
			b.lastFormat, b.format = ev.Format, []byte(ev.Format)
		}
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrFormat, Value: b.format})
		cost += int64(len(ev.Format))
	}
	for k, v := range ev.Fields {
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrFieldPrefix + k, Value: []byte(v)})
		cost += int64(len(k) + len(v) + len(hdrFieldPrefix))
	}
	hdrs := b.hdrs[h0:len(b.hdrs):len(b.hdrs)]
	cost += int64(len(hdrs) * headerOverhead)

	// Sized by getBatch for the whole batch: never reallocated, so earlier records'
	// values stay valid.
	v0 := len(b.arena)
	b.arena = append(b.arena, ev.Line...)

	r := &b.recs[i]
	r.Topic = ev.Topic
	r.Key = b.key
	r.Value = b.arena[v0:len(b.arena):len(b.arena)]
	r.Headers = hdrs
	// The record's timestamp is when the line was read (Kafka's retention and the
	// consumer lag are about when records arrived, not when their lines were written);
	// setting it also spares franz-go a clock read per record.
	r.Timestamp = readTime
	return r, cost
}
