package store

import (
	"context"
	"slices"
	"sync"
	"unsafe"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/logformat"
)

var (
	_ pipeline.Sink        = (*Sink)(nil)
	_ pipeline.Synchronous = (*Sink)(nil)
)

// Sink is the agent's output in standalone: it appends each batch to the store and
// acknowledges the events once the store has made them durable, so a file's checkpoint
// never passes a line the store could lose.
type Sink struct {
	store Store
	// rows holds *[]Row for Publish to reuse (Append keeps none of them): 4,096 rows
	// are ~800 KB a batch otherwise.
	rows sync.Pool
}

// NewSink returns a pipeline.Sink writing to s.
func NewSink(s Store) *Sink { return &Sink{store: s} }

// DoneOnReturn is true: the store keeps nothing of the rows once Append returned (it
// has copied the messages it encodes next; Store.Append), and the acknowledgements keep
// only offsets, so the agent reuses the batch's memory for its next read. Holding each
// batch until its commit kept up to the writer's whole queue of batches (64 × 1 MiB of
// lines and their events) alive: most of the standalone's peak memory at ingest
// (docs/store.md).
func (k *Sink) DoneOnReturn() bool { return true }

// Publish hands the batch to the store; acknowledgements follow the commit. Fields
// parsed from a line are not computed here: the store derives them when it reads the
// line (LineFields), so a row carries only the entry's fields.
func (k *Sink) Publish(ctx context.Context, batch []pipeline.Event) error {
	buf, _ := k.rows.Get().(*[]Row)
	if buf == nil {
		buf = new([]Row)
	}
	rows := slices.Grow((*buf)[:0], len(batch))[:len(batch)]
	defer func() {
		clear(rows) // nothing kept alive by the pool: the messages point into the agent's buffers
		*buf = rows[:0]
		k.rows.Put(buf)
	}()
	var spec, format, pattern string // the format spec of the run of events of one entry
	for i := range batch {
		ev := &batch[i]
		if i == 0 || ev.Format != format || ev.Pattern != pattern {
			// Once per run, not per line: a regex entry's spec is a concatenation.
			format, pattern, spec = ev.Format, ev.Pattern, logformat.Spec(ev.Format, ev.Pattern)
		}
		rows[i] = Row{Time: ev.Time, ReadTime: ev.ReadTime, Host: ev.Host, Path: ev.Path, Topic: ev.Topic, FileID: ev.FileID,
			Offset: ev.Offset, End: ev.End, Format: spec, Fields: ev.Fields, Message: lineString(ev.Line)}
	}
	acks := ackRanges(batch)
	return k.store.Append(ctx, rows, func() {
		for _, a := range acks {
			a.w.Ack(a.off, a.end)
		}
	})
}

// ackRange is consecutive events' bytes [off, end) of one file.
type ackRange struct {
	w        pipeline.Acker
	off, end int64
}

// ackRanges is the batch's acknowledgements with each run of adjacent lines of a file
// as one range (a batch is mostly one run): what done needs, without the events.
func ackRanges(batch []pipeline.Event) []ackRange {
	var out []ackRange
	for i := range batch {
		ev := &batch[i]
		if ev.Ack == nil {
			continue
		}
		if k := len(out) - 1; k >= 0 && out[k].w == ev.Ack && out[k].end == ev.Offset {
			out[k].end = ev.End
			continue
		}
		out = append(out, ackRange{w: ev.Ack, off: ev.Offset, end: ev.End})
	}
	return out
}

// lineString returns the line's bytes as a string without copying them (a copy per line
// was a measurable share of the ingest path): the store encodes the rows before Append
// returns, and the agent writes the bytes again only after Publish returned
// (DoneOnReturn).
func lineString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
