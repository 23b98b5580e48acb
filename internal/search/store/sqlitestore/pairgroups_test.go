package sqlitestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// TestPairGroups: a grouped day seals its blocks' pair filters into groups of
// groupBlocks (4 here) and deletes their rows; a search or a histogram for an IP address
// then finds every line holding it, and reads a few of the day's blocks for an address
// it does not hold. A group that does not read (its bitmaps deleted) makes the day's
// blocks be read one by one, and still found.
func TestPairGroups(t *testing.T) {
	const n = 14 * defaultBlockLines
	gen := loadgen.Realistic{N: n, End: time.Unix(1_800_000_000, 0), Span: time.Hour}
	rows, _ := realisticRows(gen, 0, n, 0)
	s := open(t, Config{})
	appendSync(t, s, rows[:defaultBlockLines])
	parts := s.snapshot()
	if len(parts) != 1 || !parts[0].grouped {
		t.Fatalf("%d days, want 1, grouped", len(parts))
	}
	p := parts[0]
	p.groupBlocks = 4
	for i := defaultBlockLines; i < n; i += defaultBlockLines {
		appendSync(t, s, rows[i:i+defaultBlockLines])
	}
	var groups, waiting, blocks int
	if err := p.db.QueryRow(`SELECT (SELECT count(*) FROM pair_groups), (SELECT count(*) FROM pairs), (SELECT count(*) FROM blocks)`).
		Scan(&groups, &waiting, &blocks); err != nil {
		t.Fatal(err)
	}
	if groups < 2 || waiting >= 4 || blocks < 14 {
		t.Fatalf("%d groups, %d filters waiting, %d blocks: want at least 2 groups, fewer than 4 waiting", groups, waiting, blocks)
	}
	ctx := context.Background()
	from, to := gen.End.Add(-2*time.Hour), gen.End.Add(time.Minute)
	found := func(i int) bool {
		t.Helper()
		q := mustParse(t, gen.IP(i))
		res, err := s.Search(ctx, store.SearchRequest{Query: q, From: from, To: to, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			if r.Message == rows[i].Message && r.Offset == rows[i].Offset {
				return true
			}
		}
		return false
	}
	for i := 0; i < n; i += 97 {
		if !found(i) {
			t.Fatalf("line %d not found by its IP %s", i, gen.IP(i))
		}
	}
	candidates := func(ip string) int {
		t.Helper()
		ids, err := p.candidates(ctx, compile(mustParse(t, ip)), from.UnixNano(), to.UnixNano())
		if err != nil {
			t.Fatal(err)
		}
		return len(ids)
	}
	read := 0
	for i := n; i < n+200; i++ { // IPs of lines not stored
		read += candidates(gen.IP(i))
	}
	if read > 200*blocks/20 {
		t.Errorf("%d blocks read for 200 IPs not stored, of %d blocks: want at most 5 %%", read, blocks)
	}
	if _, err := p.db.Exec(`DELETE FROM pair_slices WHERE key < 2 << 16`); err != nil { // the first group's
		t.Fatal(err)
	}
	if _, ok, err := p.pairCandidates(ctx, compile(mustParse(t, gen.IP(n))).pairs, 0, 1<<62); ok || err != nil {
		t.Errorf("a group damaged: candidates ok %v (%v), want false: the blocks tested one by one", ok, err)
	}
	for i := 5; i < n; i += 301 {
		if !found(i) {
			t.Fatalf("a group damaged: line %d not found by its IP %s", i, gen.IP(i))
		}
	}
	// The retention drops a group with its last block, and its bitmaps with it.
	for _, p := range s.snapshot() {
		if err := p.deleteBefore(ctx, gen.End.Add(time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	var left int
	if err := p.db.QueryRow(`SELECT (SELECT count(*) FROM pair_groups) + (SELECT count(*) FROM pair_slices)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d group rows left after the retention deleted every block", left)
	}
}

// TestSliceMembers: a group's bitmaps hold every pair of every member, whatever the size
// of its filter against the group's (folded, spread or the same), and all pairs for a
// member without a filter; they rule out most pairs no member holds.
func TestSliceMembers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var sets [][]uint64
	var members []groupMember
	for j, count := range []int{3000, 100, 2800, 700, 0, 2900, 12000, 2700} {
		var s hashSet
		s.reset()
		var hs []uint64
		for range count {
			h := rng.Uint64()
			s.add(h)
			hs = append(hs, h)
		}
		m := groupMember{id: int64(j + 1)}
		if count > 0 {
			for _, w := range s.filter(pairBits) {
				m.words = binary.LittleEndian.AppendUint64(m.words, w)
			}
		}
		sets, members = append(sets, hs), append(members, m)
	}
	words := groupWords(members)
	if words != 256 {
		t.Fatalf("group of %d words, want 256 (the median filter's)", words)
	}
	bitmaps := sliceMembers(members, words)
	stride := groupStride(len(members))
	may := func(h uint64) uint64 {
		out := ^uint64(0)
		for _, q := range groupPositions(binary.LittleEndian.AppendUint64(nil, h), words) {
			out &= bitmaps[q*stride]
		}
		return out
	}
	for j, hs := range sets {
		for _, h := range hs {
			if may(h)&(1<<j) == 0 {
				t.Fatalf("member %d (%d pairs): a pair it holds is ruled out", j, len(hs))
			}
		}
	}
	passed := make([]int, len(members))
	const tries = 20000
	for range tries {
		m := may(rng.Uint64())
		for j := range passed {
			if m&(1<<j) != 0 {
				passed[j]++
			}
		}
	}
	if passed[4] != tries {
		t.Errorf("the member without a filter passed %d of %d pairs, want all", passed[4], tries)
	}
	for _, j := range []int{0, 1, 2, 3, 5, 7} { // at most 2× the group's pairs per bit
		if rate := float64(passed[j]) / tries; rate > 0.2 {
			t.Errorf("member %d (%d pairs) passed %.1f %% of pairs it does not hold, want at most 20 %%", j, len(sets[j]), 100*rate)
		}
	}
}

// TestPairGroupsManyCandidates: a phrase in every block of a grouped day gives its
// candidates in lists of idsPerRead: the search's newest lines and the histogram's count
// span them all.
func TestPairGroupsManyCandidates(t *testing.T) {
	const blocks = idsPerRead + 44
	start := time.Unix(1_800_000_000, 0)
	rows := rowsAt(start, 0, blocks*defaultBlockLines, func(i int) string { return fmt.Sprintf("GET /item/%d from 10.9.8.7", i) })
	s := open(t, Config{})
	appendSync(t, s, rows[:defaultBlockLines])
	p := s.snapshot()[0]
	p.groupBlocks = 64
	for i := defaultBlockLines; i < len(rows); i += 16 * defaultBlockLines {
		appendSync(t, s, rows[i:min(len(rows), i+16*defaultBlockLines)])
	}
	var groups int
	if err := p.db.QueryRow(`SELECT count(*) FROM pair_groups`).Scan(&groups); err != nil || groups < blocks/64 {
		t.Fatalf("%d groups (%v), want %d", groups, err, blocks/64)
	}
	ctx := context.Background()
	q := mustParse(t, `"10.9.8.7"`)
	from, to := start.Add(-time.Hour), start.Add(time.Hour)
	res, err := s.Search(ctx, store.SearchRequest{Query: q, From: from, To: to, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 100 || res.Rows[0].Message != rows[len(rows)-1].Message || res.Rows[99].Message != rows[len(rows)-100].Message {
		t.Fatalf("%d rows, first %q, want the newest 100 from %q", len(res.Rows), res.Rows[0].Message, rows[len(rows)-1].Message)
	}
	buckets, _, err := s.Histogram(ctx, q, from, to, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, b := range buckets {
		total += b.Count
	}
	if total != int64(len(rows)) {
		t.Errorf("histogram counts %d lines, want %d", total, len(rows))
	}
	ids, err := p.candidates(ctx, compile(q), from.UnixNano(), to.UnixNano())
	if err != nil || len(ids) != blocks {
		t.Errorf("%d candidates (%v), want every one of the %d blocks", len(ids), err, blocks)
	}
}
