package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// formatRows are lines of one file whose entry's format changed while it was read (an
// edit of the entry): each line's fields follow its own format.
func formatRows(start time.Time) []store.Row {
	lines := []struct{ format, msg string }{
		{"nginx_combined", `10.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET /a HTTP/1.1" 404 12 "-" "curl/8.5"`},
		{"nginx_combined", `not an access line level=error code=7`}, // no fields: not of its format
		{"", `level=error service=db msg="database timeout"`},       // plain: detected
		{"json", `{"level":"info","n":1.50,"o":{"a":1}}`},
		{"regex", `level=warn service=web`}, // the pattern is not stored: no fields
		{"cri", `{"level":"debug","service":"pod"}`},
	}
	rows := make([]store.Row, len(lines))
	for i, l := range lines {
		rows[i] = store.Row{Time: start.Add(time.Duration(i) * time.Millisecond), Host: "h1", Path: "/var/log/a.log",
			Topic: "a", FileID: "1:2", Offset: int64(i * 100), End: int64(i*100 + 100), Format: l.format, Message: l.msg,
			Fields: map[string]string{"team": "core"}}
	}
	return rows
}

// TestFieldsByFormat: a line's fields are those of its entry's format, stored with its
// block; plain and container lines get the JSON or logfmt fields found in them. An
// access line's typed numbers are found by their value (0012 by 12, "-" bytes by 0),
// which the line does not hold as it is (query.FieldExcluder).
func TestFieldsByFormat(t *testing.T) {
	s := open(t, Config{})
	start := time.Now().Add(-time.Minute)
	rows := formatRows(start)
	if blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(t)); len(blocks) != 5 {
		t.Errorf("%d blocks, want 5 (one per run of a format)", len(blocks))
	}
	// Numbers an access line holds otherwise than as they are typed.
	for _, msg := range []string{`10.0.0.2 - - [01/Dec/2026:08:00:01 +0000] "POST /b HTTP/1.1" 503 0012 "-" "curl/8.5"`,
		`1.2.3.4 - - [t] "GET /c HTTP/1.1" 413 - "-" "curl"`} { // no 0 in the line
		r := rows[0]
		r.Time, r.Offset, r.End, r.Message = start.Add(time.Duration(len(rows))*time.Millisecond), int64(len(rows)*100), int64(len(rows)*100+100), msg
		rows = append(rows, r)
	}
	appendSync(t, s, rows)
	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	for q, want := range map[string][]int{
		"status:404":                     {0},
		"method:GET url:/a":              {0},
		"level:error":                    {2},
		"code:7":                         nil,
		"n:1.50":                         {3},
		"o:*":                            nil,
		"service:web":                    nil,
		"service:pod":                    {5},
		"team:core status:404 -level:*":  {0},
		"level:* -marker":                {5, 3, 2},
		"team:core -path:/var/log/a.log": nil,
		"status:503":                     {6},
		"body_bytes_sent:12":             {6, 0},
		"body_bytes_sent:0":              {7},
		"body_bytes_sent:0*":             {7},
		"body_bytes_sent:1*":             {6, 0},
		"url:/c team:core":               {7},
		"method:P?ST":                    {6},
	} {
		res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, q), From: from, To: to, Limit: 10})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var got []int
		for _, r := range res.Rows {
			got = append(got, int(r.Offset/100))
		}
		if !equalInts(got, want) {
			t.Errorf("%s: lines %v, want %v", q, got, want)
		}
	}
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "status:404"), From: from, To: to, Limit: 1})
	if err != nil || len(res.Rows) != 1 {
		t.Fatalf("status:404: %v %v", res.Rows, err)
	}
	r := res.Rows[0]
	if r.Format != "nginx_combined" || r.Fields["status"] != "404" || r.Fields["remote_addr"] != "10.0.0.1" || r.Fields["team"] != "core" {
		t.Errorf("row format %q fields %v", r.Format, r.Fields)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLayoutWithoutFormat: a day written before blocks held their entry's format
// (user_version 2, blocks of version 3) is opened as it is, its lines parsed as plain
// (as they were), and new blocks are added beside them; the day is marked with this
// layout so that an older logcollect refuses it.
func TestLayoutWithoutFormat(t *testing.T) {
	_, path, got := olderDay(t, rewriteWithoutFormat)
	// New blocks: by their format (2, 3, 5); old blocks: all plain, so detected (1, 2, 3,
	// 4, 5; the access line 0 has no key=value pairs).
	if want := []int{15, 13, 12, 5, 4, 3, 2, 1}; !equalInts(got, want) {
		t.Errorf("level:* lines %v, want %v", got, want)
	}
	if v := userVersion(t, path); v != layoutVersionWide {
		t.Errorf("user_version %d after open, want %d", v, layoutVersionWide)
	}
	checkKeys(t, path, keyBitsWide)
}

// TestLayout128: a day of blocks of at most 128 lines (user_version 4) is opened as it is,
// read whole, and new blocks of up to 256 lines go beside them; the day is marked 5 so
// that a logcollect that knows only 128-line blocks refuses it.
func TestLayout128(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(-12 * time.Hour) // yesterday's noon: one day's file
	lines := func(from, n int) []store.Row {
		rows := make([]store.Row, n)
		for i := range rows {
			at := start.Add(time.Duration(from+i) * time.Millisecond)
			rows[i] = store.Row{Time: at, ReadTime: at, Host: "h", Path: "/p", FileID: "f",
				Offset: int64(from+i) * 10, End: int64(from+i)*10 + 10, Message: fmt.Sprintf("line %d", from+i)}
		}
		return rows
	}
	// 128-line blocks as layout 4 wrote them: one append of 128 lines is one block.
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	for i := range 3 {
		runOnce(t, dir, lines(i*128, 128))
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	dropNumbers(t, db)
	widenKeys(t, db)
	setLayout(t, db, layoutVersion128)
	db.Close()

	s := open(t, Config{Dir: dir})
	appendSync(t, s, lines(3*128, 2*defaultBlockLines))
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "line"), From: start.Add(-time.Minute),
		To: start.Add(time.Minute), Limit: 3*128 + 2*defaultBlockLines})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*128 + 2*defaultBlockLines; len(res.Rows) != want || res.More {
		t.Errorf("%d rows (more: %v), want %d", len(res.Rows), res.More, want)
	}
	for i, r := range res.Rows { // newest first
		if want := fmt.Sprintf("line %d", len(res.Rows)-1-i); r.Message != want {
			t.Fatalf("row %d: %q, want %q", i, r.Message, want)
		}
	}
	if v := userVersion(t, path); v != layoutVersionWide {
		t.Errorf("user_version %d after open, want %d", v, layoutVersionWide)
	}
	checkKeys(t, path, keyBitsWide)
	if n := blockLines(t, path); !slices.Equal(n, []int{128, 128, 128, defaultBlockLines, defaultBlockLines}) {
		t.Errorf("blocks of %v lines, want three of 128 then two of %d", n, defaultBlockLines)
	}
}

// blockLines is the line count of a day's blocks in the order they were written.
func blockLines(t *testing.T, path string) []int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT n FROM blocks ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// olderDay stores formatRows in a day, turns it into an older layout with rewrite, opens
// it again and stores the same lines a second later (offsets 1000 on); it returns the
// store (open), the day's path and the hits of level:* (offset / 100, newest first).
func olderDay(t *testing.T, rewrite func(t *testing.T, path string)) (*Store, string, []int) {
	t.Helper()
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	runOnce(t, dir, formatRows(start))
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	rewrite(t, path)

	s := open(t, Config{Dir: dir})
	more := formatRows(start.Add(time.Second))
	for i := range more {
		more[i].Offset += 1000
		more[i].End += 1000
	}
	appendSync(t, s, more)
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, "level:*"), From: start.Add(-time.Hour),
		To: start.Add(time.Hour), Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range res.Rows {
		got = append(got, int(r.Offset/100))
	}
	return s, path, got
}

// TestLayoutS2: a day written before zstd (user_version 3, blocks compressed with S2) is
// opened as it is: its lines are found and read, new blocks (zstd) go beside them, and
// the day is marked with this layout so that an older logcollect refuses it.
func TestLayoutS2(t *testing.T) {
	_, path, got := olderDay(t, rewriteAsS2)
	checkOlderDay(t, path, got, blockS2)
}

// checkOlderDay checks a day of olderDay whose blocks were rewritten as version old:
// old and new blocks alike found by their format (2, 3 and 5 of each), five blocks of
// each version, and the day marked as read as it is, with the row ids it had.
func checkOlderDay(t *testing.T, path string, got []int, old byte) {
	t.Helper()
	checkOlderDayAs(t, path, got, old, layoutVersionWide, keyBitsWide)
}

// checkOlderDayAs is checkOlderDay for a day to be marked version, with row ids of bits.
func checkOlderDayAs(t *testing.T, path string, got []int, old byte, version, bits int) {
	t.Helper()
	if want := []int{15, 13, 12, 5, 3, 2}; !equalInts(got, want) {
		t.Errorf("level:* lines %v, want %v", got, want)
	}
	// the new blocks are of either split form, whichever compressed smaller
	versions := blockVersions(t, path)
	total, others := 0, 0
	for v, n := range versions {
		total += n
		if v != old && v != blockZstdTyped && v != blockZstdSplit {
			others += n
		}
	}
	if versions[old] < 5 || others != 0 || total != 10 {
		t.Errorf("block versions %v, want 5 of version %d and 5 of %d or %d", versions, old, blockZstdTyped, blockZstdSplit)
	}
	if v := userVersion(t, path); v != version {
		t.Errorf("user_version %d after open, want %d", v, version)
	}
	checkKeys(t, path, bits)
}

// TestLayoutOlderBodies: a day whose blocks' bodies are of an older form is opened as it
// is: its lines are found and read, new blocks (typed) go beside them, and the day is
// marked so that a logcollect that knows only its layout refuses it instead of failing
// on each new block: layout 16 (bodies split into raw pieces) is marked 20; layout 7
// (bodies compressed whole) is marked 21 (its pair filters one per block), keeping its
// row ids.
func TestLayoutOlderBodies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(c *codec, times, body []byte) []byte
		layout  int
		old     byte
		marked  int
	}{
		{"raw pieces", rawSplitBlock, layoutVersionUntyped, blockZstdSplit, layoutVersion},
		{"whole", wholeBlock, layoutVersionWhole, blockZstdTimes, layoutVersionPairs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, path, got := olderDay(t, func(t *testing.T, path string) {
				c := testCodec(t)
				rewriteBlocks(t, path, func(times, body []byte) []byte { return tc.rewrite(c, times, body) }, tc.layout)
			})
			checkOlderDayAs(t, path, got, tc.old, tc.marked, keyBits)
		})
	}
}

// TestLayoutMarks: the layout a day is marked with once open, by the one it had; one
// newer than this logcollect's is refused.
func TestLayoutMarks(t *testing.T) {
	for had, want := range map[int]int{
		layoutVersion: layoutVersion, layoutVersionTyped: layoutVersion, layoutVersionUntyped: layoutVersion,
		layoutVersionPairs: layoutVersionPairs, layoutVersionPairs18: layoutVersionPairs, layoutVersionPairs15: layoutVersionPairs,
		layoutVersionSplit: layoutVersionPairs,
		layoutVersionWide:  layoutVersionWide, layoutVersionWide19: layoutVersionWide, layoutVersionWide14: layoutVersionWide,
		layoutVersion128:      layoutVersionWide,
		layoutVersionWide + 1: 0,
	} {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "day.db"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(fmt.Sprintf("CREATE TABLE blocks(id INTEGER PRIMARY KEY); PRAGMA user_version = %d", had)); err != nil {
			t.Fatal(err)
		}
		got, err := checkLayout(db, "day.db")
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("layout %d: marked %d (%v), want %d", had, got, err, want)
		}
		db.Close()
	}
}

// rawSplitBlock is the block of version blockZstdSplit (raw pieces, layout 16's) of the
// times and body of a block.
func rawSplitBlock(c *codec, times, body []byte) []byte {
	d := decoder{b: body}
	skipHead(&d)
	head := body[:len(body)-len(d.b)]
	type splitLine struct {
		delta, extra int64
		pieces       []string
	}
	var lines []splitLine
	for len(d.b) > 0 && !d.err {
		delta, size, msg := d.varint(), int64(d.uvarint()), d.string()
		lines = append(lines, splitLine{delta, size - int64(len(msg)), strings.SplitN(msg, " ", maxPieces)})
	}
	split := binary.AppendUvarint(append([]byte(nil), head...), uint64(len(lines)))
	for _, l := range lines {
		split = binary.AppendVarint(split, l.delta)
		split = binary.AppendVarint(split, l.extra)
		split = binary.AppendUvarint(split, uint64(len(l.pieces)))
	}
	for k := range maxPieces {
		for _, l := range lines {
			if k < len(l.pieces) {
				split = appendString(split, l.pieces[k])
			}
		}
	}
	zt := c.compress(times, nil)
	out := binary.AppendUvarint([]byte{blockZstdSplit}, uint64(len(zt)))
	return append(append(out, zt...), c.compress(split, nil)...)
}

// TestLayoutNumbersIndexed: a day of layout 9 (long numbers in the index, blocks' filters
// of version 1 or none, no numbers table) is opened as it is: its blocks are listed in
// numbers_any, its long numbers are found, their blocks read for want of the numbers'
// filters, and the day is marked 15 (its pair filters one per block), so that a
// logcollect that looks for them in the index refuses it; lines appended then get numbers' filters and are found
// beside them.
func TestLayoutNumbersIndexed(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	rows := rowsAt(start, 0, 4*defaultBlockLines, func(i int) string { return fmt.Sprintf("GET /item/%d", 100_000+i) })
	rows, later := rows[:3*defaultBlockLines], rows[3*defaultBlockLines:]
	runOnce(t, dir, rows)
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE pairs SET filter = x'01' || zeroblob(8) WHERE id = (SELECT min(id) FROM pairs)`, // pairs only, holding none
		`DELETE FROM pairs WHERE id = (SELECT max(id) FROM pairs)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	setLayout(t, db, layoutVersionSplit)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, Config{Dir: dir})
	appendSync(t, s, later)
	rows = append(rows, later...)
	for _, i := range []int{0, defaultBlockLines + 1, 3*defaultBlockLines - 1, 3 * defaultBlockLines, len(rows) - 1} {
		checkFound(t, s, start, fmt.Sprint(100_000+i), rows[i])
	}
	var anys, numbered int
	if err := s.snapshot()[0].db.QueryRow(`SELECT (SELECT count(*) FROM numbers_any), (SELECT count(*) FROM numbers_pending)`).
		Scan(&anys, &numbered); err != nil {
		t.Fatal(err)
	}
	if anys != 3 || numbered != 1 {
		t.Errorf("%d blocks in numbers_any, %d with numbers' filters; want the 3 of layout 9 and the 1 appended", anys, numbered)
	}
	if v := userVersion(t, path); v != layoutVersionPairs {
		t.Errorf("user_version %d after open, want %d", v, layoutVersionPairs)
	}
}

// TestLayoutUnsalted: a day of layout 13 (numbers' sets without a salt, gcs13) is
// opened as it is and marked 15; its numbers are found, and lines appended then get
// salted sets and are found beside them.
func TestLayoutUnsalted(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	rows := rowsAt(start, 0, 11*defaultBlockLines, func(i int) string { return fmt.Sprintf("GET /item/%d size %d", 100_000+i, 30_000+i) })
	rows, later := rows[:10*defaultBlockLines], rows[10*defaultBlockLines:] // directBlocks and more: in the shards' tables
	runOnce(t, dir, rows)
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// The sets as layout 13 wrote them: from the blocks' lines, without a salt.
	e := newEncoder(nil)
	sets := map[int64][numberShards][]byte{}
	eachBlockLines(t, db, func(id int64, lines []line) {
		e.nums.reset()
		for _, l := range lines {
			e.addWords(l.msg)
		}
		slices.Sort(e.nums.hashes)
		hashes := slices.Compact(e.nums.hashes)
		var shards [numberShards][]uint64
		for _, h := range hashes {
			shards[shardOf(h)] = append(shards[shardOf(h)], h)
		}
		var s [numberShards][]byte
		for i, shard := range shards {
			s[i] = gcs13(shard)
		}
		sets[id] = s
	})
	for id, s := range sets {
		for i, set := range s {
			if _, err := db.Exec(`UPDATE `+numbersTable(i)+` SET filter = ? WHERE id = ?`, set, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	setLayout(t, db, layoutVersionUnsalted)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, Config{Dir: dir})
	appendSync(t, s, later)
	rows = append(rows, later...)
	for _, i := range []int{0, defaultBlockLines + 1, 10*defaultBlockLines - 1, 10 * defaultBlockLines, len(rows) - 1} {
		checkFound(t, s, start, fmt.Sprint(100_000+i), rows[i])
		checkFound(t, s, start, fmt.Sprint(30_000+i), rows[i])
	}
	if v := userVersion(t, path); v != layoutVersionPairs {
		t.Errorf("user_version %d after open, want %d", v, layoutVersionPairs)
	}
	var unsalted int
	if err := s.snapshot()[0].db.QueryRow(`SELECT count(*) FROM ` + numbersTable(0) + ` WHERE substr(filter, 1, 2) != x'0001'`).Scan(&unsalted); err != nil {
		t.Fatal(err)
	}
	if unsalted != 10 {
		t.Errorf("%d blocks with sets of layout 13, want 10", unsalted)
	}
}

// wholeBlock is a block of layout 7 (version 8: times and body compressed, the body
// whole) of a times section and a body (decompressed).
func wholeBlock(c *codec, times, body []byte) []byte {
	zt := c.compress(times, nil)
	out := binary.AppendUvarint([]byte{blockZstdTimes}, uint64(len(zt)))
	return append(append(out, zt...), c.compress(body, nil)...)
}

// TestLayout256: a day of layout 5 (blocks of up to 256 lines, zstd bodies after
// uncompressed times) is opened as it is: its lines are found and counted by a histogram
// (which reads the times alone), new blocks (times compressed) go beside them, and the
// day is marked with this layout.
func TestLayout256(t *testing.T) {
	s, path, got := olderDay(t, func(t *testing.T, path string) {
		rewriteBlocks(t, path, func(times, body []byte) []byte {
			out := []byte{blockZstd}
			out = binary.AppendUvarint(out, uint64(len(times)))
			return append(append(out, times...), testCodec(t).compress(body, nil)...)
		}, layoutVersion256)
	})
	checkOlderDay(t, path, got, blockZstd)
	// Every line, from the oldest: the minute from cuts is counted from the lines' times.
	now := time.Now()
	all := mustParse(t, "")
	res, err := s.Search(context.Background(), store.SearchRequest{Query: all, From: now.Add(-time.Hour), To: now, Limit: 100})
	if err != nil || len(res.Rows) != 12 {
		t.Fatalf("all lines: %d, %v; want 12", len(res.Rows), err)
	}
	for _, c := range []struct {
		q    *query.Node
		want int64 // in old blocks and new
	}{{all, 12}, {mustParse(t, "level"), 10}} {
		buckets, _, err := s.Histogram(context.Background(), c.q, res.Rows[len(res.Rows)-1].Time, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, b := range buckets {
			n += b.Count
		}
		if n != c.want {
			t.Errorf("histogram of %v: %d lines, want %d", c.q, n, c.want)
		}
	}
}

// rewriteAsS2 turns the day at path into the layout before zstd: every block's body
// compressed with S2 (version 6) and user_version 3.
func rewriteAsS2(t *testing.T, path string) {
	t.Helper()
	rewriteBlocks(t, path, func(times, body []byte) []byte {
		out := []byte{blockS2}
		out = binary.AppendUvarint(out, uint64(len(times)))
		return append(append(out, times...), s2.Encode(nil, body)...)
	}, layoutVersionS2)
}

// blockVersions counts a day's blocks by version.
func blockVersions(t *testing.T, path string) map[byte]int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[byte]int{}
	rows, err := db.Query(`SELECT substr(data, 1, 1) FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v []byte
		if err := rows.Scan(&v); err != nil || len(v) != 1 {
			t.Fatalf("version %v: %v", v, err)
		}
		out[v[0]]++
	}
	return out
}

// TestNewDayKeys: a day this layout creates is marked with it, and its blocks' row ids
// are their newest line's millisecond shifted left keyBits.
func TestNewDayKeys(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	runOnce(t, dir, formatRows(start))
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	if v := userVersion(t, path); v != layoutVersion {
		t.Errorf("user_version %d, want %d", v, layoutVersion)
	}
	checkKeys(t, path, keyBits)
}

// TestNewerLayoutRefused: a day of a layout this build does not know is not opened.
func TestNewerLayoutRefused(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().Add(-time.Minute)
	runOnce(t, dir, formatRows(start))
	path := filepath.Join(dir, dayName(dayOf(start.UnixNano())))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, layoutVersionWide+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(Config{Dir: dir}, nil, nil); err == nil || !strings.Contains(err.Error(), "newer") ||
		!strings.Contains(err.Error(), path) {
		t.Errorf("Open = %v, want an error naming %s as newer", err, path)
	}
}

// runOnce stores rows in a store of dir and closes it.
func runOnce(t *testing.T, dir string, rows []store.Row) {
	t.Helper()
	withStore(t, Config{Dir: dir}, func(s *Store) { appendSync(t, s, rows) })
}

// rewriteWithoutFormat turns the day at path into the layout before formats: every
// block re-encoded as version 3 (uncompressed, no format) and user_version 2.
func rewriteWithoutFormat(t *testing.T, path string) {
	t.Helper()
	rewriteBlocks(t, path, func(times, body []byte) []byte {
		// The body: the fields (count, then key and value), then the format: drop it.
		d := decoder{b: body}
		for range 2 * d.uvarint() {
			d.string()
		}
		at := len(body) - len(d.b)
		d.string()
		if d.err {
			t.Fatal("a block cut short")
		}
		rest := d.b
		out := []byte{blockPlainNoFormat}
		out = binary.AppendUvarint(out, uint64(len(times)))
		return append(append(append(out, times...), body[:at]...), rest...)
	}, layoutVersionNoFormat)
}

// rewriteBlocks replaces the data of every block of the day at path by what rewrite
// makes of its times section and its body (decompressed), and sets its user_version
// (before layout 7, with the row ids of then: widenKeys).
func rewriteBlocks(t *testing.T, path string, rewrite func(times, body []byte) []byte, version int) {
	t.Helper()
	c := testCodec(t)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id, data FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			t.Fatal(err)
		}
		times, body, err := c.inflate(data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rewritten[id] = rewrite(times, body)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, data := range rewritten {
		if _, err := db.Exec(`UPDATE blocks SET data = ? WHERE id = ?`, data, id); err != nil {
			t.Fatal(err)
		}
	}
	if version < layoutVersionWhole {
		dropNumbers(t, db) // before widenKeys, which renumbers the tables of blocks it knows
		widenKeys(t, db)
	}
	setLayout(t, db, version)
}

// setLayout marks a day written by this logcollect as of an older layout version: one
// before the numbers table, which it then does not have.
func setLayout(t *testing.T, db *sql.DB, version int) {
	t.Helper()
	if version < layoutVersionUnsaltW {
		dropNumbers(t, db)
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		t.Fatal(err)
	}
}

// dropNumbers drops the numbers tables, as a day of a layout before them is.
func dropNumbers(t *testing.T, db *sql.DB) {
	t.Helper()
	qs := []string{`DROP TRIGGER IF EXISTS blocks_numbers`, `DROP TABLE IF EXISTS numbers_any`, `DROP TABLE IF EXISTS numbers_pending`}
	for i := range numberShards {
		qs = append(qs, `DROP TABLE IF EXISTS `+numbersTable(i))
	}
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// widenKeys gives the blocks of a day written by this layout the row ids days before
// layout 7 had (keyBitsWide): the same millisecond and counter, in the blocks, their pair
// filters and their index documents (made again from their lines).
func widenKeys(t *testing.T, db *sql.DB) {
	t.Helper()
	c := testCodec(t)
	docs := map[int64]string{}
	eachBlockLines(t, db, func(id int64, lines []line) {
		msgs := make([]string, len(lines))
		for i, l := range lines {
			msgs[i] = l.msg
		}
		docs[id] = oneBlock(t, msgs, c).words
	})
	for id, doc := range docs {
		wide := id>>keyBits<<keyBitsWide | id&(1<<keyBits-1)
		for _, q := range []string{`UPDATE blocks SET id = ?2 WHERE id = ?1`, `UPDATE pairs SET id = ?2 WHERE id = ?1`, `DELETE FROM fts WHERE rowid = ?1`} {
			if _, err := db.Exec(q, id, wide); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(`INSERT INTO fts(rowid, words) VALUES(?, ?)`, wide, doc); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFound checks that a search for w within an hour of start finds the one line row.
func checkFound(t *testing.T, s *Store, start time.Time, w string, row store.Row) {
	t.Helper()
	res, err := s.Search(context.Background(), store.SearchRequest{Query: mustParse(t, w), From: start.Add(-time.Hour), To: start.Add(time.Hour), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].Offset != row.Offset {
		t.Errorf("%s: %d hits, want the line at offset %d", w, len(res.Rows), row.Offset)
	}
}

// eachBlockLines calls fn with each block of the day and its lines.
func eachBlockLines(t *testing.T, db *sql.DB, fn func(id int64, lines []line)) {
	t.Helper()
	c := testCodec(t)
	rows, err := db.Query(`SELECT id, n, data FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		var data []byte
		if err := rows.Scan(&id, &n, &data); err != nil {
			t.Fatal(err)
		}
		lines, _, err := c.decodeBlock(data, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		fn(id, lines)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// checkKeys checks that the row id of each of the day's blocks is the millisecond of its
// newest line in the day shifted left by bits (plus a counter: no block here shares its
// millisecond with 2^bits others).
func checkKeys(t *testing.T, path string, bits int) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var bad, n int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE id >> ?1 != (ts_max % ?2) / ?3), count(*) FROM blocks`,
		bits, dayNanos, keyUnit).Scan(&bad, &n); err != nil {
		t.Fatal(err)
	}
	if bad > 0 || n == 0 {
		t.Errorf("%d of %d blocks without a key of %d bits", bad, n, bits)
	}
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSchemaOneTransaction: the tables and the layout version are created together (a
// kill between them left a blocks table of version 0, refused at the next start as the
// layout ordered by read time): rolled back, neither is there.
func TestSchemaOneTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "day.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(schemaSQL(layoutVersion)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var tables, version int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if tables != 0 || version != 0 {
		t.Errorf("after a rollback: %d schema objects, user_version %d", tables, version)
	}
	if err := createSchema(db, layoutVersion); err != nil {
		t.Fatal(err)
	}
	if v := userVersion(t, path); v != layoutVersion {
		t.Errorf("user_version %d, want %d", v, layoutVersion)
	}
}
