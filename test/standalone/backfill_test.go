//go:build integration

package standalone_test

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
)

// The backfill of TestBackfillEventTime: an access log of backfillLines lines over
// backfillDays UTC days ending the day before yesterday or earlier, loaded with start:
// beginning beside a live file.
const (
	backfillLines = 100_000
	backfillDays  = 30
	liveLines     = 50
)

var statuses = []int{200, 200, 200, 304, 404, 500}

// backfill is the generated file: each line's event time (whole seconds, in file order)
// and its offset.
type backfill struct {
	start time.Time // UTC midnight of day 0
	times []time.Time
	offs  []int64
}

// makeBackfill writes the access log at path: day k holds a share of the lines by a
// weight (day 20 none: an outage the chart must show), spread evenly over the day except
// within [gap0, gap1), where the retention's cutoff falls while the test runs, so that
// which lines it keeps is exact.
func makeBackfill(t *testing.T, path string, now time.Time, gap0, gap1 time.Time) backfill {
	t.Helper()
	today := now.UTC().Truncate(24 * time.Hour)
	b := backfill{start: today.AddDate(0, 0, -backfillDays-1)}
	weights := make([]int, backfillDays)
	total := 0
	for k := range weights {
		if k != 20 {
			weights[k] = 1 + (k*7)%5
		}
		total += weights[k]
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var off int64
	for k := range backfillDays {
		n := backfillLines * weights[k] / total
		if k == backfillDays-1 {
			n = backfillLines - len(b.times)
		}
		ds := b.start.Add(time.Duration(k) * 24 * time.Hour)
		de := ds.Add(24 * time.Hour)
		g0, g1 := maxTime(gap0, ds), minTime(gap1, de) // the gap within the day, if any
		length := 24 * time.Hour
		if g0.Before(g1) {
			length -= g1.Sub(g0)
		}
		for j := range n {
			ts := ds.Add(time.Duration((float64(j) + 0.5) * float64(length) / float64(n)))
			if g0.Before(g1) && !ts.Before(g0) {
				ts = ts.Add(g1.Sub(g0))
			}
			ts = ts.Truncate(time.Second)
			i := len(b.times)
			line := fmt.Sprintf(`10.%d.%d.%d - - [%s] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "curl/8.5"`+"\n",
				i%7, (i/7)%251, i%253, ts.Format("02/Jan/2006:15:04:05 -0700"), i%10007, statuses[i%6], 100+i%9000)
			b.times = append(b.times, ts)
			b.offs = append(b.offs, off)
			off += int64(len(line))
			w.WriteString(line)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// buckets counts the lines kept (at or after cutoff) per step from the file's start.
func (b backfill) buckets(step time.Duration, n int, cutoff time.Time) []int64 {
	out := make([]int64, n)
	for _, ts := range b.times {
		if i := int(ts.Sub(b.start) / step); i < n && !ts.Before(cutoff) {
			out[i]++
		}
	}
	return out
}

func rfc(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339)) }

// histogram returns the bucket counts of the file's 30 days and their step.
func (p *proc) histogram(b backfill) ([]int64, time.Duration) {
	p.t.Helper()
	r := p.search("", fmt.Sprintf("&limit=1&from=%s&to=%s", rfc(b.start), rfc(b.start.AddDate(0, 0, backfillDays))))
	out := make([]int64, len(r.Buckets))
	for i, bk := range r.Buckets {
		out[i] = bk.Count
	}
	return out, time.Duration(r.StepMS) * time.Millisecond
}

// hitsIn pages through every hit of q in [from, to).
func (p *proc) hitsIn(q string, from, to time.Time) []hit {
	p.t.Helper()
	var all []hit
	cursor := ""
	for {
		extra := fmt.Sprintf("&limit=1000&from=%s&to=%s", rfc(from), rfc(to))
		if cursor != "" {
			extra += "&cursor=" + url.QueryEscape(cursor)
		}
		r := p.search(q, extra)
		all = append(all, r.Hits...)
		if r.Cursor == "" {
			return all
		}
		cursor = r.Cursor
	}
}

func equalCounts(a, b []int64) bool {
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

// TestBackfillEventTime loads a month-long access log with start: beginning beside a live
// file, through the real binary: killed with SIGKILL during the backfill and restarted,
// every line is stored once; the histogram over the 30 days has the file's shape, the
// last 15 minutes hold only the live lines, a search in day 12 finds day 12's lines, and
// a retention of 7 days removes the older lines and keeps the rest — all counts exact.
func TestBackfillEventTime(t *testing.T) {
	dir := t.TempDir()
	// Whole seconds, as the lines' stamps are: a line moved past the gap and truncated to
	// its second stays at or after gap1 (with gap1 mid-second, one could land just before
	// it, be kept by the store and not counted here — CI failed on that once).
	now := time.Now().Truncate(time.Second)
	// The retention's cutoff (now - 7d when it runs) falls in [gap0, gap1) for an hour.
	gap0, gap1 := now.Add(-7*24*time.Hour-10*time.Minute), now.Add(-7*24*time.Hour+time.Hour)
	accessPath, livePath := filepath.Join(dir, "access.log"), filepath.Join(dir, "live.log")
	b := makeBackfill(t, accessPath, now, gap0, gap1)
	appendLines(t, livePath) // exists, empty
	cfgPath := filepath.Join(dir, "standalone.yaml")
	writeCfg := func(retention string) {
		// A checkpoint that lags by seconds makes the restart after the kill re-read lines
		// the store already holds, so its skip by offset is what keeps them once.
		cfg := fmt.Sprintf(`agent:
  id: h1
  checkpoint_interval: 3s
  collect:
    - {path: %s, topic: web, format: nginx_combined, start: beginning}
    - {path: %s, topic: live, start: beginning}
store: {retention: %s}
log: {level: warn}
`, accessPath, livePath, retention)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("0") // kept forever until the retention step
	o := newOpts(t, "--config", cfgPath)
	fileRange := fmt.Sprintf("&limit=1&from=%s&to=%s", rfc(b.start), rfc(b.start.AddDate(0, 0, backfillDays)))

	// kill -9 during the backfill: as soon as some lines are stored and before all are.
	p := start(t, o)
	var atKill int64
	await.Until(t, 60*time.Second, "the backfill to start", func() bool {
		atKill = p.search("", fileRange).Total
		return atKill > 0
	})
	p.Kill()
	if atKill >= backfillLines {
		t.Fatalf("the backfill was complete (%d lines) before the kill", atKill)
	}
	p = start(t, o)
	await.Until(t, 120*time.Second, fmt.Sprintf("the %d lines of the backfill", backfillLines), func() bool {
		return p.search("", fileRange).Total >= backfillLines
	})
	skipped := p.metric("logcollect_store_duplicates_skipped_total")
	hits := p.hitsIn("", b.start, b.start.AddDate(0, 0, backfillDays))
	seen := map[int64]int{}
	for _, h := range hits {
		seen[h.Offset]++
	}
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	missing := 0
	for _, off := range b.offs {
		if seen[off] == 0 {
			missing++
		}
	}
	if len(hits) != backfillLines || dups > 0 || missing > 0 {
		t.Fatalf("%d lines written, %d stored: %d offsets stored more than once, %d missing", backfillLines, len(hits), dups, missing)
	}
	t.Logf("killed at %d of %d lines stored; after the restart %.0f re-read lines skipped, each line stored once",
		atKill, backfillLines, skipped)
	if skipped == 0 {
		t.Error("no re-read line was skipped: the kill did not exercise the exactly-once path")
	}

	// Live lines, stamped as they are written.
	for i := range liveLines {
		appendLines(t, livePath, fmt.Sprintf("%s live line %d", time.Now().UTC().Format(time.RFC3339Nano), i))
	}
	await.Until(t, 30*time.Second, "the live lines", func() bool {
		return p.search("", "&from=now-15m").Total == liveLines
	})
	for _, h := range p.search("", "&from=now-15m&limit=1000").Hits {
		if h.Path != livePath {
			t.Fatalf("the last 15 minutes hold a line of %s: %q", h.Path, h.Message)
		}
	}

	// The histogram over the 30 days: the file's shape, bucket by bucket.
	got, step := p.histogram(b)
	if want := b.buckets(step, len(got), time.Time{}); step <= 0 || !equalCounts(got, want) {
		t.Errorf("histogram (step %s):\n got  %v\n want %v", step, got, want)
	}
	t.Logf("histogram: %d buckets of %s: %v", len(got), step, got)
	if step != 12*time.Hour || got[40] != 0 || got[41] != 0 {
		t.Errorf("step %s, day 20 (the outage) %v", step, got[40:42])
	}

	// Day 12: every line, and its 404s by the access log's parsed status.
	d12 := b.start.AddDate(0, 0, 12)
	var want12, want404 []int64
	for i, ts := range b.times {
		if !ts.Before(d12) && ts.Before(d12.AddDate(0, 0, 1)) {
			want12 = append(want12, b.offs[i])
			if statuses[i%6] == 404 {
				want404 = append(want404, b.offs[i])
			}
		}
	}
	t.Logf("day 12: %d lines, %d of them 404", len(want12), len(want404))
	for q, want := range map[string][]int64{"": want12, "status:404 method:GET": want404} {
		hits := p.hitsIn(q, d12, d12.AddDate(0, 0, 1))
		if len(hits) != len(want) || len(want) == 0 {
			t.Errorf("day 12, %q: %d lines, want %d", q, len(hits), len(want))
			continue
		}
		set := map[int64]bool{}
		for _, h := range hits {
			set[h.Offset] = true
		}
		for _, off := range want {
			if !set[off] {
				t.Errorf("day 12, %q: the line at %d is missing", q, off)
				break
			}
		}
	}

	// A retention of 7 days: the older lines go, the rest stay. The store applies it at
	// start (and every 10 s).
	p.Stop()
	writeCfg("7d")
	p = start(t, o)
	wantKept := b.buckets(step, len(got), gap1)
	var kept int64
	for _, c := range wantKept {
		kept += c
	}
	if kept == 0 || kept == backfillLines {
		t.Fatalf("the gap puts %d lines after the cutoff: the test does not test the retention", kept)
	}
	t.Logf("the retention keeps %d lines", kept)
	await.Until(t, 60*time.Second, fmt.Sprintf("the retention to keep %d lines", kept), func() bool {
		return p.search("", fileRange).Total == kept
	})
	if got, _ := p.histogram(b); !equalCounts(got, wantKept) {
		t.Errorf("histogram after the retention:\n got  %v\n want %v", got, wantKept)
	}
	if n := p.search("", "&from=now-15m").Total; n != liveLines {
		t.Errorf("%d lines in the last 15 minutes after the retention, want the %d live ones", n, liveLines)
	}
	p.Stop()
}
