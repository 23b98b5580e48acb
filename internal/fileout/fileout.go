// Package fileout is the file and stdout output of both sides, for debugging a pipeline
// without Kafka or OpenSearch, for tests and for benchmarks. One Writer appends lines to a
// file (or standard output) and repairs a line torn by a crash; two adapters feed it:
//   - the agent's `output: file` / `stdout` (Writer.Publish, a pipeline.Sink): each line
//     is the event's bytes exactly, followed by "\n"; events are acknowledged once their
//     batch has been written (the buffer flushed), not fsynced: the page cache is enough
//     for what this output is for;
//   - the transfer's `sink: file` / `stdout` (DocWriter): one JSON document a line with
//     its _id, fsynced before the batch is accepted, since the transfer then commits the
//     Kafka offsets past it.
package fileout

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

var (
	_ pipeline.Sink        = (*Writer)(nil)
	_ pipeline.Synchronous = (*Writer)(nil)
)

// Writer is a pipeline.Sink writing lines to an io.Writer. Publish is synchronous: when
// it returns, the batch is written and acknowledged, so nothing is ever in flight.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	bw     *bufio.Writer
	closer io.Closer
	name   string
}

// New returns a sink writing to w.
func New(w io.Writer, name string) *Writer {
	return &Writer{out: w, bw: bufio.NewWriterSize(w, 256<<10), name: name}
}

// Open returns a sink appending to the file at path ("-": standard output), created 0644
// if missing. When the
// file does not end in a newline (a previous run was killed in the middle of a write),
// one is added, so the torn line stays apart from the lines written now.
func Open(path string) (*Writer, error) {
	if path == "-" {
		return Stdout(), nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open output file %s: %w", path, err)
	}
	if err := endLine(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open output file %s: %w", path, err)
	}
	w := New(f, path)
	w.closer = f
	return w, nil
}

func endLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 || !fi.Mode().IsRegular() {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		_, err = f.Write([]byte{'\n'})
	}
	return err
}

// Stdout returns a sink writing to standard output.
func Stdout() *Writer { return New(os.Stdout, "stdout") }

// Publish writes the batch, flushes it and acknowledges every event. Consecutive events
// of one file with adjacent ranges are acknowledged as one range: the watermark treats
// them the same, and it saves a lock and a checkpoint update per line.
func (w *Writer) Publish(ctx context.Context, batch []pipeline.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := w.writeLines(false, func(bw *bufio.Writer) {
		for i := range batch {
			_, _ = bw.Write(batch[i].Line)
			_ = bw.WriteByte('\n')
		}
	})
	if err != nil {
		return err
	}
	ackBatch(batch)
	return nil
}

// writeLines writes what fill buffers, flushes it and, with sync, fsyncs the file.
func (w *Writer) writeLines(sync bool, fill func(*bufio.Writer)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	fill(w.bw)
	if err := w.bw.Flush(); err != nil {
		// bufio keeps a write error for ever; start clean so that a retry of this
		// batch (its lines being unacknowledged) can succeed once the cause (a full
		// disk) is gone. Part of the batch may have been written: at least once, not
		// exactly once.
		w.bw.Reset(w.out)
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	if f, ok := w.closer.(*os.File); ok && sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", w.name, err)
		}
	}
	return nil
}

// DoneOnReturn reports that the Writer keeps nothing of a batch once Publish returned,
// so the tailing engine may reuse the batch's memory.
func (w *Writer) DoneOnReturn() bool { return true }

// ackBatch acknowledges the events, merging adjacent ranges of the same acker.
func ackBatch(batch []pipeline.Event) {
	for i := 0; i < len(batch); {
		a, from, to := batch[i].Ack, batch[i].Offset, batch[i].End
		j := i + 1
		for j < len(batch) && batch[j].Ack == a && batch[j].Offset == to {
			to = batch[j].End
			j++
		}
		if a != nil {
			a.Ack(from, to)
		}
		i = j
	}
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.bw.Flush()
	if w.closer != nil {
		if cerr := w.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
