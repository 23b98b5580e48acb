package sqlitestore

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// A block of version blockZstdSplit has its body (the layout decodeLines reads) split
// into columns before it is compressed, and joined back when it is decompressed: a
// message is cut at its first maxPieces-1 spaces, and the pieces at each position of the
// block's lines are stored together (a log's first words — address, date, level, method
// — are alike from line to line, so zstd finds them next to each other), after the
// lines' offsets and lengths, stored together too. A line's end minus its offset is
// stored less the message's length (nearly always 1: the newline), not the length itself.
// On issue 22's access log the compressed bodies were 27 % smaller (30.1 → 21.9 bytes a
// line; docs/store.md, "A block's body in columns", has other logs and the cuts tried).
// The rest of the store sees the joined body: the phrase check, decodeLines.
//
// Split form: the body's head (the entry's fields and format) as it is; the line count
// (uvarint); per line the offset minus the line before's end (varint, as in the body),
// the end minus the offset minus the message's length (varint) and the number of pieces
// (uvarint, 1 to maxPieces); then per position k from 0, the k-th piece of each line
// having one (length-prefixed), in line order. A message is its pieces joined by single
// spaces (the last piece keeps the rest of the line, spaces and all).
const maxPieces = 12

// splitter splits bodies, reusing its memory.
type splitter struct {
	lines  []splitLine
	pieces []piece // joining: where each piece is in the split form
}

// piece is where a piece's bytes are in a split form.
type piece struct{ at, n int }

// splitLine is a line of a block being split or joined.
type splitLine struct {
	rest   string // what is left of its message to split
	pieces int    // its number of pieces
	extra  int64  // its end minus offset minus the message's length (joining)
	delta  int64  // its offset minus the line before's end (joining)
	msgLen int    // its message's length (joining)
	at     int    // where its message's next piece goes (joining)
}

// start begins, in dst, the split form of a body of n lines whose head (the entry's
// fields and format, as in the body) is head. The encoder then gives it each line
// (line) and ends it (finish).
func (s *splitter) start(dst, head []byte, n int) []byte {
	s.lines = s.lines[:0]
	dst = append(dst, head...)
	return binary.AppendUvarint(dst, uint64(n))
}

// line appends the head of a line whose offset minus the line before's end is delta and
// whose end minus offset is size, and keeps its message for finish.
func (s *splitter) line(dst []byte, delta, size int64, msg string) []byte {
	l := splitLine{rest: msg, pieces: min(strings.Count(msg, " ")+1, maxPieces)}
	dst = binary.AppendVarint(dst, delta)
	dst = binary.AppendVarint(dst, size-int64(len(msg)))
	dst = binary.AppendUvarint(dst, uint64(l.pieces))
	s.lines = append(s.lines, l)
	return dst
}

// finish appends the pieces of the lines given since start.
func (s *splitter) finish(dst []byte) []byte {
	for k := range maxPieces {
		for i := range s.lines {
			l := &s.lines[i]
			if k >= l.pieces {
				continue
			}
			cut := l.rest
			if k < l.pieces-1 {
				j := strings.IndexByte(l.rest, ' ')
				cut, l.rest = l.rest[:j], l.rest[j+1:]
			}
			dst = appendString(dst, cut)
		}
	}
	return dst
}

// join appends the body whose split form is src to dst. A split form that does not hold
// what it claims is errCorrupt, never a panic or an allocation beyond its own size.
func (s *splitter) join(src, dst []byte) ([]byte, error) {
	d := decoder{b: src}
	skipHead(&d)
	head := len(src) - len(d.b)
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) { // a line takes at least 3 bytes
		return nil, fmt.Errorf("%w: split body of %d lines", errCorrupt, n)
	}
	dst = append(dst, src[:head]...)
	s.lines = s.lines[:0]
	for range n {
		l := splitLine{delta: d.varint(), extra: d.varint()}
		np := d.uvarint()
		if d.err || np == 0 || np > maxPieces {
			return nil, fmt.Errorf("%w: split line %d of %d", errCorrupt, len(s.lines), n)
		}
		l.pieces = int(np)
		s.lines = append(s.lines, l)
	}
	// Where each piece is, in the order stored: a line's place in the body depends on
	// its message's length, known once all its pieces are read.
	s.pieces = s.pieces[:0]
	at := len(src) - len(d.b)
	for k := range maxPieces {
		for i := range s.lines {
			l := &s.lines[i]
			if k >= l.pieces {
				continue
			}
			m, w := uint64(0), 1
			if at < len(src) && src[at] < 0x80 { // most pieces are shorter than 128 bytes
				m = uint64(src[at])
			} else if m, w = binary.Uvarint(src[at:]); w <= 0 {
				return nil, fmt.Errorf("%w: piece %d of line %d cut short", errCorrupt, k, i)
			}
			if at += w; m > uint64(len(src)-at) {
				return nil, fmt.Errorf("%w: piece %d of line %d cut short", errCorrupt, k, i)
			}
			s.pieces = append(s.pieces, piece{at: at, n: int(m)})
			at += int(m)
			l.msgLen += int(m) + min(k, 1)
		}
	}
	if at != len(src) {
		return nil, fmt.Errorf("%w: %d bytes after the pieces", errCorrupt, len(src)-at)
	}
	for i := range s.lines {
		l := &s.lines[i]
		size := l.extra + int64(l.msgLen)
		if size < 0 || l.extra > maxBlockBytes {
			return nil, fmt.Errorf("%w: line %d ends before its message", errCorrupt, i)
		}
		dst = binary.AppendVarint(dst, l.delta)
		dst = binary.AppendUvarint(dst, uint64(size))
		dst = binary.AppendUvarint(dst, uint64(l.msgLen))
		l.at = len(dst)
		dst = append(dst, make([]byte, l.msgLen)...)
	}
	j := 0
	for k := range maxPieces {
		for i := range s.lines {
			l := &s.lines[i]
			if k >= l.pieces {
				continue
			}
			if k > 0 {
				dst[l.at] = ' '
				l.at++
			}
			p := s.pieces[j]
			l.at += copy(dst[l.at:], src[p.at:p.at+p.n])
			j++
		}
	}
	return dst, nil
}

// skipHead moves d past a body's head: the entry's fields and format.
func skipHead(d *decoder) {
	for nf := d.uvarint(); nf > 0 && !d.err; nf-- {
		d.string()
		d.string()
	}
	d.string()
}
