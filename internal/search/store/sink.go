package store

import (
	"context"
	"unsafe"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/logformat"
)

var _ pipeline.Sink = (*Sink)(nil)

// Sink is the agent's output in standalone: it appends each batch to the store and
// acknowledges the events once the store has made them durable, so a file's checkpoint
// never passes a line the store could lose.
type Sink struct {
	store Store
}

// NewSink returns a pipeline.Sink writing to s.
func NewSink(s Store) *Sink { return &Sink{store: s} }

// Publish hands the batch to the store; acknowledgements follow the commit. Fields
// parsed from a line are not computed here: the store derives them when it reads the
// line (LineFields), so a row carries only the entry's fields.
func (k *Sink) Publish(ctx context.Context, batch []pipeline.Event) error {
	rows := make([]Row, len(batch))
	for i := range batch {
		ev := &batch[i]
		rows[i] = Row{Time: ev.Time, ReadTime: ev.ReadTime, Host: ev.Host, Path: ev.Path, Topic: ev.Topic, FileID: ev.FileID,
			Offset: ev.Offset, End: ev.End, Format: logformat.Spec(ev.Format, ev.Pattern), Fields: ev.Fields, Message: lineString(ev.Line)}
	}
	return k.store.Append(ctx, rows, func() {
		for i := range batch {
			if a := batch[i].Ack; a != nil {
				a.Ack(batch[i].Offset, batch[i].End)
			}
		}
	})
}

// lineString returns the line's bytes as a string without copying them (a copy per line
// was a measurable share of the ingest path): Publish owns the batch's line bytes
// (pipeline.Sink), and nothing writes them again.
func lineString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
