package lines

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzReader returns data in reads whose sizes come from the fuzzer. A size byte of 0 is a
// temporary io.EOF with no data, as a file that has not grown yet gives; Next must then keep
// its partial line and continue on the following call.
type fuzzReader struct {
	data    []byte
	sizes   []byte
	reads   int
	lastEOF bool // never two temporary EOFs in a row, so the input always ends
}

func (f *fuzzReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, io.EOF
	}
	n := len(f.data)
	if len(f.sizes) > 0 {
		s := f.sizes[f.reads%len(f.sizes)]
		f.reads++
		if s == 0 && !f.lastEOF {
			f.lastEOF = true
			return 0, io.EOF
		}
		n = max(int(s), 1)
	}
	n = min(n, len(p), len(f.data))
	copy(p, f.data[:n])
	f.data = f.data[n:]
	f.lastEOF = false
	return n, nil
}

// FuzzReader checks that whatever the input and however it is chunked, the lines and their
// offsets reconstruct the input exactly, overlong lines are cut as documented, and the
// partial line covers exactly the unterminated rest.
func FuzzReader(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nc"), []byte{1, 0, 3}, uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, data, sizes []byte, maxLine8, bufSize8 uint8) {
		maxLine, bufSize := int(maxLine8)+1, int(bufSize8)+1
		src := &fuzzReader{data: data, sizes: sizes}
		r := NewReader(src, 0, maxLine, bufSize)
		var pos int64
		for guard := 0; ; guard++ {
			if guard > 4*len(data)+4*len(sizes)+16 {
				t.Fatalf("no end after %d calls", guard)
			}
			line, off, end, trunc, err := r.Next()
			if errors.Is(err, io.EOF) {
				if len(src.data) == 0 {
					break
				}
				continue
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if off != pos || end <= off || end > int64(len(data)) {
				t.Fatalf("line at %d-%d, want it to start at %d and end within %d", off, end, pos, len(data))
			}
			if data[end-1] != '\n' || bytes.IndexByte(data[off:end-1], '\n') >= 0 {
				t.Fatalf("line %d-%d does not end at the first newline", off, end)
			}
			content := data[off : end-1]
			content = bytes.TrimSuffix(content, []byte("\r"))
			want, wantTrunc := content, false
			if len(content) > maxLine {
				want, wantTrunc = content[:maxLine], true
			}
			if !bytes.Equal(line, want) || trunc != wantTrunc {
				t.Fatalf("line %d-%d = %q truncated=%v, want %q truncated=%v", off, end, line, trunc, want, wantTrunc)
			}
			pos = end
		}
		line, off, end, ok := r.Partial()
		if pos == int64(len(data)) {
			if ok {
				t.Fatalf("Partial = %q at %d-%d after the whole input was returned", line, off, end)
			}
			return
		}
		rest := data[pos:]
		if len(rest) > maxLine {
			rest = rest[:maxLine]
		}
		if !ok || off != pos || end != int64(len(data)) || !bytes.Equal(line, rest) {
			t.Fatalf("Partial = %q %d-%d ok=%v, want %q %d-%d", line, off, end, ok, rest, pos, len(data))
		}
	})
}
