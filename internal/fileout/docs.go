package fileout

import (
	"bufio"
	"context"
	"io"

	"github.com/logcollect/logcollect/internal/jsontext"
	"github.com/logcollect/logcollect/internal/transfer/document"
)

// DocWriter is the transfer's file and stdout sink: one JSON document a line, with its
// _id. A file is fsynced before Write returns, so a document the transfer commits past
// survives a crash.
type DocWriter struct {
	w   *Writer
	buf []byte
}

// OpenDocs returns a sink appending documents to the file at path ("-": stdout, the
// writer given, for tests).
func OpenDocs(path string, stdout io.Writer) (*DocWriter, error) {
	if path == "-" {
		return &DocWriter{w: New(stdout, "stdout")}, nil
	}
	w, err := Open(path)
	if err != nil {
		return nil, err
	}
	return &DocWriter{w: w}, nil
}

// Write appends docs; it refuses none.
func (d *DocWriter) Write(_ context.Context, docs []document.Document) ([]document.Rejection, error) {
	return nil, d.w.writeLines(true, func(bw *bufio.Writer) {
		b := d.buf[:0]
		for i := range docs {
			b = append(b, `{"_id":`...)
			b = jsontext.AppendString(b, docs[i].ID)
			b = append(b, ',')
			b = append(b, docs[i].AppendJSON(nil)[1:]...)
			b = append(b, '\n')
		}
		d.buf = b
		_, _ = bw.Write(b)
	})
}

// Close flushes and closes the file.
func (d *DocWriter) Close() error { return d.w.Close() }
