// Package docfile is the transfer's file and stdout sink: one JSON document a line, with
// its _id, for debugging a pipeline without OpenSearch and for tests.
package docfile

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/logcollect/logcollect/internal/transfer/document"
)

// Sink appends documents to a writer. A file is synced before Write returns, so an
// acknowledged document survives a crash.
type Sink struct {
	mu   sync.Mutex
	w    io.Writer
	sync func() error
	buf  []byte
}

// Open returns a sink appending to the file at path ("-" for stdout).
func Open(path string, stdout io.Writer) (*Sink, error) {
	if path == "-" {
		return &Sink{w: stdout}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("transfer.output_file: %w", err)
	}
	return &Sink{w: f, sync: f.Sync}, nil
}

// Write appends docs; it refuses none.
func (s *Sink) Write(_ context.Context, docs []document.Document) ([]document.Rejection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf[:0]
	for i := range docs {
		b = append(b, `{"_id":`...)
		b = document.AppendString(b, docs[i].ID)
		b = append(b, ',')
		b = append(b, docs[i].AppendJSON(nil)[1:]...)
		b = append(b, '\n')
	}
	s.buf = b
	if _, err := s.w.Write(b); err != nil {
		return nil, fmt.Errorf("write documents: %w", err)
	}
	if s.sync != nil {
		if err := s.sync(); err != nil {
			return nil, fmt.Errorf("sync documents: %w", err)
		}
	}
	return nil, nil
}

// Close closes the file.
func (s *Sink) Close() error {
	if c, ok := s.w.(io.Closer); ok && s.sync != nil {
		return c.Close()
	}
	return nil
}
