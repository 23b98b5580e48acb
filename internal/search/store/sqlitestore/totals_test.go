package sqlitestore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// TestHistogramRarePhraseExact is issue 22's report: the phrase of one client IP, whose
// words (10, 3, 77, 191) are in every block, has as many candidate blocks as the day has
// blocks, so its histogram sampled them and answered 0 lines, estimated, beside the one
// hit the search returned. A query rare in the sample is counted, not scaled: the total
// is exact, not flagged, and never below the hits.
func TestHistogramRarePhraseExact(t *testing.T) {
	s := open(t, Config{})
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Hour)
	const n = 2 * histogramLines // 2 × sampleBlocks blocks: the first sample is half of them
	// The lines holding each phrase: the IP in the first block only (a sample of the odd
	// blocks skips it), "alpha beta" once in each of 40 blocks spread over the range.
	ipAt := map[int]bool{5: true}
	pairAt := map[int]bool{}
	for b := 0; b < 40; b++ {
		pairAt[b*(n/40)+b%defaultBlockLines] = true
	}
	msg := func(i int) string {
		ip := fmt.Sprintf("10.%d.%d.%d", 100+i%7, 100+(i/7)%100, 100+i%97)
		if ipAt[i] {
			ip = "10.3.77.191"
		}
		words := "beta alpha"
		if pairAt[i] {
			words = "alpha beta"
		}
		return fmt.Sprintf(`%s - - "GET /items/3/77/191 HTTP/1.1" 200 %d %s`, ip, i%9000, words)
	}
	for i := 0; i < n; i += 16384 {
		appendSync(t, s, rowsAt(base, i, 16384, msg))
	}
	from, to := base, base.Add(n*time.Millisecond)
	ctx := context.Background()
	for _, tc := range []struct {
		q    string
		want map[int]bool
	}{{`"10.3.77.191"`, ipAt}, {`"alpha beta"`, pairAt}} {
		res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, tc.q), From: from, To: to, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(tc.want) {
			t.Fatalf("%s: %d hits, want %d", tc.q, len(res.Rows), len(tc.want))
		}
		hist, est, err := s.Histogram(ctx, mustParse(t, tc.q), from, to, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		wantHist := map[int64]int64{}
		for i := range tc.want {
			wantHist[base.Add(time.Duration(i)*time.Millisecond).Truncate(10*time.Second).UnixNano()]++
		}
		var sum int64
		for _, b := range hist {
			sum += b.Count
			if b.Count != wantHist[b.Time.UnixNano()] {
				t.Errorf("%s: bucket %s counts %d, want %d", tc.q, b.Time.Format(time.TimeOnly), b.Count, wantHist[b.Time.UnixNano()])
			}
		}
		if est || sum != int64(len(tc.want)) {
			t.Errorf("%s: total %d (estimated %v), want %d exactly", tc.q, sum, est, len(tc.want))
		}
	}
}

// TestHistogramSampleDoubled: a phrase in 180 of 4 × sampleBlocks blocks (its words in
// all) is found in about 45 of the first sample's sampleBlocks, fewer than minSampleHits;
// the sample is doubled, finds about 90, and is scaled by 2: an estimate, flagged, near
// 180.
func TestHistogramSampleDoubled(t *testing.T) {
	s := open(t, Config{})
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Hour)
	const n, blocks, want = 4 * histogramLines, 4 * histogramLines / defaultBlockLines, 180
	rng := rand.New(rand.NewPCG(3, 4))
	at := map[int]bool{}
	for _, b := range rng.Perm(blocks)[:want] {
		at[b*defaultBlockLines+rng.IntN(defaultBlockLines)] = true
	}
	for i := 0; i < n; i += 16384 {
		appendSync(t, s, rowsAt(base, i, 16384, func(i int) string {
			if at[i] {
				return "gamma delta"
			}
			return "delta gamma"
		}))
	}
	hist, est, err := s.Histogram(context.Background(), mustParse(t, `"gamma delta"`), base, base.Add(n*time.Millisecond), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var sum, twos int64
	for _, b := range hist {
		sum += b.Count
		if b.Count%2 != 0 {
			t.Errorf("bucket %s: %d, not scaled by 2 (a sample of half the blocks)", b.Time.Format(time.TimeOnly), b.Count)
		}
		if b.Count == 2 {
			twos++
		}
	}
	if twos == 0 {
		t.Error("no bucket of one line found, scaled by 2: the sample was not doubled")
	}
	if !est || sum < want*3/4 || sum > want*5/4 {
		t.Errorf("total %d (estimated %v), want an estimate near %d", sum, est, want)
	}
}

// TestSampleStride: the days of a histogram share one sample of at most sampleBlocks
// blocks (strideFor; sampleStride takes every block when they are no more, or hold at
// most histogramLines lines: TestHistogramSmallBlocksExact).
func TestSampleStride(t *testing.T) {
	for _, c := range []struct {
		blocks []int // candidate blocks per day
		want   int
	}{
		{[]int{sampleBlocks}, 1},
		{[]int{sampleBlocks / 2, sampleBlocks / 2}, 1},
		{[]int{5 * sampleBlocks}, 8},                   // 80 blocks
		{[]int{3 * sampleBlocks, 3 * sampleBlocks}, 8}, // 48 + 48, not 96 + 96
		{[]int{30 * sampleBlocks, sampleBlocks / 2}, 32},
	} {
		days := make([]dayCount, len(c.blocks))
		for i, n := range c.blocks {
			days[i].ids = make([]int64, n)
		}
		if got := strideFor(days); got != c.want {
			t.Errorf("%v blocks: stride %d, want %d", c.blocks, got, c.want)
		}
	}
}

// TestHistogramSampledAcrossDays: two days of a common word share one sample, and
// each day's lines found are scaled by its own share of the sample: the estimate is
// near the lines of each day.
func TestHistogramSampledAcrossDays(t *testing.T) {
	s := open(t, Config{Retention: 10 * 24 * time.Hour})
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	days := []struct {
		start time.Time
		n     int
	}{{midnight.Add(-48 * time.Hour), 3 * histogramLines / 2}, {midnight.Add(-24 * time.Hour), histogramLines / 2}}
	for _, d := range days {
		for i := 0; i < d.n; i += 16384 {
			appendSync(t, s, rowsAt(d.start, i, min(16384, d.n-i), func(i int) string {
				if i%4 == 0 {
					return "w quarter"
				}
				return "w"
			}))
		}
	}
	hist, est, err := s.Histogram(context.Background(), mustParse(t, "quarter"), days[0].start, midnight, 24*time.Hour)
	if err != nil || !est || len(hist) != 2 {
		t.Fatalf("histogram %v, estimated %v: %v; want 2 days estimated", hist, est, err)
	}
	for i, d := range days {
		if want := int64(d.n / 4); hist[i].Count < want*9/10 || hist[i].Count > want*11/10 {
			t.Errorf("day %s: %d lines, want an estimate near %d", d.start.Format(time.DateOnly), hist[i].Count, want)
		}
	}
}
