// Package pipeline holds the contract between the sources that read logs (the tailing
// engine) and the outputs that ship them (Kafka, file, stdout): the event, the
// acknowledgement that moves a file's checkpoint, and the sink interface.
package pipeline

import (
	"context"
	"time"
)

// Acker receives the acknowledgement of one event. The tailing engine gives each file its
// own Acker; it advances the file's checkpoint only over contiguous acknowledged ranges, so
// acknowledgements may arrive in any order.
type Acker interface {
	// Ack says the bytes [offset, end) of the file are delivered (or dead-lettered) and
	// need never be read again.
	Ack(offset, end int64)
}

// Event is one log line (or one joined multiline event) read from a file.
type Event struct {
	Topic  string
	Host   string // agent id
	Path   string
	FileID string // "dev:inode" or a fingerprint
	// Offset is the byte offset of the event's first byte in the file; End is the offset
	// just past its last byte, newline included. The checkpoint moves to End on Ack.
	Offset    int64
	End       int64
	Time      time.Time // the event time: the line's own when found (entry format/time), else ReadTime
	ReadTime  time.Time // when read
	Format    string    // the entry's format name, passed on so fields are parsed downstream; "" is plain
	Pattern   string    // format regex: the entry's pattern (the standalone's store parses fields by it); "" otherwise
	Fields    map[string]string
	Line      []byte // without its trailing "\n" or "\r\n"; lines joined by "\n"
	Truncated bool   // cut at max_line_bytes
	Ack       Acker
}

// Sink consumes events. Publish takes ownership of the batch and its line bytes; it may
// block while the sink is full (backpressure: the files are the buffer) and returns early
// only when ctx ends. The sink calls ev.Ack.Ack for every event once delivered.
type Sink interface {
	Publish(ctx context.Context, batch []Event) error
}

// The optional capabilities of a Sink. The agent looks for them on the sink it is given;
// they are declared here, beside Sink, so that an output says which it has with a
// compile-time check (var _ pipeline.Closer = (*Sink)(nil)).

// Runner is a sink with a loop of its own (a store's writer, a producer's delivery loop).
// The agent runs it before the tailing engine starts and stops it after the engine and the
// entry source have returned.
type Runner interface {
	Run(ctx context.Context) error
}

// Closer is a sink that holds events after Publish returned (a producer's buffer). Close
// delivers what it holds and waits for their acknowledgements, bounded by ctx
// (agent.shutdown_timeout), before the agent's final checkpoint write.
type Closer interface {
	Close(ctx context.Context) error
}

// Synchronous is a sink that keeps nothing of a batch, line bytes included, once Publish
// returned true from DoneOnReturn: the engine may then reuse the batch's buffers at once.
type Synchronous interface {
	DoneOnReturn() bool
}
