package sqlitestore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// splitRows are rows of one file holding messages, with offsets that leave gaps and
// ends that are not always the message's length plus a newline (a line cut at the
// agent's limit; a message longer than its bytes in the file).
func splitRows(msgs []string) ([]store.Row, [][2]int64, []int) {
	rows := make([]store.Row, len(msgs))
	times := make([][2]int64, len(msgs))
	idx := make([]int, len(msgs))
	off := int64(7)
	for i, m := range msgs {
		end := off + int64(len(m)) + 1
		switch i % 3 {
		case 1:
			end += 1000
		case 2:
			end = off + int64(len(m)/2)
		}
		rows[i] = store.Row{Host: "h", Path: "/p", FileID: "1:2", Format: "nginx_combined", Fields: map[string]string{"env": "prod"},
			Offset: off, End: end, Message: m}
		times[i], idx[i] = [2]int64{int64(1e18 + i), int64(1e18 + 2*i)}, i
		off = end + int64(i%2)*5
	}
	return rows, times, idx
}

// checkSplitRoundTrip encodes msgs as a block and decodes it: every line comes back as
// it was.
func checkSplitRoundTrip(t *testing.T, c *codec, msgs []string) {
	t.Helper()
	rows, times, idx := splitRows(msgs)
	b := newEncoder(c).encode(rows, times, idx)
	if b.data[0] != blockZstdTyped && b.data[0] != blockZstdSplit {
		t.Fatalf("block version %d, want %d or %d", b.data[0], blockZstdTyped, blockZstdSplit)
	}
	lines, e, err := c.decodeBlock(b.data, b.n, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if e.format != "nginx_combined" || e.fields["env"] != "prod" || len(e.fields) != 1 {
		t.Errorf("entry %+v", e)
	}
	if len(lines) != len(msgs) {
		t.Fatalf("%d lines, want %d", len(lines), len(msgs))
	}
	for i, l := range lines {
		r := rows[i]
		if l.msg != r.Message || l.off != r.Offset || l.end != r.End || l.ts != times[i][0] || l.rts != times[i][1] {
			t.Errorf("line %d: %q %d-%d %d %d, want %q %d-%d %d %d", i, l.msg, l.off, l.end, l.ts, l.rts,
				r.Message, r.Offset, r.End, times[i][0], times[i][1])
		}
	}
}

// TestSplitBodies: a block's body split into columns and joined back gives every line
// as it was, whatever its spaces: none, one, more than maxPieces, runs of them, at the
// start and the end; empty messages, invalid UTF-8.
func TestSplitBodies(t *testing.T) {
	c := testCodec(t)
	msgs := []string{
		`10.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET /a?id=1 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) curl/8.5"`,
		"",
		" ",
		strings.Repeat(" ", 30),
		"nospace",
		" leading",
		"trailing ",
		"a  b   c    d",
		strings.Repeat("w ", 40),
		"\xff\xfe \x00 é",
		strings.Repeat("x", 70000) + " y",
	}
	checkSplitRoundTrip(t, c, msgs)
	checkSplitRoundTrip(t, c, msgs[:1])
	var many []string
	for i := range defaultBlockLines {
		many = append(many, strings.Repeat("p ", i%20)+msgs[i%len(msgs)])
	}
	checkSplitRoundTrip(t, c, many)
}

// FuzzSplitBody: any messages round-trip through a split block.
func FuzzSplitBody(f *testing.F) {
	f.Add("10.0.0.1 - - [x] \"GET / HTTP/1.1\" 200 5\n\n  \na b c d e f g h i j k l m n o p")
	f.Add(" \n \xff")
	c := testCodec(f)
	f.Fuzz(func(t *testing.T, s string) {
		checkSplitRoundTrip(t, c, strings.Split(s, "\n"))
	})
}

// FuzzJoin: a split body that is not one the encoder made, of raw pieces or typed
// columns, is errCorrupt or a body decodeLines reads as the lines it claims, never a
// panic.
func FuzzJoin(f *testing.F) {
	c := testCodec(f)
	rows, times, idx := splitRows([]string{"a b c", "", "x  y", "10.0.0.1 GET /a/12", "10.0.0.2 GET /a/13", "10.0.0.3 PUT /a/012"})
	e := newEncoder(c)
	e.encode(rows, times, idx)
	f.Add(append([]byte(nil), e.sbuf...), true)
	f.Add([]byte{0, 0, 1, 0, 2, 13}, false)
	f.Add([]byte{0, 0, 1, 0, 2, 1, colShapes, colRaw, 1, shapeNumber, 0, 0xff}, true)
	f.Fuzz(func(t *testing.T, src []byte, typed bool) {
		var s splitter
		joined := func(body []byte, err error) {
			if err != nil {
				if !errors.Is(err, errCorrupt) {
					t.Fatalf("join: %v, not errCorrupt", err)
				}
				return
			}
			if body == nil {
				return // no line holds the words
			}
			d := decoder{b: src}
			skipHead(&d)
			n := int(d.uvarint())
			if _, _, err := decodeLines(blockZstdSplit, make([]byte, 2*n), body, n, nil); err != nil {
				t.Fatalf("joined body of %d lines: %v", n, err)
			}
		}
		joined(s.join(src, nil, typed))
		if typed { // and read for numbers (codec.join)
			joined(s.joinHolding(src, nil, [][]byte{[]byte("1"), []byte("12")}))
		}
	})
}

// TestJoinCorrupt: a split body cut short, with bytes after its pieces, or claiming no
// pieces, more than maxPieces or more lines than it holds, is errCorrupt.
func TestJoinCorrupt(t *testing.T) {
	c := testCodec(t)
	rows, times, idx := splitRows([]string{"a b c", "d", "e f"})
	e := newEncoder(c)
	e.encode(rows, times, idx)
	good := append([]byte(nil), e.sbuf...)
	var s splitter
	if _, err := s.join(good, nil, true); err != nil {
		t.Fatal(err)
	}
	// one line of one piece: its column
	line := func(col ...byte) []byte { return append([]byte{0, 0, 1, 0, 2, 1}, col...) }
	for name, bad := range map[string][]byte{
		"cut":                   good[:len(good)-1],
		"extra byte":            append(append([]byte(nil), good...), 0),
		"no pieces":             {0, 0, 1, 0, 2, 0, 0},
		"13 pieces":             {0, 0, 1, 0, 2, 13, 0},
		"lines missing":         {0, 0, 9, 0, 2, 1, 0},
		"no column":             line(),
		"unknown kind":          line(7, 1, 'a'),
		"dict of none":          line(colDict, 0, 0),
		"dict of 257":           line(colDict, 0x81, 2),
		"index past the dict":   line(colDict, 3, 1, 'a', 1, 'b', 1, 'c', 3),
		"indexes cut":           line(colDict, 2, 1, 'a', 1, 'b'),
		"shapes in shapes":      line(colShapes, colShapes, colRaw, 1, 'a', 0),
		"width 9":               line(colShapes, colRaw, 1, shapeNumber, 9, 1),
		"numbers cut":           line(colShapes, colRaw, 1, shapeNumber, 2, 1),
		"varint cut":            line(colShapes, colRaw, 1, shapeNumber, 0, 0x80),
		"escape at shape's end": line(colShapes, colRaw, 1, shapeEscape, 0),
	} {
		if _, err := s.join(bad, nil, true); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
}

// TestTypedColumns: each column is written in the kind its values suit, and every line
// comes back as it was: numbers with leading zeros, of 19 and 20 digits and the
// largest uint64, the bytes that mark shapes, columns of many and of few values.
func TestTypedColumns(t *testing.T) {
	c := testCodec(t)
	var msgs []string
	for i := range 300 {
		msgs = append(msgs, fmt.Sprintf("10.%d.%d.%d GET /api/v1/users/%d %s %d x\x01y\x02z",
			i%7, i*13%256, i*29%256, i*7919%1_000_000, []string{"a", "b", "c"}[i%3], i*131))
	}
	msgs = append(msgs, "007 0 00 1234567890123456789 12345678901234567890 18446744073709551615 \x01\x02 \x02\x01 9\x01")
	msgs = append(msgs, "\x01 \x02\x02 \x00 1\x02 2\x022 \xff3")
	checkSplitRoundTrip(t, c, msgs)
	// dictionaries of every index width, and the lines of one value after lines of
	// another (the width of a run)
	for _, d := range []int{1, 2, 3, 5, 17, 200, 256} {
		var col []string
		for i := range defaultBlockLines {
			col = append(col, fmt.Sprintf("w%d", i*7%d))
		}
		checkSplitRoundTrip(t, c, col)
		var s splitter
		if got := s.typed.appendColumn(nil, col); got[0] != colDict || got[1] != byte(d) && d < 128 {
			t.Errorf("%d values: kind %d of %d values, want a dictionary", d, got[0], got[1])
		}
	}
	// the kinds: address and path shapes with numbers, the method a dictionary
	var s splitter
	var col []string
	for _, m := range msgs[:300] {
		col = append(col, strings.Fields(m)[1])
	}
	if got := s.typed.appendColumn(nil, col); got[0] != colDict || got[1] != 1 {
		t.Errorf("a column of one value: kind %d of %d values, want a dictionary of 1", got[0], got[1])
	}
	col = col[:0]
	for _, m := range msgs[:300] {
		col = append(col, strings.Fields(m)[0])
	}
	if got := s.typed.appendColumn(nil, col); got[0] != colShapes || got[1] != colDict {
		t.Errorf("addresses: kind %d, then %d, want shapes in a dictionary", got[0], got[1])
	}
	if got := s.typed.appendColumn(nil, []string{"a", "b", "c", "d"}); got[0] != colRaw {
		t.Errorf("4 distinct words: kind %d, want raw", got[0])
	}
}

// TestJoinHolding: a typed block read for words of digits is written out with the lines
// holding them all, and the other lines' messages empty, their offsets and ends as they
// are; it is ruled out (nil) only when no line holds them: a number written as bytes is
// found, whole or in part, as is a run of digits kept as text. A word of other bytes is
// found in the block as it is, and a word of both in the lines written out.
func TestJoinHolding(t *testing.T) {
	c := testCodec(t)
	var msgs []string
	r := rand.New(rand.NewPCG(1, 2)) // random numbers: the block keeps typed columns
	for range 64 {
		msgs = append(msgs, fmt.Sprintf("10.%d.%d.%d GET /api/v1/users/%d 007x size=%d",
			r.IntN(256), r.IntN(256), r.IntN(256), 100000+r.IntN(900000), 1000+r.IntN(9000)))
	}
	msgs[5] = "007 a run kept as text, 0099 too, and 20 digits 12345678901234567890"
	msgs[60] = "10.0.0.1 GET /api/v1/users/723863 007x size=1063"
	msgs[61] = "10.0.0.1 GET /api/v1/users/723801 007x size=2386"
	rows, times, idx := splitRows(msgs)
	b := newEncoder(c).encode(rows, times, idx)
	if b.data[0] != blockZstdTyped {
		t.Fatalf("block version %d, want typed", b.data[0])
	}
	for _, words := range [][]string{
		{"723863"},                 // an id, a number
		{"2386"},                   // inside one, and a number whole
		{"723864"},                 // no line's
		{"007"},                    // a run kept as text, in every line
		{"099"},                    // inside one
		{"45678901"},               // inside 20 digits kept as text
		{"GET", "users"},           // words as they are
		{"users", "POST"},          // one of them in no line
		{"v1"},                     // letters and digits: checked on the lines
		{"v9"},                     // in none
		{"1063", "723801"},         // two numbers in different lines
		{"1063", "723863"},         // two numbers of one line
		{"10", "0", "users", "v1"}, // every kind at once
	} {
		var need [][]byte
		var digits []string // looked for line by line; the others in the block
		for _, w := range words {
			need = append(need, []byte(w))
			if wordKind([]byte(w)) == wordDigits {
				digits = append(digits, w)
			}
		}
		times, body, err := c.inflate(b.data, nil, need)
		if err != nil {
			t.Fatalf("%q: %v", words, err)
		}
		holding := 0
		for _, m := range msgs {
			if containsAll(m, words) {
				holding++
			}
		}
		if body == nil {
			if holding > 0 {
				t.Errorf("%q: ruled out, but %d lines hold them", words, holding)
			}
			continue
		}
		if holding == 0 && len(digits) == len(words) {
			t.Errorf("%q: no line holds them, but the block is read", words)
		}
		lines, _, err := decodeLines(b.data[0], times, body, b.n, nil)
		if err != nil {
			t.Fatalf("%q: %v", words, err)
		}
		for i, l := range lines {
			want := ""
			if containsAll(msgs[i], digits) {
				want = msgs[i]
			}
			if l.msg != want {
				t.Errorf("%q: line %d %q, want %q", words, i, l.msg, want)
			}
			if l.off != rows[i].Offset || l.end != rows[i].End {
				t.Errorf("%q: line %d at %d-%d, want %d-%d", words, i, l.off, l.end, rows[i].Offset, rows[i].End)
			}
		}
	}
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// TestBlockForm: a block keeps the split form that compresses smaller: typed columns for
// an access log of random addresses and ids, raw pieces for lines whose numbers count
// up (loadgen.AccessLine), each decoding to its lines. (A codec per case: it remembers
// a file's form, TestBlockFormRemembered.)
func TestBlockForm(t *testing.T) {
	for _, tc := range []struct {
		name string
		line func(i int) string
		want byte
	}{
		{"random", func(i int) string { l, _ := loadgen.Realistic{N: defaultBlockLines}.Line(i); return l }, blockZstdTyped},
		{"counting up", loadgen.AccessLine, blockZstdSplit},
	} {
		c := testCodec(t)
		var msgs []string
		for i := range defaultBlockLines {
			msgs = append(msgs, tc.line(i))
		}
		rows, times, idx := splitRows(msgs)
		e := newEncoder(c)
		b := e.encode(rows, times, idx)
		if b.data[0] != tc.want {
			t.Errorf("%s: block version %d, want %d", tc.name, b.data[0], tc.want)
		}
		typed, raw := len(c.compress(e.sbuf, nil)), len(c.compress(e.rbuf, nil))
		if (tc.want == blockZstdTyped) != (typed < raw) {
			t.Errorf("%s: typed %d bytes, raw %d, kept version %d", tc.name, typed, raw, b.data[0])
		}
		checkSplitRoundTrip(t, c, msgs)
	}
}

// TestBlockFormRemembered: a file's blocks are written in the form its last block
// compressed both ways chose, for formRecheck blocks, then both are compressed again; a
// file of its own chooses for itself. A codec that compresses both every time fails it
// (the random block after the counting ones would be typed).
func TestBlockFormRemembered(t *testing.T) {
	c := testCodec(t)
	block := func(line func(int) string, fileID string) byte {
		var msgs []string
		for i := range defaultBlockLines {
			msgs = append(msgs, line(i))
		}
		rows, times, idx := splitRows(msgs)
		for i := range rows {
			rows[i].FileID = fileID
		}
		b := newEncoder(c).encode(rows, times, idx)
		lines, _, err := c.decodeBlock(b.data, b.n, nil)
		if err != nil || len(lines) != len(msgs) || lines[7].msg != msgs[7] {
			t.Fatalf("block of %s: %d lines, %v", fileID, len(lines), err)
		}
		return b.data[0]
	}
	random := func(i int) string { l, _ := loadgen.Realistic{N: defaultBlockLines}.Line(i); return l }
	if v := block(loadgen.AccessLine, "1:2"); v != blockZstdSplit {
		t.Fatalf("counting numbers: version %d, want %d", v, blockZstdSplit)
	}
	for i := range formRecheck {
		if v := block(random, "1:2"); v != blockZstdSplit {
			t.Fatalf("random lines, block %d after the counting ones: version %d, want the file's %d", i+1, v, blockZstdSplit)
		}
	}
	if v := block(random, "1:2"); v != blockZstdTyped {
		t.Errorf("random lines, block %d after: version %d, want %d (both compressed again)", formRecheck+1, v, blockZstdTyped)
	}
	if v := block(random, "3:4"); v != blockZstdTyped {
		t.Errorf("another file's random lines: version %d, want %d", v, blockZstdTyped)
	}
}
