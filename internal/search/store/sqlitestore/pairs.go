package sqlitestore

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"

	"github.com/klauspost/compress/huff0"

	"github.com/logcollect/logcollect/internal/search/query"
)

// A block has two filters: a bloom filter of the pairs of adjacent numbers in its lines
// (its row in the pairs table), and sets of its long numbers (its rows in the numbers
// tables).
//
// Pairs: two words next to each other in a line as query.EachWord splits it, both ASCII
// digits (10.3.77.191 gives 10·3, 3·77 and 77·191). A phrase of numbers
// (query.DigitPhrases: an IP address, a version, a date) is in a line only if each pair
// of its whole words is, so a block whose filter lacks one of them holds no matching
// line and is skipped before its body is decompressed. Why: the four numbers of an IP address
// are each words of nearly every block of an access log, so the index gives nearly
// every block for it; and pairs as index words cost 1.7× the ingest CPU (FTS5's postings,
// docs/store.md).
//
// Numbers: the words of filterDigits or more ASCII digits (ids, sizes, timestamps) are
// not words of the index (encoder.addWord); the filter holds them (numberHash), and
// the first prefixDigits digits of every word starting with that many (prefixHash),
// which is how a search for such a number or a digit prefix (9999*) rules blocks out
// (plan.nums, compile.go: numbersSQL). Why: an access log's ids and sizes are ~900
// distinct words per block, each in one block or a few: 84 % of the index's bytes and
// most of its ingest CPU, for words a search rarely names (docs/store.md). They are cut
// in numberShards by the hash's top bits (shardOf), each shard a Golomb-coded set
// (gcs.go) in a table of its own (numbersTable), keyed by block id: a search for a
// number reads its shard's rows of the blocks in its range, a sixteenth of the bytes,
// where one filter per block had it read all of them (45–57 ms for one id in 2 million
// lines, docs/store.md).
//
// Encoding of the pairs' row: a version byte, pairFilterV1 then the pairs' filter; or
// pairFilterV3, the pairs' filter's length in words and its bytes Huffman-coded
// (pairSet.compressed: a filter of pairs only, written when that is shorter); or
// pairFilterV2, the pairs' filter's length in 64-bit words (uvarint; 0: no pair filter,
// the block may hold any pair), that filter, then the numbers' filter of layout 11 (no
// words: none here, the block may hold any number as far as this row says). A filter's
// bits are little-endian 64-bit words (pairWord). No row: in a day of layout 16, the
// block is in a pair group (pairgroups.go; one without a filter has a row of no words);
// in one before it, the block has no pair filter (written before it, by a logcollect
// without it, or with more pairs than maxFilterPairs), and may hold any pair. A block without numbers rows is in the
// numbers_any table (part.go: written before them, or with more numbers than a filter
// takes) and may hold any number as far as they say; a block of layout 11 may still
// have its numbers in its pairs row.
const (
	pairFilterV1 = 1
	pairFilterV2 = 2
	pairFilterV3 = 3
	// numBits is m/n of layout 11's numbers' filter in a block's pairs row (appendFilter,
	// which this layout calls for its tests' old blocks): 1.5 % of the numbers a block of
	// issue 22's access log lacks passed.
	numBits = 12
	// filterDigits and prefixDigits: a word of at least filterDigits ASCII digits is
	// in the numbers' filter and not in the index; a word starting with prefixDigits
	// ASCII digits has those in the filter (a digit prefix of fewer rules out no block).
	filterDigits = 5
	prefixDigits = 4
	// numberShards is how many sets a block's numbers are cut into (shardOf): a search
	// for a number reads 1/numberShards of their bytes, and each is a row, ~8 bytes of
	// SQLite's own and the set's counts on disk (16: +0.7 bytes per line of issue 22's
	// access log, end to end).
	numberShards = 16
	// pairBits is the least m/n, the filter's bits per distinct pair, each setting 3
	// bits (pairWord); its size is then rounded up to a power of two (hashSet.filter), up
	// to twice that. At 4 bits ~15 % of the pairs a block lacks pass, and for an IP
	// address's three pairs 0.44 % of the blocks of issue 22's access log not holding
	// it (TestPairFilterSelective); that log's ~2,240 distinct pairs in 512 lines get
	// 256 words, 7.3 bits per pair, and 0.04 % of the blocks of 100 million lines
	// passed for the benchmark's IP (docs/store.md). The filter is then ~4 bytes per
	// line of that log.
	pairBits = 4
	// countBits is the bitmap that counts a block's distinct pairs (linear counting)
	// before the filter is sized: 2 KiB, cleared per block.
	countBits = 1 << 14
	// maxFilterPairs: a block with more distinct pairs (lines of numbers only) gets no
	// filter; its lines would hold little else, and the count is no longer exact enough
	// to size one.
	maxFilterPairs = countBits
	// maxPairs bounds the pairs a block's set keeps, repeats included (512 KiB of
	// hashes): a block of "1.1.1.1…" holds half a million per MiB of its messages (a
	// block of 256 lines of a MiB each held 128 million before blocks were bounded by
	// bytes); past this bound the block gets no filter.
	maxPairs = 1 << 16
)

// numberHash and prefixHash are the numbers' filter's hashes of a number (numberBits) and
// of a prefix of prefixDigits digits. They are stored on disk: they must never change
// for pairFilterV2.
func numberHash(num uint64) uint64 { return pairHash(num, 1) }
func prefixHash(num uint64) uint64 { return pairHash(num, 2) }

// shardOf is the numbers' set a hash is in: its top bits, which gcsValue does not use.
func shardOf(h uint64) int { return int(h >> (64 - 4)) } // 4 bits: numberShards

// numberBits folds a number's digits into 64 bits (its length, then its bytes eight at a
// time), or says w is not a number (a word of ASCII digits only: the words of
// query.DigitPhrases). pairHash mixes two of them; a word's is computed once for the
// pairs on both sides of it.
func numberBits(w string) (uint64, bool) {
	const prime = 0x9e3779b97f4a7c15
	h, v := uint64(len(w)), uint64(0)
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c-'0' > 9 {
			return 0, false
		}
		v = v<<8 | uint64(c)
		if i&7 == 7 {
			h, v = (h^v)*prime, 0
		}
	}
	return (h ^ v) * prime, w != ""
}

// pairHash is the hash of the adjacent numbers a and b (numberBits of each), mixed by
// splitmix64's finalizer so that all its bits are usable (pairWord, pairSet.add). It is
// stored on disk: it must never change for pairFilterV1.
func pairHash(a, b uint64) uint64 {
	h := a*0xff51afd7ed558ccd + b
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// pairWord returns where h is in a filter of n 64-bit words: the word (by the low 32 bits,
// a multiply-shift) and its 3 bits in it (by bits 32–49). One word per pair (a
// blocked bloom filter) makes setting or testing a pair one memory access; its false
// positives at 4 bits per pair are about a standard filter's (~15 %).
func pairWord(h uint64, n int) (int, uint64) {
	w := int(uint64(uint32(h)) * uint64(n) >> 32)
	return w, 1<<(h>>32&63) | 1<<(h>>38&63) | 1<<(h>>44&63)
}

// hashSet gathers the hashes of a block's filter as the encoder walks its lines' words, and
// makes the filter's words.
type hashSet struct {
	hashes []uint64 // at most maxPairs
	over   bool     // more hashes than maxPairs: no filter
	count  []uint64 // countBits bits: which hashes were seen, to count the distinct
	words  []uint64 // the filter being built
	vals   []uint64 // scratch of shards
	// byShard is scratch of shards: the hashes in shard order
	byShard []uint64
}

func (s *hashSet) reset() {
	s.hashes, s.over = s.hashes[:0], false
	if s.count == nil {
		s.count = make([]uint64, countBits/64)
	}
	clear(s.count)
}

func (s *hashSet) add(h uint64) {
	if len(s.hashes) == maxPairs {
		s.over = true
		return
	}
	s.hashes = append(s.hashes, h)
	b := h >> (64 - 14) // countBits = 2^14: the top bits, which pairWord does not use
	s.count[b/64] |= 1 << (b % 64)
}

// distinct estimates the distinct hashes added (linear counting: n = -M ln(1 - X/M) for
// X of M bits set), or returns false when the count bitmap is nearly full.
func (s *hashSet) distinct() (int, bool) {
	set := 0
	for _, w := range s.count {
		set += bits.OnesCount64(w)
	}
	if set >= countBits-countBits/64 {
		return 0, false
	}
	n := -float64(countBits) * math.Log(1-float64(set)/countBits)
	return int(math.Ceil(n)), true
}

// shards returns the filters of the set's hashes by shard (shardOf), each a Golomb-coded
// set of the salt (gcs.go): the bytes of all and where each shard's end in them; ok is
// false when the set gets none (too many hashes). buf is reused. The hashes are put in
// shard order by counting, not sorted: appendGCS sorts each shard's.
func (s *hashSet) shards(buf []byte, salt byte) (out []byte, ends [numberShards]int, ok bool) {
	if s.over {
		return nil, ends, false
	}
	var at [numberShards + 1]int // shard i's hashes are byShard[at[i]:at[i+1]]
	for _, h := range s.hashes {
		at[shardOf(h)+1]++
	}
	for i := range numberShards {
		at[i+1] += at[i]
	}
	s.byShard = slices.Grow(s.byShard[:0], len(s.hashes))[:len(s.hashes)]
	next := at
	for _, h := range s.hashes {
		i := shardOf(h)
		s.byShard[next[i]] = h
		next[i]++
	}
	out, distinct := buf[:0], 0
	for i := range ends {
		var n int
		out, s.vals, n = appendGCS(out, s.byShard[at[i]:at[i+1]], s.vals, salt)
		if distinct += n; distinct > maxFilterPairs {
			return nil, ends, false
		}
		ends[i] = len(out)
	}
	return out, ends, true
}

// filter returns the filter's words at bitsPer to twice that bits per distinct hash (its
// words a power of two, which a group of filters of other sizes reads exactly:
// pairgroups.go), valid until the next call; nil when the set gets none (too many
// hashes). An empty set gets one word, all 0.
func (s *hashSet) filter(bitsPer int) []uint64 {
	n, ok := s.distinct()
	if !ok || n > maxFilterPairs || s.over {
		return nil
	}
	words := 1 << bits.Len(uint(max(1, (n*bitsPer+63)/64)-1))
	s.words = slices.Grow(s.words[:0], words)[:words]
	clear(s.words)
	for _, h := range s.hashes {
		w, bits := pairWord(h, words)
		s.words[w] |= bits
	}
	return s.words
}

// pairSet gathers a block's pair hashes.
type pairSet struct {
	hashSet
	raw  []byte        // the filter's bytes, to compress
	huff huff0.Scratch // compressing them
	// prev is the numberBits of the line's word before the next one when that is a
	// number (afterNum): with a number after it, a pair.
	prev     uint64
	afterNum bool
}

// line starts a line: its first word has no word before it.
func (s *pairSet) line() { s.afterNum = false }

// notNumber takes a word of the line that is not a number.
func (s *pairSet) notNumber() { s.afterNum = false }

// number takes a word of the line that is the number of numberBits num, adding a pair
// when the word before is a number too.
func (s *pairSet) number(num uint64) {
	if s.afterNum {
		s.add(pairHash(s.prev, num))
	}
	s.prev, s.afterNum = num, true
}

// appendFilter appends a block's filter (encoded, above: pairFilterV2, or pairFilterV3
// when it has pairs only) of its pairs and numbers to out; nil when it gets neither.
func appendFilter(out []byte, pairs *pairSet, nums *hashSet) []byte {
	pw, nw := pairs.filter(pairBits), []uint64(nil)
	if nums != nil { // layout 11's numbers in the row: the tests' old blocks
		nw = nums.filter(numBits)
	}
	if pw == nil && nw == nil {
		return nil
	}
	if nw == nil {
		if f, ok := pairs.compressed(out, pw); ok {
			return f
		}
	}
	out = append(out, pairFilterV2)
	out = binary.AppendUvarint(out, uint64(len(pw)))
	for _, w := range pw {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	for _, w := range nw {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// phrasePairs returns the pair hashes that every line matching the phrases holds (the
// adjacent whole words of each: query.DigitPhrase.Whole), 8 bytes each, little-endian:
// the argument of the SQL function pairsMayHoldFunc.
func phrasePairs(phrases []query.DigitPhrase) []byte {
	var out []byte
	for _, p := range phrases {
		w := p.Whole()
		for i := 1; i < len(w); i++ {
			a, _ := numberBits(w[i-1]) // numbers: query.DigitPhrases
			b, _ := numberBits(w[i])
			out = binary.LittleEndian.AppendUint64(out, pairHash(a, b))
		}
	}
	return out
}

// compressed appends the filter of words w as pairFilterV3 to out: the count of words
// (uvarint), then their bytes (little-endian) coded by huff0 (a Huffman table, then the
// bits). ok is false when that is not shorter. Why: a block's filter waits in the pairs
// table until its group is sealed (up to 1,023 blocks a day), and one of 256 words
// (2,051 bytes with its head) went alone on a 4 KiB page, two not fitting: 3.8 MB of a
// 65 MB store at issue 22's 2M lines were those pages' empty halves. A filter ~34 %
// ones codes to ~1,960 bytes, two to a page.
func (s *pairSet) compressed(out []byte, w []uint64) ([]byte, bool) {
	s.raw = s.raw[:0]
	for _, x := range w {
		s.raw = binary.LittleEndian.AppendUint64(s.raw, x)
	}
	s.huff.Reuse = huff0.ReusePolicyNone // each filter has its table: it is read alone
	coded, _, err := huff0.Compress1X(s.raw, &s.huff)
	if err != nil || len(coded) >= len(s.raw) {
		return out, false
	}
	out = append(out, pairFilterV3)
	out = binary.AppendUvarint(out, uint64(len(w)))
	return append(out, coded...), true
}

// filterSections splits a block's filter f into the words of its pairs and of its
// numbers (either empty: none, the block may hold any); ok is false for a filter this
// version does not read (another version, a damaged length or code), which says
// nothing. The words of a pairFilterV3 are decoded into memory of their own.
func filterSections(f []byte) (pairs, nums []byte, ok bool) {
	if len(f) > 0 && f[0] == pairFilterV3 {
		var r filterReader
		return r.sections(f)
	}
	return plainSections(f)
}

// filterReader reads filters, keeping the memory that Huffman-coded ones
// (pairFilterV3) are decoded with: a search of an IP address tests each waiting filter
// of its days (~1,900 at 2M lines), and a decoder's tables made anew for each took
// ~20 µs.
type filterReader struct {
	huff  huff0.Scratch
	words []byte
}

// sections is filterSections; the words of a pairFilterV3 are valid until the next call.
func (r *filterReader) sections(f []byte) (pairs, nums []byte, ok bool) {
	if len(f) == 0 || f[0] != pairFilterV3 {
		return plainSections(f)
	}
	n, k := binary.Uvarint(f[1:])
	if k <= 0 || n == 0 || n > maxGroupWords {
		return nil, nil, false
	}
	r.huff.MaxDecodedSize = int(8 * n)
	sc, rest, err := huff0.ReadTable(f[1+k:], &r.huff)
	if err != nil {
		return nil, nil, false
	}
	words, err := sc.Decoder().Decompress1X(slices.Grow(r.words[:0], int(8*n)), rest)
	if err != nil || len(words) != int(8*n) {
		return nil, nil, false
	}
	r.words = words
	return words, nil, true
}

// plainSections is filterSections for the filters stored as they are (pairFilterV1 and
// pairFilterV2): their sections are f's bytes.
func plainSections(f []byte) (pairs, nums []byte, ok bool) {
	if len(f) == 0 {
		return nil, nil, false
	}
	switch f[0] {
	case pairFilterV1:
		if f = f[1:]; len(f) < 8 || len(f)%8 != 0 {
			return nil, nil, false
		}
		return f, nil, true
	case pairFilterV2:
		n, k := binary.Uvarint(f[1:])
		if f = f[1+max(k, 0):]; k <= 0 || len(f)%8 != 0 || n > uint64(len(f)/8) {
			return nil, nil, false
		}
		return f[:8*n], f[8*n:], true
	}
	return nil, nil, false
}

// mayHold says whether the filter words f (a section of filterSections) may hold the hash
// h: false only when one of its bits is 0. No words: true.
func mayHold(f []byte, h uint64) bool {
	if len(f) == 0 {
		return true
	}
	w, bits := pairWord(h, len(f)/8)
	return binary.LittleEndian.Uint64(f[8*w:])&bits == bits
}

// filterMayHold says whether a block whose filter is f (nil: none) may hold all the pairs of
// want (phrasePairs): false only when f is a filter this version reads and one of them
// is missing.
func filterMayHold(f, want []byte) bool {
	pairs, _, ok := filterSections(f)
	return !ok || mayHoldAll(pairs, want)
}

// mayHold is filterMayHold.
func (r *filterReader) mayHold(f, want []byte) bool {
	pairs, _, ok := r.sections(f)
	return !ok || mayHoldAll(pairs, want)
}

// numbersMayHold is filterMayHold for the numbers of want (numberHash, 8 bytes each,
// little-endian: the argument of the SQL function mayHoldFunc).
func numbersMayHold(f, want []byte) bool {
	_, nums, ok := filterSections(f)
	return !ok || mayHoldAll(nums, want)
}

// mayHoldAll says whether the filter words f may hold every hash of want (8 bytes each,
// little-endian).
func mayHoldAll(f, want []byte) bool {
	for ; len(want) >= 8; want = want[8:] {
		if !mayHold(f, binary.LittleEndian.Uint64(want)) {
			return false
		}
	}
	return true
}

// appendPending appends a block's numbers' sets (hashSet.shards: the bytes of all, and
// where each shard's set ends) to out as its row of numbers_pending keeps them: each
// set's length in bytes (uvarint), then the bytes of all.
func appendPending(out, numbers []byte, ends [numberShards]int) []byte {
	start := 0
	for _, end := range ends {
		out = binary.AppendUvarint(out, uint64(end-start))
		start = end
	}
	return append(out, numbers...)
}

// splitPending splits a row of numbers_pending (appendPending) into the filters of each
// shard; ok is false when it does not read (damaged), which says nothing.
func splitPending(f []byte) (shards [numberShards][]byte, ok bool) {
	var lens [numberShards]uint64
	total := uint64(0)
	for i := range lens {
		n, k := binary.Uvarint(f)
		if k <= 0 || n > uint64(len(f)) {
			return shards, false
		}
		lens[i], total, f = n, total+n, f[k:]
	}
	if total != uint64(len(f)) {
		return shards, false
	}
	for i, n := range lens {
		shards[i], f = f[:n], f[n:]
	}
	return shards, true
}

// pendingMayHold is numbersMayHold for a row of numbers_pending: whether the block may
// hold every number of want (numberHash, 8 bytes each, little-endian).
func pendingMayHold(f, want []byte) bool {
	shards, ok := splitPending(f)
	if !ok {
		return true
	}
	for ; len(want) >= 8; want = want[8:] {
		h := binary.LittleEndian.Uint64(want)
		if !gcsMayHold(shards[shardOf(h)], h) {
			return false
		}
	}
	return true
}
