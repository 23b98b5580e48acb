package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Pair groups. A block's filter of adjacent numbers (pairs.go) rules it out without
// reading its lines, but a search for an IP address still tests every block's filter
// of its range: at 100 million lines, 195,000 filters of ~1.4 KB, read, copied into Go
// and tested one SQL call at a time, 1.5 s (docs/store.md). A grouped day (layout 16)
// therefore seals the filters waiting in the pairs table, groupBlocks at a time, into a
// group stored bit-sliced: for each bit of the group's filter size, one bitmap with a
// bit per member block. Testing a pair is then reading its 3 bits' bitmaps (pairWord) and
// ANDing them: a few hundred bytes per group for its thousand blocks, where their
// filters were 2 MB.
//
// The bitmaps are built from the members' filters as stored: their sizes are powers of
// two (hashSet.filter), and a filter of n words tests as one of m = n<<k words whose
// word w is its word w>>k (pairWord's multiply-shift: (x·n)>>32 = ((x·n<<k)>>32)>>k),
// or, for m = n>>k, as one whose word w is the OR of its words w<<k to (w+1)<<k (a
// superset: fewer bits per pair, more false positives, never a false negative). A
// group's m is its members' median, so that one block of lines of numbers only does not
// multiply the group's bytes. A member without a filter (no row of words it reads: too
// many pairs, or a size not of that form) has all its bits set: it may hold any pair.
//
// pair_groups holds a group's row: its member ids (uvarint deltas, ascending: member j is
// bit j of each bitmap), their range [lo, hi), and m. pair_slices holds its bitmaps, one
// per row (128 bytes for 1024 members: ~30 rows to a page, where rows of 8 bitmaps
// filled 3 KiB of each 4 KiB page), keyed by group<<groupKeyShift | bit position. A grouped
// day's block without a row in pairs is in a group (insertBlocks writes noPairFilter
// for one without a filter): so a search reads the pairs rows of its range, then the
// groups (pairCandidates), and a seal in between (it moves rows from one to the other in
// one transaction) makes it see a block twice, never not at all.
const (
	groupBlocks   = 1024
	groupKeyShift = 16 // bit positions of a group: at most maxGroupWords × 64
	// maxGroupWords bounds a group's m: the largest filter hashSet.filter makes.
	maxGroupWords = 1 << 10
)

// pairGroupsSchema: the trigger's 16 is groupKeyShift.
const pairGroupsSchema = `
CREATE TABLE IF NOT EXISTS pair_groups(grp INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL, words INTEGER NOT NULL, ids BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pair_slices(key INTEGER PRIMARY KEY, bits BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS pair_groups_slices AFTER DELETE ON pair_groups BEGIN
  DELETE FROM pair_slices WHERE key >= old.grp << 16 AND key < (old.grp + 1) << 16; END;
`

// noPairFilter is the pairs row of a grouped day's block without a filter
// (pairFilterV2 of no words): it may hold any pair.
func noPairFilter() []byte { return []byte{pairFilterV2, 0} }

// groupMember is a block's pairs row as a seal reads it.
type groupMember struct {
	id    int64
	words []byte // its pair filter's words; nil: it may hold any pair
}

// sealPairs seals the day's waiting pair filters into groups of groupBlocks, the lowest
// ids first, while that many wait, added more having been written by this transaction,
// and returns how many wait after. The day's first commit counts them (a day opened
// but not written, every day but today's, reads nothing). The count it is given may be more than the rows
// (retention deleted some): the rows decide.
func (p *part) sealPairs(tx *sql.Tx, added int64) (int64, error) {
	if !p.grouped {
		return 0, nil
	}
	waiting := p.pendingPairs.Load()
	if waiting < 0 { // not counted since the day was opened: its rows, these included
		if err := tx.QueryRow(`SELECT count(*) FROM pairs`).Scan(&waiting); err != nil {
			return 0, err
		}
	} else {
		waiting += added
	}
	for waiting >= int64(p.groupBlocks) {
		members, err := readMembers(tx, p.groupBlocks)
		if err != nil || len(members) < p.groupBlocks {
			return int64(len(members)), err
		}
		if err := sealGroup(tx, members); err != nil {
			return 0, err
		}
		waiting -= int64(len(members))
	}
	return waiting, nil
}

// sealGroup writes members' group (its row, then a row per bit position of its
// bitmaps) and deletes their pairs rows.
func sealGroup(tx *sql.Tx, members []groupMember) error {
	words := groupWords(members)
	var grp int64
	if err := tx.QueryRow(`SELECT coalesce(max(grp), 0) + 1 FROM pair_groups`).Scan(&grp); err != nil {
		return err
	}
	var ids []byte
	prev := int64(0)
	for _, m := range members {
		ids = binary.AppendUvarint(ids, uint64(m.id-prev))
		prev = m.id
	}
	last := members[len(members)-1].id
	if _, err := tx.Exec(`INSERT INTO pair_groups(grp, lo, hi, words, ids) VALUES(?, ?, ?, ?, ?)`,
		grp, members[0].id, last+1, words, ids); err != nil {
		return err
	}
	bitmaps := sliceMembers(members, words)
	stride := groupStride(len(members))
	args := make([]any, 0, 2*words*64)
	for q := range words * 64 {
		b := make([]byte, 0, 8*stride)
		for _, w := range bitmaps[q*stride : (q+1)*stride] {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
		args = append(args, grp<<groupKeyShift|int64(q), b)
	}
	if err := insertRows(tx, "pair_slices", "key, bits", 2, args); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM pairs WHERE id <= ?`, last)
	return err
}

// readMembers reads the first n pairs rows waiting to be sealed, by id.
func readMembers(tx *sql.Tx, n int) ([]groupMember, error) {
	rows, err := tx.Query(`SELECT id, filter FROM pairs ORDER BY id LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	var members []groupMember
	err = eachFilter(rows, func(id int64, f []byte) {
		m := groupMember{id: id}
		if words, _, ok := filterSections(f); ok && len(words) > 0 && sizeOK(len(words)/8) {
			m.words = slices.Clone(words)
		}
		members = append(members, m)
	})
	return members, err
}

// sizeOK says a filter of n words can be read at a group's size (a power of two).
func sizeOK(n int) bool { return n > 0 && n <= maxGroupWords && n&(n-1) == 0 }

// groupWords is a group's filter size: its members' median (1 when none has a filter).
func groupWords(members []groupMember) int {
	var sizes []int
	for _, m := range members {
		if m.words != nil {
			sizes = append(sizes, len(m.words)/8)
		}
	}
	if len(sizes) == 0 {
		return 1
	}
	slices.Sort(sizes)
	return sizes[len(sizes)/2]
}

// groupStride is the 64-bit words of one bit position's bitmap in a group of n members.
func groupStride(n int) int { return (n + 63) / 64 }

// sliceMembers returns the group's bitmaps: position p (word w's bit b at w*64+b) is
// words [p*stride, (p+1)*stride), bit j of them member j's.
func sliceMembers(members []groupMember, words int) []uint64 {
	stride := groupStride(len(members))
	out := make([]uint64, words*64*stride)
	for j, m := range members {
		bit, at := uint64(1)<<(j%64), j/64
		n := len(m.words) / 8
		for w := range words {
			var x uint64
			switch {
			case m.words == nil:
				x = ^uint64(0)
			case n >= words: // fold: word w is the OR of the filter's words w<<k to (w+1)<<k
				k := n / words
				for i := w * k; i < (w+1)*k; i++ {
					x |= binary.LittleEndian.Uint64(m.words[8*i:])
				}
			default: // spread: word w is the filter's word w>>k
				x = binary.LittleEndian.Uint64(m.words[8*(w/(words/n)):])
			}
			for ; x != 0; x &= x - 1 {
				out[(w*64+bits.TrailingZeros64(x))*stride+at] |= bit
			}
		}
	}
	return out
}

// groupPositions is the bit positions a group of m words tests for the pair hashes of
// want (phrasePairs), ascending, without repeats.
func groupPositions(want []byte, words int) []int {
	var pos []int
	for ; len(want) >= 8; want = want[8:] {
		w, b := pairWord(binary.LittleEndian.Uint64(want), words)
		for ; b != 0; b &= b - 1 {
			pos = append(pos, w*64+bits.TrailingZeros64(b))
		}
	}
	slices.Sort(pos)
	return slices.Compact(pos)
}

// pairCandidates returns the ids in [lo, hi) of the grouped day's blocks that may hold
// every pair hash of want, ascending: those waiting in pairs whose filter may, then the
// members of groups whose bitmaps may (in that order: see above). ok is false when a
// group does not read (damaged): the caller then tests the blocks one by one, as for a
// day of per-block filters, where a block without a row may hold any pair.
func (p *part) pairCandidates(ctx context.Context, want []byte, lo, hi int64) (ids []int64, ok bool, err error) {
	if ids, err = p.waitingCandidates(ctx, want, lo, hi); err != nil {
		return nil, false, err
	}
	type group struct {
		grp   int64
		words int
		ids   []byte
	}
	var groups []group
	rows, err := p.db.QueryContext(ctx, `SELECT grp, words, ids FROM pair_groups WHERE hi > ? AND lo < ? ORDER BY grp`, lo, hi)
	if err != nil {
		return nil, false, err
	}
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.grp, &g.words, &g.ids); err != nil {
			rows.Close()
			return nil, false, err
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, g := range groups {
		members := decodeMembers(g.ids)
		if members == nil || g.words <= 0 || g.words > maxGroupWords {
			return nil, false, nil
		}
		may, err := p.groupMay(ctx, g.grp, g.words, len(members), want)
		if err != nil {
			return nil, false, fmt.Errorf("pair group %d: %w", g.grp, err)
		}
		if may == nil {
			return nil, false, nil
		}
		for j, id := range members {
			if may[j/64]&(1<<(j%64)) != 0 && id >= lo && id < hi {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), true, nil
}

// waitingCandidates returns the ids in [lo, hi) of the blocks waiting in pairs whose
// filter may hold every pair of want.
func (p *part) waitingCandidates(ctx context.Context, want []byte, lo, hi int64) ([]int64, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT id, filter FROM pairs WHERE id >= ? AND id < ?`, lo, hi)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var r filterReader
	err = eachFilter(rows, func(id int64, f []byte) {
		if r.mayHold(f, want) {
			ids = append(ids, id)
		}
	})
	return ids, err
}

// groupMay returns which of group grp's n members (bit j: member j) may hold every pair of
// want, from the bitmaps of its positions at its m words; nil when one is missing or
// damaged.
func (p *part) groupMay(ctx context.Context, grp int64, words, n int, want []byte) ([]uint64, error) {
	stride := groupStride(n)
	pos := groupPositions(want, words)
	keys := make([]int64, len(pos))
	for i, q := range pos {
		keys[i] = grp<<groupKeyShift | int64(q)
	}
	may := make([]uint64, stride)
	for i := range may {
		may[i] = ^uint64(0)
	}
	found := 0
	if len(keys) > 0 {
		list, args := inList(keys)
		rows, err := p.db.QueryContext(ctx, `SELECT bits FROM pair_slices WHERE key IN `+list, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b sql.RawBytes
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, err
			}
			if len(b) != 8*stride {
				rows.Close()
				return nil, nil
			}
			for i := range may {
				may[i] &= binary.LittleEndian.Uint64(b[8*i:])
			}
			found++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if found != len(keys) {
		return nil, nil
	}
	return may, nil
}

// decodeMembers decodes a group's member ids (uvarint deltas); nil when damaged.
func decodeMembers(b []byte) []int64 {
	var ids []int64
	prev := int64(0)
	for len(b) > 0 {
		d, k := binary.Uvarint(b)
		if k <= 0 {
			return nil
		}
		prev += int64(d)
		ids = append(ids, prev)
		b = b[k:]
	}
	return ids
}

// maxListed is the most candidates of a phrase of numbers eachQuery lists when the query
// has index words too: past it, the index is asked first (a phrase in many blocks beside
// a rare word), every block of a group taken for the phrase (no pairs row).
const maxListed = 4096

// eachQuery calls fn with the plan's query of its blocks in [lo, hi) (blocksSQL of cols,
// from, to and desc) and its arguments: once, or, on a grouped day when pl has pairs,
// once per idsPerRead of the blocks pairCandidates gives (plan.ids), in the query's
// order, until fn says no more. A list of ids SQLite looks up one by one, in its order:
// the candidates of a rare phrase are a few blocks of thousands.
func (p *part) eachQuery(ctx context.Context, pl plan, cols string, lo, hi, from, to int64, desc bool,
	fn func(q string, args []any) (more bool, err error)) error {
	if p.grouped && len(pl.pairs) > 0 {
		ids, ok, err := p.pairCandidates(ctx, pl.pairs, lo, hi)
		if err != nil {
			return fmt.Errorf("read the pair filters of %s: %w", p.path, err)
		}
		if ok && (len(ids) <= maxListed || pl.match == "") {
			return eachListed(pl, ids, cols, lo, hi, from, to, desc, fn)
		}
	}
	q, args := pl.blocksSQL(cols, lo, hi, from, to, desc)
	_, err := fn(q, args)
	return err
}

// eachListed is eachQuery over the blocks ids (ascending, reversed in place when desc):
// fn is called with the query of each idsPerRead of them (plan.ids), in the query's
// order, until it says no more.
func eachListed(pl plan, ids []int64, cols string, lo, hi, from, to int64, desc bool,
	fn func(q string, args []any) (more bool, err error)) error {
	if desc {
		slices.Reverse(ids)
	}
	for len(ids) > 0 {
		pl.ids = ids[:min(len(ids), idsPerRead)]
		ids = ids[len(pl.ids):]
		q, args := pl.blocksSQL(cols, lo, hi, from, to, desc)
		if more, err := fn(q, args); err != nil || !more {
			return err
		}
	}
	return nil
}
