package sqlitestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// maxBlockLines bounds the lines of one block (docs/store.md has the measurements that
// chose it): more lines per block is fewer index entries per line (an access log's words
// repeat within a block) and better compression, and more lines to decode and check per
// candidate block. A file's block is defaultBlockLines long until its rows' size is
// known, then cut where its row fills its pages (rowfit.go), up to maxBlockLines. It was
// 128 until layout 5, 256 until layout 6 and 512 until layout 20: such blocks are read
// as they are.
const (
	maxBlockLines     = 640
	defaultBlockLines = 512
)

// maxBlockMessageBytes closes a block once its messages hold this many bytes, before
// maxBlockLines: what a search decodes and holds per candidate block stays about a MiB
// whatever the lines' length (512 lines of a MiB each would be half a GiB), and lines of
// a few KiB gain little more from a longer block.
const maxBlockMessageBytes = 1 << 20

// The first byte of an encoded block: its lines as they are, or compressed with zstd
// (codec), or with S2 as they were before (klauspost/compress; S2 made access logs ~3×
// smaller at ~0.2 µs per line each way, zstd ~5× at ~0.5 µs to encode: docs/store.md;
// the writer then writes and checkpoints that much less). 1 and 2 were the layout
// ordered by read time (no read time per line), which is not read; 3 and 4 are this one
// without the entry's format, read as plain (what their lines were parsed as when they
// were written). 8 is zstd with the times section compressed too (its own frame): an
// uncompressed section took 2–3 bytes per line (a varint per time, most of them 0),
// 4 % of the store, and ~0.1 compressed (docs/store.md); 7's is read as it is. 9 is 8
// with the body split into columns before it is compressed (split.go): bodies 27 %
// smaller; 8's are read as they are. 10 is 9 with each column in the kind that suits
// its values (typed.go): a dictionary, shapes and numbers, or raw; bodies 38 % smaller;
// 9's are read as they are.
const (
	blockPlain         = 5
	blockS2            = 6
	blockZstd          = 7
	blockZstdTimes     = 8
	blockZstdSplit     = 9
	blockZstdTyped     = 10
	blockPlainNoFormat = 3
	blockS2NoFormat    = 4
)

// blockForm is what a block's version byte says about how it is stored.
type blockForm struct {
	known           bool // a version this build reads
	compressed      bool // its body is compressed
	timesCompressed bool // its times section is compressed (codec.times decompresses it; else it is read where it is stored)
	format          bool // it holds its entry's format
}

// formOf is the form of a block of the version.
func formOf(version byte) blockForm {
	switch version {
	case blockPlainNoFormat:
		return blockForm{known: true}
	case blockS2NoFormat:
		return blockForm{known: true, compressed: true}
	case blockPlain:
		return blockForm{known: true, format: true}
	case blockS2, blockZstd:
		return blockForm{known: true, compressed: true, format: true}
	case blockZstdTimes, blockZstdSplit, blockZstdTyped:
		return blockForm{known: true, compressed: true, timesCompressed: true, format: true}
	}
	return blockForm{}
}

// compressed says whether a block of a known version has its body compressed.
func compressed(version byte) bool { return formOf(version).compressed }

// timesCompressed says whether a block of a known version has its times section
// compressed.
func timesCompressed(version byte) bool { return formOf(version).timesCompressed }

// hasFormat says whether a block of a known version holds its entry's format.
func hasFormat(version byte) bool { return formOf(version).format }

// entryInfo is what the lines of a block share from their collect entry.
type entryInfo struct {
	fields map[string]string // the entry's fields
	format string            // the entry's format name ("" is plain): how the lines' fields are parsed
}

// block is up to maxBlockLines consecutive lines of one file, stored as one row of
// blocks and indexed as one full-text document: the distinct words of its lines.
type block struct {
	host, path, topic, fileID string
	entryInfo
	n                     int
	tMin, tMax            int64 // the lines' oldest and newest event time (the lines are in file order, not time order)
	rMax                  int64 // the newest read time
	off0                  int64 // the first line's offset
	end0, endLast, endMax int64 // the first and last line's end, and the largest end
	data                  []byte
	mins                  []byte  // the lines per minute of event time (encoder.minutes)
	tens                  []byte  // the lines per 10 minutes, when the block spans many minutes (encoder.tens)
	far                   []int64 // the event times of its early lines (farTimes)
	words                 string
	pairs                 []byte // its filter of adjacent numbers (pairs.go); nil: none
	// numbers are its numbers' filters (pairs.go: hashSet.shards), shard i's ending at
	// numberEnds[i]; nil: none, the block may hold any number (numbers_any).
	numbers    []byte
	numberEnds [numberShards]int
	cols       []byte // its field columns (columns.go); nil: none
	colsMask   int64  // the columns it has

	// Set by the writer: the first line's Seq (line i's is seq+i), and the block's row id,
	// a key ordered by tMax (timeKey).
	seq, id int64
}

// numberFilter is the block's filter of the numbers of shard i (shardOf).
func (b *block) numberFilter(i int) []byte {
	start := 0
	if i > 0 {
		start = b.numberEnds[i-1]
	}
	return b.numbers[start:b.numberEnds[i]]
}

// line is one decoded line of a block: its event time ts and read time rts.
type line struct {
	ts, rts, off, end int64
	msg               string
}

// clampTime returns the time a row is stored at, and whether it was clamped: its event
// time, or its read time when the event time is more than skew after the read time (0:
// no limit) or before 1970 (a misparsed or corrupt timestamp would otherwise put the
// line in a day nobody looks at, or one retention removes at once). A zero ReadTime is
// the event time.
func clampTime(r *store.Row, skew time.Duration) (t, rt int64, clamped bool) {
	read := r.ReadTime
	if read.IsZero() {
		read = r.Time
	}
	ev := r.Time
	if ev.Before(epoch) || (skew > 0 && ev.Sub(read) > skew) {
		ev, clamped = read, true
	}
	return ev.UnixNano(), read.UnixNano(), clamped
}

var epoch = time.Unix(0, 0)

// buildBlocks groups rows into blocks of one file each (and one day of event time, and
// one set of entry fields and format) of at most the lines whose row the file's last
// blocks foretell to fill its pages (codec.blockLines, rowfit.go), clamping event
// times more than skew ahead of their read time (clampTime); it returns the blocks, in
// the order of their first row, and how many rows were clamped. A block's lines stay in
// file order: searches order by time across and within blocks (read.go), so a file's
// lines need not be in time order.
func buildBlocks(rows []store.Row, skew time.Duration, c *codec) ([]*block, int) {
	type group struct {
		first         int
		idx           []int
		lines, slack  int // the most it takes, and the more it takes to end its file's lines (codec.blockLines)
		bytes         int // of the messages
		day           int64
		topic, format string
	}
	open := map[fileKey]*group{}
	var groups []*group
	times := make([][2]int64, len(rows))
	clamped := 0
	left := map[fileKey]int{} // each file's rows not yet in a block
	for i := range rows {
		left[fileKey{rows[i].Host, rows[i].FileID, rows[i].Path}]++
	}
	for i := range rows {
		r := &rows[i]
		t, rt, wasClamped := clampTime(r, skew)
		times[i] = [2]int64{t, rt}
		if wasClamped {
			clamped++
		}
		// One open block per file: a line of another day (or other entry fields or
		// format: the entry was edited) closes it, so a file's blocks are runs of its consecutive lines, which the writer's
		// per-day commits need to store a prefix of each file (writeFrom).
		k := fileKey{r.Host, r.FileID, r.Path}
		d := dayOf(t)
		g := open[k]
		if g != nil && len(g.idx) == g.lines && left[k] <= g.slack {
			// The file's last few lines of this append: taken in, not left a row of their own.
			g.lines, g.slack = g.lines+left[k], 0
		}
		if g != nil && (len(g.idx) == g.lines || g.bytes >= maxBlockMessageBytes || g.day != d || g.topic != r.Topic || g.format != r.Format || !maps.Equal(r.Fields, rows[g.first].Fields)) {
			groups = append(groups, g)
			g = nil
		}
		if g == nil {
			g = &group{first: i, day: d, topic: r.Topic, format: r.Format}
			g.lines, g.slack = c.blockLines(k)
			open[k] = g
		}
		left[k]--
		g.idx = append(g.idx, i)
		g.bytes += len(r.Message)
	}
	for _, g := range open {
		groups = append(groups, g)
	}
	slices.SortFunc(groups, func(a, b *group) int { return a.first - b.first })
	out := make([]*block, len(groups))
	// The blocks are encoded side by side, each worker with an encoder of its own: an
	// append is the agent's one goroutine, and encoding (words, pairs, the status column,
	// zstd) is most of its CPU, while the writer's SQLite work runs on another core.
	workers := max(1, min(runtime.GOMAXPROCS(0), len(groups)/minGroupsPerWorker))
	encodeEvery := func(first int) { // groups first, first+workers, …
		enc := c.encoder()
		defer c.putEncoder(enc)
		for i := first; i < len(groups); i += workers {
			out[i] = enc.encode(rows, times, groups[i].idx)
		}
	}
	if workers == 1 {
		encodeEvery(0)
		return out, clamped
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { encodeEvery(w) })
	}
	wg.Wait()
	return out, clamped
}

// minGroupsPerWorker is the fewest blocks an encoder of buildBlocks' takes: an append of
// a few lines (a quiet file) is encoded where it is, without a goroutine.
const minGroupsPerWorker = 2

// encoder builds blocks, reusing its buffers.
type encoder struct {
	codec  *codec // nil: bodies are stored as they are
	perMin []minuteCount
	perTen []minuteCount
	zbuf   []byte
	raw    []byte // the block before compression
	times  []byte
	ztimes []byte // the times compressed
	split  splitter
	sbuf   []byte // the body, split (split.go), its columns typed
	rbuf   []byte // and of raw pieces
	zraw   []byte // the latter compressed
	words  wordSet
	pairs  pairSet
	nums   hashSet // the block's long numbers and digit prefixes (pairs.go)
	cols   colBuilder
	lower  []byte
	msg    string               // the line whose words addWord takes
	addFn  func(start, end int) // e.addWord, made once (a method value per line allocates)
}

func newEncoder(c *codec) *encoder {
	e := &encoder{codec: c, words: newWordSet()}
	e.addFn = e.addWord
	return e
}

// maxBlockBytes bounds a decoded block (blocks of layouts before 6, up to 256 lines
// without a byte bound, are 256 MiB at the agent's default cut of 1 MiB): a block
// claiming more is corrupt, and is not allocated.
const maxBlockBytes = 1 << 30

// encode makes the block of rows[idx...], which share a file, a day, entry fields and
// format;
// times[i] are row i's event and read time as stored (clampTime).
//
// Encoding: the version byte; the times section's length (uvarint) and the times: per
// line its event time minus the line before's (varint ns; the first line's is its
// time) and its read time minus the line before's (varint; likewise), signed, as a
// file's lines need not be in time order; then the body, compressed when the version
// says so: the entry's fields (count, then key and value, each length-prefixed, sorted
// by key) and format (length-prefixed), then per line the offset minus the previous line's end (varint; the first
// line's is its offset), end minus offset (uvarint) and the message (length-prefixed);
// a compressed body is written split into columns (split.go), which a read joins back.
// The times stay uncompressed in front so that a histogram reads them without
// decompressing the messages (blocks whose lines are out of time order are counted line
// by line).
func (e *encoder) encode(rows []store.Row, times [][2]int64, idx []int) *block {
	first := &rows[idx[0]]
	b := &block{host: first.Host, path: first.Path, topic: first.Topic, fileID: first.FileID,
		entryInfo: entryInfo{fields: first.Fields, format: first.Format},
		n:         len(idx), tMin: times[idx[0]][0], tMax: times[idx[0]][0], rMax: times[idx[0]][1], off0: first.Offset, end0: first.End}
	data := e.raw[:0] // copied into the block below: reused
	e.times = e.times[:0]
	keys := slices.Sorted(maps.Keys(b.fields))
	data = binary.AppendUvarint(data, uint64(len(keys)))
	for _, k := range keys {
		data = appendString(data, k)
		data = appendString(data, b.fields[k])
	}
	data = appendString(data, b.format)
	split := e.codec != nil // the lines go straight into the split form (split.go)
	if split {
		e.sbuf = e.split.start(e.sbuf[:0], data, b.n)
	}
	e.words.reset()
	e.pairs.reset()
	e.nums.reset()
	e.cols.reset(b.format)
	var ts, rts, prevEnd int64
	for _, i := range idx {
		r := &rows[i]
		t, rt := times[i][0], times[i][1]
		e.times = binary.AppendVarint(e.times, t-ts)
		e.times = binary.AppendVarint(e.times, rt-rts)
		if split {
			e.sbuf = e.split.line(e.sbuf, r.Offset-prevEnd, r.End-r.Offset, r.Message)
		} else {
			data = binary.AppendVarint(data, r.Offset-prevEnd)
			data = binary.AppendUvarint(data, uint64(r.End-r.Offset))
			data = appendString(data, r.Message)
		}
		ts, rts, prevEnd = t, rt, r.End
		b.tMin, b.tMax, b.rMax = min(b.tMin, t), max(b.tMax, t), max(b.rMax, rt)
		b.endMax = max(b.endMax, r.End)
		e.addWords(r.Message)
		e.cols.line(r.Message, b.fields)
	}
	b.endLast = prevEnd
	b.mins = e.minutes(times, idx)
	b.far = farTimes(times, idx, b.tMin, b.tMax)
	b.tens = e.tens()
	version, tsec, body := byte(blockPlain), e.times, data
	key := fileKey{b.host, b.fileID, b.path} // the file's in the codec's memory
	if split {
		e.sbuf, e.rbuf = e.split.finish(e.sbuf, e.rbuf[:0])
		e.ztimes = e.codec.compress(e.times, e.ztimes[:0])
		version, tsec = blockZstdTyped, e.ztimes
		// the form the file's blocks compress smaller in (codec.form), or both
		raw, both := e.codec.form(key)
		if both || !raw {
			e.zbuf = e.codec.compress(e.sbuf, e.zbuf[:0])
			body = e.zbuf
		}
		if both || raw {
			e.zraw = e.codec.compress(e.rbuf, e.zraw[:0])
			if raw || len(e.zraw) <= len(e.zbuf) { // numbers that count up: their text compressed better
				version, body = blockZstdSplit, e.zraw
			}
		}
		if both {
			e.codec.setForm(key, version == blockZstdSplit)
		}
	}
	out := make([]byte, 0, 1+binary.MaxVarintLen64+len(tsec)+len(body))
	out = append(out, version)
	out = binary.AppendUvarint(out, uint64(len(tsec)))
	out = append(append(out, tsec...), body...)
	b.data = out
	e.raw = data
	b.words = string(e.words.doc)
	b.pairs = appendFilter(nil, &e.pairs, nil)
	if nums, ends, ok := e.nums.shards(nil, blockSalt(b)); ok {
		b.numbers, b.numberEnds = nums, ends
	}
	b.cols, b.colsMask = e.cols.encode(e.codec, e.times)
	if split && b.n >= minFitLines { // a row's bytes per line are foretold by the file's of about as many lines
		e.codec.setRowSize(key, b.n, rowBytes(b))
	}
	return b
}

// blockSalt is the salt of a block's numbers' sets (gcsMix): any byte that differs
// from block to block; its newest time's and its last line's end mixed.
func blockSalt(b *block) byte {
	return byte(gcsMix(uint64(b.tMax)^uint64(b.endLast)<<17, 0) >> 56)
}

// minuteNanos is the resolution of a block's per-minute counts (encoder.minutes).
const minuteNanos = int64(time.Minute)

// minuteCount is how many of a block's lines fall in one minute of event time (or one
// span of 10 minutes: encoder.tens).
type minuteCount struct{ minute, n int64 }

// minutes returns the block's lines per minute of event time (rows idx, times as
// stored).
//
// Encoding, self-delimiting (an all-lines histogram reads the counts of many blocks
// concatenated, read.go: countAll): the number of minutes holding a line (uvarint), the
// first of them (varint, minutes since 1970) and its line count (uvarint), then per
// further minute, in time order, the minute minus the one before (uvarint) and its line
// count. Minutes are UTC minutes since 1970: every histogram step of whole minutes has
// its bucket edges on them (a bucket starts at a multiple of the step), so the counts
// add to their buckets without the line times. A file's lines out of order by up to an
// hour make a block span up to an hour, across bucket edges; its counts stay ~2 bytes
// per distinct minute (an in-order block of 256 lines covers a few).
func (e *encoder) minutes(times [][2]int64, idx []int) []byte {
	e.perMin = e.perMin[:0]
	for _, i := range idx {
		m := floorDiv(times[i][0], minuteNanos)
		if k := len(e.perMin) - 1; k >= 0 && e.perMin[k].minute == m { // lines in order: the minute before's
			e.perMin[k].n++
			continue
		}
		j := slices.IndexFunc(e.perMin, func(c minuteCount) bool { return c.minute == m })
		if j < 0 {
			e.perMin = append(e.perMin, minuteCount{minute: m})
			j = len(e.perMin) - 1
		}
		e.perMin[j].n++
	}
	slices.SortFunc(e.perMin, func(a, b minuteCount) int { return cmpInt(a.minute, b.minute) })
	return appendCounts(make([]byte, 0, 8+3*len(e.perMin)), e.perMin)
}

// tenMinutes is the unit of a block's coarse counts (encoder.tens), in minutes.
const tenMinutes = 10

// tensMarker starts a block's per-10-minute counts: a per-minute count list starts with
// its length, never 0, so the two tell themselves apart when concatenated.
const tensMarker = 0

// tens returns the block's lines per 10 minutes of event time (UTC, since 1970), from
// the per-minute counts encoder.minutes made, or nil when they would not save much: when
// the lines fall in fewer than 8 distinct minutes or in more than half as many 10-minute
// spans. Encoding: tensMarker, then as minutes with 10-minute spans for minutes.
//
// Why: an all-lines histogram of a step of whole 10 minutes (ranges of 10 h and more in
// the API) adds these instead of the minutes. A file's lines a tenth an hour out of
// order give a block ~17 minutes and ~6 spans: a third of the bytes to concatenate and
// of the counts to add, in the index of every such block; a block in order (a few
// minutes) has none, and costs 1 byte of NULL.
func (e *encoder) tens() []byte {
	const minMinutes = 8
	if len(e.perMin) < minMinutes {
		return nil
	}
	e.perTen = e.perTen[:0]
	for _, c := range e.perMin { // in time order
		t := floorDiv(c.minute, tenMinutes)
		if k := len(e.perTen) - 1; k >= 0 && e.perTen[k].minute == t {
			e.perTen[k].n += c.n
			continue
		}
		e.perTen = append(e.perTen, minuteCount{minute: t, n: c.n})
	}
	if 2*len(e.perTen) > len(e.perMin) {
		return nil
	}
	return appendCounts(append(make([]byte, 0, 9+3*len(e.perTen)), tensMarker), e.perTen)
}

// appendCounts appends counts (in time order) as encoder.minutes describes.
func appendCounts(out []byte, counts []minuteCount) []byte {
	out = binary.AppendUvarint(out, uint64(len(counts)))
	for k, c := range counts {
		if k == 0 {
			out = binary.AppendVarint(out, c.minute)
		} else {
			out = binary.AppendUvarint(out, uint64(c.minute-counts[k-1].minute))
		}
		out = binary.AppendUvarint(out, uint64(c.n))
	}
	return out
}

// maxMinute is the last minute whose start an int64 of nanoseconds holds.
const maxMinute = math.MaxInt64 / minuteNanos

// nextCounts decodes the per-minute or per-10-minute counts of one block
// (encoder.minutes, encoder.tens) from the front of b into out (reused) and returns them,
// their unit in minutes (1 or tenMinutes: minute is then the span's number) and the rest
// of b.
func nextCounts(b []byte, out []minuteCount) ([]minuteCount, int64, []byte, error) {
	unit := int64(1)
	if len(b) > 0 && b[0] == tensMarker {
		unit, b = tenMinutes, b[1:]
	}
	d := decoder{b: b}
	k := d.uvarint()
	if d.err || k == 0 || k > maxBlockLines {
		return nil, 0, nil, fmt.Errorf("%w: %d minute counts", errCorrupt, k)
	}
	out = out[:0]
	var m int64
	for i := range k {
		if i == 0 {
			m = d.varint()
		} else {
			m += int64(d.uvarint())
		}
		c := int64(d.uvarint())
		if d.err || c <= 0 || c > maxBlockLines || m < -maxMinute/unit || m > maxMinute/unit {
			return nil, 0, nil, fmt.Errorf("%w: minute counts", errCorrupt)
		}
		out = append(out, minuteCount{minute: m, n: c})
	}
	return out, unit, d.b, nil
}

// addWords adds the distinct case-folded words of msg (query.EachWord, folded as
// query.Tokens folds them) to the block's document, and its pairs of adjacent numbers
// and its long numbers to the block's filter (pairs.go).
func (e *encoder) addWords(msg string) {
	e.msg = msg
	e.pairs.line()
	query.EachWord(msg, e.addFn)
}

// addWord takes a word of the line. Most words start with a letter: they go to the
// document with one comparison more. A word of filterDigits or more ASCII digits goes
// to the numbers' filter instead; a shorter one to the document without folding or
// hashing (digits fold to themselves).
func (e *encoder) addWord(start, end int) {
	raw := e.msg[start:end]
	if raw[0]-'0' > 9 {
		e.pairs.notNumber()
	} else if isNum, long := e.number(raw); long {
		return
	} else if isNum {
		e.words.addDigits(raw)
		return
	}
	var w string
	w, e.lower = query.FoldWord(raw, e.lower)
	e.words.add(w)
}

// number takes a word that starts with a digit: the first prefixDigits digits of it go
// to the numbers' filter, and, when it is a number, to the pairs; a number of
// filterDigits or more digits goes to the numbers' filter. It says whether the word is a
// number (ASCII digits only) and whether it is long (then not a word of the document).
func (e *encoder) number(raw string) (isNum, long bool) {
	if len(raw) >= prefixDigits {
		if p, ok := numberBits(raw[:prefixDigits]); ok {
			e.nums.add(prefixHash(p))
		}
	}
	num, ok := numberBits(raw)
	if !ok {
		e.pairs.notNumber()
		return false, false
	}
	e.pairs.number(num)
	if len(raw) < filterDigits {
		return true, false
	}
	e.nums.add(numberHash(num))
	return true, true
}

// wordSet is a block's distinct words in the order first seen, as the FTS5 document
// (doc: the words separated by single spaces). It is an open-addressing table over
// doc, not a map[string]: a map needed a string allocated for every new word and hashed
// with its own general probing, which was most of an append's Go CPU (BenchmarkBuildBlocks,
// docs/store.md); here a new word is appended to doc and its slot is 32 bytes.
type wordSet struct {
	seed  maphash.Seed
	doc   []byte
	slots []wordSlot // a power of two, at most half full
	n     int
	// digits has a slot per word of 1 to filterDigits-1 ASCII digits (digitSlot): half
	// of an access line's words (an IP's, a time's, a status), which addDigits takes
	// without a hash. A slot holds the gen of the block that has the word.
	digits []uint32
	// gen marks the slots of the current block: reset bumps it instead of clearing them.
	gen uint32
}

type wordSlot struct {
	h      uint64
	off, n int
	gen    uint32
}

// wordSetSlots is the initial table (8 KiB): an append of a line or two, as a quiet file
// makes, allocates no more; a block of 256 access-log lines (~700–2,500 distinct words)
// grows it a few times, once per encoder, whose next blocks reuse it.
const wordSetSlots = 256

func newWordSet() wordSet {
	return wordSet{seed: maphash.MakeSeed(), slots: make([]wordSlot, wordSetSlots),
		digits: make([]uint32, digitSlot(strings.Repeat("9", filterDigits-1))+1), gen: 1} // 44 KiB
}

func (s *wordSet) reset() {
	s.doc, s.n = s.doc[:0], 0
	s.gen++
	if s.gen == 0 { // wrapped: slots of 2^32 blocks ago would look current
		clear(s.slots)
		clear(s.digits)
		s.gen = 1
	}
}

// add adds w unless the set holds it. w is not kept: its bytes are copied into doc.
func (s *wordSet) add(w string) {
	h := maphash.String(s.seed, w)
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.gen != s.gen {
			s.appendWord(w)
			*sl = wordSlot{h: h, off: len(s.doc) - len(w), n: len(w), gen: s.gen}
			if s.n++; 2*s.n > len(s.slots) {
				s.grow()
			}
			return
		}
		if sl.h == h && string(s.doc[sl.off:sl.off+sl.n]) == w {
			return
		}
	}
}

// addDigits adds w, a word of 1 to filterDigits-1 ASCII digits, unless the set holds it.
func (s *wordSet) addDigits(w string) {
	if i := digitSlot(w); s.digits[i] != s.gen {
		s.digits[i] = s.gen
		s.appendWord(w)
	}
}

// digitSlot is the slot of a word of 1 to filterDigits-1 ASCII digits: the words of
// fewer digits first (leading zeros count: "04" is not "4"), then its value.
func digitSlot(w string) int {
	v, p := 0, 1
	for i := 0; i < len(w); i++ {
		v, p = v*10+int(w[i]-'0'), p*10
	}
	return (p-10)/9 + v
}

func (s *wordSet) appendWord(w string) {
	if len(s.doc) > 0 {
		s.doc = append(s.doc, ' ')
	}
	s.doc = append(s.doc, w...)
}

func (s *wordSet) grow() {
	old := s.slots
	s.slots = make([]wordSlot, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, sl := range old {
		if sl.gen != s.gen {
			continue
		}
		i := sl.h & mask
		for s.slots[i].gen == s.gen {
			i = (i + 1) & mask
		}
		s.slots[i] = sl
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("corrupt block")

// splitTimes returns a block's times section as stored (compressed in blockZstdTimes:
// codec.times) and what follows it.
func splitTimes(data []byte) (times, rest []byte, err error) {
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("%w: empty", errCorrupt)
	}
	if !formOf(data[0]).known {
		return nil, nil, fmt.Errorf("%w: version %d", errCorrupt, data[0])
	}
	k, w := binary.Uvarint(data[1:])
	if w <= 0 || k > uint64(len(data)-1-w) {
		return nil, nil, fmt.Errorf("%w: times section of %d bytes", errCorrupt, k)
	}
	return data[1+w : 1+w+int(k)], data[1+w+int(k):], nil
}

// eachTime calls fn with the event time of each of the n lines of a block's times
// section.
func eachTime(times []byte, n int, fn func(t int64)) error {
	return eachTimes(times, n, func(t, _ int64) { fn(t) })
}

// eachTimes calls fn with the event and read time of each of the n lines of a block's
// times section.
func eachTimes(times []byte, n int, fn func(t, rt int64)) error {
	d := decoder{b: times}
	var t, rt int64
	for range n {
		t += d.varint()
		rt += d.varint()
		if d.err {
			return fmt.Errorf("%w: times cut short", errCorrupt)
		}
		fn(t, rt)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d bytes after %d times", errCorrupt, len(d.b), n)
	}
	return nil
}

// timeLines decodes the times section of a block of n lines into lines (reused) without
// their offsets and messages: a histogram of a query its field columns answer
// (scanner.timesOnly) needs no more.
func timeLines(times []byte, n int, lines []line) ([]line, error) {
	lines = lines[:0]
	err := eachTimes(times, n, func(t, rt int64) { lines = append(lines, line{ts: t, rts: rt}) })
	if err != nil {
		return nil, err
	}
	return lines, nil
}

// decodeLines decodes the times and the body of a block of the version (inflate). The
// entry's fields and format are copied; the messages point into data.
func decodeLines(version byte, times, data []byte, n int, lines []line) ([]line, entryInfo, error) {
	td := decoder{b: times}
	d := decoder{b: data}
	var e entryInfo
	if nf := d.uvarint(); nf > 0 {
		if nf > uint64(len(data)) {
			return nil, e, fmt.Errorf("%w: %d fields", errCorrupt, nf)
		}
		e.fields = make(map[string]string, nf)
		for range nf {
			k := strings.Clone(d.string())
			e.fields[k] = strings.Clone(d.string())
		}
	}
	if hasFormat(version) {
		e.format = strings.Clone(d.string())
	}
	lines = lines[:0]
	var t, rt, prevEnd int64
	for i := range n {
		t += td.varint()
		rt += td.varint()
		off := prevEnd + d.varint()
		end := off + int64(d.uvarint())
		msg := d.string()
		if d.err || td.err {
			return nil, e, fmt.Errorf("%w: line %d of %d cut short", errCorrupt, i, n)
		}
		lines = append(lines, line{ts: t, rts: rt, off: off, end: end, msg: msg})
		prevEnd = end
	}
	if d.err || len(d.b) != 0 || len(td.b) != 0 {
		return nil, e, fmt.Errorf("%w: %d and %d bytes after %d lines", errCorrupt, len(td.b), len(d.b), n)
	}
	return lines, e, nil
}

// decoder reads an encoded block; a read past the end sets err and returns zeros.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return ""
	}
	s := unsafe.String(unsafe.SliceData(d.b), int(n)) // the block's bytes are not changed
	d.b = d.b[n:]
	return s
}

// reencode makes a block of lines (decoded, times as stored) of one file: after some of
// a block's lines were dropped (re-read lines after a restart, retention).
func reencode(h blockHead, lines []line, c *codec) *block {
	rows := make([]store.Row, len(lines))
	times := make([][2]int64, len(lines))
	idx := make([]int, len(rows))
	for i, l := range lines {
		rows[i] = store.Row{Host: h.host, Path: h.path, Topic: h.topic, FileID: h.fileID, Format: h.format, Fields: h.fields,
			Offset: l.off, End: l.end, Message: l.msg}
		times[i], idx[i] = [2]int64{l.ts, l.rts}, i
	}
	e := c.encoder()
	defer c.putEncoder(e)
	return e.encode(rows, times, idx)
}
