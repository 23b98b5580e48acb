package sqlitestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
		msgs := append(strings.SplitN(others, "\n", defaultBlockLines-1), msg)
		check(t, c, n, q, msg, oneBlock(t, msgs, c))
	})
}

// testMessage is a line of the matcher holding only a message.
type testMessage string

func (m testMessage) Message() string             { return string(m) }
func (m testMessage) Field(string) (string, bool) { return "", false }

// TestPairFilterSelective: over blocks of the realistic access log, the filter holds the
// client IPs of its lines and rules out nearly every block for an IP it does not hold
// (about 1 in 1,000 passes by its design, pairs.go).
func TestPairFilterSelective(t *testing.T) {
	const n = 4096
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	ipPairs := func(ip string) []byte { return phrasePairs(query.DigitPhrases(mustParse(t, ip))) }
	line := 0
	for _, b := range blocks {
		if b.pairs == nil {
			t.Fatalf("block of %d lines without a filter", b.n)
		}
		if _, _, ok := filterSections(b.pairs); !ok || b.pairs[0] != pairFilterV3 {
			t.Fatalf("a filter of version %d that reads: %v, want %d", b.pairs[0], ok, pairFilterV3)
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
	// 0.09 % with filters rounded up to a power of two (256 words for this log's ~2,240
	// pairs a block); 0.44 % at 4 bits per pair, before.
	if rate := float64(passed) / float64(tried); rate > 0.0025 {
		t.Errorf("%d of %d blocks (%.2f %%) pass for IPs they do not hold, want at most 0.25 %%", passed, tried, 100*rate)
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
	newest := 2 * defaultBlockLines // the first line of the third block
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
	// Filters of version 1 holding nothing (|| makes text: cast back to the blob the
	// store writes).
	if n := exec(`UPDATE pairs SET filter = CAST(x'01' || zeroblob(16) AS BLOB)`); n != 3 {
		t.Fatalf("%d filters for 3 blocks", n)
	}
	if hits, total := count(); hits != 0 || total != 0 {
		t.Errorf("empty filters: %d hits, histogram %d, want 0 and 0 (the filter is not read)", hits, total)
	}
	// The filters rule blocks out in SQL, before their rows are read: a histogram's
	// candidates (which decide between counting and sampling) are none.
	for _, p := range s.snapshot() {
		ids, err := p.candidates(ctx, compile(q), start.Add(-time.Minute).UnixNano(), start.Add(time.Hour).UnixNano())
		if err != nil || len(ids) != 0 {
			t.Errorf("empty filters: candidates %v (%v), want none", ids, err)
		}
	}
	for _, v := range []string{`x'02' || zeroblob(16)`, `x'01' || zeroblob(15)`, `x''`} {
		exec(`UPDATE pairs SET filter = CAST(` + v + ` AS BLOB)`)
		if hits, total := count(); hits != 1 || total != 1 {
			t.Errorf("filter %s: %d hits, histogram %d, want 1 and 1", v, hits, total)
		}
	}
	exec(`UPDATE pairs SET filter = CAST(x'01' || zeroblob(16) AS BLOB)`)
	// The newest block has none: a grouped day's block without a filter has a row of no
	// words (noPairFilter), a row missing is a block sealed into a group
	// (TestPairGroups).
	exec(`UPDATE pairs SET filter = x'0200' WHERE id = (SELECT max(id) FROM blocks)`)
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
		if got := len(phrasePairs(query.DigitPhrases(mustParse(t, q)))) / 8; got != want {
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
	}{{maxPairs/defaultBlockLines - 1, true}, {4 * maxPairs / defaultBlockLines, false}} {
		rows := make([]store.Row, defaultBlockLines)
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
		if !numbersHold(b, hashes) {
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

// numbersHold is what numbersSQL asks of a block's numbers rows, in Go: whether the
// filter of each hash's shard may hold it (no filters: it may hold any).
func numbersHold(b *block, hashes []byte) bool {
	if b.numbers == nil {
		return true
	}
	for ; len(hashes) >= 8; hashes = hashes[8:] {
		h := binary.LittleEndian.Uint64(hashes)
		if !gcsMayHold(b.numberFilter(shardOf(h)), h) {
			return false
		}
	}
	return true
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
			if numbersHold(b, want) {
				passed++
			}
		}
	}
	rate := float64(passed) / float64(tried)
	t.Logf("%d of %d blocks (%.2f %%) pass for numbers they do not hold", passed, tried, 100*rate)
	if rate > 0.003 {
		t.Errorf("%d of %d blocks (%.2f %%) pass for numbers they do not hold, want at most 0.3 %%", passed, tried, 100*rate)
	}
	if want, _ := numberTerms(mustParse(t, loadgen.Prefix+"*")); len(want) != 8 {
		t.Fatalf("%s*: %d bytes of hashes, want one", loadgen.Prefix, len(want))
	}
}

// TestNumberFilterRead: searches, totals and histograms of long numbers and digit
// prefixes find what the matcher finds, line by line: by the blocks' numbers' filters,
// not the index; a block whose filter lacks the number is not a candidate, nor one of
// layout 11 whose pairs row lacks it; a block with a damaged filter, or in numbers_any
// without a numbers' filter in its pairs row (none, of version 1, damaged), is read.
func TestNumberFilterRead(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	rows := rowsAt(start, 0, 2*defaultBlockLines+88, func(i int) string {
		return fmt.Sprintf("GET /item/%d size %d from 10.0.%d.%d", 100_000+7*i, 20_000+i%300, i/256, i%256)
	})
	appendSync(t, s, rows)
	ctx := context.Background()
	from, to := start.Add(-time.Minute), start.Add(time.Hour)
	queries := []string{"100700", "100701", "1000*", "10070*", "99*", "1007000*", `"item 100700"`, "GET 100707 size",
		"100007 OR 100014", "20005 NOT 100035", "size:20005", "99999", "107777", "1077*"} // the last two: the last block
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
	candidates := func(what string) {
		t.Helper()
		for q, want := range map[string]int{"100701": 0, "100700": 1} { // filters: ~1.5 % of blocks pass for a number they lack
			ids, err := p.candidates(ctx, compile(mustParse(t, q)), from.UnixNano(), to.UnixNano())
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != want {
				t.Errorf("%s: %s: %d candidate blocks, want %d", what, q, len(ids), want)
			}
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := p.db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tables := func(what string, pending, anys, numbered int) {
		t.Helper()
		var got [3]int
		if err := p.db.QueryRow(`SELECT (SELECT count(*) FROM numbers_pending), (SELECT count(*) FROM numbers_any),
			(SELECT count(*) FROM `+numbersTable(numberShards-1)+`)`).Scan(&got[0], &got[1], &got[2]); err != nil {
			t.Fatal(err)
		}
		if got != [3]int{pending, anys, numbered} {
			t.Errorf("%s: %d blocks in numbers_pending, %d in numbers_any, %d in the last shard's table; want %d, %d, %d",
				what, got[0], got[1], got[2], pending, anys, numbered)
		}
	}
	tables("as written", 3, 0, 0) // fewer than directBlocks blocks: waiting
	candidates("as written")
	exec(`UPDATE numbers_pending SET filter = x'ff' WHERE id = (SELECT max(id) FROM numbers_pending)`) // damaged
	check("a damaged row of numbers_pending")
	tx, err := p.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNumbers(tx, nil, true, true); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tables("moved to the shards' tables", 0, 1, 2) // the damaged one to numbers_any
	check("moved to the shards' tables")
	exec(`DELETE FROM numbers_any`)
	exec(`DELETE FROM blocks WHERE id = (SELECT max(id) FROM blocks)`)
	rows = rows[:2*defaultBlockLines]
	tables("the last block deleted", 0, 0, 2)
	check("moved to the shards' tables")
	candidates("moved to the shards' tables")
	for _, v := range []string{`x'ff'`, `x'0a0a'`} { // damaged: the count cut short; ten values without their bits
		exec(`UPDATE ` + numbersTable(shardOf(numberHash(mustNumber(t, "100700")))) + ` SET filter = ` + v)
		check("numbers' filters " + v)
	}
	layout11Filters(t, p)
	check("layout 11's filters")
	candidates("layout 11's filters")
	for _, v := range []string{
		`x'01' || zeroblob(16)`,            // version 1: pairs only
		`x'02' || x'02' || zeroblob(16)`,   // version 2 without numbers
		`x'02' || x'03' || zeroblob(16)`,   // damaged: more pair words than bytes
		`x'02' || x'01' || zeroblob(15)`,   // damaged: not whole words
		`x'02'`, `x'05' || zeroblob(16)`} { // cut short; a version this one does not read {
		exec(`UPDATE pairs SET filter = ` + v)
		check("numbers_any, pairs row " + v)
	}
	exec(`DELETE FROM pairs`)
	check("numbers_any, no pairs rows")
}

// TestNumbersFold: commits of fewer than directBlocks blocks leave their numbers'
// filters in numbers_pending until foldBlocks wait, then all move to the shards'
// tables; a commit of directBlocks blocks writes its own there; a block deleted takes
// its rows with it; each line's number is found throughout.
func TestNumbersFold(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Hour)
	p := func() *part { return s.snapshot()[0] }
	counts := func() (pending, numbered int) {
		t.Helper()
		if err := p().db.QueryRow(`SELECT (SELECT count(*) FROM numbers_pending), (SELECT count(*) FROM numbers_0)`).
			Scan(&pending, &numbered); err != nil {
			t.Fatal(err)
		}
		return pending, numbered
	}
	msg := func(i int) string { return fmt.Sprintf("order %d done", 500_000+i) }
	var rows []store.Row
	for i := range foldBlocks {
		one := rowsAt(start, i, 1, msg) // one line: one block per commit
		appendSync(t, s, one)
		rows = append(rows, one...)
		pending, numbered := counts()
		if want := (i + 1) % foldBlocks; pending != want || numbered != foldBlocks-foldBlocks*min(1, want) {
			t.Fatalf("after %d commits of a block: %d blocks waiting, %d in the shards' tables; want %d and %d",
				i+1, pending, numbered, want, foldBlocks-foldBlocks*min(1, want))
		}
	}
	more := rowsAt(start, foldBlocks, directBlocks*defaultBlockLines, msg)
	appendSync(t, s, more)
	rows = append(rows, more...)
	if pending, numbered := counts(); pending != 0 || numbered != foldBlocks+directBlocks {
		t.Errorf("after a commit of %d blocks: %d waiting, %d in the shards' tables; want 0 and %d", directBlocks, pending, numbered, foldBlocks+directBlocks)
	}
	ctx := context.Background()
	for _, i := range []int{0, foldBlocks - 1, foldBlocks, len(rows) - 1} {
		res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, fmt.Sprint(500_000+i)), From: start.Add(-time.Minute), To: start.Add(time.Hour), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 || res.Rows[0].Offset != rows[i].Offset {
			t.Errorf("%d: %d hits, want line %d", 500_000+i, len(res.Rows), i)
		}
	}
	if _, err := p().db.Exec(`DELETE FROM blocks WHERE id = (SELECT min(id) FROM blocks)`); err != nil {
		t.Fatal(err)
	}
	for i := range numberShards {
		var n int
		if err := p().db.QueryRow(`SELECT count(*) FROM ` + numbersTable(i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != foldBlocks+directBlocks-1 {
			t.Errorf("shard %d: %d rows after a block was deleted, want %d", i, n, foldBlocks+directBlocks-1)
		}
	}
}

// FuzzGCS: a Golomb-coded set holds every hash it was made of, whatever they are.
func FuzzGCS(f *testing.F) {
	f.Add([]byte{}, uint64(0), byte(0))
	f.Add([]byte("0123456789abcdef01234567"), uint64(1)<<63, byte(7))
	f.Fuzz(func(t *testing.T, raw []byte, extra uint64, salt byte) {
		hashes := []uint64{extra}
		for ; len(raw) >= 8; raw = raw[8:] {
			hashes = append(hashes, binary.LittleEndian.Uint64(raw))
		}
		slices.Sort(hashes)
		hashes = slices.Compact(hashes)
		set, _, _ := appendGCS(nil, slices.Clone(hashes), nil, salt)
		for _, h := range hashes {
			if !gcsMayHold(set, h) || !gcsMayHold(gcs13(hashes), h) {
				t.Fatalf("the set of %x lacks %x", hashes, h)
			}
		}
	})
}

// TestGCSLongGap: a distance whose unary part is longer than a 64-bit word (values far
// apart: many hashes sharing their low bits) reads back, and a value between is absent.
func TestGCSLongGap(t *testing.T) {
	var hashes []uint64
	for i := range uint64(100) {
		hashes = append(hashes, i<<32, i<<32|0xffffffff) // values 0 and n·2^gcsBits-1
	}
	set := gcs13(hashes) // without a salt: the values are the hashes' own
	if !gcsMayHold(set, 0) || !gcsMayHold(set, 0xffffffff) {
		t.Errorf("the set lacks a value it was made of")
	}
	if gcsMayHold(set, 0x80000000) {
		t.Errorf("the set holds a value between its two")
	}
}

// gcs13 is a set of the hashes as layout 13 wrote it: no salt, the hashes reduced as
// they are.
func gcs13(hashes []uint64) []byte {
	var vals []uint64
	for _, h := range hashes {
		vals = append(vals, gcsValue(h, len(hashes)))
	}
	slices.Sort(vals)
	return appendRice(nil, len(hashes), slices.Compact(vals))
}

// TestNumberFilterIndependent: a number whose hash reduces as a frequent number's does
// in one block's sets passes the sets of the other blocks holding that one about as
// often as any number a block lacks: each block's sets have a salt of their own (256:
// the blocks of the same salt pass too). Without, it passed in every one.
func TestNumberFilterIndependent(t *testing.T) {
	const n, y = 2000, "23456"
	var rows []store.Row
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range n {
		rows = append(rows, store.Row{Host: "h", Path: fmt.Sprintf("/var/log/%d.log", i), FileID: fmt.Sprint(i), Offset: int64(i) * 100,
			End: int64(i)*100 + 50, Time: time.Unix(1_700_000_000, int64(i)*1e6), Message: fmt.Sprintf("size %s id %d", y, 100_000+rng.IntN(900_000))})
	}
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t))
	x := collidingNumber(t, y, blockSalt(blocks[0]))
	want := binary.LittleEndian.AppendUint64(nil, numberHash(mustNumber(t, x)))
	pass, sameSalt, passOther := 0, 0, 0
	for _, b := range blocks {
		same := blockSalt(b) == blockSalt(blocks[0])
		if same {
			sameSalt++
		}
		if pendingMayHold(appendPending(nil, b.numbers, b.numberEnds), want) {
			pass++
			if !same {
				passOther++
			}
		}
	}
	t.Logf("%s passed %d of %d blocks holding %s, %d of them of another salt than the first's (%d of that salt)", x, pass, len(blocks), y, passOther, sameSalt)
	if len(blocks) != n || sameSalt > n/64 || passOther > n/200 {
		t.Errorf("%s passed %d of %d blocks holding %s, %d of another salt (%d of the first's salt); want about %d and %d",
			x, pass, len(blocks), y, passOther, sameSalt, n>>gcsBits, n/256)
	}
}

// collidingNumber finds a number of six digits or more in y's shard whose hash, mixed
// with the salt, reduces to y's value in sets of up to 8 entries (gcsValue).
func collidingNumber(t *testing.T, y string, salt byte) string {
	t.Helper()
	hy := numberHash(mustNumber(t, y))
	my := gcsMix(hy, salt)
	for v := 100_000; v < 10_000_000; v++ {
		x := fmt.Sprint(v)
		hx := numberHash(mustNumber(t, x))
		mx := gcsMix(hx, salt)
		same := shardOf(hx) == shardOf(hy)
		for n := 1; n <= 8 && same; n++ {
			same = gcsValue(mx, n) == gcsValue(my, n)
		}
		if same {
			return x
		}
	}
	t.Fatal("no number collides")
	return ""
}

// mustNumber is numberBits of a number.
func mustNumber(t *testing.T, w string) uint64 {
	t.Helper()
	num, ok := numberBits(w)
	if !ok {
		t.Fatalf("%q is not a number", w)
	}
	return num
}

// layout11Filters makes p's blocks as layout 11 wrote them: no numbers rows (listed in
// numbers_any), their numbers' filter in their pairs row (pairFilterV2), made from their
// lines as layout 11's encoder did.
func layout11Filters(t *testing.T, p *part) {
	t.Helper()
	ctx := context.Background()
	filters := map[int64][]byte{}
	e := newEncoder(nil)
	if err := p.scanBlocks(ctx, `SELECT `+headCols+` FROM blocks b`, nil, func(h blockHead, lines []line) bool {
		e.words.reset()
		e.pairs.reset()
		e.nums.reset()
		for _, l := range lines {
			e.addWords(l.msg)
		}
		filters[h.id] = appendFilter(nil, &e.pairs, &e.nums)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	qs := []string{`INSERT INTO numbers_any(id) SELECT id FROM blocks`}
	for i := range numberShards {
		qs = append(qs, `DELETE FROM `+numbersTable(i))
	}
	for _, q := range qs {
		if _, err := p.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for id, f := range filters {
		if _, err := p.db.Exec(`INSERT OR REPLACE INTO pairs(id, filter) VALUES(?, ?)`, id, f); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzFilterBytes: whatever a filter's bytes (a damaged file: a pairs row, a row of
// numbers_pending, a shard's filter), reading it never panics, and one this version
// does not read rules nothing out.
func FuzzFilterBytes(f *testing.F) {
	f.Add([]byte{pairFilterV2, 1, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("12345678"))
	f.Add([]byte{pairFilterV2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte("1234567"))
	f.Add([]byte{pairFilterV1, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, filter, want []byte) {
		_, _, ok := filterSections(filter)
		pairs := filterMayHold(filter, binary.LittleEndian.AppendUint64(nil, pairHash(1, 2)))
		nums := numbersMayHold(filter, want)
		if !ok && (!pairs || !nums) {
			t.Fatalf("a filter this version does not read (%x) ruled a block out", filter)
		}
		if _, ok := splitPending(filter); !ok && !pendingMayHold(filter, want) {
			t.Fatalf("a row of numbers_pending this version does not read (%x) ruled a block out", filter)
		}
		if len(want) >= 8 {
			gcsMayHold(filter, binary.LittleEndian.Uint64(want)) // never panics
		}
	})
}

// BenchmarkGCSMayHold: testing a number a shard's filter lacks, for a shard of a block
// of the realistic access log (~115 entries).
func BenchmarkGCSMayHold(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := make([]uint64, 115)
	for i := range hashes {
		hashes[i] = rng.Uint64()
	}
	set, _, _ := appendGCS(nil, hashes, nil, 1)
	for b.Loop() {
		gcsMayHold(set, rng.Uint64())
	}
	b.ReportMetric(float64(len(set))*8/float64(len(hashes)), "bits/entry")
}

// TestShardsRepeatedHashes: a block's numbers' sets, made of hashes added many times
// over (a number on every line), hold each hash in its shard's set, count each once (n,
// which the false positives' rate follows), and are the same whatever order the hashes
// came in.
func TestShardsRepeatedHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	distinct := make([]uint64, 700)
	for i := range distinct {
		distinct[i] = rng.Uint64()
	}
	var added []uint64
	for range 3000 {
		added = append(added, distinct[rng.IntN(len(distinct))])
	}
	added = append(added, distinct...) // every one at least once
	var s hashSet
	sets := func(hashes []uint64) ([]byte, [numberShards]int) {
		s.reset()
		for _, h := range hashes {
			s.add(h)
		}
		out, ends, ok := s.shards(nil, 9)
		if !ok {
			t.Fatal("no sets")
		}
		return slices.Clone(out), ends
	}
	out, ends := sets(added)
	var want [numberShards]uint64
	for _, h := range distinct {
		want[shardOf(h)]++
	}
	setOf := func(i int) []byte {
		if i == 0 {
			return out[:ends[0]]
		}
		return out[ends[i-1]:ends[i]]
	}
	for i := range numberShards {
		if n, _ := binary.Uvarint(setOf(i)[3:]); n != want[i] { // after the 0, gcsSalted and the salt
			t.Errorf("shard %d: set of %d hashes, want %d", i, n, want[i])
		}
	}
	for _, h := range distinct {
		if !gcsMayHold(setOf(shardOf(h)), h) {
			t.Fatalf("shard %d's set lacks %x", shardOf(h), h)
		}
	}
	rng.Shuffle(len(added), func(i, j int) { added[i], added[j] = added[j], added[i] })
	if again, _ := sets(added); !slices.Equal(again, out) {
		t.Errorf("the sets differ with the hashes in another order")
	}
}

// TestPairFilterCompressed: filters compressed one after the other by one encoder (the
// same filter twice, then another) each read alone, to the same words.
func TestPairFilterCompressed(t *testing.T) {
	var s pairSet
	s.reset()
	for i := range 2240 {
		s.add(pairHash(uint64(i), uint64(i*7)))
	}
	w := slices.Clone(s.filter(pairBits))
	other := make([]uint64, len(w))
	for i := range other {
		other[i] = w[i] ^ w[(i+1)%len(w)]&0x5555
	}
	for i, words := range [][]uint64{w, w, other} {
		f, ok := s.compressed(nil, words)
		if !ok || f[0] != pairFilterV3 || len(f) >= 8*len(words) {
			t.Fatalf("filter %d: %d bytes of version %d (%v), want fewer than %d of %d", i, len(f), f[0], ok, 8*len(words), pairFilterV3)
		}
		got, _, ok := filterSections(f)
		if !ok || len(got) != 8*len(words) {
			t.Fatalf("filter %d reads %v, %d bytes", i, ok, len(got))
		}
		for j, x := range words {
			if binary.LittleEndian.Uint64(got[8*j:]) != x {
				t.Fatalf("filter %d: word %d differs", i, j)
			}
		}
	}
}
