package sqlitestore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// BenchmarkSearchOrder measures search latency over 200,000 access lines of 4 files
// spread over the last 24 hours, stored in order and with 10 % of the lines stamped up to
// an hour earlier than their place in the file (out of order), both stores open at once
// and asked alternately, so that both see the same load on a shared machine. It reports
// each query kind's p50 and p95 over 200 requests each way (ms) and the ratios out of
// order / in order; the target is out-of-order p95 ≤ 1.5× in-order (docs/store.md has the
// numbers). Run it with -benchtime 1x.
func BenchmarkSearchOrder(b *testing.B) {
	now := time.Now()
	stores := [2]*Store{orderStore(b, false, now), orderStore(b, true, now)}
	ctx := context.Background()
	rarePhrase := `"` + strings.Fields(loadgen.AccessLine(123456))[0] + `"`
	for _, q := range []struct {
		name, q string
		from    time.Duration
		hist    bool
	}{
		{"rare_word_24h", loadgen.RareWord, 25 * time.Hour, false},
		{"common_word_1h", "mozilla", time.Hour, false},
		{"all_15m", "", 15 * time.Minute, false},
		{"host_word_24h", "host:host1 404", 25 * time.Hour, false},
		{"histogram_all_24h", "", 25 * time.Hour, true},
		{"histogram_word_24h", "500", 25 * time.Hour, true},
		// One client IP (one line) and its first three octets (~110 lines): their
		// words are in nearly every block, their lines in few.
		{"rare_phrase_24h", rarePhrase, 25 * time.Hour, false},
		{"histogram_rare_phrase_24h", rarePhrase, 25 * time.Hour, true},
		{"histogram_phrase_24h", `"10.3.77"`, 25 * time.Hour, true},
	} {
		node := mustParse(b, q.q)
		var lat [2][]float64
		for range 200 {
			for k, s := range stores {
				t := time.Now()
				var err error
				if q.hist {
					_, _, err = s.Histogram(ctx, node, now.Add(-q.from), now, 30*time.Minute)
				} else {
					_, err = s.Search(ctx, store.SearchRequest{Query: node, From: now.Add(-q.from), To: now, Limit: 100})
				}
				if err != nil {
					b.Fatal(err)
				}
				lat[k] = append(lat[k], float64(time.Since(t).Microseconds())/1000)
			}
		}
		reportOrder(b, q.name, lat)
	}
}

// reportOrder reports the p50 and p95 of in-order and out-of-order latencies (ms) and
// their ratios, out of order / in order.
func reportOrder(b *testing.B, name string, lat [2][]float64) {
	var p50, p95 [2]float64
	for k, l := range lat {
		slices.Sort(l)
		p50[k], p95[k] = l[len(l)/2], l[len(l)*95/100]
	}
	b.ReportMetric(p50[0], name+"_in_order_p50_ms")
	b.ReportMetric(p95[0], name+"_in_order_p95_ms")
	b.ReportMetric(p50[1], name+"_out_of_order_p50_ms")
	b.ReportMetric(p95[1], name+"_out_of_order_p95_ms")
	b.ReportMetric(p50[1]/p50[0], name+"_ratio_p50")
	b.ReportMetric(p95[1]/p95[0], name+"_ratio_p95")
}

// orderStore is a store of 200,000 access lines of 4 files over the 24 hours before now,
// in order or with 10 % of the lines stamped up to an hour earlier than their place in
// the file.
func orderStore(b *testing.B, outOfOrder bool, now time.Time) *Store {
	s := open(b, Config{})
	for batch := range slices.Chunk(orderRows(outOfOrder, now), 4096) {
		appendSync(b, s, batch)
	}
	return s
}

// orderRows are the lines of orderStore.
func orderRows(outOfOrder bool, now time.Time) []store.Row {
	const n, files = 200000, 4
	start := now.Add(-24 * time.Hour)
	step := 24 * time.Hour / n
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]store.Row, 0, n)
	for i := range n {
		t := start.Add(time.Duration(i) * step)
		if outOfOrder && rng.IntN(10) == 0 {
			t = t.Add(-time.Duration(rng.Int64N(int64(time.Hour))))
		}
		f := i % files
		rows = append(rows, store.Row{Time: t, Host: fmt.Sprintf("host%d", f), Path: "/var/log/nginx/access.log",
			Topic: "web", FileID: fmt.Sprintf("1:%d", f), Offset: int64(i) * 200, End: int64(i)*200 + 200,
			Message: loadgen.AccessLine(i)})
	}
	return rows
}

// BenchmarkAppendOrder measures the store's CPU and disk per line ingesting the lines of
// orderStore (in batches of 4,096, each committed before the next), in order and out of
// order: lines an hour out of order make each commit touch ~90 minutes of event time and
// two days. Run it with -benchtime 1x.
func BenchmarkAppendOrder(b *testing.B) {
	for _, ooo := range []bool{false, true} {
		name := "in-order"
		if ooo {
			name = "out-of-order-10pct-1h"
		}
		b.Run(name, func(b *testing.B) {
			rows := orderRows(ooo, time.Now())
			s := open(b, Config{})
			cpu0 := processCPU(b)
			b.ResetTimer()
			for batch := range slices.Chunk(rows, 4096) {
				appendSync(b, s, batch)
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(len(rows)), "cpu_us/line")
			b.ReportMetric(float64(s.diskBytes())/float64(len(rows)), "disk_B/line")
		})
	}
}

// BenchmarkHistogramOrder measures the all-lines histogram (the data of
// BenchmarkSearchOrder, both stores open at once) in order and out of order
// alternately, 400 times each per range, so that both see the same load on a shared
// machine; it reports p50 and p95 (ms) and the ratios out of order / in order. Ranges
// and steps as the API picks them: 25 h by 30 min (whole 10 minutes: the per-10-minute
// counts where blocks have them) and the last 5 h by 5 min (the minutes). Run it with
// -benchtime 1x.
func BenchmarkHistogramOrder(b *testing.B) {
	now := time.Now()
	stores := [2]*Store{orderStore(b, false, now), orderStore(b, true, now)}
	all := &query.Node{Kind: query.All}
	ctx := context.Background()
	for _, c := range []struct{ span, step time.Duration }{{25 * time.Hour, 30 * time.Minute}, {5 * time.Hour, 5 * time.Minute}} {
		var lat [2][]float64
		for range 400 {
			for k, s := range stores {
				t := time.Now()
				if _, _, err := s.Histogram(ctx, all, now.Add(-c.span), now, c.step); err != nil {
					b.Fatal(err)
				}
				lat[k] = append(lat[k], float64(time.Since(t).Microseconds())/1000)
			}
		}
		reportOrder(b, fmt.Sprintf("%dh_by_%dm", int(c.span.Hours()), int(c.step.Minutes())), lat)
	}
}

// BenchmarkSearchRealistic measures the search kinds of issue 22's comparison over
// 1,000,000 lines of its realistic access log (loadgen.Realistic: random client IPs,
// ids up to a million, stamps over 20 hours; format nginx_combined) in the store alone,
// without the HTTP API: the p50 and p95 of 20 requests per kind (newest 100 over 24
// hours) and of their histograms (24 hours by 30 minutes: what /api/search asks with a
// first page), and the CPU per line of the ingest. Run it with -benchtime 1x; with
// -cpuprofile it profiles the ingest and the searches together.
func BenchmarkSearchRealistic(b *testing.B) {
	const n = 1_000_000
	now := time.Now()
	gen := loadgen.Realistic{N: n, End: now, Span: 20 * time.Hour}
	s := open(b, Config{})
	cpu0 := processCPU(b)
	var off int64
	for i := 0; i < n; i += 4096 {
		var rows []store.Row
		rows, off = realisticRows(gen, i, min(4096, n-i), off)
		appendSync(b, s, rows)
	}
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/n, "ingest_cpu_us/line")
	b.ReportMetric(float64(s.diskBytes())/n, "disk_B/line")
	ctx := context.Background()
	for _, q := range []struct{ name, q string }{
		{"common_word", "kube"},
		{"two_words", "GET 404"},
		{"rare_ip_phrase", `"` + gen.IP(n/2) + `"`},
		{"rare_number", gen.ID(n / 2)},
		{"absent_word", loadgen.Absent},
		{"field_value", "status:503"},
		{"prefix", loadgen.Prefix + "*"},
	} {
		node := mustParse(b, q.q)
		from, to := now.Add(-24*time.Hour), now.Add(time.Minute)
		var lat, hist []float64
		for range 20 {
			t := time.Now()
			if _, err := s.Search(ctx, store.SearchRequest{Query: node, From: from, To: to, Limit: 100}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, float64(time.Since(t).Microseconds())/1000)
			t = time.Now()
			if _, _, err := s.Histogram(ctx, node, from, to, 30*time.Minute); err != nil {
				b.Fatal(err)
			}
			hist = append(hist, float64(time.Since(t).Microseconds())/1000)
		}
		for kind, l := range map[string][]float64{"": lat, "_histogram": hist} {
			slices.Sort(l)
			b.ReportMetric(l[len(l)/2], q.name+kind+"_p50_ms")
			b.ReportMetric(l[len(l)*95/100], q.name+kind+"_p95_ms")
		}
	}
}

// BenchmarkBuildBlocks is the Go side of an append, outside the writer: 4,096 lines of
// issue 22's realistic access log (one file, random IPs and ids) made into blocks —
// words split, folded and made distinct, lines encoded and compressed.
func BenchmarkBuildBlocks(b *testing.B) {
	const n = 4096
	rows, _ := realisticRows(loadgen.Realistic{N: n, End: time.Now(), Span: time.Hour}, 0, n, 0)
	c := testCodec(b)
	b.ResetTimer()
	var blocks []*block
	for range b.N {
		blocks, _ = buildBlocks(rows, DefaultMaxTimeSkew, c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
	var data, pairs, numbers int
	for _, bl := range blocks {
		data, pairs, numbers = data+len(bl.data), pairs+len(bl.pairs), numbers+len(bl.numbers)
	}
	b.ReportMetric(float64(data)/n, "data-B/line")
	b.ReportMetric(float64(pairs)/n, "filter-B/line")
	b.ReportMetric(float64(numbers)/n, "numbers-B/line")
}

// realisticRows are lines from to from+n of gen as one nginx access log stores them,
// the first at offset off; it returns the offset after the last.
func realisticRows(gen loadgen.Realistic, from, n int, off int64) ([]store.Row, int64) {
	rows := make([]store.Row, n)
	for i := range rows {
		line, at := gen.Line(from + i)
		rows[i] = store.Row{Time: at, ReadTime: at, Host: "web1", Path: "/var/log/nginx/access.log", Topic: "web",
			FileID: "1:2", Offset: off, End: off + int64(len(line)) + 1, Message: line, Format: "nginx_combined"}
		off = rows[i].End
	}
	return rows, off
}

// BenchmarkDecodeBlocks is what a search pays per candidate block before it checks the
// lines: decompress and decode the blocks of 4,096 realistic lines, with bodies split
// into columns (what this build writes) and whole (layout 7's, re-encoded from them),
// and split, read for a number one line of each block holds.
func BenchmarkDecodeBlocks(b *testing.B) {
	idPattern := regexp.MustCompile(`[/=]([0-9]{6})[/ .]`)
	const n = 4096
	rows, _ := realisticRows(loadgen.Realistic{N: n, End: time.Now(), Span: time.Hour}, 0, n, 0)
	c := testCodec(b)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, c)
	whole := make([][]byte, len(blocks))
	for i, bl := range blocks {
		times, body, err := c.inflate(bl.data, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		whole[i] = wholeBlock(c, times, body)
	}
	// held[i]: the id in the path of a line of block i, which no other line of it holds
	// (a rare number's or a digit prefix's candidate block)
	held := make([][][]byte, len(blocks))
	for i, bl := range blocks {
		times, body, err := c.inflate(bl.data, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		lines, _, err := decodeLines(bl.data[0], times, body, bl.n, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range lines[len(lines)/2:] {
			id := idPattern.FindStringSubmatch(l.msg)
			if id != nil && bytes.Count(body, []byte(id[1])) == 1 {
				held[i] = [][]byte{[]byte(id[1])}
				break
			}
		}
		if held[i] == nil {
			b.Fatalf("block %d: no line with an id of its own", i)
		}
	}
	for _, v := range []struct {
		name string
		data func(i int) []byte
		need func(i int) [][]byte
	}{
		{"split", func(i int) []byte { return blocks[i].data }, func(int) [][]byte { return nil }},
		{"split_one_line_holding", func(i int) []byte { return blocks[i].data }, func(i int) [][]byte { return held[i] }},
		{"whole", func(i int) []byte { return whole[i] }, func(int) [][]byte { return nil }},
	} {
		b.Run(v.name, func(b *testing.B) {
			var buf []byte
			var lines []line
			for range b.N {
				for i, bl := range blocks {
					data := v.data(i)
					times, body, err := c.inflate(data, buf, v.need(i))
					if err != nil {
						b.Fatal(err)
					}
					if cap(body) > cap(buf) {
						buf = body
					}
					if lines, _, err = decodeLines(data[0], times, body, bl.n, lines); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
		})
	}
}

// BenchmarkWaitingFilter: testing a Huffman-coded waiting filter (pairFilterV3) for an
// IP address's pairs, with a decoder made anew each time and with one kept.
func BenchmarkWaitingFilter(b *testing.B) {
	const n = 4096
	rows, _ := realisticRows(loadgen.Realistic{N: n, End: time.Now(), Span: time.Hour}, 0, n, 0)
	blocks, _ := buildBlocks(rows, DefaultMaxTimeSkew, testCodec(b))
	want := phrasePairs(query.DigitPhrases(mustParse(b, "10.20.30.40")))
	b.Run("new", func(b *testing.B) {
		for i := range b.N {
			filterMayHold(blocks[i%len(blocks)].pairs, want)
		}
	})
	b.Run("kept", func(b *testing.B) {
		var r filterReader
		for i := range b.N {
			r.mayHold(blocks[i%len(blocks)].pairs, want)
		}
	})
}
