package sqlitestore

import (
	"bytes"
	"container/heap"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// span is what a read of [from, to) looks at in a day: the row ids of the blocks whose
// newest line is at from or later and that can hold a line before to (their newest
// line is before to + the day's widest block).
func (p *part) span(from, to int64) (lo, hi int64) {
	return p.keyAt(from), p.keyBefore(min(to, math.MaxInt64-p.maxSpan.Load()) + p.maxSpan.Load())
}

// lineView is a decoded line as the matcher sees it; its parsed fields are computed
// only when a query asks for one.
type lineView struct {
	h      *blockHead
	l      *line
	i      int // the line's index in its block
	fields map[string]string
	parsed bool
}

func (v *lineView) Message() string { return v.l.msg }

func (v *lineView) Field(name string) (string, bool) {
	switch name {
	case "host":
		return v.h.host, true
	case "path":
		return v.h.path, true
	case "topic":
		return v.h.topic, true
	case "file_id":
		return v.h.fileID, true
	case "offset":
		return strconv.FormatInt(v.l.off, 10), true
	}
	if f, found, ok := v.h.cols.value(name, v.i); ok {
		return f, found
	}
	if !v.parsed {
		if f, ok, handled := v.h.fieldParser().Field(v.l.msg, v.h.fields, name); handled {
			return f, ok
		}
	}
	f, ok := v.allFields()[name]
	return f, ok
}

// FieldCannotBe is query.FieldExcluder's: the line's format tells, before it is parsed
// for one field.
func (v *lineView) FieldCannotBe(name, value string) bool {
	switch name {
	case "host", "path", "topic", "file_id", "offset":
		return false
	}
	if _, _, ok := v.h.cols.value(name, v.i); ok {
		return false // Field reads it without parsing
	}
	return !v.parsed && v.h.fieldParser().FieldCannotBe(v.l.msg, v.h.fields, name, value)
}

func (v *lineView) allFields() map[string]string {
	if !v.parsed {
		v.fields, v.parsed = v.h.fieldParser().LineFields(v.l.msg, v.h.fields), true
	}
	return v.fields
}

// row returns line i of the block as a store row, with its own copy of the message (the
// decoded block's memory is reused).
func (v *lineView) row(i int) store.Row {
	msg := strings.Clone(v.l.msg)
	seq := v.h.seq + int64(i)
	return store.Row{Seq: seq, Cursor: pos{time: v.l.ts, seq: seq}.cursor(), Time: timeOf(v.l.ts), ReadTime: timeOf(v.l.rts),
		Host: v.h.host, Path: v.h.path, Topic: v.h.topic, FileID: v.h.fileID, Offset: v.l.off, End: v.l.end,
		Format: v.h.format, Fields: v.h.fieldParser().LineFields(msg, v.h.fields), Message: msg}
}

// matching calls fn with each line of the block that matches and keep accepts, in file
// order, until fn returns false; it returns false then. A line of a block whose one
// column answers the query (colCodes) matches as the first line of its value did: a
// status is matched once per value, not per line (64 Ki lines for a histogram of
// status:503, most of its CPU).
func (pl plan) matching(h *blockHead, lines []line, keep func(l *line, seq int64) bool, fn func(v *lineView, i int) bool) bool {
	codes := pl.colCodes(h, len(lines))
	var memo [256]uint8 // by value code: 0 not matched yet, 1 matches, 2 does not
	var v lineView      // one per block: the matcher takes it as an interface
	for i := range lines {
		if !keep(&lines[i], h.seq+int64(i)) {
			continue
		}
		v = lineView{h: h, l: &lines[i], i: i}
		var ok bool
		if codes == nil {
			ok = pl.m.Match(&v)
		} else {
			c := codes[i]
			if memo[c] == 0 {
				memo[c] = 2
				if pl.m.Match(&v) {
					memo[c] = 1
				}
			}
			ok = memo[c] == 1
		}
		if ok && !fn(&v, i) {
			return false
		}
	}
	return true
}

// colCodes returns the value codes of the block's n lines in the one column the query
// matches lines on, with their block's own fields (colsOnly): a line then matches as any
// other of the same code. nil otherwise (the lines are matched one by one).
func (pl plan) colCodes(h *blockHead, n int) []byte {
	if !pl.colsOnly || len(pl.cols) != 1 {
		return nil
	}
	for k, name := range h.cols.names {
		if name == pl.cols[0] && len(h.cols.codes[k]) >= n {
			return h.cols.codes[k]
		}
	}
	return nil
}

// inRange keeps the lines of [from, to).
func inRange(from, to int64) func(l *line, _ int64) bool {
	return func(l *line, _ int64) bool { return l.ts >= from && l.ts < to }
}

// pending is a matching line of a block opened by a search, waiting for its turn.
type pending struct {
	pos pos
	h   *blockHead
	l   *line
	i   int
}

// newestFirst is a max-heap of pending lines by position.
type newestFirst []pending

// trim keeps the newest keep lines of q (a heap again after): the others cannot be on
// the page, since keep lines that will come before them already wait.
func (q *newestFirst) trim(keep int) {
	if len(*q) <= keep {
		return
	}
	sort.Sort(*q)      // newest first, by the heap's own order
	clear((*q)[keep:]) // the blocks of the lines dropped can be freed
	*q = (*q)[:keep]
	heap.Init(q)
}

func (q newestFirst) Len() int           { return len(q) }
func (q newestFirst) Less(i, j int) bool { return q[j].pos.less(q[i].pos) }
func (q newestFirst) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *newestFirst) Push(x any)        { *q = append(*q, x.(pending)) }
func (q *newestFirst) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Search returns one page, newest first.
func (s *Store) Search(ctx context.Context, r store.SearchRequest) (store.SearchResult, error) {
	var before pos
	if r.Before != "" {
		var err error
		if before, err = parseCursor(r.Before); err != nil || before.isZero() {
			return store.SearchResult{}, store.ErrBadCursor // no row has Seq 0
		}
	}
	from, to := r.From.UnixNano(), r.To.UnixNano()
	if !before.isZero() && before.time < to {
		to = before.time + 1
	}
	all, release := s.readParts()
	defer release()
	return searchDays(ctx, covering(all, from, to), r.Query, from, to, before, r.Limit, nil)
}

// searchDays returns a page of up to limit rows of the days (those of the range, oldest
// first), newest first: each day's part.search, with days[i] for parts[i] when days is
// set (a first page's candidates, Store.FirstPage).
func searchDays(ctx context.Context, parts []*part, q *query.Node, from, to int64, before pos, limit int, days []dayCount) (store.SearchResult, error) {
	var out []store.Row
	want := limit + 1 // one more says whether an older page exists
	pl := compile(q)
	// Days hold the lines of their own event time: newest day first is newest first.
	for i := len(parts) - 1; i >= 0 && len(out) < want; i-- {
		var d *dayCount
		if days != nil {
			d = &days[i]
		}
		var err error
		if out, err = parts[i].search(ctx, pl, from, to, before, want, out, d); err != nil {
			return store.SearchResult{}, err
		}
	}
	res := store.SearchResult{Rows: out}
	if len(out) > limit {
		res.Rows, res.More = out[:limit], true
	}
	return res, nil
}

// search appends to out the day's matching lines of [from, to) after before (when set),
// newest first, until out holds want.
//
// Blocks come by row id descending, which is by newest line descending; a block's lines
// are in file order and blocks overlap in time (files read side by side, a backfill
// beside live lines, a file's lines out of time order). So this is a merge: the
// matching lines of each block read wait in a heap, and a line is emitted once no
// block not yet read can hold a later one (its newest line, bounded by its row id, is
// before the line). Blocks in time order, the usual case, are each read when the one
// before has been emitted, as before this merge. Lines that no block read later can
// pass wait until the scan ends — all of a day's, when they share one time (a file
// without times backfilled in a second, a generated load) — so the heap keeps only the
// lines that can still be on the page (newestFirst.trim): it held every line of 10
// million in one time, 4.4 GB, for one first page.
//
// With d (a first page, Store.FirstPage), the blocks read are d's candidates, listed
// already; the times of their matching lines are noted in d, and d's candidates left
// are those the search did not read, for the page's histogram to count (countListed).
func (p *part) search(ctx context.Context, pl plan, from, to int64, before pos, want int, out []store.Row, d *dayCount) ([]store.Row, error) {
	if d != nil {
		if len(d.ids) == 0 {
			return out, nil
		}
		pl.listed = d.ids
	}
	lo, hi := p.span(from, to)
	keep := inRange(from, to)
	if !before.isZero() {
		keep = func(l *line, seq int64) bool {
			return l.ts >= from && l.ts < to && (pos{time: l.ts, seq: seq}).less(before)
		}
	}
	var waiting newestFirst
	emit := func(bound int64) bool { // the lines later than bound; false when out is full
		for len(waiting) > 0 && waiting[0].pos.time > bound && len(out) < want {
			x := heap.Pop(&waiting).(pending)
			out = append(out, (&lineView{h: x.h, l: x.l}).row(x.i))
		}
		return len(out) < want
	}
	// With d: the oldest block read once out is full; noted counts a block read and not
	// searched.
	stop := int64(math.MinInt64)
	noted := func(h blockHead, lines []line) {
		pl.matching(&h, lines, keep, func(v *lineView, _ int) bool { d.note(v.l.ts); return true })
		stop = h.id
	}
	full := false
	searched := func(h blockHead, lines []line) bool {
		if !emit(p.upperOf(h.id)) {
			if full = true; d != nil {
				noted(h, lines)
			}
			return false
		}
		bh := &h
		pl.matching(bh, lines, keep, func(v *lineView, i int) bool {
			heap.Push(&waiting, pending{pos: pos{time: v.l.ts, seq: bh.seq + int64(i)}, h: bh, l: v.l, i: i})
			if d != nil {
				d.note(v.l.ts)
			}
			return true
		})
		if room := want - len(out); len(waiting) > 2*room+maxBlockLines {
			waiting.trim(room) // amortised: a trim per room lines pushed
		}
		return true
	}
	sc := pl.scanner(p.codec)
	sc.keep = true // the waiting lines point into their blocks
	var err error
	if d != nil {
		// The newest candidates one by one, as a common word's page needs a block or
		// two; the others, if the page is not full then, read ahead (readAhead).
		ids := slices.Clone(d.ids)
		slices.Reverse(ids)
		pl.ids = ids[:min(len(ids), notAhead)]
		q, args := pl.blocksSQL(headCols, lo, hi, from, to, true)
		if err = p.scanBlocksWith(ctx, &sc, q, args, searched); err == nil && !full && len(ids) > notAhead {
			err = p.readAhead(ctx, pl, ids[notAhead:], lo, hi, from, to, searched, noted)
		}
	} else {
		err = p.eachQuery(ctx, pl, headCols, lo, hi, from, to, true, func(q string, args []any) (bool, error) {
			err := p.scanBlocksWith(ctx, &sc, q, args, searched)
			return !full, err
		})
	}
	if err != nil {
		return nil, err
	}
	if d != nil {
		d.readFrom(stop)
	}
	emit(math.MinInt64)
	return out, nil
}

// histogramLines bounds the lines a histogram of a query checks, over all its days,
// before it may estimate: when the candidate blocks can hold more (more than
// sampleBlocks), it checks an even sample of them first. Checking a line costs up to a
// microsecond here; a search's histogram should not take seconds over a day of common
// words.
const histogramLines = 64 * 1024

// sampleBlocks is the most candidate blocks of a query counted without sampling, and
// the size of the first sample.
const sampleBlocks = histogramLines / defaultBlockLines

// minSampleHits is how many of the sampled blocks must hold a matching line for their
// counts to be scaled up into an estimate. With fewer the sample is doubled (the blocks
// between those checked) until it has them or holds every candidate, and is then exact.
// The estimate's error is about 1/√k for k such blocks (12 % at 64); from a handful it
// is noise, and from none it is 0 beside the hits a search shows (the phrase of one
// client IP, whose words are in every block). A query that rare has its candidates read
// whole by its search too, so counting them costs about what the search does.
const minSampleHits = 64

// maxBuckets bounds a histogram's buckets: the API asks for about 60; a step giving more
// than this is a mistake, refused before anything is allocated.
const maxBuckets = 10000

// Histogram counts matching rows per step; estimated says some counts were scaled up
// from a sample of the candidate blocks.
func (s *Store) Histogram(ctx context.Context, q *query.Node, from, to time.Time, step time.Duration) ([]store.Bucket, bool, error) {
	buckets, first, err := newBuckets(from, to, step)
	if err != nil {
		return nil, false, err
	}
	f, t, st := from.UnixNano(), to.UnixNano(), int64(step)
	// Counts are sums of weights: 1 per line counted, the sampling ratio per line of a
	// sample (rounded once, per bucket: never below the lines the sample found there).
	counts := make([]float64, len(buckets))
	all, release := s.readParts()
	defer release()
	parts := covering(all, f, t)
	estimated := false
	if q.Kind == query.All {
		add := func(ts int64, weight float64) { counts[(ts-first)/st] += weight }
		for _, p := range parts {
			if err := p.countAll(ctx, f, t, first, st, add); err != nil {
				return nil, false, err
			}
		}
	} else {
		var err error
		if estimated, err = countDays(ctx, parts, q, f, t, first, st, counts); err != nil {
			return nil, false, err
		}
	}
	for i, c := range counts {
		buckets[i].Count = int64(math.Round(c))
	}
	return buckets, estimated, nil
}

// newBuckets returns the empty buckets of [from, to) by step, from the step's multiple
// at or before from (first, in Unix nanoseconds).
func newBuckets(from, to time.Time, step time.Duration) ([]store.Bucket, int64, error) {
	n, err := bucketCount(from, to, step)
	if err != nil {
		return nil, 0, err
	}
	st := int64(step)
	first := floorDiv(from.UnixNano(), st) * st
	buckets := make([]store.Bucket, n)
	for i := range buckets {
		buckets[i].Time = timeOf(first + int64(i)*st)
	}
	return buckets, first, nil
}

// covering returns the days of parts that may hold lines of [from, to).
func covering(parts []*part, from, to int64) []*part {
	var in []*part
	for _, p := range parts {
		if p.covers(from, to) {
			in = append(in, p)
		}
	}
	return in
}

// countDays adds the matching lines of [from, to) of the days to counts (by step from
// first): their candidate blocks listed (listDays), then counted (countListed).
func countDays(ctx context.Context, parts []*part, q *query.Node, from, to, first, step int64, counts []float64) (bool, error) {
	days, err := listDays(ctx, parts, q, from, to)
	if err != nil {
		return false, err
	}
	return countListed(ctx, parts, q, from, to, first, step, days, counts)
}

// listDays returns each day's candidate blocks of [from, to) for q, each with its own
// plan, side by side: the days, and, when the blocks' filters are tested, each day's
// blocks in as many pieces as there are workers (countWorkers). A rare number's
// candidates at 100 million lines are the test of ~195,000 blocks' filters in SQL:
// 156–195 ms on one core, 103–124 in two pieces (docs/store.md, "A first page and its
// histogram in one call"). Each day in pieces, not a piece per day when there are two:
// the last 24 hours are two days, most of the time of unequal share, and one core
// listed the larger while the other waited (docs/store.md, "A candidate block read for
// its numbers"). A query the index lists alone (plan.indexOnly) is a lookup per piece:
// pieces only when the days are fewer than the workers.
func listDays(ctx context.Context, parts []*part, q *query.Node, from, to int64) ([]dayCount, error) {
	pieces := max(1, min(countWorkers, runtime.GOMAXPROCS(0)))
	if compile(q).indexOnly() {
		pieces = max(1, pieces/max(1, len(parts)))
	}
	// Each day's blocks read once before it is cut, so that its pieces tile it: read per
	// piece, a block written between two reads moved one piece's edge and not the other's,
	// and the blocks between them were not listed.
	spans := make([][2]int64, len(parts))
	for d, p := range parts {
		lo, hi := p.span(from, to)
		if pieces > 1 {
			var err error
			if lo, hi, err = p.idRange(ctx, lo, hi); err != nil {
				return nil, err
			}
		}
		spans[d] = [2]int64{lo, hi}
	}
	found := make([][]int64, len(parts)*pieces)
	err := sideBySide(len(found), func(k int) error {
		p, i, span := parts[k/pieces], int64(k%pieces), spans[k/pieces]
		lo, hi := span[0]+(span[1]-span[0])*i/int64(pieces), span[0]+(span[1]-span[0])*(i+1)/int64(pieces)
		var err error
		found[k], err = p.candidatesIn(ctx, compile(q), lo, hi, from, to)
		return err
	})
	days := make([]dayCount, len(parts))
	for k, ids := range found {
		days[k/pieces].ids = append(days[k/pieces].ids, ids...)
	}
	return days, err
}

// countListed adds to counts the matching lines of [from, to) of the days' candidate
// blocks, and those known already (dayCount.known, weight 1). When the candidates are
// at most sampleBlocks, or hold at most histogramLines lines, every one is checked and
// the counts are exact. Beyond, the days share one sample: an even sample of each day's
// candidates (every stride-th, the stride leaving at most sampleBlocks in all), then the
// blocks between (half the stride) while fewer than minSampleHits of those checked hold
// a match. A day's lines found count candidates / checked of that day, so each bucket's
// estimate is at least the lines found in it; estimated says some were scaled up. One
// sample per query and not per day: a range of two days (the last 24 hours, most of the
// time) checked twice the lines of one, a week seven times, for no better estimate of
// the whole. The days are checked side by side (eachDay), each with its own plans.
func countListed(ctx context.Context, parts []*part, q *query.Node, from, to, first, step int64, days []dayCount, counts []float64) (bool, error) {
	stride, err := sampleStride(ctx, parts, days)
	if err != nil {
		return false, err
	}
	keep := inRange(from, to)
	for level := stride; ; level /= 2 {
		err := eachDay(parts, func(i int, p *part) error {
			d := &days[i]
			var next []int64 // the blocks at multiples of level not checked at level*2
			for k := 0; k < len(d.ids); k += level {
				if level == stride || k%(2*level) != 0 {
					next = append(next, d.ids[k])
				}
			}
			times, h, err := p.matchTimes(ctx, q, next, keep)
			d.times, d.hit, d.checked = append(d.times, times...), d.hit+h, d.checked+len(next)
			return err
		})
		if err != nil {
			return false, err
		}
		hit := 0
		for _, d := range days {
			hit += d.hit
		}
		if hit >= minSampleHits || level == 1 {
			break
		}
	}
	estimated := false
	for _, d := range days {
		for _, ts := range d.known {
			counts[(ts-first)/step]++
		}
		if d.checked == 0 {
			continue
		}
		weight := float64(len(d.ids)) / float64(d.checked)
		for _, ts := range d.times {
			counts[(ts-first)/step] += weight
		}
		estimated = estimated || d.checked < len(d.ids)
	}
	return estimated, nil
}

// dayCount is a day's part of a histogram's sample (countListed): its candidate blocks,
// how many of them were checked and held a match, and the times of the lines found.
// known are the times of the matching lines of the blocks its first page's search read
// (part.search), which are then no longer among ids; over says they were more than
// histogramLines, not kept, and ids were left whole.
type dayCount struct {
	ids          []int64
	checked, hit int
	times        []int64
	known        []int64
	over         bool
}

// note keeps the time of a matching line of a block the page's search read.
func (d *dayCount) note(ts int64) {
	if len(d.known) >= histogramLines {
		d.over = true
		return
	}
	d.known = append(d.known, ts)
}

// readFrom says the page's search read the day's candidates from stop on, newest first
// down to stop (all of them when stop is math.MinInt64): they leave ids, their lines'
// times noted.
func (d *dayCount) readFrom(stop int64) {
	if d.over {
		d.known = nil
		return
	}
	d.ids = d.ids[:sort.Search(len(d.ids), func(i int) bool { return d.ids[i] >= stop })]
}

// sampleStride returns the stride of countDays' first sample: 1 (every candidate,
// exact) when the days' candidates are at most sampleBlocks or hold at most
// histogramLines lines in all, else the smallest power of two leaving at most
// sampleBlocks. Blocks can be many and small: lines out of order across midnight close
// a file's block at each one, and 6,000 such lines made 500–1,200 blocks depending on
// the hour.
func sampleStride(ctx context.Context, parts []*part, days []dayCount) (int, error) {
	n := 0
	for _, d := range days {
		n += len(d.ids)
	}
	if n <= sampleBlocks {
		return 1, nil
	}
	lines, err := candidateLines(ctx, parts, days)
	if err != nil || lines <= histogramLines {
		return 1, err
	}
	return strideFor(days), nil
}

// candidateLines returns the lines of the days' candidate blocks, or a number over
// histogramLines once they hold more: counting stops there in each day (lineCount),
// after one read of a chunk of ids when the blocks are full.
func candidateLines(ctx context.Context, parts []*part, days []dayCount) (int64, error) {
	lines := make([]int64, len(days))
	err := eachDay(parts, func(i int, p *part) (err error) {
		lines[i], err = p.lineCount(ctx, days[i].ids)
		return err
	})
	var all int64
	for _, l := range lines {
		all += l
	}
	return all, err
}

// strideFor returns the smallest power of two whose even sample of the days'
// candidates has at most sampleBlocks blocks.
func strideFor(days []dayCount) int {
	sampled := func(stride int) (n int) {
		for _, d := range days {
			n += (len(d.ids) + stride - 1) / stride
		}
		return n
	}
	stride := 1
	for sampled(stride) > sampleBlocks {
		stride *= 2
	}
	return stride
}

// eachDay calls fn for each day, the days side by side (sideBySide): checking a day's
// lines (decoding its blocks, matching each line) is Go work, and a histogram over
// several days waited for them one by one.
func eachDay(parts []*part, fn func(i int, p *part) error) error {
	return sideBySide(len(parts), func(i int) error { return fn(i, parts[i]) })
}

// sideBySide calls fn(0) … fn(n-1), as many at once as Go has processors, and returns
// their errors.
func sideBySide(n int, fn func(i int) error) error {
	errs := make([]error, n)
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// countAll counts the day's lines of [from, to) per bucket of step from first. When
// the step is whole minutes, from the day's minute totals when they are fresh
// (countFromTotals); else, when the day's blocks_span index holds the per-minute counts
// (mins), countByMinutes does it from them alone. Otherwise one scan of blocks_span: a
// block whose lines all fall in one bucket adds its line count, summed by SQLite; the
// others (across a bucket edge or the range's, spanning more, out of order) add their
// per-minute counts (read from the table when the index lacks them) or, when the step
// is not whole minutes, their line times.
func (p *part) countAll(ctx context.Context, from, to, first, step int64, add func(ts int64, weight float64)) error {
	byMinute := step%minuteNanos == 0
	if byMinute && !p.noMins.Load() { // the cut minutes are read from the blocks with counts
		if ok, err := p.countFromTotals(ctx, from, to, add); ok || err != nil {
			return err
		}
	}
	if byMinute && p.minsIndexed {
		return p.countByMinutes(ctx, from, to, first, step, add)
	}
	const (
		whole = `b.ts_max < ?2 AND b.ts_min >= ?1 AND (b.ts_min - ?3) / ?4 = (b.ts_max - ?3) / ?4`
		// The blocks with a line in [from, to): whole ones, and the others.
		inRange = `b.ts_max >= ?1 AND b.ts_max < ?5 AND b.ts_min < ?2`
	)
	args := []any{from, to, first, step, to + p.maxSpan.Load(), byMinute}
	rows, err := p.db.QueryContext(ctx, `SELECT CASE WHEN `+whole+` THEN (b.ts_max - ?3) / ?4 END AS k, sum(b.n),
		group_concat(CASE WHEN ?6 AND NOT (`+whole+`) THEN b.mins END, '') FROM blocks b WHERE `+inRange+` GROUP BY k`, args...)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	crossing := inRange + ` AND NOT (` + whole + `)`
	for rows.Next() {
		var k sql.NullInt64
		var n int64
		var all sql.RawBytes // the concatenated counts of the blocks not whole
		if err := rows.Scan(&k, &n, &all); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
		if k.Valid {
			add(first+k.Int64*step, float64(n))
		} else if err := addCounts(all, from, to, first, step, add); err != nil {
			return p.findBadCounts(ctx, "b.mins", crossing, args, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	rows.Close()
	if !byMinute {
		return p.countLines(ctx, crossing, args, from, to, add)
	}
	if p.noMins.Load() {
		if err := p.countLines(ctx, crossing+` AND b.mins IS NULL`, args, from, to, add); err != nil {
			return err
		}
	}
	return p.countCutMinutes(ctx, from, to, ` AND NOT (`+strings.NewReplacer("?1", "?4", "?2", "?5", "?3", "?6", "?4", "?7").Replace(whole)+`)`,
		[]any{from, to, first, step}, false, add)
}

// countByMinutes counts the day's lines of [from, to) per bucket of step (whole minutes)
// from first, from the per-minute counts of every block with a line in the range, read
// concatenated from the blocks_span index in one row: no GROUP BY (SQLite sorted every
// block's index entry, counts included, to sum the blocks within one bucket apart, and
// evaluated which those were twice per block: 2–3 times this scan, in order or not)
// and one row through the driver (a row per block cost ~1 µs, several times what adding
// its minutes does). A step of whole 10 minutes reads a block's per-10-minute counts
// where it has them (out of order, spanning many minutes: a third of the bytes and
// counts), for the 10-minute spans wholly in the range, and those blocks' minutes of the
// range's partial spans at either end apart. Line times are read only of blocks without
// counts, and for the lines in a minute the range's start or end cuts.
func (p *part) countByMinutes(ctx context.Context, from, to, first, step int64, add func(ts int64, weight float64)) error {
	const inRange = `b.ts_max >= ?1 AND b.ts_max < ?3 AND b.ts_min < ?2`
	const span = tenMinutes * minuteNanos
	byTens := p.tensIndexed && step%span == 0 && to <= math.MaxInt64-span
	col := "b.mins"
	if byTens {
		col = "coalesce(b.tens, b.mins)"
	}
	args := []any{from, to, min(to, math.MaxInt64-p.maxSpan.Load()) + p.maxSpan.Load()}
	if err := p.addConcat(ctx, col, inRange, args, from, to, first, step, add); err != nil {
		return err
	}
	if p.noMins.Load() {
		if err := p.countLines(ctx, inRange+` AND b.mins IS NULL`, args, from, to, add); err != nil {
			return err
		}
	}
	if byTens {
		// The partial 10-minute spans: the minutes of the blocks that gave their tens.
		f10, t10 := -floorDiv(-from, span)*span, floorDiv(to, span)*span
		ends := [][2]int64{{from, f10}, {t10, to}}
		if f10 >= t10 { // no whole span in the range
			ends = [][2]int64{{from, to}}
		}
		for _, e := range ends {
			if e[0] >= e[1] || !p.covers(e[0], e[1]) {
				continue
			}
			a := []any{e[0], e[1], min(e[1], math.MaxInt64-p.maxSpan.Load()) + p.maxSpan.Load()}
			if err := p.addConcat(ctx, "b.mins", inRange+` AND b.tens IS NOT NULL`, a, e[0], e[1], first, step, add); err != nil {
				return err
			}
		}
	}
	return p.countCutMinutes(ctx, from, to, "", nil, false, add)
}

// addConcat adds the counts col (mins or tens) of the blocks cond selects (with args),
// concatenated by SQLite, of [from, to) to their buckets of step from first.
func (p *part) addConcat(ctx context.Context, col, cond string, args []any, from, to, first, step int64, add func(ts int64, weight float64)) error {
	rows, err := p.db.QueryContext(ctx, `SELECT group_concat(`+col+`, '') FROM blocks b WHERE `+cond, args...)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var all sql.RawBytes
		if err := rows.Scan(&all); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
		if err := addCounts(all, from, to, first, step, add); err != nil {
			return p.findBadCounts(ctx, col, cond, args, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	return nil
}

// countCutMinutes adds the lines of [from, to) in a minute of this day that from or to
// cuts (their minute's count covers lines outside the range), from the line times of
// the blocks with per-minute counts that can hold one (their newest line within the
// widest block after it) and that also meet cond (SQL on ?4 onwards: extra). With the
// day's early lines (early: fresh; cond empty), a block holds a line of the minute
// that is not among them only when its newest line is within farMinutes after the
// minute: the blocks read are those, and the minute's early lines are read from their
// table.
func (p *part) countCutMinutes(ctx context.Context, from, to int64, cond string, extra []any, early bool, add func(ts int64, weight float64)) error {
	var cut []int64
	for _, t := range []int64{from, to} {
		if m := floorDiv(t, minuteNanos) * minuteNanos; m != t && p.covers(m, m+minuteNanos) && !slices.Contains(cut, m) {
			cut = append(cut, m)
		}
	}
	for _, m := range cut {
		// The blocks of one minute's range alone bound the index range read (the
		// range's bounds beside them left SQLite reading every block's entry of it).
		lo, hi := max(from, m), min(to, m+minuteNanos)
		c := `b.ts_max >= ?1 AND b.ts_max < ?2 AND b.ts_min < ?3 AND b.mins IS NOT NULL` + cond
		newest := min(hi, math.MaxInt64-p.maxSpan.Load()) + p.maxSpan.Load()
		if early {
			if err := p.countEarlyLines(ctx, m/minuteNanos, lo, hi, add); err != nil {
				return err
			}
			newest = min(newest, m+farMinutes*minuteNanos)
		}
		a := append([]any{lo, newest, hi}, extra...)
		if p.minsIndexed && p.maxSpan.Load() > cutFilterSpan {
			ids, err := p.blocksInMinute(ctx, c, a, m/minuteNanos)
			if err != nil {
				return err
			}
			if ids == "[]" {
				continue
			}
			c, a = `b.id IN (SELECT value FROM json_each(?1))`, []any{ids}
		}
		if err := p.countLines(ctx, c, a, lo, hi, add); err != nil {
			return err
		}
	}
	return nil
}

// cutFilterSpan is the widest block beyond which a minute that a histogram's range cuts
// reads the lines of only the blocks whose per-minute counts hold it (blocksInMinute):
// with a file's lines an hour out of order, the blocks that can hold a line of a minute
// are the hour's after it (~300 at 200,000 lines a day), of which a fifth do; reading
// every one took 4 times the rest of a 5-hour histogram. Below it, the few blocks that
// can hold the minute mostly do, and the extra statement would cost more than it saves.
const cutFilterSpan = 10 * minuteNanos

// blocksInMinute returns, as a JSON array, the ids of the blocks cond selects (with
// args; index only) whose per-minute counts hold minute. The ids and counts are read
// concatenated, in one row (a row per block through the driver cost ~1 µs, and out of
// order ~300 blocks can hold a minute, a few of which do); the counts are
// self-delimiting, in the order of the ids.
func (p *part) blocksInMinute(ctx context.Context, cond string, args []any, minute int64) (string, error) {
	var idList, all []byte
	st, err := p.stmt(ctx, `SELECT group_concat(b.id), group_concat(b.mins, '') FROM blocks b WHERE `+cond)
	if err == nil {
		err = st.QueryRowContext(ctx, args...).Scan(&idList, &all)
	}
	if err != nil {
		return "", fmt.Errorf("count in %s: %w", p.path, err)
	}
	ids := []byte{'['}
	var counts []minuteCount
	for len(idList) > 0 {
		id, rest, _ := bytes.Cut(idList, []byte{','})
		idList = rest
		var err error
		if counts, _, all, err = nextCounts(all, counts); err != nil {
			return "", fmt.Errorf("count in %s: block %s: %w", p.path, id, err)
		}
		if slices.ContainsFunc(counts, func(c minuteCount) bool { return c.minute == minute }) {
			if len(ids) > 1 {
				ids = append(ids, ',')
			}
			ids = append(ids, id...)
		}
	}
	if len(all) != 0 {
		return "", fmt.Errorf("count in %s: %w: minute counts after the last block", p.path, errCorrupt)
	}
	return string(append(ids, ']')), nil
}

// addCounts adds the per-minute and per-10-minute counts of blocks (all: their mins or
// tens concatenated) of the minutes and 10-minute spans wholly in [from, to) to their
// buckets of step from first (a whole number of minutes; of 10 minutes when all holds
// tens); a minute that from or to cuts is left to the line times, a partial 10-minute
// span to its blocks' minutes. It decodes and adds in one pass (an out-of-order day has
// ~20,000 minute counts per histogram).
func addCounts(all []byte, from, to, first, step int64, add func(ts int64, weight float64)) error {
	if len(all) == 0 {
		return nil
	}
	counts := make([]int64, (to-first+step-1)/step)
	// The minutes wholly in [from, to): lo ≤ m < hi, and the 10-minute spans. first and
	// step are whole minutes.
	lo, hi := -floorDiv(-from, minuteNanos), floorDiv(to, minuteNanos)
	lo10, hi10 := -floorDiv(-lo, tenMinutes), floorDiv(hi, tenMinutes)
	firstMin, stepMin := first/minuteNanos, step/minuteNanos
	// The bucket of the count before: a block's counts ascend, mostly within it.
	bucket, bLo, bHi := 0, int64(0), int64(0)
	for len(all) > 0 {
		unit, uLo, uHi := int64(1), lo, hi
		if all[0] == tensMarker {
			if stepMin%tenMinutes != 0 {
				return fmt.Errorf("%w: 10-minute counts for a step of %d minutes", errCorrupt, stepMin)
			}
			unit, uLo, uHi, all = tenMinutes, lo10, hi10, all[1:]
		}
		mMax := maxMinute / unit
		k, n := binary.Uvarint(all)
		if n <= 0 || k == 0 || k > maxBlockLines {
			return fmt.Errorf("%w: %d minute counts", errCorrupt, k)
		}
		all = all[n:]
		m, n := binary.Varint(all)
		if n <= 0 {
			return fmt.Errorf("%w: minute counts", errCorrupt)
		}
		all = all[n:]
		for i := range k {
			// Uvarints, their one-byte case inline (most distances and counts are
			// below 128; binary.Uvarint is not inlined).
			if i > 0 {
				var dm uint64
				if len(all) > 0 && all[0] < 0x80 {
					dm, n = uint64(all[0]), 1
				} else if dm, n = binary.Uvarint(all); n <= 0 {
					return fmt.Errorf("%w: minute counts", errCorrupt)
				}
				all, m = all[n:], m+int64(dm)
			}
			var c uint64
			if len(all) > 0 && all[0] < 0x80 {
				c, n = uint64(all[0]), 1
			} else {
				c, n = binary.Uvarint(all)
			}
			if n <= 0 || c == 0 || c > maxBlockLines || m < -mMax || m > mMax {
				return fmt.Errorf("%w: minute counts", errCorrupt)
			}
			all = all[n:]
			if m < uLo || m >= uHi {
				continue
			}
			if start := m * unit; start < bLo || start >= bHi {
				bucket = int((start - firstMin) / stepMin)
				bLo = firstMin + int64(bucket)*stepMin
				bHi = bLo + stepMin
			}
			counts[bucket] += int64(c)
		}
	}
	for i, c := range counts {
		if c > 0 {
			add(first+int64(i)*step, float64(c))
		}
	}
	return nil
}

// findBadCounts returns an error naming the block whose counts col do not decode (err,
// found in the concatenation of the blocks cond selects), reading them one block at a
// time.
func (p *part) findBadCounts(ctx context.Context, col, cond string, args []any, err error) error {
	rows, qerr := p.db.QueryContext(ctx, `SELECT b.id, `+col+` AS c FROM blocks b WHERE `+cond+` AND c IS NOT NULL`, args...)
	if qerr != nil {
		return fmt.Errorf("count in %s: %w", p.path, qerr)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var counts sql.RawBytes
		if err := rows.Scan(&id, &counts); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
		if _, _, rest, err := nextCounts(counts, nil); err != nil || len(rest) != 0 {
			return fmt.Errorf("count in %s: block %d: %w: minute counts", p.path, id, errCorrupt)
		}
	}
	return fmt.Errorf("count in %s: %w", p.path, err)
}

// countLines adds the line times of [from, to) of the blocks cond selects (with args);
// only the times are decoded, not the messages.
func (p *part) countLines(ctx context.Context, cond string, args []any, from, to int64, add func(ts int64, weight float64)) error {
	st, err := p.stmt(ctx, `SELECT b.id, b.n, b.data FROM blocks b WHERE `+cond)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	count := func(t int64) {
		if t >= from && t < to {
			add(t, 1)
		}
	}
	var buf []byte
	for rows.Next() {
		var id int64
		var n int
		var raw sql.RawBytes
		if err := rows.Scan(&id, &n, &raw); err != nil {
			return fmt.Errorf("count in %s: %w", p.path, err)
		}
		times, _, err := p.codec.times(raw, buf)
		if err == nil {
			if timesCompressed(raw[0]) { // decompressed into buf, or a larger one: reuse it
				buf = times
			}
			err = eachTime(times, n, count)
		}
		if err != nil {
			return fmt.Errorf("count in %s: block %d: %w", p.path, id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count in %s: %w", p.path, err)
	}
	return nil
}

// bucketCount is the number of steps from the step-aligned start before from to to,
// refused when the times are not nanoseconds since 1970 an int64 can hold (1678 to 2262),
// or when there would be more than maxBuckets.
func bucketCount(from, to time.Time, step time.Duration) (int, error) {
	if step <= 0 {
		return 0, fmt.Errorf("histogram step %s: must be positive", step)
	}
	for _, t := range []time.Time{from, to} {
		if !time.Unix(0, t.UnixNano()).Equal(t) {
			return 0, fmt.Errorf("histogram time %s: out of the store's range", t.Format(time.RFC3339Nano))
		}
	}
	if !from.Before(to) {
		return 0, nil
	}
	// to.Sub saturates instead of overflowing (a span it cannot hold is refused: t-first
	// would overflow); one more step for the aligned start.
	f, t, st := from.UnixNano(), to.UnixNano(), int64(step)
	first := floorDiv(f, st) * st
	if d := to.Sub(from); d == math.MaxInt64 || d/step >= maxBuckets || first > f {
		return 0, fmt.Errorf("histogram from %s to %s by %s: more than %d buckets", from.Format(time.RFC3339),
			to.Format(time.RFC3339), step, maxBuckets)
	}
	return int((t - first + st - 1) / st), nil
}

// countWorkers is how many goroutines check the blocks of one day for a histogram
// (matchTimes), each on a connection of its own: decoding and matching lines is Go work,
// and a histogram over one day (a search of the last hours, most of them) kept one core
// busy while the others waited. Two, not a goroutine per processor: each holds one of
// the day's maxConns connections, which the writer shares.
const countWorkers = 2

// minWorkerBlocks is the fewest blocks worth a goroutine of their own in matchTimes.
const minWorkerBlocks = 8

// matchTimes returns the times of the lines of the blocks ids (ascending) that match q
// and keep, and how many of those blocks hold one. The blocks are split in runs among
// up to countWorkers goroutines, each with its own plan (a matcher is not safe for
// concurrent use).
func (p *part) matchTimes(ctx context.Context, q *query.Node, ids []int64, keep func(l *line, seq int64) bool) ([]int64, int, error) {
	n := max(1, min(countWorkers, runtime.GOMAXPROCS(0), len(ids)/minWorkerBlocks))
	times, hits, errs := make([][]int64, n), make([]int, n), make([]error, n)
	var wg sync.WaitGroup
	for w := range n {
		run := ids[w*len(ids)/n : (w+1)*len(ids)/n]
		wg.Go(func() {
			pl := compile(q)
			errs[w] = p.scanIDs(ctx, pl, run, func(h blockHead, lines []line) bool {
				found := false
				pl.matching(&h, lines, keep, func(v *lineView, _ int) bool {
					times[w], found = append(times[w], v.l.ts), true
					return true
				})
				if found {
					hits[w]++
				}
				return true
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	all := times[0]
	for w := 1; w < n; w++ {
		all, hits[0] = append(all, times[w]...), hits[0]+hits[w]
	}
	return all, hits[0], nil
}

// lineCount returns the lines of the blocks ids, or a number over histogramLines once
// they hold more.
func (p *part) lineCount(ctx context.Context, ids []int64) (int64, error) {
	var lines int64
	for rest := ids; len(rest) > 0 && lines <= histogramLines; {
		chunk := rest[:min(len(rest), idsPerRead)]
		rest = rest[len(chunk):]
		list, args := inList(chunk)
		var n sql.NullInt64
		if err := p.db.QueryRowContext(ctx, "SELECT sum(n) FROM blocks WHERE id IN "+list, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("count in %s: %w", p.path, err)
		}
		lines += n.Int64
	}
	return lines, nil
}

// candidates returns the ids of the day's candidate blocks for [from, to), ascending:
// from the index alone when it is the only condition (reading the blocks' rows would
// read their lines), else by blocksSQL, with the blocks' filters when the plan has
// numbers or pairs.
func (p *part) candidates(ctx context.Context, pl plan, from, to int64) ([]int64, error) {
	lo, hi := p.span(from, to)
	return p.candidatesIn(ctx, pl, lo, hi, from, to)
}

// candidatesIn is candidates among the row ids [lo, hi) of the day's span.
func (p *part) candidatesIn(ctx context.Context, pl plan, lo, hi, from, to int64) ([]int64, error) {
	if pl.indexOnly() {
		return p.blockIDs(ctx, `SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid`,
			[]any{pl.match, lo, hi}, nil)
	}
	var ids []int64
	err := p.eachQuery(ctx, pl, "b.id", lo, hi, from, to, false, func(q string, args []any) (bool, error) {
		var err error
		ids, err = p.blockIDs(ctx, q, args, ids)
		return true, err
	})
	return ids, err
}

// idRange narrows the row ids [lo, hi) to those from the first block among them to past
// the last (lo, lo when none).
func (p *part) idRange(ctx context.Context, lo, hi int64) (int64, int64, error) {
	var first, last sql.NullInt64
	// Two seeks of the rowid: min(id), max(id) together is a scan of the range. Prepared
	// once per day, as every first page of a one-day range asks: an absent word's first
	// page at 2,000,000 lines took 211–216 µs instead of 225–254.
	st, err := p.stmt(ctx, `SELECT (SELECT id FROM blocks WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 1),
		(SELECT id FROM blocks WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 1)`)
	if err == nil {
		err = st.QueryRowContext(ctx, lo, hi).Scan(&first, &last)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", p.path, err)
	}
	if !first.Valid {
		return lo, lo, nil
	}
	return first.Int64, last.Int64 + 1, nil
}

// blockIDs appends to ids the ids query q gives.
func (p *part) blockIDs(ctx context.Context, q string, args []any, ids []int64) ([]int64, error) {
	rows, err := p.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count in %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("count in %s: %w", p.path, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count in %s: %w", p.path, err)
	}
	return ids, nil
}

// idsPerRead is how many blocks scanIDs asks for in one statement: one statement per
// block cost more than decoding it.
const idsPerRead = 256

// inList is "(?,?,…)" for ids, to follow IN, and its arguments.
func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(?" + strings.Repeat(",?", len(ids)-1) + ")", args
}

// scanIDs calls fn with the blocks of ids (headCols), in id order, until it returns
// false, ruling blocks out as pl's scanner does. For a plan its columns answer
// (colsOnly), a block holding them comes with its lines' times alone: matchTimes, its
// one caller, needs no more.
func (p *part) scanIDs(ctx context.Context, pl plan, ids []int64, fn func(h blockHead, lines []line) bool) error {
	sc := pl.scanner(p.codec)
	sc.timesOnly = pl.colsOnly
	more := true
	for len(ids) > 0 && more {
		chunk := ids[:min(len(ids), idsPerRead)]
		ids = ids[len(chunk):]
		list, args := inList(chunk)
		cols, join := pl.scanCols(sc.timesOnly)
		q := "SELECT " + cols + " FROM blocks b" + join + " WHERE b.id IN " + list + " ORDER BY b.id"
		err := p.scanBlocksWith(ctx, &sc, q, args, func(h blockHead, lines []line) bool {
			more = fn(h, lines)
			return more
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Since returns matching rows after a position, oldest first (in Seq order, the order
// they were stored: the live tail shows lines as they arrive, whatever their time).
// The new lines of a tail are few, so they are read by Seq without the index.
func (s *Store) Since(ctx context.Context, q *query.Node, c store.Cursor, limit int) ([]store.Row, error) {
	p, err := parseCursor(c)
	if err != nil {
		return nil, err
	}
	after := p.seq
	var out []store.Row
	pl := compile(q)
	keep := func(_ *line, seq int64) bool { return seq > after }
	parts, release := s.readParts()
	defer release()
	for _, p := range parts {
		if p.maxSeq.Load() <= after {
			continue
		}
		// Each day's lowest Seqs after the position; merged by Seq below.
		n := 0
		where := ""
		for _, w := range pl.where {
			where += " AND " + w
		}
		args := append([]any{after - maxBlockLines + 1}, pl.args...)
		err := p.scanBlocks(ctx, "SELECT "+headCols+" FROM blocks b WHERE b.seq >= ?"+where+" ORDER BY b.seq", args,
			func(h blockHead, lines []line) bool {
				return pl.matching(&h, lines, keep, func(v *lineView, i int) bool {
					out = append(out, v.row(i))
					n++
					return n < limit
				})
			})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b store.Row) int { return cmpInt(a.Seq, b.Seq) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Context returns the rows of one file around an offset, in file order.
func (s *Store) Context(ctx context.Context, host, fileID string, offset int64, before, after int) ([]store.Row, int, error) {
	hostCond, hostArgs := "", []any{}
	if host != "" {
		hostCond, hostArgs = " AND b.host = ?", []any{host}
	}
	parts, release := s.readParts()
	defer release()
	var older []store.Row // newest first
	for i := len(parts) - 1; i >= 0 && len(older) < before; i-- {
		args := append([]any{fileID, offset}, hostArgs...)
		err := parts[i].scanBlocks(ctx, "SELECT "+headCols+" FROM blocks b WHERE b.file_id = ? AND b.off < ?"+hostCond+
			" ORDER BY b.off DESC", args, func(h blockHead, lines []line) bool {
			for j := len(lines) - 1; j >= 0 && len(older) < before; j-- {
				if lines[j].off < offset {
					older = append(older, (&lineView{h: &h, l: &lines[j]}).row(j))
				}
			}
			return len(older) < before
		})
		if err != nil {
			return nil, 0, err
		}
	}
	var newer []store.Row
	for i := 0; i < len(parts) && len(newer) < after+1; i++ {
		// From the block holding offset (its first line may be before it) on.
		args := append([]any{fileID, fileID, offset}, hostArgs...)
		args = append(append(args, offset), hostArgs...)
		err := parts[i].scanBlocks(ctx, "SELECT "+headCols+" FROM blocks b WHERE b.file_id = ? AND b.off >= coalesce("+
			"(SELECT max(c.off) FROM blocks c WHERE c.file_id = ? AND c.off <= ?"+strings.ReplaceAll(hostCond, "b.", "c.")+"), ?)"+hostCond+
			" ORDER BY b.off", args, func(h blockHead, lines []line) bool {
			for j := 0; j < len(lines) && len(newer) < after+1; j++ {
				if lines[j].off >= offset {
					newer = append(newer, (&lineView{h: &h, l: &lines[j]}).row(j))
				}
			}
			return len(newer) < after+1
		})
		if err != nil {
			return nil, 0, err
		}
	}
	slices.Reverse(older)
	// A file's offsets restart after a truncation; within one file id, older days first
	// and offsets in order is file order.
	slices.SortStableFunc(newer, func(a, b store.Row) int { return cmpInt(a.Offset, b.Offset) })
	if len(newer) > after+1 {
		newer = newer[:after+1]
	}
	if len(newer) > 0 && newer[0].Offset != offset && len(newer) > after {
		newer = newer[:after]
	}
	return append(older, newer...), len(older), nil
}

// scanBlocks calls fn with the blocks the query selects (headCols), until it returns
// false.
func (p *part) scanBlocks(ctx context.Context, q string, args []any, fn func(h blockHead, lines []line) bool) error {
	sc := scanner{codec: p.codec}
	return p.scanBlocksWith(ctx, &sc, q, args, fn)
}

// scanBlocksWith is scanBlocks with the caller's scanner.
func (p *part) scanBlocksWith(ctx context.Context, sc *scanner, q string, args []any, fn func(h blockHead, lines []line) bool) error {
	rows, err := p.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		// The matcher's work on a block is Go, outside SQLite: a query past its deadline
		// stops here, between blocks.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("read %s: %w", p.path, err)
		}
		h, lines, err := sc.scan(rows)
		if err != nil {
			return fmt.Errorf("read %s: %w", p.path, err)
		}
		p.reads.Add(1)
		if !fn(h, lines) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", p.path, err)
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Fields counts the values of each field over the newest sample matching rows.
func (s *Store) Fields(ctx context.Context, q *query.Node, from, to time.Time, limit, sample int) ([]store.FieldFacet, int64, error) {
	res, err := s.Search(ctx, store.SearchRequest{Query: q, From: from, To: to, Limit: sample})
	if err != nil {
		return nil, 0, err
	}
	counts := map[string]map[string]int64{"host": {}, "path": {}, "topic": {}}
	lines := map[string]int64{}
	add := func(name, value string) {
		m := counts[name]
		if m == nil {
			m = map[string]int64{}
			counts[name] = m
		}
		m[value]++
		lines[name]++
	}
	for _, r := range res.Rows {
		add("host", r.Host)
		add("path", r.Path)
		add("topic", r.Topic)
		for k, v := range r.Fields {
			add(k, v)
		}
	}
	var names []string
	for n := range counts {
		if n != "host" && n != "path" && n != "topic" {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmpInt(lines[b], lines[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	names = append([]string{"host", "path", "topic"}, names...)
	out := make([]store.FieldFacet, 0, len(names))
	for _, n := range names {
		f := store.FieldFacet{Name: n, Lines: lines[n], Values: []store.ValueCount{}}
		for v, c := range counts[n] {
			f.Values = append(f.Values, store.ValueCount{Value: v, Count: c})
		}
		slices.SortFunc(f.Values, func(a, b store.ValueCount) int {
			if c := cmpInt(b.Count, a.Count); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
		if len(f.Values) > limit {
			f.Values = f.Values[:limit]
		}
		out = append(out, f)
	}
	return out, int64(len(res.Rows)), nil
}

// Hosts lists the hosts with logs or metrics.
func (s *Store) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	last := map[string]int64{}
	parts, release := s.readParts()
	defer release()
	for _, p := range parts {
		rows, err := p.db.QueryContext(ctx, `SELECT host, last_ts FROM hosts`)
		if err != nil {
			return nil, fmt.Errorf("hosts %s: %w", p.path, err)
		}
		for rows.Next() {
			var h string
			var ts int64
			if err := rows.Scan(&h, &ts); err != nil {
				rows.Close()
				return nil, fmt.Errorf("hosts %s: %w", p.path, err)
			}
			last[h] = max(last[h], ts)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	out := make([]store.HostSeen, 0, len(last))
	for h, ts := range last {
		out = append(out, store.HostSeen{Host: h, LastSeen: time.Unix(0, ts).UTC()})
	}
	slices.SortFunc(out, func(a, b store.HostSeen) int { return strings.Compare(a.Host, b.Host) })
	return out, nil
}

// WritePoints stores host-metric points in the day of each point.
func (s *Store) WritePoints(ctx context.Context, points []hostmetrics.Point) error {
	byDay := map[int64][]hostmetrics.Point{}
	for _, pt := range points {
		d := dayOf(pt.Time.UnixNano())
		byDay[d] = append(byDay[d], pt)
	}
	for day, pts := range byDay {
		p, err := s.partFor(day)
		if err != nil {
			return err
		}
		if err := p.insertPoints(ctx, pts); err != nil {
			return err
		}
	}
	return nil
}

func (p *part) insertPoints(ctx context.Context, pts []hostmetrics.Point) (err error) {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin %s: %w", p.path, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO points(ts, measurement, field, host, tags, value) VALUES(?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer ins.Close()
	hosts := map[string]int64{}
	for _, pt := range pts {
		tags, err := json.Marshal(pt.Tags) // map keys are sorted: one spelling per tag set
		if err != nil {
			return fmt.Errorf("encode tags: %w", err)
		}
		ts := pt.Time.UnixNano()
		host := pt.Tags["host"]
		for f, v := range pt.Fields {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if _, err := ins.ExecContext(ctx, ts, pt.Measurement, f, host, string(tags), v); err != nil {
				return fmt.Errorf("insert point into %s: %w", p.path, err)
			}
		}
		if host != "" {
			hosts[host] = max(hosts[host], ts)
		}
	}
	for h, ts := range hosts {
		if err := upsertHost(tx, h, ts); err != nil {
			return fmt.Errorf("save hosts in %s: %w", p.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", p.path, err)
	}
	return nil
}

// Metrics returns one field's series averaged per step.
func (s *Store) Metrics(ctx context.Context, r store.MetricsRequest) ([]store.Series, error) {
	from, to, step := r.From.UnixNano(), r.To.UnixNano(), int64(r.Step)
	if step <= 0 {
		return nil, fmt.Errorf("metrics step %s: must be positive", r.Step)
	}
	type acc struct{ sum, n float64 }
	series := map[string]map[int64]*acc{}
	parts, release := s.readParts()
	defer release()
	for _, p := range parts {
		if !p.covers(from, to) {
			continue
		}
		q := `SELECT tags, ts, value FROM points WHERE measurement = ? AND field = ? AND ts >= ? AND ts < ?`
		args := []any{r.Measurement, r.Field, from, to}
		if r.Host != "" {
			q += " AND host = ?"
			args = append(args, r.Host)
		}
		rows, err := p.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("metrics %s: %w", p.path, err)
		}
		for rows.Next() {
			var tags string
			var ts int64
			var v float64
			if err := rows.Scan(&tags, &ts, &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("metrics %s: %w", p.path, err)
			}
			m := series[tags]
			if m == nil {
				m = map[int64]*acc{}
				series[tags] = m
			}
			t := floorDiv(ts, step) * step
			a := m[t]
			if a == nil {
				a = &acc{}
				m[t] = a
			}
			a.sum += v
			a.n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]store.Series, 0, len(keys))
	for _, k := range keys {
		var tags map[string]string
		if err := json.Unmarshal([]byte(k), &tags); err != nil {
			return nil, fmt.Errorf("decode tags %s: %w", k, err)
		}
		ser := store.Series{Tags: tags, Points: [][2]float64{}}
		ts := make([]int64, 0, len(series[k]))
		for t := range series[k] {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for _, t := range ts {
			a := series[k][t]
			ser.Points = append(ser.Points, [2]float64{float64(t / int64(time.Millisecond)), a.sum / a.n})
		}
		out = append(out, ser)
	}
	return out, nil
}
