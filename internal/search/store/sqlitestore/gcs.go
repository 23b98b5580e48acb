package sqlitestore

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// A shard's numbers' filter (pairs.go) is a Golomb-coded set: the shard's n distinct
// hashes, mixed with the block's salt (gcsMix), each reduced to [0, n·2^gcsBits)
// (gcsValue), sorted, and written as a 0 byte, gcsSalted and the salt, then n and the
// count of distinct values (uvarints), then each value's distance from the one before
// in Rice code: the distance's high bits in unary (that many 1 bits, then a 0), then its
// low gcsBits bits, least significant bit first in each byte. (A set of layout 13 has
// neither the 0 byte nor the salt, and starts with n: 0 there is an empty set, whose
// count follows, 0 too.) A number the shard lacks passes with probability
// ~2^-gcsBits, 0.1 %, at ~gcsBits+1.6 bits per entry: a bloom filter of 64-bit words
// (pairWord) at the same 12 bits let 1.5 % through, and each was a block decompressed
// for nothing. A test reads the values in order until one is as large as the number's:
// ~100 per shard of a block of issue 22's access log.
const gcsBits = 10

// gcsSalted marks a set of a salt (layout 15).
const gcsSalted = 1

// gcsMix is hash h as a set of the salt reduces it. Why a salt per block: the reduction
// keeps hashes close together close, so a number whose hash fell near a frequent one's
// (a response size in 2,000 blocks of 100 million lines) passed in every block holding
// that one: 1,313 blocks decompressed for nothing, 0.67 % of them, against ~0.04 % for
// other numbers (docs/store.md, "A salt per block"). Mixed with a salt of the block's,
// the two collide in a block by chance, ~2^-gcsBits, independently of the others.
func gcsMix(h uint64, salt byte) uint64 {
	h ^= (uint64(salt) + 1) * 0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	return h ^ h>>33
}

// gcsValue reduces hash h to a set of n values: [0, n·2^gcsBits), by its low 32 bits
// (shardOf took the top ones).
func gcsValue(h uint64, n int) uint64 {
	return uint64(uint32(h)) * (uint64(n) << gcsBits) >> 32
}

// appendGCS appends the set of a shard's hashes of a block of the salt to out (hashes
// may repeat; they are not changed), vals being scratch space; it returns both and the
// set's count of distinct hashes. The mixed hashes are sorted once, rotated so that
// their low 32 bits, which gcsValue reduces, come first: the order of the values, and,
// gcsMix and the rotation being one-to-one, equal keys are equal hashes. (Sorting the
// hashes to count them and then the values took 11 % of an ingest's CPU.)
func appendGCS(out []byte, hashes, vals []uint64, salt byte) ([]byte, []uint64, int) {
	vals = vals[:0]
	for _, h := range hashes {
		vals = append(vals, bits.RotateLeft64(gcsMix(h, salt), 32))
	}
	slices.Sort(vals)
	vals = slices.Compact(vals)
	n := len(vals)
	for i, k := range vals {
		vals[i] = gcsValue(bits.RotateLeft64(k, 32), n)
	}
	vals = slices.Compact(vals)
	return appendRice(append(out, 0, gcsSalted, salt), n, vals), vals, n
}

// appendRice appends n and the values (sorted, distinct), as a set holds them after
// its salt (appendGCS).
func appendRice(out []byte, n int, vals []uint64) []byte {
	// n stays the hashes' count: a reader reduces a hash as the writer did. Values
	// that collided are one entry.
	out = binary.AppendUvarint(out, uint64(n))
	out = binary.AppendUvarint(out, uint64(len(vals)))
	var acc uint64 // bits not yet written, from the low end
	var have uint  // how many
	put := func(v uint64, bits uint) {
		for bits > 0 {
			k := min(bits, 64-have)
			acc |= (v & (1<<k - 1)) << have
			v, bits, have = v>>k, bits-k, have+k
			for have >= 8 {
				out = append(out, byte(acc))
				acc, have = acc>>8, have-8
			}
		}
	}
	prev := uint64(0)
	for _, v := range vals {
		d := v - prev
		prev = v
		for q := d >> gcsBits; q > 0; {
			k := min(q, 32)
			put(1<<k-1, uint(k))
			q -= k
		}
		put(0, 1)
		put(d, gcsBits)
	}
	if have > 0 {
		out = append(out, byte(acc))
	}
	return out
}

// gcsMayHold says whether the set f (appendGCS, or one of layout 13 without a salt) may
// hold hash h: false only when f reads and lacks it; a set that does not read (damaged)
// says nothing.
func gcsMayHold(f []byte, h uint64) bool {
	if len(f) >= 3 && f[0] == 0 && f[1] == gcsSalted {
		h, f = gcsMix(h, f[2]), f[3:]
	}
	n, k := binary.Uvarint(f)
	if k <= 0 || n > 1<<32 {
		return true
	}
	f = f[k:]
	count, k := binary.Uvarint(f)
	if k <= 0 || count > n {
		return true
	}
	f = f[k:]
	want, v := gcsValue(h, int(n)), uint64(0)
	// The usual distance, its unary part short enough to be in buf with its low bits,
	// is read here with buf in a register (bitReader's methods took twice as long,
	// BenchmarkGCSMayHold); the rest by bitReader.
	var buf uint64
	var have uint
	for range count {
		if len(f) >= 8 && have < 56 {
			buf |= binary.LittleEndian.Uint64(f) << have
			k := (63 - have) >> 3
			f, have = f[k:], have+k<<3
		}
		if q := uint(bits.TrailingZeros64(^buf)); q+1+gcsBits <= have {
			v += uint64(q)<<gcsBits | buf>>(q+1)&(1<<gcsBits-1)
			buf, have = buf>>(q+1+gcsBits), have-(q+1+gcsBits)
		} else { // near f's end, or a long unary part
			r := bitReader{f: f, buf: buf, n: have}
			d, ok := r.next()
			if !ok {
				return true
			}
			f, buf, have, v = r.f, r.buf, r.n, v+d
		}
		if v >= want {
			return v == want
		}
	}
	return false
}

// bitReader reads f's bits, least significant first in each byte.
type bitReader struct {
	f   []byte
	buf uint64 // the next n bits, from the low end
	n   uint
}

// fill tops buf up to at least 56 bits while f lasts. With 8 bytes left it loads them
// at once: the bits it holds past n are those the next load puts there again.
func (r *bitReader) fill() {
	if len(r.f) >= 8 {
		r.buf |= binary.LittleEndian.Uint64(r.f) << r.n
		k := (63 - r.n) >> 3
		r.f, r.n = r.f[k:], r.n+k<<3
		return
	}
	for r.n <= 56 && len(r.f) > 0 {
		r.buf |= uint64(r.f[0]) << r.n
		r.f, r.n = r.f[1:], r.n+8
	}
}

// next reads a distance in Rice code (appendGCS); false when f ends first.
func (r *bitReader) next() (uint64, bool) {
	q, ok := r.unary()
	if !ok {
		return 0, false
	}
	low, ok := r.bits(gcsBits)
	return q<<gcsBits | low, ok
}

// unary reads 1 bits up to a 0 and returns how many; false when f ends first.
func (r *bitReader) unary() (uint64, bool) {
	q := uint64(0)
	for {
		r.fill()
		ones := uint(bits.TrailingZeros64(^r.buf))
		if ones < r.n {
			r.buf, r.n = r.buf>>(ones+1), r.n-ones-1
			return q + uint64(ones), true
		}
		if r.n == 0 {
			return 0, false
		}
		q += uint64(r.n)
		r.buf, r.n = 0, 0
	}
}

// bits reads k (at most 56) bits; false when f ends first.
func (r *bitReader) bits(k uint) (uint64, bool) {
	r.fill()
	if r.n < k {
		return 0, false
	}
	v := r.buf & (1<<k - 1)
	r.buf, r.n = r.buf>>k, r.n-k
	return v, true
}
