// Package lines splits the byte stream of a log file into lines with exact file offsets.
//
// It is the hot path of the tailing engine: a line is returned as a slice of the reader's
// own buffer (no allocation, no copy), found with bytes.IndexByte over a large buffer.
// Bytes are only moved when the buffer is compacted to make room for the rest of a line
// that straddles a read, and an overlong line is cut while it is read, so a 100 MB line
// never costs more than max_line_bytes of memory.
package lines

import (
	"bytes"
	"errors"
	"io"
	"math"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// DefaultBufSize is the read buffer size used when NewReader is given none. Large reads
// keep syscalls per line low; 64 KiB holds about 500 typical log lines.
const DefaultBufSize = 64 << 10

// maxEmptyReads is how many (0, nil) reads in a row are tolerated before giving up with
// io.ErrNoProgress, as bufio does, so a broken io.Reader cannot spin Next forever.
const maxEmptyReads = 100

// Reader splits a byte stream, which starts at file offset `offset`, into lines.
// A Reader is not safe for concurrent use.
type Reader struct {
	rd      io.Reader
	buf     []byte
	r, w    int   // buf[r:w] is data not yet returned; buf[r] is the first byte of the pending line
	scan    int   // buf[r:scan] is known to hold no '\n', so the search resumes at scan
	off     int64 // file offset of buf[r]
	skip    int64 // bytes of the pending (overlong) line discarded after buf[r:r+maxLine+1]
	maxLine int
	bufSize int
	err     error // read error held back until the buffered lines are returned
}

// NewReader returns a Reader reading r, whose first byte is at file offset `offset`.
// maxLineBytes <= 0 means entry.DefaultMaxLineBytes; bufSize <= 0 means DefaultBufSize.
// The buffer grows beyond bufSize only while a line longer than bufSize is pending, and
// never beyond maxLineBytes+1+bufSize.
func NewReader(r io.Reader, offset int64, maxLineBytes, bufSize int) *Reader {
	if maxLineBytes <= 0 {
		maxLineBytes = entry.DefaultMaxLineBytes
	}
	if bufSize <= 0 {
		bufSize = DefaultBufSize
	}
	// Keep maxLine+1+bufSize, the largest the buffer can grow to, from overflowing int.
	maxLineBytes = min(maxLineBytes, math.MaxInt/2)
	bufSize = min(bufSize, math.MaxInt/4)
	return &Reader{
		rd:      r,
		buf:     make([]byte, bufSize),
		off:     offset,
		maxLine: maxLineBytes,
		bufSize: bufSize,
	}
}

// Next returns the next complete line without its "\n" (and a trailing "\r" removed), the
// file offset of its first byte and the offset just past its "\n". line is only valid until
// the next call. A line longer than maxLineBytes is returned cut to maxLineBytes with
// truncated=true, but only once its "\n" has been seen (the rest is discarded while reading,
// never buffered), so end is always just past a "\n". At end of input with no complete line
// left it returns io.EOF and keeps any partial line buffered; a later call reads on (the file
// grew). Other read errors are returned as they are, also after the buffered lines, and
// a later call reads on as well.
//
// An empty line is returned as an empty (non-nil) slice; skipping it is the caller's
// choice (keep_empty). A lone "\r" inside a line is kept; invalid UTF-8 is returned as is.
func (r *Reader) Next() (line []byte, offset, end int64, truncated bool, err error) {
	empty := 0
	for {
		if i := bytes.IndexByte(r.buf[r.scan:r.w], '\n'); i >= 0 {
			return r.emit(r.scan + i)
		}
		r.scan = r.w
		if r.err != nil {
			err, r.err = r.err, nil
			return nil, r.off, r.off, false, err
		}
		r.trimOverlong()
		r.makeRoom()
		n, rerr := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return nil, r.off, r.off, false, errors.New("lines: reader returned an invalid count")
		}
		r.w += n
		r.err = rerr
		if n == 0 && rerr == nil {
			if empty++; empty >= maxEmptyReads {
				return nil, r.off, r.off, false, io.ErrNoProgress
			}
		}
	}
}

// emit returns the line ending with the '\n' at buf[nl] and moves past it.
func (r *Reader) emit(nl int) (line []byte, offset, end int64, truncated bool, err error) {
	offset = r.off
	end = r.off + int64(nl-r.r) + r.skip + 1
	if r.skip > 0 {
		// Bytes were discarded, so the line is at least maxLine+2 bytes long before its
		// "\n": longer than maxLine even if its last byte is a "\r".
		line, truncated = r.buf[r.r:r.r+r.maxLine], true
	} else {
		line = r.buf[r.r:nl]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > r.maxLine {
			line, truncated = line[:r.maxLine], true
		}
	}
	r.r, r.scan, r.off, r.skip = nl+1, nl+1, end, 0
	return line, offset, end, truncated, nil
}

// trimOverlong discards the bytes of the pending line past its first maxLine+1 bytes. One
// byte more than maxLine is kept so that a line of exactly maxLine bytes followed by "\r\n"
// is not mistaken for an overlong one.
func (r *Reader) trimOverlong() {
	keep := r.r + r.maxLine + 1
	if r.w > keep {
		r.skip += int64(r.w - keep)
		r.w, r.scan = keep, keep
	}
}

// makeRoom ensures buf[w:] is not empty: first for free when everything was consumed,
// then by moving the pending line to the front, and only then by growing the buffer.
func (r *Reader) makeRoom() {
	if r.r == r.w {
		r.r, r.w, r.scan = 0, 0, 0
		if len(r.buf) > r.bufSize {
			// Give back what an overlong line made the buffer grow to: with up to
			// max_open_files readers, max_line_bytes each would add up.
			r.buf = make([]byte, r.bufSize)
		}
	}
	if r.w < len(r.buf) {
		return
	}
	if r.r > 0 {
		n := copy(r.buf, r.buf[r.r:r.w])
		r.r, r.w, r.scan = 0, n, n
		return
	}
	// The pending line fills the whole buffer and is at most maxLine+1 bytes long (see
	// trimOverlong), so growing up to maxLine+1+bufSize always leaves room to read.
	limit := r.maxLine + 1 + r.bufSize
	size := min(max(2*len(r.buf), r.bufSize), limit)
	nb := make([]byte, size)
	copy(nb, r.buf[r.r:r.w])
	r.buf = nb
}

// Partial returns the buffered incomplete last line (for a file closed for good), its offset
// and the offset of its last byte + 1; ok=false when none. The bytes are returned as they
// are (a trailing "\r" is kept, there is no "\n" to pair it with), cut to maxLineBytes:
// the line was cut exactly when end-offset > len(line). line is only valid until the next
// call of Next or Reset. Partial does not consume the line.
func (r *Reader) Partial() (line []byte, offset, end int64, ok bool) {
	if r.r == r.w && r.skip == 0 {
		return nil, r.off, r.off, false
	}
	line = r.buf[r.r:r.w]
	if len(line) > r.maxLine {
		line = line[:r.maxLine]
	}
	return line, r.off, r.off + int64(r.w-r.r) + r.skip, true
}

// Reset makes the reader read from rd, starting at offset, dropping buffered data and any
// held-back read error. The buffer is kept, so a Reader can be reused across files.
func (r *Reader) Reset(rd io.Reader, offset int64) {
	r.rd = rd
	if len(r.buf) > r.bufSize {
		r.buf = make([]byte, r.bufSize)
	}
	r.r, r.w, r.scan = 0, 0, 0
	r.off, r.skip = offset, 0
	r.err = nil
}

// ResetWithLimit is Reset with a new max_line_bytes (<= 0 means entry.DefaultMaxLineBytes),
// for a Reader reused across entries with different limits (a pool of read buffers).
func (r *Reader) ResetWithLimit(rd io.Reader, offset int64, maxLineBytes int) {
	if maxLineBytes <= 0 {
		maxLineBytes = entry.DefaultMaxLineBytes
	}
	r.maxLine = min(maxLineBytes, math.MaxInt/2)
	r.Reset(rd, offset)
}

// Offset returns the file offset of the first byte not yet returned as part of a line:
// where reading would resume if the pending partial line were dropped.
func (r *Reader) Offset() int64 { return r.off }
