package lines

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// got is one result of Next, with the line copied because it is only valid until the next call.
type got struct {
	line      string
	off, end  int64
	truncated bool
}

// chunkReader returns data in reads of the given sizes (cycled), so lines straddle reads.
type chunkReader struct {
	data   []byte
	sizes  []int
	reads  int
	eofErr error // returned with the last bytes instead of on the following read, when set
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = c.sizes[c.reads%len(c.sizes)]
		c.reads++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.eofErr != nil {
		return n, c.eofErr
	}
	return n, nil
}

// readAll calls Next until it returns an error and returns the lines and that error.
func readAll(t *testing.T, r *Reader) ([]got, error) {
	t.Helper()
	var out []got
	for range 1 << 20 {
		line, off, end, trunc, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, got{string(line), off, end, trunc})
	}
	t.Fatal("Next never returned an error")
	return nil, nil
}

func TestReaderNext(t *testing.T) {
	type partial struct {
		line     string
		off, end int64
	}
	tests := []struct {
		name    string
		in      string
		start   int64 // file offset of the first byte
		maxLine int
		want    []got
		partial *partial // nil: no partial line expected
	}{
		{
			name: "plain lines",
			in:   "a\nbc\ndef\n",
			want: []got{{"a", 0, 2, false}, {"bc", 2, 5, false}, {"def", 5, 9, false}},
		},
		{
			name: "crlf stripped and counted in end",
			in:   "a\r\nbc\r\n",
			want: []got{{"a", 0, 3, false}, {"bc", 3, 7, false}},
		},
		{
			name: "lone cr inside a line kept",
			in:   "a\rb\n\rc\n",
			want: []got{{"a\rb", 0, 4, false}, {"\rc", 4, 7, false}},
		},
		{
			name: "only the last cr before lf removed",
			in:   "a\r\r\n",
			want: []got{{"a\r", 0, 4, false}},
		},
		{
			name: "empty lines returned as empty",
			in:   "\n\r\n\nx\n",
			want: []got{{"", 0, 1, false}, {"", 1, 3, false}, {"", 3, 4, false}, {"x", 4, 6, false}},
		},
		{
			name: "empty input",
			in:   "",
		},
		{
			name:    "partial last line kept",
			in:      "a\nbcd",
			want:    []got{{"a", 0, 2, false}},
			partial: &partial{"bcd", 2, 5},
		},
		{
			name:    "partial cr kept byte exact",
			in:      "a\r",
			partial: &partial{"a\r", 0, 2},
		},
		{
			name: "invalid utf-8 byte exact",
			in:   "\xff\xfe\x00ok\xc3\n\xe2\x82\n",
			want: []got{{"\xff\xfe\x00ok\xc3", 0, 7, false}, {"\xe2\x82", 7, 10, false}},
		},
		{
			name:  "start offset added",
			in:    "ab\ncd\nef",
			start: 1000,
			want:  []got{{"ab", 1000, 1003, false}, {"cd", 1003, 1006, false}},
			partial: &partial{
				"ef", 1006, 1008,
			},
		},
		{
			name:    "line of exactly max bytes not truncated",
			in:      "abcd\nxy\n",
			maxLine: 4,
			want:    []got{{"abcd", 0, 5, false}, {"xy", 5, 8, false}},
		},
		{
			name:    "line of exactly max bytes with crlf not truncated",
			in:      "abcd\r\nxy\n",
			maxLine: 4,
			want:    []got{{"abcd", 0, 6, false}, {"xy", 6, 9, false}},
		},
		{
			name:    "line one byte over max truncated",
			in:      "abcde\nxy\n",
			maxLine: 4,
			want:    []got{{"abcd", 0, 6, true}, {"xy", 6, 9, false}},
		},
		{
			name:    "line one byte over max with crlf truncated",
			in:      "abcde\r\nxy\n",
			maxLine: 4,
			want:    []got{{"abcd", 0, 7, true}, {"xy", 7, 10, false}},
		},
		{
			name:    "very long line cut and the rest discarded",
			in:      "ok\n" + strings.Repeat("x", 1000) + "\r\nnext\n",
			maxLine: 10,
			want:    []got{{"ok", 0, 3, false}, {"xxxxxxxxxx", 3, 1005, true}, {"next", 1005, 1010, false}},
		},
		{
			name:    "several long lines in a row",
			in:      strings.Repeat("y", 50) + "\n" + strings.Repeat("z", 60) + "\n",
			maxLine: 8,
			want:    []got{{"yyyyyyyy", 0, 51, true}, {"zzzzzzzz", 51, 112, true}},
		},
		{
			name:    "overlong partial cut, end counts every byte",
			in:      "a\n" + strings.Repeat("p", 100),
			maxLine: 5,
			want:    []got{{"a", 0, 2, false}},
			partial: &partial{"ppppp", 2, 102},
		},
		{
			name:    "partial of max plus one bytes cut",
			in:      "abcde",
			maxLine: 4,
			partial: &partial{"abcd", 0, 5},
		},
	}
	chunkings := []struct {
		name    string
		sizes   []int
		bufSize int
	}{
		{"whole", nil, 0},
		{"bytewise", []int{1}, 3},
		{"uneven", []int{3, 1, 7, 2}, 5},
		{"tiny buffer", nil, 1},
	}
	for _, tc := range tests {
		for _, ch := range chunkings {
			t.Run(tc.name+"/"+ch.name, func(t *testing.T) {
				r := NewReader(&chunkReader{data: []byte(tc.in), sizes: ch.sizes}, tc.start, tc.maxLine, ch.bufSize)
				lines, err := readAll(t, r)
				if !errors.Is(err, io.EOF) {
					t.Fatalf("Next error = %v, want io.EOF", err)
				}
				if len(lines) != len(tc.want) {
					t.Fatalf("got %d lines %+v, want %d %+v", len(lines), lines, len(tc.want), tc.want)
				}
				for i := range lines {
					if lines[i] != tc.want[i] {
						t.Errorf("line %d = %+v, want %+v", i, lines[i], tc.want[i])
					}
				}
				line, off, end, ok := r.Partial()
				switch {
				case tc.partial == nil && ok:
					t.Errorf("Partial = %q %d %d, want none", line, off, end)
				case tc.partial != nil && !ok:
					t.Errorf("Partial = none, want %+v", *tc.partial)
				case tc.partial != nil:
					if g := (partial{string(line), off, end}); g != *tc.partial {
						t.Errorf("Partial = %+v, want %+v", g, *tc.partial)
					}
				}
			})
		}
	}
}

// TestReaderContinuesAfterEOF appends to a real file between reads, as a growing log does:
// a partial line waits at io.EOF and is completed by the next write, with exact offsets.
func TestReaderContinuesAfterEOF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, 0, 8, 4)

	steps := []struct {
		write string
		want  []got
	}{
		{"", nil},
		{"fir", nil},
		{"st\nsec", []got{{"first", 0, 6, false}}},
		{"ond\r", nil},
		{"\n", []got{{"second", 6, 14, false}}},
		{"0123456789abc", nil}, // overlong, discarding while the file grows
		{"def\nok\n", []got{{"01234567", 14, 31, true}, {"ok", 31, 34, false}}},
	}
	for i, s := range steps {
		if _, err := w.WriteString(s.write); err != nil {
			t.Fatal(err)
		}
		lines, err := readAll(t, r)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("step %d: error = %v, want io.EOF", i, err)
		}
		if len(lines) != len(s.want) {
			t.Fatalf("step %d: got %+v, want %+v", i, lines, s.want)
		}
		for j := range lines {
			if lines[j] != s.want[j] {
				t.Errorf("step %d line %d = %+v, want %+v", i, j, lines[j], s.want[j])
			}
		}
	}
	if r.Offset() != 34 {
		t.Errorf("Offset = %d, want 34", r.Offset())
	}
}

func TestReaderReadErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		rd   io.Reader
		want []got
		err  error
	}{
		{
			name: "error returned after the buffered lines",
			rd:   &chunkReader{data: []byte("a\nb\nc"), eofErr: boom},
			want: []got{{"a", 0, 2, false}, {"b", 2, 4, false}},
			err:  boom,
		},
		{
			name: "eof with the data",
			rd:   &chunkReader{data: []byte("a\n"), eofErr: io.EOF},
			want: []got{{"a", 0, 2, false}},
			err:  io.EOF,
		},
		{
			name: "reader making no progress",
			rd:   zeroReader{},
			err:  io.ErrNoProgress,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.rd, 0, 0, 0)
			lines, err := readAll(t, r)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", lines, tc.want)
			}
			for i := range lines {
				if lines[i] != tc.want[i] {
					t.Errorf("line %d = %+v, want %+v", i, lines[i], tc.want[i])
				}
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// TestReaderErrorThenMore checks that a read error does not end the stream: a later call
// reads on, as when a transient error is retried by the harvester.
func TestReaderErrorThenMore(t *testing.T) {
	boom := errors.New("transient")
	rd := &scriptReader{steps: []scriptStep{{"ab", boom}, {"c\n", nil}}}
	r := NewReader(rd, 0, 0, 0)
	if _, _, _, _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("first Next error = %v, want %v", err, boom)
	}
	line, off, end, _, err := r.Next()
	if err != nil || string(line) != "abc" || off != 0 || end != 4 {
		t.Fatalf("second Next = %q %d %d %v, want \"abc\" 0 4 nil", line, off, end, err)
	}
}

type scriptStep struct {
	data string
	err  error
}

type scriptReader struct{ steps []scriptStep }

func (s *scriptReader) Read(p []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, io.EOF
	}
	st := s.steps[0]
	s.steps = s.steps[1:]
	return copy(p, st.data), st.err
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("old\npartial"), 0, 0, 0)
	if _, err := readAll(t, r); !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	r.Reset(strings.NewReader("new\n"), 500)
	if _, _, _, ok := r.Partial(); ok {
		t.Error("Partial after Reset reports a line, want none")
	}
	lines, err := readAll(t, r)
	if !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	want := []got{{"new", 500, 504, false}}
	if len(lines) != 1 || lines[0] != want[0] {
		t.Fatalf("after Reset got %+v, want %+v", lines, want)
	}
}

// repeatReader yields n copies of b, then one "\n", without holding them in memory.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n < 0 {
		return 0, io.EOF
	}
	if r.n == 0 {
		r.n = -1
		p[0] = '\n'
		return 1, nil
	}
	k := int(min(int64(len(p)), r.n))
	for i := range k {
		p[i] = r.b
	}
	r.n -= int64(k)
	return k, nil
}

// TestReaderHugeLineBoundedMemory reads a 100 MB line with a 1 MiB limit: it comes back cut,
// with the exact end, and the buffer never grew past the limit plus one read.
func TestReaderHugeLineBoundedMemory(t *testing.T) {
	const size = 100 << 20
	const maxLine = 1 << 20
	const bufSize = 64 << 10
	r := NewReader(&repeatReader{b: 'x', n: size}, 7, maxLine, bufSize)
	line, off, end, trunc, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if len(line) != maxLine || !trunc || off != 7 || end != 7+size+1 {
		t.Fatalf("got len %d truncated %v offsets %d-%d, want %d true 7-%d", len(line), trunc, off, end, maxLine, 7+size+1)
	}
	if bytes.Count(line, []byte("x")) != maxLine {
		t.Error("cut line does not hold the line's first bytes")
	}
	if got, limit := len(r.buf), maxLine+1+bufSize; got > limit {
		t.Errorf("buffer grew to %d bytes, want at most %d", got, limit)
	}
	if _, _, _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the line: %v, want io.EOF", err)
	}
	if len(r.buf) != bufSize {
		t.Errorf("buffer is %d bytes after the long line, want it back to %d", len(r.buf), bufSize)
	}
}

// TestReaderNoAllocPerLine guards the hot path: reading lines from a buffer allocates nothing.
func TestReaderNoAllocPerLine(t *testing.T) {
	data := bytes.Repeat([]byte("2026-11-25T14:00:00Z INFO some log line with a few words in it\n"), 1000)
	src := bytes.NewReader(data)
	r := NewReader(src, 0, 0, 0)
	allocs := testing.AllocsPerRun(20, func() {
		src.Reset(data)
		r.Reset(src, 0)
		for {
			if _, _, _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Errorf("reading 1000 lines allocated %.1f times, want 0", allocs)
	}
}

// TestReaderHugeLimit checks that an absurd max_line_bytes does not overflow the buffer
// arithmetic: lines still come back whole.
func TestReaderHugeLimit(t *testing.T) {
	r := NewReader(&chunkReader{data: []byte("abc\ndef"), sizes: []int{2}}, 0, int(^uint(0)>>1), 2)
	lines, err := readAll(t, r)
	if !errors.Is(err, io.EOF) || len(lines) != 1 || lines[0] != (got{"abc", 0, 4, false}) {
		t.Fatalf("got %+v %v, want one line \"abc\" 0-4 and io.EOF", lines, err)
	}
	if line, _, end, ok := r.Partial(); !ok || string(line) != "def" || end != 7 {
		t.Fatalf("Partial = %q end %d ok=%v, want \"def\" 7 true", line, end, ok)
	}
}

func TestReaderResetWithLimit(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		want  got
	}{
		{"smaller limit cuts", 3, got{"abc", 0, 7, true}},
		{"larger limit keeps the line whole", 100, got{"abcdef", 0, 7, false}},
		{"zero means the default", 0, got{"abcdef", 0, 7, false}},
	}
	r := NewReader(nil, 0, 4, 2)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r.ResetWithLimit(&chunkReader{data: []byte("abcdef\n"), sizes: []int{1, 2}}, 0, tc.limit)
			lines, err := readAll(t, r)
			if !errors.Is(err, io.EOF) || len(lines) != 1 || lines[0] != tc.want {
				t.Fatalf("got %+v %v, want %+v and io.EOF", lines, err, tc.want)
			}
		})
	}
}
