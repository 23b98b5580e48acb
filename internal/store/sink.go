package store

import (
	"context"

	"github.com/logcollect/logcollect/internal/pipeline"
)

var _ pipeline.Sink = (*Sink)(nil)

// Sink is the agent's output in standalone: it appends each batch to the store and
// acknowledges the events once the store has made them durable, so a file's checkpoint
// never passes a line the store could lose.
type Sink struct {
	store Store
}

// reserved are the names of a row's own fields, which parsed fields may not take.
var reserved = []string{"host", "path", "topic", "file_id", "offset", "time", "message"}

// NewSink returns a pipeline.Sink writing to s.
func NewSink(s Store) *Sink { return &Sink{store: s} }

// Publish hands the batch to the store; acknowledgements follow the commit.
func (k *Sink) Publish(ctx context.Context, batch []pipeline.Event) error {
	rows := make([]Row, len(batch))
	for i := range batch {
		ev := &batch[i]
		msg := string(ev.Line)
		fields := ParseFields(msg)
		for _, k := range reserved { // a line's own "path=" must not shadow the file's path
			delete(fields, k)
		}
		if len(ev.Fields) > 0 {
			if fields == nil {
				fields = make(map[string]string, len(ev.Fields))
			}
			for k, v := range ev.Fields { // the entry's fields win over parsed ones
				fields[k] = v
			}
		}
		rows[i] = Row{Time: ev.Time, Host: ev.Host, Path: ev.Path, Topic: ev.Topic, FileID: ev.FileID,
			Offset: ev.Offset, End: ev.End, Fields: fields, Message: msg}
	}
	return k.store.Append(ctx, rows, func() {
		for i := range batch {
			if a := batch[i].Ack; a != nil {
				a.Ack(batch[i].Offset, batch[i].End)
			}
		}
	})
}
