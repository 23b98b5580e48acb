package kafkaout

import (
	"context"
	"maps"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

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
	hdrMeta        = kafka.HeaderMeta
)

const (
	// fullHeaders is what every record of kafka.headers full has: host, path, offset,
	// file_id and ts. A compact record has one, lc (kafka.HeaderMeta).
	fullHeaders = 5
	// timeBytes bounds an RFC 3339 time with nanoseconds in UTC.
	timeBytes = len("2006-01-02T15:04:05.999999999Z")
	// producerOverhead is what franz-go keeps per buffered record beside the record itself:
	// its promisedRec (32 bytes) in a batch's slice, which grows by doubling.
	producerOverhead = 48
	// recordOverhead and headerOverhead are the bytes one buffered record holds beyond its
	// line and header values: the rec (kgo.Record and what the promise needs) and
	// franz-go's bookkeeping, and one kgo.RecordHeader. Counting them keeps
	// max_buffered_bytes the real memory of the records in flight, short lines included
	// (BenchmarkInFlight measures the two side by side).
	recordOverhead = int64(unsafe.Sizeof(rec{})) + producerOverhead
	headerOverhead = int64(unsafe.Sizeof(kgo.RecordHeader{}))
)

// rec is one record and what its promise needs to finish it. The sink hands franz-go
// &rec.r, and the promise finds the rec again through the record's Context, which the
// rec itself fills (a context that is never done): franz-go only asks a record's
// Context whether it is done. This spares a closure and a pointer per record.
type rec struct {
	r        kgo.Record
	b        *batchBuf
	ts       *topicState // nil: dead-lettered before it was handed over
	ack      pipeline.Acker
	off, end int64
	idx      int32
	cont     bool // the event before it in the batch has the same Acker and ends where it starts
	last     bool // the batch's last event
}

var _ context.Context = (*rec)(nil)

func (*rec) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*rec) Done() <-chan struct{}       { return nil }
func (*rec) Err() error                  { return nil }
func (*rec) Value(any) any               { return nil }

// recOf is the rec of a record the sink built.
func recOf(r *kgo.Record) *rec { return r.Context.(*rec) }

// batchBuf turns a batch of events into records with few allocations: one slice of
// records, one of headers, one scratch buffer for the header values (lc, or full's offsets
// and times), and one arena of line bytes per batch, each sized exactly by batchSizes;
// byte slices for host, path, file id, key, format and the field headers are shared by
// consecutive events that have the same (franz-go only reads them). Once every record of
// the batch is finished, the slices go back to the sink's pool: at hundreds of thousands
// of lines a second, allocating them anew was a large part of the garbage collector's
// work.
//
// The line bytes are copied into the arena (a memmove, ~0.01 µs per line), so that the
// sink keeps nothing of the engine's batch once Publish returns (DoneOnReturn) and the
// engine reuses its batch memory too: the whole path then allocates next to nothing per
// line, which is what keeps the garbage collector quiet and the heap near the budget.
type batchBuf struct {
	recs    []rec
	hdrs    []kgo.RecordHeader
	scratch []byte
	arena   []byte
	// pending counts records not yet finished, plus one held by Publish while it runs.
	pending atomic.Int32
	seq     uint64 // bumped by every use, so an ackRun never spans two uses
	handed  int64  // unix nano when the batch was handed over, for the latency metric
	cost    int64  // the budget the batch took, given back when it is recycled

	full bool // kafka.headers full: host, path and ts headers too

	lastHost, lastPath, lastFileID, lastFormat string
	host, path, fileID, key, format            []byte
	lastFields                                 map[string]string
	fields                                     []kgo.RecordHeader
	// The engine stamps every event of one read with the same time: format it once.
	lastTime time.Time
	ts       []byte
	// eventTime formats the events' own times, a second's date and time once.
	eventTime timeText
}

// batchSizes is what a batch's records need: their cost for the byte budget and the
// lengths of the batchBuf's slices.
type batchSizes struct {
	full                 bool // kafka.headers full, as build will make them
	cost                 int64
	hdrs, scratch, arena int
	fileID               []byte // the last event's file identity, as kafka.AppendFileID writes it
}

// add counts ev, the event after prev in the batch (prev is nil for the first). It
// follows build: a value shared with the event before is counted once.
func (z *batchSizes) add(ev, prev *pipeline.Event) int64 {
	nh := len(ev.Fields)
	scratch := 0
	cost := recordOverhead + int64(len(ev.Line))
	if prev == nil || ev.Host != prev.Host || ev.Path != prev.Path {
		cost += int64(len(ev.Host) + len(ev.Path) + 1) // the key
		if z.full {
			cost += int64(len(ev.Host) + len(ev.Path))
		}
	}
	readTime := readTimeOf(ev)
	ownTime := !ownTimeOf(ev, readTime).IsZero()
	if z.full {
		nh += fullHeaders // host, path, offset, file_id and ts
		scratch += digits(ev.Offset)
		if prev == nil || ev.FileID != prev.FileID {
			cost += int64(len(ev.FileID))
		}
		if prev == nil || !readTime.Equal(readTimeOf(prev)) {
			scratch += timeBytes
		}
		if ownTime {
			nh++
			scratch += timeBytes
		}
	} else {
		nh++ // lc
		if prev == nil || ev.FileID != prev.FileID {
			z.fileID = kafka.AppendFileID(z.fileID[:0], ev.FileID)
			cost += int64(len(z.fileID))
		}
		scratch += kafka.MetaLen(ev.Offset, z.fileID, ownTime)
	}
	if ev.Format != "" {
		nh++
		if prev == nil || ev.Format != prev.Format {
			cost += int64(len(ev.Format))
		}
	}
	if len(ev.Fields) > 0 && (prev == nil || !maps.Equal(ev.Fields, prev.Fields)) {
		for k, v := range ev.Fields {
			cost += headerOverhead + int64(len(hdrFieldPrefix)+len(k)+len(v))
		}
	}
	cost += int64(nh)*headerOverhead + int64(scratch)
	z.cost += cost
	z.hdrs += nh
	z.scratch += scratch
	z.arena += len(ev.Line)
	return cost
}

func readTimeOf(ev *pipeline.Event) time.Time {
	if ev.ReadTime.IsZero() {
		return ev.Time // a source that knows one time only
	}
	return ev.ReadTime
}

// ownTimeOf is ev's event time when it is not its read time, else zero: a record carries
// the event time only then (absent means the same), so most lines pay nothing for it.
func ownTimeOf(ev *pipeline.Event, readTime time.Time) time.Time {
	if ev.Time.Equal(readTime) {
		return time.Time{}
	}
	return ev.Time
}

// digits is the length of n in decimal.
func digits(n int64) int {
	d := 1
	if n < 0 {
		d, n = 2, -n
	}
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// getBatch takes a batchBuf from the pool, sized for n records of the given sizes. A
// pooled buffer far larger than the batch is dropped, so that many small batches in
// flight (many quiet files) do not each hold the memory of a large one.
func (s *Sink) getBatch(n int, z batchSizes) *batchBuf {
	b, _ := s.pool.Get().(*batchBuf)
	if b == nil {
		b = &batchBuf{}
	}
	b.recs = fit(b.recs, n)[:n]
	b.hdrs = fit(b.hdrs, z.hdrs)
	b.scratch = fit(b.scratch, z.scratch)
	b.arena = fit(b.arena, z.arena)
	b.pending.Store(1)
	b.seq++
	b.full = z.full
	return b
}

// fit returns s emptied if its capacity suits n (at least n, at most 4n + 64), else a
// new slice with an eighth more room than n: the next batches of a file are rarely the
// same size to the byte (longer lines, offsets with one more digit), and an exact fit
// was replaced at almost every use (23 MB of garbage per 2,000,000 lines).
func fit[T any](s []T, n int) []T {
	if cap(s) < n || cap(s) > 4*n+64 {
		return make([]T, 0, n+n/8+16)
	}
	return s[:0]
}

// done finishes one pending record (or Publish's hold) and recycles the batch after the last.
func (s *Sink) done(b *batchBuf) { s.doneN(b, 1) }

// doneN finishes n pending records of b and recycles the batch after the last.
func (s *Sink) doneN(b *batchBuf, n int32) {
	if b.pending.Add(-n) != 0 {
		return
	}
	// Drop every reference to line bytes and events before pooling.
	clear(b.recs)
	clear(b.hdrs)
	b.lastHost, b.lastPath, b.lastFileID, b.lastFormat = "", "", "", ""
	b.host, b.path, b.fileID, b.key, b.ts, b.format = nil, nil, nil, nil, nil, nil
	b.lastFields, b.fields = nil, nil
	b.lastTime = time.Time{}
	cost := b.cost
	b.cost = 0
	// Pooled first: the Publish that the release wakes takes this batch's memory.
	s.pool.Put(b)
	s.budget.release(cost)
}

// reserve makes room for n more bytes of scratch. The scratch is
// sized by batchSizes; should it run short it is replaced, never grown by append:
// records already built point into it.
func (b *batchBuf) reserve(n int) {
	if cap(b.scratch)-len(b.scratch) < n {
		b.scratch = make([]byte, 0, max(n, 1024))
	}
}

// build fills record i from ev.
func (b *batchBuf) build(i int, ev *pipeline.Event) *rec {
	if ev.Host != b.lastHost || ev.Path != b.lastPath || b.key == nil {
		b.lastHost, b.lastPath = ev.Host, ev.Path
		b.key = kafka.AppendKey(make([]byte, 0, len(ev.Host)+1+len(ev.Path)), ev.Host, ev.Path)
		if b.full {
			b.host = []byte(ev.Host)
			b.path = []byte(ev.Path)
		}
	}
	if ev.FileID != b.lastFileID || b.fileID == nil {
		b.lastFileID = ev.FileID
		if b.full {
			b.fileID = []byte(ev.FileID)
		} else {
			b.fileID = kafka.AppendFileID(nil, ev.FileID)
		}
	}
	readTime := readTimeOf(ev)
	ownTime := ownTimeOf(ev, readTime)

	h0 := len(b.hdrs)
	if b.full {
		b.appendFull(ev, readTime, ownTime)
	} else {
		b.reserve(kafka.MetaLen(ev.Offset, b.fileID, !ownTime.IsZero()))
		start := len(b.scratch)
		b.scratch = kafka.AppendMeta(b.scratch, ev.Offset, b.fileID, ownTime)
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrMeta, Value: b.scratch[start:len(b.scratch):len(b.scratch)]})
	}
	if ev.Format != "" { // only when not plain: most lines pay nothing for it
		if ev.Format != b.lastFormat || b.format == nil {
			b.lastFormat, b.format = ev.Format, []byte(ev.Format)
		}
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrFormat, Value: b.format})
	}
	if len(ev.Fields) > 0 {
		if b.fields == nil || !maps.Equal(ev.Fields, b.lastFields) {
			// One engine entry gives all its events the same fields: their headers
			// are built once and shared.
			b.lastFields = ev.Fields
			b.fields = make([]kgo.RecordHeader, 0, len(ev.Fields))
			for k, v := range ev.Fields {
				b.fields = append(b.fields, kgo.RecordHeader{Key: hdrFieldPrefix + k, Value: []byte(v)})
			}
		}
		b.hdrs = append(b.hdrs, b.fields...)
	}
	// Sized by getBatch for the whole batch: the slices below are never reallocated, so
	// earlier records' headers and values stay valid. (Should a count be off, append
	// would move the rest to new memory, still valid for the records built after.)
	hdrs := b.hdrs[h0:len(b.hdrs):len(b.hdrs)]
	v0 := len(b.arena)
	b.arena = append(b.arena, ev.Line...)

	m := &b.recs[i]
	r := &m.r
	r.Topic = ev.Topic
	r.Key = b.key
	r.Value = b.arena[v0:len(b.arena):len(b.arena)]
	r.Headers = hdrs
	// The record's timestamp is when the line was read (Kafka's retention and the
	// consumer lag are about when records arrived, not when their lines were written);
	// setting it also spares franz-go a clock read per record.
	r.Timestamp = readTime
	r.Context = m
	m.b, m.idx = b, int32(i)
	return m
}

// appendFull appends the text headers of kafka.headers full: host, path, offset, file_id,
// ts, and time when the event has one of its own.
func (b *batchBuf) appendFull(ev *pipeline.Event, readTime, ownTime time.Time) {
	b.reserve(20)
	start := len(b.scratch)
	b.scratch = strconv.AppendInt(b.scratch, ev.Offset, 10)
	offset := b.scratch[start:len(b.scratch):len(b.scratch)]
	b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrHost, Value: b.host}, kgo.RecordHeader{Key: hdrPath, Value: b.path},
		kgo.RecordHeader{Key: hdrOffset, Value: offset}, kgo.RecordHeader{Key: hdrFileID, Value: b.fileID})
	if b.ts == nil || !readTime.Equal(b.lastTime) {
		b.lastTime = readTime
		b.reserve(timeBytes)
		mid := len(b.scratch)
		b.scratch = readTime.UTC().AppendFormat(b.scratch, time.RFC3339Nano)
		b.ts = b.scratch[mid:len(b.scratch):len(b.scratch)]
	}
	b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrTS, Value: b.ts})
	if !ownTime.IsZero() {
		b.reserve(timeBytes)
		t0 := len(b.scratch)
		b.scratch = b.eventTime.appendTo(b.scratch, ownTime)
		b.hdrs = append(b.hdrs, kgo.RecordHeader{Key: hdrTime, Value: b.scratch[t0:len(b.scratch):len(b.scratch)]})
	}
}
