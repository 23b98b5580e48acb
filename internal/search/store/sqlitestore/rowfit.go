package sqlitestore

// A block's row is stored the way SQLite stores any row longer than a page: its last
// bytes fill whole overflow pages, and what is left over (489 to 4,061 bytes of a 4 KiB
// page) stays in the table's leaf page, beside the rows before and after it when they
// fit. Blocks of 512 lines of issue 22's access log are rows of ~6.9 KB: one overflow
// page and ~2.9 KB alone in a leaf, ~1.2 KB of every 8 KiB left empty, 15 % of the
// blocks table (dbstat of the 2M store). So once a file's rows are known, its block is
// cut at the most lines (384 to maxBlockLines) whose row, by the bytes per line of the
// file's last one, leaves leafAlone bytes in its leaf (a leaf nearly full) or leafShared
// (two such rows share one).

const (
	// pageUsable is a 4 KiB page's bytes for cells (SQLite reserves none): an overflow
	// page holds pageUsable-4 bytes of a row, a leaf's cells take pageUsable-8 with the
	// page's header.
	pageUsable = pageSize
	// overflowBytes is what an overflow page holds of a row.
	overflowBytes = pageUsable - 4
	// minLocal and maxLocal are the least and the most of a long row SQLite keeps in
	// the leaf: (usable-12)*32/255-23 and usable-35; a row of up to maxLocal bytes is
	// all there.
	minLocal = (pageUsable-12)*32/255 - 23
	maxLocal = pageUsable - 35
	// leafAlone is the bytes of a row a block is sized to leave in a leaf of its own:
	// SQLite keeps up to 4,061 there, and past that only minLocal, which leaves the leaf
	// near empty when the next row's part does not fit beside it; 361 bytes below, a row
	// may come out ~4 % longer than its file's last one foretold.
	leafAlone = 3700
	// leafShared is the bytes of a row a block is sized to leave in a leaf that two share:
	// two cells of it (each with its 2-byte pointer, payload size and row id varints and
	// overflow page number, 13 bytes) take 3,726 of a leaf's 4,088, and a row may come
	// out ~360 bytes longer than foretold beside one that did not.
	leafShared = 1850
	// minFitLines is the fewest lines a block is cut to so that its row fills its pages:
	// fewer would cost more in compression and per-block rows (the index, the filters)
	// than the leaf space saved. A block of fewer lines tells too little of its file's
	// next ones to be remembered.
	minFitLines = 384
	// slackBytes is how much longer than its cut a block grows to take its file's last
	// lines of an append (the writer's commits are not cut where blocks are: 4,096 lines
	// of this log in blocks of 585 left one line over), instead of leaving them a row of
	// their own, and a row in every table besides: within the 361 bytes a leaf of its own
	// has spare (leafAlone) and the ~360 of one it shares, less what a foretold size may
	// be off by.
	slackBytes = 300
)

// linesToFit is the most lines of a new block, given the bytes per line of the file's
// last row (0: none yet): the most, from minFitLines to maxBlockLines, whose row leaves
// leafAlone or leafShared bytes in its leaf, and the slackBytes more it may take to end
// the file's lines of an append; defaultBlockLines and none when no cut is in that
// range, or when even a block of maxBlockLines would be a row without overflow pages
// (a file of lines that compress to a few bytes: its rows' leaves are not worth more
// lines to decode per block, nor fewer lines).
func linesToFit(perLine float64) (lines, slack int) {
	longest := perLine * maxBlockLines
	if longest <= maxLocal {
		return defaultBlockLines, 0
	}
	// The rows that leave one of the two in their leaf: k whole overflow pages and that.
	// The longest of them up to the longest block's.
	k := float64(int(longest / overflowBytes))
	fit := 0.0
	for _, rest := range []float64{leafAlone, leafShared} {
		for _, size := range []float64{k*overflowBytes + rest, (k-1)*overflowBytes + rest} {
			if size <= longest && size > fit {
				fit = size
			}
		}
	}
	n := int(fit / perLine)
	if n < minFitLines {
		return defaultBlockLines, 0
	}
	return n, min(maxBlockLines-n, int(slackBytes/perLine))
}

// rowBytes is about the size of the block's row in the blocks table: SQLite's record
// of its columns (blockCols; the id is the row id, not in it). seq is set later by
// the writer: taken as 6 bytes, as are off and end (a file under 128 TiB).
func rowBytes(b *block) int {
	header := 1 + 1 + 6 // its length, the id's NULL and the six integers' types: a byte each
	size := 6 + intBytes(int64(b.n)) + 8 + 8 + 6 + 6
	for _, v := range []int{len(b.host), len(b.path), len(b.topic), len(b.fileID), len(b.mins), len(b.tens), len(b.data)} {
		header += varintBytes(uint64(13 + 2*v))
		size += v
	}
	return header + size
}

// intBytes is how many bytes SQLite stores the integer v in.
func intBytes(v int64) int {
	switch {
	case v == 0 || v == 1:
		return 0
	case v >= -1<<7 && v < 1<<7:
		return 1
	case v >= -1<<15 && v < 1<<15:
		return 2
	case v >= -1<<23 && v < 1<<23:
		return 3
	case v >= -1<<31 && v < 1<<31:
		return 4
	case v >= -1<<47 && v < 1<<47:
		return 6
	}
	return 8
}

// varintBytes is the length of SQLite's varint of v (7 bits a byte).
func varintBytes(v uint64) int {
	n := 1
	for ; v >= 0x80 && n < 9; v >>= 7 {
		n++
	}
	return n
}
