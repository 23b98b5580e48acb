package sqlitestore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// FuzzPairFilter: a block's pair filter never rules out a query that one of its lines
// matches, whatever the lines around it (numbers split by any bytes, non-ASCII, invalid
// UTF-8, prefixes).
func FuzzPairFilter(f *testing.F) {
	seeds := [][3]string{
		{"10.0.0.1", "client 10.0.0.1 ok", "10.0.0.2\n1.1.1.1"},
		{`"1 2 3"`, "1-2-3", "3 2 1"},
		{"10.0.0*", "İP 10.0.0.12 KELVIN", "\xff10.0"},
		{"10.0.0*", "10.0.012", ""}, // no pair 0·0: the last word is a prefix
		{"a 10.0.0.1", "A 10\u00b70\u00b70\u00b71 é", ""},
		{`"2026 12" x`, "X 2026é12 2026/12", "2026 13"},
		{"1.2.3", "１.２.３ 1.2.3", "1.2"},
		{`"007 0"`, "007.0", "7.0\n0007 0"},
		{"12345678.123456789", "v12345678.123456789 12345678.123456789", "12345678.12345678"},
	}
	fuzzBlockOfMatch(f, seeds, func(t *testing.T, _ *codec, n *query.Node, q, msg string, b *block) {
		if !filterMayHold(b.pairs, phrasePairs(query.DigitPhrases(n))) {
			t.Fatalf("%q matches %q, but the block's filter rules it out", msg, q)
		}
	})
}

// fuzzBlockOfMatch runs check on the block of a line msg that the query q matches and
// of the lines of others (one per '\n'), for the seeds (q, msg, others) and what the
// fuzzer makes of them.
func fuzzBlockOfMatch(f *testing.F, seeds [][3]string, check func(t *testing.T, c *codec, n *query.Node, q, msg string, b *block)) {
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	c := testCodec(f)
	f.Fuzz(func(t *testing.T, q, msg, others string) {
		n, err := query.Parse(q)
		if err != nil || !query.NewMatcher(n).Match(testMessage(msg)) {
			return
		}
		msgs := append(strings.SplitN(others, "\n", maxBlockLines-1), msg)
		check(t, c, n, q, msg, oneBlock(t, msgs, c))
	})
}

// testMessage is a line of the matcher holding only a message.
type testMessage string

func (m testMessage) Message() string             { return string(m) }
func (m testMessage) Field(string) (string, bool) { return "", false }

// TestPairFilterSelective: over blocks of the realistic access log, the filter holds the
// client IPs of its lines and rules out nearly every block for an IP it does not hold
// (about 1 in 300 passes by its design, pairs.go).
func TestPairFilterSelective(t *testing.T) {
	const n = 4096
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	ipPairs := func(ip string) []uint64 { return phrasePairs(query.DigitPhrases(mustParse(t, ip))) }
	line := 0
	for _, b := range blocks {
		if b.pairs == nil {
			t.Fatalf("block of %d lines without a filter", b.n)
		}
		for i := range b.n {
			if !filterMayHold(b.pairs, ipPairs(gen.IP(line+i))) {
				t.Fatalf("the filter of lines %d–%d rules out the IP of line %d", line, line+b.n-1, line+i)
			}
		}
		line += b.n
	}
	passed, tried := 0, 0
	for i := n; i < n+2000; i++ { // IPs of lines not stored
		h := ipPairs(gen.IP(i))
		for _, b := range blocks {
			tried++
			if filterMayHold(b.pairs, h) {
				passed++
			}
		}
	}
	if rate := float64(passed) / float64(tried); rate > 0.01 {
		t.Errorf("%d of %d blocks (%.2f %%) pass for IPs they do not hold, want at most 1 %%", passed, tried, 100*rate)
	}
}

// TestPairFilterRead: searches and histograms of a phrase of numbers read a block's
// filter before its lines: a filter that holds no pair rules its block out, and a block
// without one (no row in pairs: written before it or by a logcollect without it) or with
// one this version does not read (another version, a damaged length) is read. A block
// deleted takes its filter with it (the blocks_pairs trigger).
func TestPairFilterRead(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	ip := func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/256, i%256) }
	newest := 2 * maxBlockLines // the first line of the third block
	rows := rowsAt(start, 0, newest+88, func(i int) string { return fmt.Sprintf("GET /item/%d from %s", i, ip(i)) })
	appendSync(t, s, rows)
	ctx := context.Background()
	q := mustParse(t, ip(300))
	count := func() (int, int64) {
		t.Helper()
		res, err := s.Search(ctx, store.SearchRequest{Query: q, From: start.Add(-time.Minute), To: start.Add(time.Hour), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		buckets, _, err := s.Histogram(ctx, q, start.Add(-time.Minute), start.Add(time.Hour), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		total := int64(0)
		for _, b := range buckets {
			total += b.Count
		}
		return len(res.Rows), total
	}
	exec := func(sql string) int64 {
		t.Helper()
		var n int64
		for _, p := range s.snapshot() {
			res, err := p.db.Exec(sql)
			if err != nil {
				t.Fatal(err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return n
	}
	if hits, total := count(); hits != 1 || total != 1 {
		t.Fatalf("as written: %d hits, histogram %d, want 1 and 1", hits, total)
	}
	if n := exec(`UPDATE pairs SET filter = x'01' || zeroblob(16)`); n != 3 { // filters of version 1 holding nothing
		t.Fatalf("%d filters for 3 blocks", n)
	}
	if hits, total := count(); hits != 0 || total != 0 {
		t.Errorf("empty filters: %d hits, histogram %d, want 0 and 0 (the filter is not read)", hits, total)
	}
	for _, v := range []string{`x'02' || zeroblob(16)`, `x'01' || zeroblob(15)`, `x''`} {
		exec(`UPDATE pairs SET filter = ` + v)
		if hits, total := count(); hits != 1 || total != 1 {
			t.Errorf("filter %s: %d hits, histogram %d, want 1 and 1", v, hits, total)
		}
	}
	exec(`UPDATE pairs SET filter = x'01' || zeroblob(16)`)
	exec(`DELETE FROM pairs WHERE id = (SELECT max(id) FROM blocks)`) // the newest block has none
	if hits, _ := count(); hits != 0 {
		t.Errorf("%d hits with the other blocks ruled out, want 0", hits)
	}
	q = mustParse(t, ip(newest+44))
	if hits, total := count(); hits != 1 || total != 1 {
		t.Errorf("a block without a filter: %d hits, histogram %d, want 1 and 1", hits, total)
	}
	// The retention deletes the first two blocks and writes the newest again from its
	// 19th line, with a filter of its own.
	cut := rows[newest+18].Time.UnixNano()
	filters := func() (n int) {
		t.Helper()
		for _, p := range s.snapshot() {
			var k int
			if err := p.db.QueryRow(`SELECT count(*) FROM pairs`).Scan(&k); err != nil {
				t.Fatal(err)
			}
			n += k
		}
		return n
	}
	for _, p := range s.snapshot() {
		if err := p.deleteBefore(ctx, cut); err != nil {
			t.Fatal(err)
		}
	}
	if n := filters(); n != 1 {
		t.Errorf("%d filters after the retention, want 1 (the block written again)", n)
	}
	if hits, total := count(); hits != 1 || total != 1 {
		t.Errorf("after the retention: %d hits, histogram %d, want 1 and 1", hits, total)
	}
	exec(`DELETE FROM blocks`)
	if n := filters(); n != 0 {
		t.Errorf("%d filters left after their blocks were deleted", n)
	}
}

// TestDigitPhraseWhole: a prefix phrase's last word is not a whole word of the line.
func TestDigitPhraseWhole(t *testing.T) {
	for q, want := range map[string]int{"10.0.0.1": 3, "10.0.0.1*": 2, "10.0*": 0, `"1 2" 3.4`: 2} {
		if got := len(phrasePairs(query.DigitPhrases(mustParse(t, q)))); got != want {
			t.Errorf("%s: %d pairs, want %d", q, got, want)
		}
	}
}

// TestPairFilterBounded: a block whose lines are numbers only keeps at most maxPairs of
// their pairs while it is built, and gets no pair filter (it is read for any pair, as
// before the filters); one just under the bound gets one.
func TestPairFilterBounded(t *testing.T) {
	numbers := func(n int) string { return strings.Repeat("1.", n) + "1" } // n pairs
	for _, tc := range []struct {
		perLine    int
		wantFilter bool
	}{{maxPairs/maxBlockLines - 1, true}, {4 * maxPairs / maxBlockLines, false}} {
		rows := make([]store.Row, maxBlockLines)
		times := make([][2]int64, len(rows))
		idx := make([]int, len(rows))
		for i := range rows {
			rows[i] = store.Row{Host: "h", FileID: "f", Offset: int64(i), End: int64(i + 1), Message: numbers(tc.perLine)}
			idx[i] = i
		}
		enc := newEncoder(testCodec(t))
		b := enc.encode(rows, times, idx)
		if len(enc.pairs.hashes) > maxPairs {
			t.Errorf("%d pairs a line: %d pairs kept, want at most %d", tc.perLine, len(enc.pairs.hashes), maxPairs)
		}
		absent := phrasePairs(query.DigitPhrases(mustParse(t, "2.2")))
		if ruled := !filterMayHold(b.pairs, absent); ruled != tc.wantFilter {
			t.Errorf("%d pairs a line: a pair the lines lack ruled out %v, want %v (a pair filter)", tc.perLine, ruled, tc.wantFilter)
		}
		if !filterMayHold(b.pairs, phrasePairs(query.DigitPhrases(mustParse(t, "1.1.1")))) {
			t.Errorf("%d pairs a line: the filter rules out the pairs its lines hold", tc.perLine)
		}
	}
}

// FuzzNumberFilter: neither a block's filter nor its split body rules out a query that
// one of its lines matches by the query's long numbers and digit prefixes
// (numberTerms), and the index expression leaves them out (ftsFilter), whatever the
// lines around it.
func FuzzNumberFilter(f *testing.F) {
	seeds := [][3]string{
		{"12345", "id=12345 ok", "123456\n12346"},
		{"9999*", "x 99990", "9998 999"},
		{"1234*", "1234abc", "12345"},
		{"12345*", "v 123456789 w", "12344"},
		{`"GET /a/55555" 200`, "GET /a/55555 200", "GET /a/55556"},
		{"abc 12345678901234567890", "ABC 12345678901234567890", "1234567890123456789"},
		{"000123", "v000123 000123", "00012"},
		{"1000* OR 2000", "2000", "1000"},
		{"１２３４５ 67890", "１２３４５ 67890", "12345"},
	}
	fuzzBlockOfMatch(f, seeds, func(t *testing.T, c *codec, n *query.Node, q, msg string, b *block) {
		hashes, words := numberTerms(n)
		if !numbersMayHold(b.pairs, hashes) {
			t.Fatalf("%q matches %q, but the block's number filter rules it out", msg, q)
		}
		if _, body, err := c.inflate(b.data, nil, words); err != nil || body == nil {
			t.Fatalf("%q matches %q, but the block's body is ruled out for lacking %q (%v)", msg, q, words, err)
		}
		doc := strings.Fields(b.words)
		for _, tok := range query.Tokens(q) {
			if _, num := numberBits(tok.Word); num && len(tok.Word) >= filterDigits && slices.Contains(doc, tok.Word) {
				t.Fatalf("the block's document holds the long number %q", tok.Word)
			}
		}
		if e, _ := ftsFilter(n); strings.Contains(e, `"`) && !ftsMayMatch(e, doc) {
			t.Fatalf("%q matches %q, but the index expression %s rules its block out", msg, q, e)
		}
	})
}

// ftsMayMatch evaluates an FTS5 expression of ftsFilter (quoted words, word* prefixes,
// AND, OR, parentheses) on a block's document words.
func ftsMayMatch(e string, doc []string) bool {
	var or func() bool
	pos := 0
	term := func() bool {
		if e[pos] == '(' {
			pos++
			v := or()
			pos++ // ')'
			return v
		}
		end := strings.IndexByte(e[pos+1:], '"') + pos + 1
		w := e[pos+1 : end]
		pos = end + 1
		prefix := pos < len(e) && e[pos] == '*'
		if prefix {
			pos++
		}
		return slices.ContainsFunc(doc, func(d string) bool { return d == w || prefix && strings.HasPrefix(d, w) })
	}
	and := func() bool {
		v := term()
		for strings.HasPrefix(e[pos:], " AND ") {
			pos += len(" AND ")
			v = term() && v
		}
		return v
	}
	or = func() bool {
		v := and()
		for strings.HasPrefix(e[pos:], " OR ") {
			pos += len(" OR ")
			v = and() || v
		}
		return v
	}
	return or()
}

// TestNumberFilterSelective: over blocks of the realistic access log, a number of its
// lines (ids, sizes) that no block holds rules out nearly every block, and a digit
// prefix most.
func TestNumberFilterSelective(t *testing.T) {
	const n = 4096
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	passed, tried := 0, 0
	for i := range 2000 {
		want, _ := numberTerms(mustParse(t, fmt.Sprint(7_000_000_000+i))) // longer than the log's numbers
		for _, b := range blocks {
			tried++
			if numbersMayHold(b.pairs, want) {
				passed++
			}
		}
	}
	rate := float64(passed) / float64(tried)
	t.Logf("%d of %d blocks (%.2f %%) pass for numbers they do not hold", passed, tried, 100*rate)
	if rate > 0.03 {
		t.Errorf("%d of %d blocks (%.2f %%) pass for numbers they do not hold, want at most 3 %%", passed, tried, 100*rate)
	}
	if want, _ := numberTerms(mustParse(t, loadgen.Prefix+"*")); len(want) != 8 {
		t.Fatalf("%s*: %d bytes of hashes, want one", loadgen.Prefix, len(want))
	}
}

// TestNumberFilterRead: searches, totals and histograms of long numbers and digit
// prefixes find what the matcher finds, line by line: by the blocks' filters, not the
// index; a block whose filter lacks the number is not a candidate; a block without the
// numbers' filter (no row, a filter of version 1, one damaged), as written before it,
// is read.
func TestNumberFilterRead(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	rows := rowsAt(start, 0, 2*maxBlockLines+88, func(i int) string {
		return fmt.Sprintf("GET /item/%d size %d from 10.0.%d.%d", 100_000+7*i, 20_000+i%300, i/256, i%256)
	})
	appendSync(t, s, rows)
	ctx := context.Background()
	from, to := start.Add(-time.Minute), start.Add(time.Hour)
	queries := []string{"100700", "100701", "1000*", "10070*", "99*", "1007000*", `"item 100700"`, "GET 100707 size",
		"100007 OR 100014", "20005 NOT 100035", "size:20005", "99999"}
	check := func(what string) {
		t.Helper()
		for _, qs := range queries {
			q := mustParse(t, qs)
			m := query.NewMatcher(q)
			var want []int64
			for i := len(rows) - 1; i >= 0; i-- {
				if m.Match(testMessage(rows[i].Message)) {
					want = append(want, rows[i].Offset)
				}
			}
			res, err := s.Search(ctx, store.SearchRequest{Query: q, From: from, To: to, Limit: len(rows)})
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range res.Rows {
				got = append(got, r.Offset)
			}
			buckets, est, err := s.Histogram(ctx, q, from, to, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			total := int64(0)
			for _, b := range buckets {
				total += b.Count
			}
			if !slices.Equal(got, want) || total != int64(len(want)) || est {
				t.Errorf("%s: %s: %d hits, histogram %d (estimated %v), want %d", what, qs, len(got), total, est, len(want))
			}
		}
	}
	check("as written")
	p := s.snapshot()[0]
	for q, want := range map[string]int{"100701": 0, "100700": 1} { // filters: ~3 % of blocks pass for a number they lack
		ids, err := p.candidates(ctx, compile(mustParse(t, q)), from.UnixNano(), to.UnixNano())
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != want {
			t.Errorf("%s: %d candidate blocks, want %d", q, len(ids), want)
		}
	}
	for _, v := range []string{
		`x'01' || zeroblob(16)`,            // version 1: pairs only
		`x'02' || x'02' || zeroblob(16)`,   // version 2 without numbers
		`x'02' || x'03' || zeroblob(16)`,   // damaged: more pair words than bytes
		`x'02' || x'01' || zeroblob(15)`,   // damaged: not whole words
		`x'02'`, `x'05' || zeroblob(16)`} { // cut short; a version this one does not read {
		if _, err := p.db.Exec(`UPDATE pairs SET filter = ` + v); err != nil {
			t.Fatal(err)
		}
		check("filter " + v)
	}
	if _, err := p.db.Exec(`DELETE FROM pairs`); err != nil {
		t.Fatal(err)
	}
	check("no filters")
}

// FuzzFilterBytes: whatever a filter's bytes (a damaged file), reading it never panics,
// and one this version does not read rules nothing out.
func FuzzFilterBytes(f *testing.F) {
	f.Add([]byte{pairFilterV2, 1, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("12345678"))
	f.Add([]byte{pairFilterV2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte("1234567"))
	f.Add([]byte{pairFilterV1, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, filter, want []byte) {
		_, _, ok := filterSections(filter)
		pairs := filterMayHold(filter, []uint64{pairHash(1, 2)})
		nums := numbersMayHold(filter, want)
		if !ok && (!pairs || !nums) {
			t.Fatalf("a filter this version does not read (%x) ruled a block out", filter)
		}
	})
}
