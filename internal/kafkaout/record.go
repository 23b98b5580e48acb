package kafkaout

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/pipeline"
)

// Header names of the Kafka record (ARCHITECTURE.md, "Kafka record written by the agent").
const (
	hdrHost        = "host"
	hdrPath        = "path"
	hdrOffset      = "offset"
	hdrFileID      = "file_id"
	hdrTS          = "ts"
	hdrFieldPrefix = "f."
)

const (
	// fixedHeaders is host, path, offset, file_id, ts.
	fixedHeaders = 5
	// scratchPerEvent holds the decimal offset (≤ 20 bytes) and the RFC 3339 nano time
	// (≤ 35 bytes) of one event.
	scratchPerEvent = 64
	// recordOverhead and headerOverhead estimate the memory franz-go and this package keep
	// per buffered record beyond its bytes (kgo.Record, promise, batch bookkeeping; one
	// kgo.RecordHeader). Counting them keeps max_buffered_bytes close to real memory when
	// lines are short.
	recordOverhead = 320
	headerOverhead = 40
)

// batchBuilder turns a batch of events into records with few allocations: one slice of
// records, one of headers and one scratch buffer per batch, and byte slices for host, path,
// file id and key shared by consecutive events of the same file. franz-go only reads them.
type batchBuilder struct {
	recs    []kgo.Record
	hdrs    []kgo.RecordHeader
	scratch []byte

	lastHost, lastPath, lastFileID string
	host, path, fileID, key        []byte
	// The engine stamps every event of one read with the same time: format it once.
	lastTime time.Time
	ts       []byte
}

func newBatchBuilder(batch []pipeline.Event) *batchBuilder {
	nh := 0
	for i := range batch {
		nh += fixedHeaders + len(batch[i].Fields)
	}
	return &batchBuilder{
		recs:    make([]kgo.Record, len(batch)),
		hdrs:    make([]kgo.RecordHeader, 0, nh),
		scratch: make([]byte, 0, len(batch)*scratchPerEvent),
	}
}

// build fills record i from ev and returns it with its cost for the byte budget.
func (b *batchBuilder) build(i int, ev *pipeline.Event) (*kgo.Record, int64) {
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
	if b.ts == nil || !ev.Time.Equal(b.lastTime) {
		b.lastTime = ev.Time
		mid := len(b.scratch)
		b.scratch = ev.Time.UTC().AppendFormat(b.scratch, time.RFC3339Nano)
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
	for k, v := range ev.Fields {
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrFieldPrefix + k, Value: []byte(v)})
		cost += int64(len(k) + len(v) + len(hdrFieldPrefix))
	}
	hdrs := b.hdrs[h0:len(b.hdrs):len(b.hdrs)]
	cost += int64(len(hdrs) * headerOverhead)

	r := &b.recs[i]
	r.Topic = ev.Topic
	r.Key = b.key
	r.Value = ev.Line
	r.Headers = hdrs
	// The record's timestamp is when the line was read; setting it also spares franz-go
	// a clock read per record.
	r.Timestamp = ev.Time
	return r, cost
}
