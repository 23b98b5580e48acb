package sqlitestore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// A block of version blockZstdSplit or blockZstdTyped has its body (the layout decodeLines reads) split
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
// having one, in line order: length-prefixed (blockZstdSplit), or as a column of the
// kind that suits its values (blockZstdTyped: typed.go). A message is its pieces joined
// by single spaces (the last piece keeps the rest of the line, spaces and all).
const maxPieces = 12

// splitter splits bodies, reusing its memory.
type splitter struct {
	lines   []splitLine
	pieces  []piece   // joining: where each piece is in the split form
	located []located // joining the lines holding words (joinHolding): where each piece is
	col     []string  // splitting: the pieces of a column (typed columns)
	typed   typedCols // a block of version blockZstdTyped's columns (typed.go)
}

// piece is where a piece's bytes are: in a split form, or in the expanded pieces of its
// typed columns (typedCols.exp).
type piece struct {
	at, n    int
	expanded bool
}

// splitLine is a line of a block being split or joined.
type splitLine struct {
	rest   string // what is left of its message to split
	pieces int    // its number of pieces
	extra  int64  // its end minus offset minus the message's length (joining)
	delta  int64  // its offset minus the line before's end (joining)
	msgLen int    // its message's length (joining)
	at     int    // where its message's next piece goes (joining)
	holds  uint64 // which of the words looked for its pieces hold (joinHolding)
	stop   int    // where its message ends (joining)
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

// finish appends the pieces of the lines given since start to dst, each column in its
// kind (typed.go: blockZstdTyped), and appends the split form of raw pieces
// (blockZstdSplit) to raw. Why both: a block keeps the one that compresses smaller
// (encoder.encode). Typed columns are a third smaller on an access log of random
// addresses and ids; on lines whose numbers count up line by line (a test's generated
// log) their text compressed a third smaller than their bytes, zstd matching each
// number's leading digits on the line before.
func (s *splitter) finish(dst, raw []byte) ([]byte, []byte) {
	raw = append(raw, dst...) // the head and the lines' heads, the same in both
	for k := range maxPieces {
		s.col = s.col[:0]
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
			s.col = append(s.col, cut)
		}
		if len(s.col) == 0 {
			break // no line has more pieces
		}
		dst = s.typed.appendColumn(dst, s.col)
		for _, p := range s.col {
			raw = appendString(raw, p)
		}
	}
	return dst, raw
}

// join appends the body whose split form is src to dst: of typed columns (typed.go)
// when typed says so (blockZstdTyped), else of raw pieces (blockZstdSplit). A split
// form that does not hold what it claims is errCorrupt, never a panic or an allocation
// beyond its own size (or, typed, maxBlockBytes).
func (s *splitter) join(src, dst []byte, typed bool) ([]byte, error) {
	head, at, count, err := s.readHeads(src)
	if err != nil {
		return nil, err
	}
	dst = append(dst, src[:head]...)
	// Where each piece is, in the order stored: a line's place in the body depends on
	// its message's length, known once all its pieces are read.
	s.pieces, s.typed.exp = s.pieces[:0], s.typed.exp[:0]
	for k := range maxPieces {
		if count[k] == 0 {
			break
		}
		start := len(s.pieces)
		var err error
		if typed {
			s.pieces, at, err = s.typed.readColumn(src, at, count[k], s.pieces)
		} else {
			s.pieces, at, err = readPieces(src, at, count[k], s.pieces)
		}
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", k, err)
		}
		j := start
		for i := range s.lines {
			if l := &s.lines[i]; k < l.pieces {
				l.msgLen += s.pieces[j].n + min(k, 1)
				j++
			}
		}
	}
	if at != len(src) {
		return nil, fmt.Errorf("%w: %d bytes after the pieces", errCorrupt, len(src)-at)
	}
	if dst, err = s.appendLineHeads(dst, func(*splitLine) bool { return true }); err != nil {
		return nil, err
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
			p, from := s.pieces[j], src
			if p.expanded {
				from = s.typed.exp
			}
			l.at += copy(dst[l.at:], from[p.at:p.at+p.n])
			j++
		}
	}
	return dst, nil
}

// readHeads reads a split form's lines' heads into s.lines: it returns the length of the
// body's head, where the columns start and how many lines have at least k+1 pieces.
func (s *splitter) readHeads(src []byte) (head, at int, count [maxPieces]int, err error) {
	d := decoder{b: src}
	skipHead(&d)
	head = len(src) - len(d.b)
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) { // a line takes at least 3 bytes
		return 0, 0, count, fmt.Errorf("%w: split body of %d lines", errCorrupt, n)
	}
	s.lines = s.lines[:0]
	for range n {
		l := splitLine{delta: d.varint(), extra: d.varint()}
		np := d.uvarint()
		if d.err || np == 0 || np > maxPieces {
			return 0, 0, count, fmt.Errorf("%w: split line %d of %d", errCorrupt, len(s.lines), n)
		}
		l.pieces = int(np)
		for k := range l.pieces {
			count[k]++
		}
		s.lines = append(s.lines, l)
	}
	return head, len(src) - len(d.b), count, nil
}

// appendLineHeads appends each line's head to dst, as a body has it (its offset minus
// the line before's end, its end minus its offset, its message's length), and room for
// its message (l.at to l.stop) when written says so; a line not written gets an empty
// message, its offset and end as they are.
func (s *splitter) appendLineHeads(dst []byte, written func(l *splitLine) bool) ([]byte, error) {
	total := 0
	for i := range s.lines {
		l := &s.lines[i]
		size := l.extra + int64(l.msgLen)
		if size < 0 || l.extra > maxBlockBytes || l.msgLen > maxBlockBytes {
			return nil, fmt.Errorf("%w: line %d ends before its message", errCorrupt, i)
		}
		n := 0
		if written(l) {
			n = l.msgLen
		}
		if total += n; total > maxBlockBytes {
			return nil, fmt.Errorf("%w: messages of %d bytes", errCorrupt, total)
		}
		dst = binary.AppendVarint(dst, l.delta)
		dst = binary.AppendUvarint(dst, uint64(size))
		dst = binary.AppendUvarint(dst, uint64(n))
		l.at = len(dst)
		dst = append(dst, make([]byte, n)...)
		l.stop = len(dst)
	}
	return dst, nil
}

// joinHolding is join for a typed split form (blockZstdTyped) read for words (ASCII
// digits only, at most 64) that every line of interest holds: the lines holding each of
// them are written out, the others with an empty message (their offsets and ends as
// they are), and it returns nil (no error) when no line holds them all. Which line
// holds what is read from the columns without writing them out (locateColumn): a word
// without a space is in one piece of a line, in its bytes, its shape or one of its
// numbers. Why: a rare number's or a digit prefix's candidate block holds the number in
// a line or two of its 512 (or in none: a filter's false positive), and writing out the
// others' numbers and shapes was most of the cost of reading it: 741 ns a line against
// ~300 (BenchmarkDecodeBlocks; docs/store.md, "A candidate block read for its numbers").
func (s *splitter) joinHolding(src, dst []byte, words [][]byte) ([]byte, error) {
	head, at, count, err := s.readHeads(src)
	if err != nil {
		return nil, err
	}
	s.located = s.located[:0]
	var widths [maxPieces]int
	for k := range maxPieces {
		if count[k] == 0 {
			break
		}
		if s.located, widths[k], at, err = s.typed.locateColumn(src, at, k, count[k], s.lines, words, s.located); err != nil {
			return nil, fmt.Errorf("column %d: %w", k, err)
		}
	}
	if at != len(src) {
		return nil, fmt.Errorf("%w: %d bytes after the pieces", errCorrupt, len(src)-at)
	}
	all := uint64(1)<<len(words) - 1
	wanted := func(l *splitLine) bool { return l.holds == all } // it holds them all
	if !slices.ContainsFunc(s.lines, func(l splitLine) bool { return wanted(&l) }) {
		return nil, nil
	}
	if dst, err = s.appendLineHeads(append(dst, src[:head]...), wanted); err != nil {
		return nil, err
	}
	// Where each column's pieces start in s.located: a line's k-th piece is the one
	// after those of the lines before it that have a k-th.
	var first [maxPieces]int
	for k := 1; k < maxPieces; k++ {
		first[k] = first[k-1] + count[k-1]
	}
	for i := range s.lines {
		l := &s.lines[i]
		if !wanted(l) {
			continue
		}
		for k := range l.pieces {
			j := first[k] + i
			if count[k] < len(s.lines) { // not every line has a k-th piece
				j = first[k]
				for _, o := range s.lines[:i] {
					if k < o.pieces {
						j++
					}
				}
			}
			p := s.located[j]
			if k > 0 {
				dst[l.at] = ' '
				l.at++
			}
			piece := src[p.at : p.at+p.n]
			if p.num < 0 {
				l.at += copy(dst[l.at:], piece)
				continue
			}
			// written in place, up to the message's end: its length was measured from
			// the same bytes
			out, _, err := expandShape(dst[l.at:l.at:l.stop], piece, src, int(p.num), widths[k])
			if err != nil || l.at+len(out) > l.stop || len(out) > 0 && &out[0] != &dst[l.at] {
				return nil, fmt.Errorf("%w: a piece of line %d", errCorrupt, i)
			}
			l.at += len(out)
		}
	}
	return dst, nil
}

// The kinds of a word codec.join looks for.
const (
	wordPlain  = iota // neither digits nor the shapes' bytes 1 and 2
	wordDigits        // ASCII digits only
	wordMixed
)

func wordKind(w []byte) int {
	digits, other := 0, 0
	for _, c := range w {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == shapeNumber || c == shapeEscape:
			return wordMixed
		default:
			other++
		}
	}
	switch {
	case digits == 0:
		return wordPlain
	case other == 0:
		return wordDigits
	}
	return wordMixed
}

// skipHead moves d past a body's head: the entry's fields and format.
func skipHead(d *decoder) {
	for nf := d.uvarint(); nf > 0 && !d.err; nf-- {
		d.string()
		d.string()
	}
	d.string()
}
