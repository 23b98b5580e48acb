// Package fileout holds the debugging and test outputs of the agent: `output: file`
// appends one line per event to a file, `output: stdout` writes them to standard output.
// Each line is the event's bytes exactly, followed by "\n". Events are acknowledged once
// their batch has been written to the file (the buffer flushed), not fsynced: these
// outputs are for tests, debugging and benchmarks, where the page cache is enough.
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

var _ pipeline.Sink = (*Writer)(nil)

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

// Open returns a sink appending to the file at path, created 0644 if missing. When the
// file does not end in a newline (a previous run was killed in the middle of a write),
// one is added, so the torn line stays apart from the lines written now.
func Open(path string) (*Writer, error) {
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
	w.mu.Lock()
	for i := range batch {
		_, _ = w.bw.Write(batch[i].Line)
		_ = w.bw.WriteByte('\n')
	}
	err := w.bw.Flush()
	if err != nil {
		// bufio keeps a write error for ever; start clean so that a retry of this
		// batch (the engine retries, the lines being unacknowledged) can succeed once
		// the cause (a full disk) is gone. Part of the batch may have been written:
		// at least once, not exactly once.
		w.bw.Reset(w.out)
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	ackBatch(batch)
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
