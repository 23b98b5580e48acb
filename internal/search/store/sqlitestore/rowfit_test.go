package sqlitestore

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// TestLinesToFit: a block is cut where its row leaves leafAlone or leafShared bytes in
// its leaf, at minFitLines to maxBlockLines lines; at defaultBlockLines when nothing is
// known of the file, when its rows have no overflow pages, or when no such cut is in
// range.
func TestLinesToFit(t *testing.T) {
	for _, c := range []struct {
		perLine float64
		want    int
	}{
		{0, defaultBlockLines}, // nothing known of the file
		{2, defaultBlockLines}, // 1.3 KB at the most lines: a row without overflow pages
		{6, defaultBlockLines}, // 3.8 KB: likewise
		{6.5, 569},             // 4.2 KB: cut to fill its leaf alone
		{7, 528},               // 4.5 KB: likewise
		{10, 594},              // 6.4 KB: one overflow page, sharing its leaf
		{13.3, 585},            // issue 22's access log: one overflow page, filling its leaf
		{200, 632},             // 128 KB: 30 overflow pages, filling its leaf
	} {
		if got, _ := linesToFit(c.perLine); got != c.want {
			t.Errorf("linesToFit(%v) = %d, want %d", c.perLine, got, c.want)
		}
	}
	for perLine := 0.5; perLine < 400; perLine += 0.25 {
		n, slack := linesToFit(perLine)
		if n == defaultBlockLines {
			if slack != 0 {
				t.Fatalf("linesToFit(%v) = %d, %d: a block not cut takes no more", perLine, n, slack)
			}
			continue
		}
		if n+slack > maxBlockLines || float64(slack)*perLine > slackBytes || (perLine < slackBytes && slack == 0 && n < maxBlockLines) {
			t.Fatalf("linesToFit(%v) = %d, %d: want up to %d bytes more, at most %d lines in all", perLine, n, slack, slackBytes, maxBlockLines)
		}
		if n < minFitLines || n > maxBlockLines {
			t.Fatalf("linesToFit(%v) = %d, out of [%d, %d]", perLine, n, minFitLines, maxBlockLines)
		}
		size := int(float64(n) * perLine) // the row it foretells
		left := inLeaf(size)
		if !(left <= leafAlone && left >= leafAlone-int(perLine)-1) && !(left <= leafShared && left >= leafShared-int(perLine)-1) {
			t.Fatalf("linesToFit(%v) = %d: a row of %d bytes leaves %d in its leaf, want about %d or %d", perLine, n, size, left, leafAlone, leafShared)
		}
	}
}

// TestBlockRowsFillLeaves: once a file's first blocks are written, its next ones are cut
// so that their rows fill the blocks table's leaf pages, and rowBytes foretells a row's
// size as SQLite stores it.
func TestBlockRowsFillLeaves(t *testing.T) {
	const appends, per = 4, 8 * maxBlockLines
	gen := loadgen.Realistic{N: appends*per + 2*maxBlockLines, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, gen.N, 0)
	rows, extra := rows[:appends*per], rows[appends*per:]
	dir := t.TempDir()
	s := open(t, Config{Dir: dir})
	path := filepath.Join(dir, dayName(dayOf(gen.End.UnixNano())))
	var lines []int
	uncut := map[int]bool{} // the first append's blocks (nothing was known of the file) and each append's last
	for i := 0; i < len(rows); i += per {
		appendSync(t, s, rows[i:i+per])
		all := blockLines(t, path)
		added := all[len(lines):]
		for k, n := range added {
			switch {
			case i == 0 && k < len(added)-1 && n != defaultBlockLines:
				t.Errorf("the first append's blocks of %v lines, want %d", added, defaultBlockLines)
			case i > 0 && k < len(added)-1 && (n == defaultBlockLines || n < minFitLines || n > maxBlockLines):
				t.Errorf("an append's blocks of %v lines, want all but the last cut to %d–%d lines, not %d",
					added, minFitLines, maxBlockLines, defaultBlockLines)
			}
		}
		for k := range added {
			if i == 0 || k == len(added)-1 {
				uncut[len(lines)+k] = true
			}
		}
		lines = all
	}

	// An append ending a few lines past a cut: its last block takes them in.
	cut, slack := s.codec.blockLines(fileKey{rows[0].Host, rows[0].FileID, rows[0].Path})
	if slack < 2 {
		t.Fatalf("blocks cut at %d lines taking %d more, want at least 2 more", cut, slack)
	}
	appendSync(t, s, extra[:2*cut+slack/2])
	all := blockLines(t, path)
	if added := all[len(lines):]; !slices.Equal(added, []int{cut, cut + slack/2}) {
		t.Errorf("an append of %d lines in blocks of %v, want %d and %d", 2*cut+slack/2, added, cut, cut+slack/2)
	}
	lines = all

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var blocks, unused, payload int
	if err := db.QueryRow(`SELECT count(*) FROM blocks`).Scan(&blocks); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(`SELECT sum(unused) FILTER (WHERE pagetype = 'leaf'), sum(payload) FROM dbstat WHERE name = 'blocks'`).
		Scan(&unused, &payload)
	if err != nil {
		t.Fatal(err)
	}
	q, err := db.Query(`SELECT n, host, path, topic, file_id, mins, tens, data FROM blocks ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	foretold, room := 0, 0 // room: the most the leaves may leave unused
	for i := 0; q.Next(); i++ {
		var b block
		if err := q.Scan(&b.n, &b.host, &b.path, &b.topic, &b.fileID, &b.mins, &b.tens, &b.data); err != nil {
			t.Fatal(err)
		}
		size := rowBytes(&b)
		foretold += size
		if !uncut[i] {
			room += 450 // ~390 bytes of a leaf of its own, ~180 of one it shares (leafAlone, leafShared)
			continue
		}
		room += pageUsable - 8 - 13 - inLeaf(size) // a leaf it may have alone
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if unused > room {
		t.Errorf("%d bytes unused in the leaves of %d blocks (of %v lines), want at most %d", unused, blocks, lines, room)
	}
	// seq, off and end are taken as 6 bytes each: a test's are smaller.
	if diff := foretold - payload; diff < 0 || diff > 16*blocks {
		t.Errorf("rowBytes foretold %d bytes of %d rows, SQLite stores %d", foretold, blocks, payload)
	}
}

// inLeaf is how many bytes of a row of size bytes SQLite keeps in its table's leaf: all
// of it up to maxLocal, else what is left over from whole overflow pages, or minLocal
// when that is more than maxLocal.
func inLeaf(size int) int {
	if size <= maxLocal {
		return size
	}
	if left := minLocal + (size-minLocal)%overflowBytes; left <= maxLocal {
		return left
	}
	return minLocal
}
