package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

func TestBlockRoundTrip(t *testing.T) {
	start := time.Unix(1764576000, 0)
	rows := []store.Row{
		{Time: start, Offset: 100, End: 120, Message: "first line"},
		{Time: start.Add(-time.Second), ReadTime: start.Add(time.Second), Offset: 120, End: 121, Message: ""}, // earlier: kept
		{Time: start.Add(time.Millisecond), Offset: 130, End: 150, Message: "after a gap, é 😀 \xff"},
		{Time: start.Add(time.Second), Offset: 0, End: 9, Message: "truncated: offsets start over"},
	}
	for i := range rows {
		rows[i].Host, rows[i].Path, rows[i].Topic, rows[i].FileID = "h", "/p", "t", "1:2"
		rows[i].Fields = map[string]string{"team": "core", "env": "prod"}
		rows[i].Format = "logfmt"
	}
	c := testCodec(t)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, c)
	if len(blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(blocks))
	}
	b := blocks[0]
	if b.n != 4 || b.off0 != 100 || b.end0 != 120 || b.endLast != 9 || b.endMax != 150 ||
		b.tMin != start.Add(-time.Second).UnixNano() || b.tMax != start.Add(time.Second).UnixNano() || b.rMax != start.Add(time.Second).UnixNano() {
		t.Errorf("block head %+v", b)
	}
	lines, e, err := c.decodeBlock(b.data, b.n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(e.fields, rows[0].Fields) || e.format != "logfmt" {
		t.Errorf("entry %+v", e)
	}
	for i, l := range lines {
		r := rows[i]
		rt := r.ReadTime
		if rt.IsZero() {
			rt = r.Time
		}
		if l.msg != r.Message || l.off != r.Offset || l.end != r.End || l.ts != r.Time.UnixNano() || l.rts != rt.UnixNano() {
			t.Errorf("line %d = %+v, want %q %d-%d at %s read %s", i, l, r.Message, r.Offset, r.End, r.Time, rt)
		}
	}
}

// TestBlockCorrupt: a torn or garbled block is an error, never a panic or a wrong line
// count.
func TestBlockCorrupt(t *testing.T) {
	rows := rowsAt(time.Now(), 0, 20, accessLine)
	c := testCodec(t)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, c)
	b := blocks[0]
	for n := range len(b.data) {
		if _, _, err := c.decodeBlock(b.data[:n], b.n, nil); !errors.Is(err, errCorrupt) {
			t.Fatalf("torn at %d of %d bytes: err %v", n, len(b.data), err)
		}
	}
	if _, _, err := c.decodeBlock(append(slices.Clone(b.data), 0), b.n, nil); !errors.Is(err, errCorrupt) {
		t.Errorf("a byte too many: err %v", err)
	}
	if _, _, err := c.decodeBlock(b.data, b.n+1, nil); !errors.Is(err, errCorrupt) {
		t.Errorf("one line more than stored: err %v", err)
	}
	for i := range b.data {
		for _, v := range []byte{0x00, 0x7f, 0x80, 0xff} {
			garbled := slices.Clone(b.data)
			garbled[i] = v
			lines, _, err := c.decodeBlock(garbled, b.n, nil)
			if err == nil && len(lines) != b.n {
				t.Fatalf("garbled byte %d: %d lines without an error", i, len(lines))
			}
		}
	}
}

// TestBlockWords: the index's document of a block is the distinct words of its lines as
// query.Tokens gives them, and FTS5 (the schema's tokenizer) splits the document into
// exactly those words.
func TestBlockWords(t *testing.T) {
	msgs := []string{
		`GET /api/v1/items/42 HTTP/1.1" 200 "Mozilla/5.0 (X11; Linux x86_64)"`,
		"Café CAFÉ café naïve ÅNGSTRÖM İstanbul straße ΣΊΣΥΦΟΣ",
		"x²+y³ ½ ٣٤ 東京タワー 😀emoji😀 a_b a-b a.b a'b",
		"invalid \xff\xfeutf8\xc3 mid\xe2\x82word \uFFFD replacement",
		"tab\tnew\nline\r\x00nul 10.0.0.1:8080",
		"KELVIN \u212A sign, private \uE000use, combining e\u0301",
	}
	rows := make([]store.Row, len(msgs))
	for i, m := range msgs {
		rows[i] = store.Row{Time: time.Unix(0, 0), Host: "h", FileID: "f", Offset: int64(i), End: int64(i + 1), Message: m}
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	b := blocks[0]
	want := map[string]bool{}
	for _, m := range msgs {
		for _, tok := range query.Tokens(m) {
			want[tok.Word] = true
		}
	}
	doc := strings.Split(b.words, " ")
	if got := map[string]bool{}; len(doc) != len(want) {
		t.Errorf("document has %d words, want %d distinct", len(doc), len(want))
	} else {
		for _, w := range doc {
			got[w] = true
		}
		if !maps.Equal(got, want) {
			t.Errorf("document words %v, want %v", doc, slices.Sorted(maps.Keys(want)))
		}
	}

	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schemaSQL(layoutVersion)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE VIRTUAL TABLE vocab USING fts5vocab(fts, 'row')`); err != nil {
		t.Fatal(err)
	}
	if err := func() error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		b.seq = 1
		if err := insertBlocks(tx, []*block{b}, true); err != nil {
			return err
		}
		return tx.Commit()
	}(); err != nil {
		t.Fatal(err)
	}
	terms := map[string]bool{}
	rs, err := db.Query(`SELECT term FROM vocab`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var term string
		if err := rs.Scan(&term); err != nil {
			t.Fatal(err)
		}
		terms[term] = true
	}
	rs.Close()
	if !maps.Equal(terms, want) {
		t.Errorf("FTS5 terms %q\nwant %q", slices.Sorted(maps.Keys(terms)), slices.Sorted(maps.Keys(want)))
	}
	// Each word is found as itself, also through the query syntax the store compiles.
	for w := range want {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM fts WHERE fts MATCH ?`, `"`+w+`"`).Scan(&n); err != nil || n != 1 {
			t.Errorf("MATCH %q: %d, %v", w, n, err)
		}
	}
}

// testCodec is a codec closed when the test ends.
func testCodec(t testing.TB) *codec {
	t.Helper()
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// TestDigitPhraseBlocks: blocks ruled out by a phrase of numbers before their lines are
// decoded (plan.skip) hide no match: the address at a message's start and at its end
// (with a digit before and after them in the block's bytes),
// between non-ASCII words, in a block of near misses, and the near misses themselves
// (a longer number on either side, a word glued on) are found exactly as the lines say,
// by a search and by a histogram.
func TestDigitPhraseBlocks(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	hits := map[int]string{
		5:   "10.0.0.1 first in the message xxxxxxxxxxxxxxxxxxxx", // 50 bytes: its length prefix is the byte '2'
		200: "last in the message: 10.0.0.1",
		330: "Ω 10.0.0.1 Ω between non-ASCII words",
		331: "near misses beside it: 110.0.0.1 10.0.0.12 10.0.0.1x",
	}
	want := []int{330, 200, 5} // newest first
	rows := rowsAt(start, 0, 600, func(i int) string {
		if m, ok := hits[i]; ok {
			return m
		}
		return fmt.Sprintf("GET /item/%d 200 from 10.%d.0.1", i, i%7+1) // the words, not the phrase
	})
	// The line after 200 starts 24 bytes after its end: the varint of that gap, right
	// after 200's message in the block, is the byte '0'.
	rows[201].Offset, rows[201].End = rows[200].End+24, rows[200].End+34
	appendSync(t, s, rows)
	q := mustParse(t, "10.0.0.1")
	res, err := s.Search(context.Background(), store.SearchRequest{Query: q, From: start.Add(-time.Minute), To: start.Add(time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range res.Rows {
		got = append(got, int(r.Offset/10))
	}
	if !equalInts(got, want) {
		t.Errorf("search: lines %v, want %v", got, want)
	}
	buckets, estimated, err := s.Histogram(context.Background(), q, start.Add(-time.Minute), start.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, b := range buckets {
		total += b.Count
	}
	if total != int64(len(want)) || estimated {
		t.Errorf("histogram: %d lines (estimated %v), want %d", total, estimated, len(want))
	}
}

// distinctWords is the block document the index must get for msgs: each word of
// query.Tokens once, in the order first seen.
func distinctWords(msgs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range msgs {
		for _, tok := range query.Tokens(m) {
			if !seen[tok.Word] && indexWord(tok.Word, false) {
				seen[tok.Word] = true
				out = append(out, tok.Word)
			}
		}
	}
	return out
}

func documentWords(b *block) []string {
	if b.words == "" {
		return nil
	}
	return strings.Split(b.words, " ")
}

// TestBlockWordsManyDistinct: a block with more distinct words than the word set's first
// table (it grows), a block of the same lines, then a block of few words, from one
// encoder (its slots are reused by generation, not cleared): every document is its
// block's own distinct words, in order — none taken for present because the block
// before had it.
func TestBlockWordsManyDistinct(t *testing.T) {
	var rows []store.Row
	for i := range 3 * defaultBlockLines {
		k := i % defaultBlockLines
		msg := fmt.Sprintf("Word%d w%dx W%dX W%dY id=%d a%d b%d c%d d%d e%d common COMMON", k, k, k, k, k*7919, k, k, k, k, k)
		if i >= 2*defaultBlockLines {
			msg = fmt.Sprintf("few %d", i%3)
		}
		rows = append(rows, store.Row{Time: time.Unix(0, 0), Host: "h", FileID: "f", Offset: int64(i), End: int64(i + 1), Message: msg})
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	if len(blocks) != 3 {
		t.Fatalf("%d blocks, want 3", len(blocks))
	}
	for k, b := range blocks {
		var msgs []string
		for _, r := range rows[k*defaultBlockLines : (k+1)*defaultBlockLines] {
			msgs = append(msgs, r.Message)
		}
		want := distinctWords(msgs)
		if k < 2 && len(want) <= wordSetSlots/2 {
			t.Fatalf("block %d has %d distinct words: too few to grow the word set", k, len(want))
		}
		if got := documentWords(b); !slices.Equal(got, want) {
			t.Errorf("block %d: document of %d words, want %d: %.200q", k, len(got), len(want), got)
		}
	}
}

// TestBlockWordsDigits: words of fewer than filterDigits digits (addDigits, without a
// hash) are each in the document once, leading zeros kept apart ("04" is not "4"), in
// the block that has them and not in the next, beside letter words of the same bytes.
func TestBlockWordsDigits(t *testing.T) {
	msgs := [][]string{
		{"4 04 004 0004 9999 4 x4", "0 00 000 0000 40 04 9 99 999"},
		{"7 x4", "4a 04"},
	}
	var rows []store.Row
	for k, block := range msgs {
		for i, msg := range block {
			rows = append(rows, store.Row{Time: time.Unix(0, 0), Host: "h", FileID: fmt.Sprint(k), Offset: int64(i), End: int64(i + 1), Message: msg})
		}
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	if len(blocks) != len(msgs) {
		t.Fatalf("%d blocks, want %d", len(blocks), len(msgs))
	}
	for k, b := range blocks {
		if got, want := documentWords(b), distinctWords(msgs[k]); !slices.Equal(got, want) {
			t.Errorf("block %d: document %q, want %q", k, got, want)
		}
	}
	// Every word of 1 to filterDigits-1 digits has a slot of its own.
	seen := make([]bool, len(newWordSet().digits))
	for n := 1; n < filterDigits; n++ {
		for v := range pow10(n) {
			w := fmt.Sprintf("%0*d", n, v)
			i := digitSlot(w)
			if i < 0 || i >= len(seen) || seen[i] {
				t.Fatalf("%q: slot %d taken or out of %d", w, i, len(seen))
			}
			seen[i] = true
		}
	}
}

// pow10 is 10^n.
func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// TestBlockMessageBytes: a file's block closes at its lines (defaultBlockLines for a
// file not seen before) or once its messages reach maxBlockMessageBytes, whichever
// comes first, so that long lines do not make a block a search must decode whole of
// hundreds of MiB.
func TestBlockMessageBytes(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	var rows []store.Row
	for i := range 30 {
		rows = append(rows, store.Row{Time: time.Unix(0, 0), Host: "h", FileID: "f", Offset: int64(i), End: int64(i + 1), Message: long})
	}
	for i := range defaultBlockLines + 1 {
		rows = append(rows, store.Row{Time: time.Unix(0, 0), Host: "h", FileID: "g", Offset: int64(i), End: int64(i + 1), Message: "short"})
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	var lines []int
	for _, b := range blocks {
		lines = append(lines, b.n)
	}
	// 11 lines of 100 KiB are the first past 1 MiB; the short lines fill a block.
	if want := []int{11, 11, 8, defaultBlockLines, 1}; !slices.Equal(lines, want) {
		t.Errorf("blocks of %v lines, want %v", lines, want)
	}
}

// FuzzBlockWords: whatever the lines (one per '\n' of the input, one block), the
// document is the distinct words query.Tokens finds, folded alike, in order.
func FuzzBlockWords(f *testing.F) {
	for _, s := range []string{
		"GET /api/v1/items/42 HTTP/1.1\nget /API/V1/items/42 http/1.1",
		"Café CAFÉ café\nİstanbul ISTANBUL straße STRASSE\nKELVIN \u212A",
		"invalid \xff\xfeutf8\xc3 mid\xe2\x82word\nAbC\xffDeF ABC abc",
		"x²+y³ ½ ٣٤ 東京タワー\n\n\n",
	} {
		f.Add(s)
	}
	c := testCodec(f)
	f.Fuzz(func(t *testing.T, s string) {
		msgs := strings.SplitN(s, "\n", defaultBlockLines)
		if got, want := documentWords(oneBlock(t, msgs, c)), distinctWords(msgs); !slices.Equal(got, want) {
			t.Fatalf("document %q, want %q", got, want)
		}
	})
}

// oneBlock is the block of msgs (at most defaultBlockLines), lines of one file.
func oneBlock(t *testing.T, msgs []string, c *codec) *block {
	rows := make([]store.Row, len(msgs))
	for i, m := range msgs {
		rows[i] = store.Row{Time: time.Unix(0, 0), Host: "h", FileID: "f", Offset: int64(i), End: int64(i + 1), Message: m}
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, c)
	if len(blocks) != 1 {
		t.Fatalf("%d blocks, want 1", len(blocks))
	}
	return blocks[0]
}
