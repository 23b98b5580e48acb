package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"unsafe"
)

// Typed columns (block version blockZstdTyped). A split body's column (split.go: the
// k-th pieces of a block's lines) is written in the kind that suits its values:
//
//   - colDict when it holds at most maxDict distinct values, and at most half as many
//     as pieces: the values (count, then each length-prefixed) and a byte per piece,
//     its value's index. A user agent, a method, a status: zstd matched each of them
//     again on every line, at 2–3 bytes a match, where an index is a byte that zstd's
//     entropy coding takes to a few bits.
//   - colShapes when its pieces hold numbers: each piece's shape (the piece with every
//     run of ASCII digits that is a number — no leading 0, at most maxNumberDigits —
//     replaced by shapeNumber, and the bytes shapeNumber and shapeEscape escaped by
//     shapeEscape), as a column of its own (colDict or colRaw), then the numbers in
//     the order they stand, as uvarints or in a fixed width of 1 to 8 bytes, whichever
//     is shorter (a width byte, 0 for uvarints, says which). An address, an id in a
//     path, a size: their digits as text cost zstd ~4.5 bits each (one Huffman table
//     for all of a block's literals), their bytes as numbers ~8 bits per 2.4 digits.
//   - colRaw otherwise: each piece length-prefixed, as a split body of version 9.
//
// On issue 22's access log the compressed bodies were 38 % smaller (21.2 → 13.1 bytes a
// line; docs/store.md, "Typed columns").
const (
	colRaw    = 0
	colDict   = 1
	colShapes = 2
	// maxDict is the most values a colDict column holds: its indexes are bytes.
	maxDict = 256
	// shapeNumber stands for a number in a shape; shapeEscape makes the byte after it
	// literal (a message's own bytes 1 and 2).
	shapeNumber = 1
	shapeEscape = 2
	// maxNumberDigits: a run of more digits stays text (19 digits fit in a uint64).
	maxNumberDigits = 19
)

// typedCols is what writing and reading typed columns reuses.
type typedCols struct {
	seen   map[string]int // a column's distinct values: their index
	vals   []string       // and those values in order
	idx    []byte         // each value's index in vals
	shapes []byte         // a column's shapes, one after another
	ends   []int          // where each shape ends in shapes
	nums   []uint64       // a column's numbers
	// reading
	dict []piece // a colDict column's values
	// shapeInfo: a colDict column of shapes' values, as locateColumn reads them
	shapeInfo []shapeInfo
	sub       []piece // a colShapes column's shapes
	exp       []byte  // the pieces of colShapes columns, expanded
}

// appendColumn appends the column of pieces col (at least one) in its kind.
func (t *typedCols) appendColumn(dst []byte, col []string) []byte {
	if t.distinct(len(col), func(i int) string { return col[i] }) {
		return t.appendDict(dst)
	}
	t.shapes, t.ends, t.nums = t.shapes[:0], t.ends[:0], t.nums[:0]
	for _, p := range col {
		t.shapes, t.nums = appendShape(t.shapes, t.nums, p)
		t.ends = append(t.ends, len(t.shapes))
	}
	if len(t.nums) == 0 {
		dst = append(dst, colRaw)
		for _, p := range col {
			dst = appendString(dst, p)
		}
		return dst
	}
	dst = append(dst, colShapes)
	shape := func(i int) string {
		start := 0
		if i > 0 {
			start = t.ends[i-1]
		}
		// A view: t.shapes is not changed until the column is written.
		return unsafe.String(unsafe.SliceData(t.shapes[start:]), t.ends[i]-start)
	}
	if t.distinct(len(col), shape) {
		dst = t.appendDict(dst)
	} else {
		dst = append(dst, colRaw)
		start := 0
		for _, end := range t.ends {
			dst = binary.AppendUvarint(dst, uint64(end-start))
			dst = append(dst, t.shapes[start:end]...)
			start = end
		}
	}
	return appendNumbers(dst, t.nums)
}

// distinct says whether the n values of at are few enough for colDict, keeping them in
// t.vals (not copied: they are read before the next column) and each value's index in
// t.idx; it stops counting past the bound. A value equal to the one before (a column of
// one value, runs) is not looked up.
func (t *typedCols) distinct(n int, at func(int) string) bool {
	if t.seen == nil {
		t.seen = make(map[string]int, maxDict)
	}
	clear(t.seen)
	t.vals, t.idx = t.vals[:0], t.idx[:0]
	bound := min(maxDict, n/2)
	prev, prevIdx := "", -1
	for i := range n {
		v := at(i)
		if prevIdx >= 0 && v == prev {
			t.idx = append(t.idx, byte(prevIdx))
			continue
		}
		k, ok := t.seen[v]
		if !ok {
			if len(t.vals) == bound {
				return false
			}
			k = len(t.vals)
			t.seen[v] = k
			t.vals = append(t.vals, v)
		}
		t.idx = append(t.idx, byte(k))
		prev, prevIdx = v, k
	}
	return true
}

// appendDict appends a column whose values distinct found as colDict.
func (t *typedCols) appendDict(dst []byte) []byte {
	dst = append(dst, colDict)
	dst = binary.AppendUvarint(dst, uint64(len(t.vals)))
	for _, v := range t.vals {
		dst = appendString(dst, v)
	}
	return append(dst, t.idx...)
}

// appendShape appends the shape of p to shape and its numbers to nums.
func appendShape(shape []byte, nums []uint64, p string) ([]byte, []uint64) {
	for i := 0; i < len(p); {
		c := p[i]
		if c < '0' || c > '9' {
			if c == shapeNumber || c == shapeEscape {
				shape = append(shape, shapeEscape)
			}
			shape = append(shape, c)
			i++
			continue
		}
		j := i + 1
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			j++
		}
		if (c == '0' && j-i > 1) || j-i > maxNumberDigits {
			shape = append(shape, p[i:j]...) // not written back the same by AppendUint
		} else {
			v, _ := strconv.ParseUint(p[i:j], 10, 64) // 19 digits fit
			nums = append(nums, v)
			shape = append(shape, shapeNumber)
		}
		i = j
	}
	return shape, nums
}

// appendNumbers appends nums as uvarints or in the fixed width of the largest, whichever
// is shorter: a width byte (0: uvarints), then the numbers.
func appendNumbers(dst []byte, nums []uint64) []byte {
	var largest uint64
	varints := 0
	for _, v := range nums {
		largest = max(largest, v)
		varints += (bits.Len64(v|1) + 6) / 7
	}
	width := max(1, (bits.Len64(largest)+7)/8)
	if varints < width*len(nums) {
		dst = append(dst, 0)
		for _, v := range nums {
			dst = binary.AppendUvarint(dst, v)
		}
		return dst
	}
	dst = append(dst, byte(width))
	var b [8]byte
	for _, v := range nums {
		binary.LittleEndian.PutUint64(b[:], v)
		dst = append(dst, b[:width]...)
	}
	return dst
}

// readColumn reads a column of m pieces of any kind from src at at, appending where its
// pieces are to out; it returns out and where the column ends. What does not hold m
// pieces is errCorrupt.
func (t *typedCols) readColumn(src []byte, at, m int, out []piece) ([]piece, int, error) {
	if at >= len(src) {
		return nil, 0, fmt.Errorf("%w: column cut short", errCorrupt)
	}
	if src[at] != colShapes {
		return t.readPlain(src, at, m, out)
	}
	var err error
	if t.sub, at, err = t.readPlain(src, at+1, m, t.sub[:0]); err != nil {
		return nil, 0, err
	}
	if at >= len(src) || src[at] > 8 {
		return nil, 0, fmt.Errorf("%w: numbers' width", errCorrupt)
	}
	width := int(src[at])
	at++
	for _, sh := range t.sub {
		start := len(t.exp)
		if t.exp, at, err = expandShape(t.exp, src[sh.at:sh.at+sh.n], src, at, width); err != nil {
			return nil, 0, err
		}
		if len(t.exp) > maxBlockBytes {
			return nil, 0, fmt.Errorf("%w: pieces of %d bytes", errCorrupt, len(t.exp))
		}
		out = append(out, piece{at: start, n: len(t.exp) - start, expanded: true})
	}
	return out, at, nil
}

// expandShape appends the piece whose shape is shape to dst, its numbers read from src
// at at in width (readNumber); it returns dst and where its numbers end.
func expandShape(dst, shape, src []byte, at, width int) ([]byte, int, error) {
	for len(shape) > 0 {
		i := 0
		for i < len(shape) && shape[i]-shapeNumber > shapeEscape-shapeNumber { // neither (bytes wrap)
			i++
		}
		dst = append(dst, shape[:i]...)
		if i == len(shape) {
			break
		}
		if shape[i] == shapeEscape {
			if i+1 == len(shape) {
				return nil, 0, fmt.Errorf("%w: shape ends in an escape", errCorrupt)
			}
			dst = append(dst, shape[i+1])
			shape = shape[i+2:]
			continue
		}
		shape = shape[i+1:]
		v, w := readNumber(src[at:], width)
		if w <= 0 {
			return nil, 0, fmt.Errorf("%w: numbers cut short", errCorrupt)
		}
		at += w
		n := decimalLen(v)
		dst = slices.Grow(dst, n)[:len(dst)+n]
		putDecimal(dst[len(dst)-n:], v)
	}
	return dst, at, nil
}

// located is where a piece of a typed column is, read without being written out
// (locateColumn): its bytes, or its shape and where its numbers start.
type located struct {
	at, n int32 // its bytes, or its shape, in the split form (at most maxBlockBytes)
	num   int32 // where its numbers start in the split form; -1: its bytes are the piece
}

// locateColumn reads the column of the k-th pieces of lines (the m lines having one)
// from src at at, as readColumn does but without writing its pieces out: it appends where
// each piece is to out, and adds to its line its length written out (msgLen, a space
// before it included) and which of words (ASCII digits only, at most 64) it holds
// (holds): in its bytes, or in its shape or one of its numbers written out (a number is
// a whole run of digits: a word of digits is in one or in the shape's text, never
// across both). It returns out, the numbers' width (readNumber) and where the column
// ends.
func (t *typedCols) locateColumn(src []byte, at, k, m int, lines []splitLine, words [][]byte, out []located) ([]located, int, int, error) {
	if at >= len(src) {
		return nil, 0, 0, fmt.Errorf("%w: column cut short", errCorrupt)
	}
	shaped := src[at] == colShapes
	if shaped {
		at++
	}
	start := at
	var err error
	if t.sub, at, err = t.readPlain(src, at, m, t.sub[:0]); err != nil {
		return nil, 0, 0, err
	}
	// the words the column's text holds at all: most pieces are then not searched
	inText := holding(src[start:at], words, 1<<len(words)-1)
	space := min(k, 1)
	li := 0 // the line of the next piece
	next := func() *splitLine {
		for k >= lines[li].pieces {
			li++
		}
		li++
		return &lines[li-1]
	}
	if !shaped {
		for _, p := range t.sub {
			l := next()
			l.msgLen += p.n + space
			if inText != 0 {
				l.holds |= holding(src[p.at:p.at+p.n], words, inText)
			}
			out = append(out, located{at: int32(p.at), n: int32(p.n), num: -1})
		}
		return out, 0, at, nil
	}
	if at >= len(src) || src[at] > 8 {
		return nil, 0, 0, fmt.Errorf("%w: numbers' width", errCorrupt)
	}
	width := int(src[at])
	at++
	shortest := len(words[0])
	for _, w := range words {
		shortest = min(shortest, len(w))
	}
	// A shape's own bytes are walked once per distinct shape: a dictionary's values
	// once for the column.
	var indexes []byte // a dictionary's: each piece's value
	if src[start] == colDict {
		indexes = src[at-1-m : at-1] // before the width
		t.shapeInfo = t.shapeInfo[:0]
		for _, d := range t.dict {
			sh, err := measureShape(src[d.at:d.at+d.n], words, inText)
			if err != nil {
				return nil, 0, 0, err
			}
			t.shapeInfo = append(t.shapeInfo, sh)
		}
	}
	var buf [20]byte
	for j, p := range t.sub {
		var sh shapeInfo
		if indexes != nil {
			sh = t.shapeInfo[indexes[j]] // readPlain checked it
		} else if sh, err = measureShape(src[p.at:p.at+p.n], words, inText); err != nil {
			return nil, 0, 0, err
		}
		out = append(out, located{at: int32(p.at), n: int32(p.n), num: int32(at)})
		l := next()
		l.msgLen += sh.size + space
		l.holds |= sh.holds
		for range sh.numbers {
			v, w := readNumber(src[at:], width)
			if w <= 0 {
				return nil, 0, 0, fmt.Errorf("%w: numbers cut short", errCorrupt)
			}
			at += w
			n := decimalLen(v)
			l.msgLen += n
			if n >= shortest {
				putDecimal(buf[:n], v)
				l.holds |= holding(buf[:n], words, 1<<len(words)-1)
			}
		}
	}
	return out, width, at, nil
}

// shapeInfo is what locateColumn reads of a shape: the length of its own bytes written
// out, how many numbers it stands for, and which of the words its own bytes hold.
type shapeInfo struct {
	size, numbers int
	holds         uint64
}

// measureShape reads shape, looking for those of words that mask names.
func measureShape(shape []byte, words [][]byte, mask uint64) (shapeInfo, error) {
	sh := shapeInfo{holds: holding(shape, words, mask)}
	for i := 0; i < len(shape); i++ {
		switch shape[i] {
		case shapeEscape:
			if i++; i == len(shape) {
				return sh, fmt.Errorf("%w: shape ends in an escape", errCorrupt)
			}
			sh.size++
		case shapeNumber:
			sh.numbers++
		default:
			sh.size++
		}
	}
	return sh, nil
}

// holding is the mask of the words among mask (bit w: words[w]) that b holds.
func holding(b []byte, words [][]byte, mask uint64) uint64 {
	var h uint64
	for ; mask != 0; mask &= mask - 1 {
		w := bits.TrailingZeros64(mask)
		if bytes.Contains(b, words[w]) {
			h |= 1 << w
		}
	}
	return h
}

// readNumber reads a number of width bytes (0: a uvarint) from b, and how many bytes it
// took (0 when b is too short).
func readNumber(b []byte, width int) (uint64, int) {
	switch {
	case width == 0:
		return binary.Uvarint(b)
	case len(b) >= 8: // one load, masked
		return binary.LittleEndian.Uint64(b) & (1<<(8*width) - 1), width
	case len(b) < width:
		return 0, 0
	}
	var v uint64
	for i := width - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, width
}

// decimalLen is the number of digits of v in decimal.
func decimalLen(v uint64) int {
	n := 1
	for p := uint64(10); v >= p; p *= 10 {
		if n++; n == 20 { // 10^19 · 10 would overflow
			break
		}
	}
	return n
}

// putDecimal writes v in decimal into b, which is its length (decimalLen), two digits
// at a time (strconv.AppendUint and its copy took a fifth of a block's decoding).
func putDecimal(b []byte, v uint64) {
	const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
		"8081828384858687888990919293949596979899"
	i := len(b)
	for v >= 100 {
		r := v % 100
		v /= 100
		i -= 2
		b[i], b[i+1] = pairs[2*r], pairs[2*r+1]
	}
	if v >= 10 {
		b[i-2], b[i-1] = pairs[2*v], pairs[2*v+1]
	} else {
		b[i-1] = byte('0' + v)
	}
}

// readPlain reads a column of m pieces of kind colRaw or colDict.
func (t *typedCols) readPlain(src []byte, at, m int, out []piece) ([]piece, int, error) {
	if at >= len(src) {
		return nil, 0, fmt.Errorf("%w: column cut short", errCorrupt)
	}
	kind := src[at]
	at++
	switch kind {
	case colRaw:
		return readPieces(src, at, m, out)
	case colDict:
		d, w := binary.Uvarint(src[at:])
		if w <= 0 || d == 0 || d > maxDict {
			return nil, 0, fmt.Errorf("%w: a column of %d values", errCorrupt, d)
		}
		var err error
		if t.dict, at, err = readPieces(src, at+w, int(d), t.dict[:0]); err != nil {
			return nil, 0, err
		}
		if len(src)-at < m {
			return nil, 0, fmt.Errorf("%w: indexes cut short", errCorrupt)
		}
		for _, i := range src[at : at+m] {
			if int(i) >= len(t.dict) {
				return nil, 0, fmt.Errorf("%w: index %d of %d values", errCorrupt, i, len(t.dict))
			}
			out = append(out, t.dict[i])
		}
		return out, at + m, nil
	}
	return nil, 0, fmt.Errorf("%w: column kind %d", errCorrupt, kind)
}

// readPieces reads m length-prefixed pieces from src at at.
func readPieces(src []byte, at, m int, out []piece) ([]piece, int, error) {
	for range m {
		n, w := uint64(0), 1
		if at < len(src) && src[at] < 0x80 { // most pieces are shorter than 128 bytes
			n = uint64(src[at])
		} else if n, w = binary.Uvarint(src[at:]); w <= 0 {
			return nil, 0, fmt.Errorf("%w: piece cut short", errCorrupt)
		}
		if at += w; n > uint64(len(src)-at) {
			return nil, 0, fmt.Errorf("%w: piece cut short", errCorrupt)
		}
		out = append(out, piece{at: at, n: int(n)})
		at += int(n)
	}
	return out, at, nil
}
