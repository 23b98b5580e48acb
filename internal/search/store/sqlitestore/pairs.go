package sqlitestore

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"

	"github.com/logcollect/logcollect/internal/search/query"
)

// A block's pair filter (its row in the pairs table) is a bloom filter of the pairs of adjacent
// numbers in its lines: two words next to each other in a line as query.EachWord splits
// it, both ASCII digits (10.3.77.191 gives 10·3, 3·77 and 77·191). A phrase of numbers
// (query.DigitPhrases: an IP address, a version, a date) is in a line only if each pair
// of its whole words is, so a block whose filter lacks one of them holds no matching
// line and is skipped before its body is decompressed. Why: the four numbers of an IP address
// are each words of nearly every block of an access log, so the index gives nearly
// every block for it; and pairs as index words cost 1.7× the ingest CPU (FTS5's postings,
// docs/store.md).
//
// Encoding: a version byte (pairFilterV1), then the filter's bits, little-endian 64-bit
// words (pairWord). No row: the block has no filter (written before it, by a logcollect
// without it, or with more pairs than maxFilterPairs), and may hold any pair.
const (
	pairFilterV1 = 1
	// pairBits is m/n, the filter's bits per distinct pair, each setting 3 bits
	// (pairWord): ~15 % of the pairs a block lacks pass, and for an IP address's three
	// pairs 0.44 % of the blocks of issue 22's access log not holding it
	// (TestPairFilterSelective). The filter is ~2.7 bytes per line of that log (~2,800
	// distinct pairs in 512 lines), 9 % of its block's compressed size.
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

// pairSet gathers a block's pair hashes as the encoder walks its lines' words, and makes
// its filter.
type pairSet struct {
	hashes []uint64 // at most maxPairs
	over   bool     // more pairs than maxPairs: no filter
	count  []uint64 // countBits bits: which hashes were seen, to count the distinct
	words  []uint64 // the filter being built
	// prev is the numberBits of the line's word before the next one when that is a
	// number (afterNum): with a number after it, a pair.
	prev     uint64
	afterNum bool
}

// line starts a line: its first word has no word before it.
func (s *pairSet) line() { s.afterNum = false }

// word takes the line's next word (as EachWord splits it, never empty; not folded:
// digits fold to themselves), adding a pair when it and the word before are numbers.
// Most words start with a letter: they are turned away here, in a call the compiler
// inlines into the encoder's loop.
func (s *pairSet) word(w string) {
	if w[0]-'0' > 9 {
		s.afterNum = false
		return
	}
	s.number(w)
}

// number is word for a word that may be a number.
func (s *pairSet) number(w string) {
	num, ok := numberBits(w)
	if !ok {
		s.afterNum = false
		return
	}
	if s.afterNum {
		s.add(pairHash(s.prev, num))
	}
	s.prev, s.afterNum = num, true
}

func (s *pairSet) reset() {
	s.hashes, s.over = s.hashes[:0], false
	if s.count == nil {
		s.count = make([]uint64, countBits/64)
	}
	clear(s.count)
}

func (s *pairSet) add(h uint64) {
	if len(s.hashes) == maxPairs {
		s.over = true
		return
	}
	s.hashes = append(s.hashes, h)
	b := h >> (64 - 14) // countBits = 2^14: the top bits, which pairWord does not use
	s.count[b/64] |= 1 << (b % 64)
}

// distinct estimates the distinct pairs added (linear counting: n = -M ln(1 - X/M) for
// X of M bits set), or returns false when the count bitmap is nearly full.
func (s *pairSet) distinct() (int, bool) {
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

// appendFilter appends the block's filter (encoded, above) to out; nil when the block
// gets none (too many pairs).
func (s *pairSet) appendFilter(out []byte) []byte {
	n, ok := s.distinct()
	if !ok || n > maxFilterPairs || s.over {
		return nil
	}
	words := max(1, (n*pairBits+63)/64) // a block without pairs: one word, all 0
	s.words = slices.Grow(s.words[:0], words)[:words]
	clear(s.words)
	for _, h := range s.hashes {
		w, bits := pairWord(h, words)
		s.words[w] |= bits
	}
	out = append(out, pairFilterV1)
	for _, w := range s.words {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// phrasePairs returns the pair hashes that every line matching the phrases holds (the
// adjacent whole words of each: query.DigitPhrase.Whole).
func phrasePairs(phrases []query.DigitPhrase) []uint64 {
	var out []uint64
	for _, p := range phrases {
		w := p.Whole()
		for i := 1; i < len(w); i++ {
			a, _ := numberBits(w[i-1]) // numbers: query.DigitPhrases
			b, _ := numberBits(w[i])
			out = append(out, pairHash(a, b))
		}
	}
	return out
}

// filterMayHold says whether a block whose filter is f (nil: none) may hold all the pairs of
// hashes: false only when f is a filter this version reads and one of them is missing.
// A filter of another version or length (damaged) says nothing: the block is read.
func filterMayHold(f []byte, hashes []uint64) bool {
	if len(f) < 9 || f[0] != pairFilterV1 || (len(f)-1)%8 != 0 {
		return true
	}
	f = f[1:]
	for _, h := range hashes {
		w, bits := pairWord(h, len(f)/8)
		if binary.LittleEndian.Uint64(f[8*w:])&bits != bits {
			return false
		}
	}
	return true
}
