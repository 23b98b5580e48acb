//go:build integration

package opensearchstore

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/testing/querycases"
	"github.com/logcollect/logcollect/internal/testing/testenv"
	"github.com/logcollect/logcollect/internal/transfer/document"
	"github.com/logcollect/logcollect/internal/transfer/opensearchsink"
)

type line struct {
	msg, topic, path, fileID string
	offset                   int64
	at                       time.Time
	fields                   map[string]string
}

// dataSet is querycases' lines as the agent would send them, one second apart, plus
// filler lines of app.log to page through.
func dataSet(base time.Time, filler int) []line {
	var out []line
	var off int64
	for i, m := range querycases.AppLines {
		out = append(out, line{m, "app", "/var/log/svc/app.log", "1:11", off, base.Add(time.Duration(i) * time.Second), nil})
		off += int64(len(m)) + 1
	}
	out = append(out, line{querycases.OtherLine, "other", "/var/log/svc/other.log", "1:12", 0,
		base.Add(6500 * time.Millisecond), map[string]string{"team": "core"}})
	for i := range filler {
		m := fmt.Sprintf("msg=filler n=%d marker4711=yes", i) // logfmt, as the topic's rule parses it
		// Ten lines per millisecond: the order within one falls to the offset.
		out = append(out, line{m, "app", "/var/log/svc/app.log", "1:11", off, base.Add(10*time.Second + time.Duration(i/10)*time.Millisecond), nil})
		off += int64(len(m)) + 1
	}
	return out
}

// readLag is how long after its event time (the time header) each line was read (the
// ts header): the document's read_time.
const readLag = 2500 * time.Millisecond

func record(l line, kafkaOffset int64) *kgo.Record {
	r := &kgo.Record{Topic: l.topic, Value: []byte(l.msg), Offset: kafkaOffset, Timestamp: l.at, Headers: []kgo.RecordHeader{
		{Key: kafka.HeaderHost, Value: []byte("h1")},
		{Key: kafka.HeaderPath, Value: []byte(l.path)},
		{Key: kafka.HeaderFileID, Value: []byte(l.fileID)},
		{Key: kafka.HeaderOffset, Value: []byte(strconv.FormatInt(l.offset, 10))},
		{Key: kafka.HeaderTime, Value: []byte(l.at.Format(time.RFC3339Nano))},
		{Key: kafka.HeaderTS, Value: []byte(l.at.Add(readLag).Format(time.RFC3339Nano))},
	}}
	for k, v := range l.fields {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: kafka.HeaderFieldPrefix + k, Value: []byte(v)})
	}
	return r
}

// index writes the data set with the transfer's template, document builder and bulk
// sink into fresh indices, and returns a Store over them.
func index(t *testing.T, lines []line) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := testenv.OpenSearchURL(t)
	name := fmt.Sprintf("lctest-osstore-%d", time.Now().UnixNano())
	cfg := config.Default().OpenSearch
	cfg.Addresses, cfg.Index, cfg.Template = []string{addr}, name+"-{topic}-{date}", name
	ix, err := opensearchsink.New(cfg, opensearchsink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	client, err := opensearch.NewClient(opensearch.Config{Addresses: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, p := range []string{"/" + name + "-*", "/_index_template/" + name} {
			req, _ := http.NewRequest(http.MethodDelete, p, nil)
			if resp, err := client.Stream(req); err == nil {
				resp.Body.Close()
			}
		}
	})
	b, err := document.NewBuilder([]config.ParseRule{{Topic: "app", Format: "logfmt"}})
	if err != nil {
		t.Fatal(err)
	}
	docs := make([]document.Document, 0, len(lines))
	for i, l := range lines {
		docs = append(docs, b.Build(record(l, int64(i))))
	}
	rej, err := ix.Write(ctx, docs)
	if err != nil || len(rej) > 0 {
		t.Fatalf("bulk: %v, %d rejected %+v", err, len(rej), rej)
	}
	req, _ := http.NewRequest(http.MethodPost, "/"+name+"-*/_refresh", nil)
	resp, err := client.Stream(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s, err := New(client, Options{Pattern: opensearchsink.IndexPattern(cfg.Index), PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustParse(t *testing.T, q string) *query.Node {
	t.Helper()
	n, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	return n
}

func TestOpenSearchReader(t *testing.T) {
	base := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Minute)
	const filler = 250
	lines := dataSet(base, filler)
	s := index(t, lines)
	ctx := context.Background()
	from, to := base.Add(-time.Hour), base.Add(time.Hour)

	t.Run("query forms", func(t *testing.T) {
		for _, tc := range querycases.Cases {
			res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, tc.Q), From: from, To: to, Limit: 1000})
			if err != nil {
				t.Errorf("q=%s: %v", tc.Q, err)
				continue
			}
			var got []string
			for _, r := range res.Rows {
				got = append(got, r.Message)
			}
			// The same order as the embedded store: newest first.
			want := slices.Clone(tc.Want)
			slices.SortFunc(want, func(a, b string) int { return idx(lines, b) - idx(lines, a) })
			if why, ok := querycases.OpenSearchDifferences[tc.Q]; ok {
				if slices.Equal(got, want) {
					t.Errorf("q=%s: listed as a difference (%s) but the hits are the same", tc.Q, why)
				}
				continue
			}
			if !slices.Equal(got, want) {
				t.Errorf("q=%s: got %q, want %q", tc.Q, got, want)
			}
			bs, est, err := s.Histogram(ctx, mustParse(t, tc.Q), from, to, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, b := range bs {
				sum += b.Count
			}
			if est || sum != int64(len(want)) || len(bs) != 120 {
				t.Errorf("q=%s: histogram of %d buckets sums to %d (estimated %v), want %d over 120", tc.Q, len(bs), sum, est, len(want))
			}
		}
	})

	t.Run("cursor pages through every hit once", func(t *testing.T) {
		for _, q := range []string{"", "marker4711", "NOT error"} {
			var got []string
			var before store.Cursor
			for pages := 0; ; pages++ {
				res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, q), From: from, To: to, Limit: 17, Before: before})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range res.Rows {
					got = append(got, r.Message)
				}
				if !res.More {
					break
				}
				before = res.Rows[len(res.Rows)-1].Cursor
			}
			var want []string
			m := query.NewMatcher(mustParse(t, q))
			for i := len(lines) - 1; i >= 0; i-- {
				if m.Match(plain(lines[i].msg)) {
					want = append(want, lines[i].msg)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("q=%q: %d rows over the pages, want %d in order", q, len(got), len(want))
			}
		}
	})

	t.Run("event time and read time", func(t *testing.T) {
		res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, ""), From: from, To: to, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(lines) {
			t.Fatalf("%d rows, want %d", len(res.Rows), len(lines))
		}
		for _, r := range res.Rows {
			l := lines[idx(lines, r.Message)]
			if !r.Time.Equal(l.at) || !r.ReadTime.Equal(l.at.Add(readLag)) {
				t.Fatalf("%q: time %s read %s, want %s read %s", r.Message, r.Time, r.ReadTime, l.at, l.at.Add(readLag))
			}
		}
	})

	t.Run("context in file order", func(t *testing.T) {
		hit := lines[3]
		rows, anchor, err := s.Context(ctx, "h1", hit.fileID, hit.offset, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Message)
		}
		want := []string{lines[1].msg, lines[2].msg, lines[3].msg, lines[4].msg, lines[5].msg}
		if !slices.Equal(got, want) || anchor != 2 {
			t.Errorf("context = %q anchor %d, want %q anchor 2", got, anchor, want)
		}
	})

	t.Run("facets match counted truth", func(t *testing.T) {
		facets, n, err := s.Fields(ctx, mustParse(t, ""), from, to, 10, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(lines)) {
			t.Errorf("fields looked at %d lines, want %d", n, len(lines))
		}
		want := map[string][]store.ValueCount{
			"host":  {{Value: "h1", Count: int64(len(lines))}},
			"topic": {{Value: "app", Count: int64(len(lines) - 1)}, {Value: "other", Count: 1}},
			"path":  {{Value: "/var/log/svc/app.log", Count: int64(len(lines) - 1)}, {Value: "/var/log/svc/other.log", Count: 1}},
			"team":  {{Value: "core", Count: 1}},
			"level": {{Value: "error", Count: 1}},
		}
		got := map[string][]store.ValueCount{}
		for _, f := range facets {
			got[f.Name] = f.Values
		}
		for name, w := range want {
			if !slices.Equal(got[name], w) {
				t.Errorf("facet %s = %+v, want %+v", name, got[name], w)
			}
		}
		if facets[0].Name != "host" || facets[1].Name != "path" || facets[2].Name != "topic" {
			t.Errorf("facets start %s %s %s, want host path topic", facets[0].Name, facets[1].Name, facets[2].Name)
		}
	})

	t.Run("hosts", func(t *testing.T) {
		hs, err := s.Hosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := lines[len(lines)-1].at.Truncate(time.Millisecond)
		if len(hs) != 1 || hs[0].Host != "h1" || !hs[0].LastSeen.Equal(last) {
			t.Errorf("hosts = %+v, want h1 at %s", hs, last)
		}
	})

	t.Run("tail continues from a page's cursor", func(t *testing.T) {
		res, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, "marker4711"), From: from, To: to, Limit: 25})
		if err != nil {
			t.Fatal(err)
		}
		// The 25 newest, newest first; Since from the 25th returns the 24 newer, oldest first.
		rows, err := s.Since(ctx, mustParse(t, "marker4711"), res.Rows[24].Cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 24 || rows[0].Message != res.Rows[23].Message || rows[23].Message != res.Rows[0].Message {
			t.Errorf("since: %d rows, want the 24 newer in order", len(rows))
		}
		newest, err := s.Newest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rows, err := s.Since(ctx, mustParse(t, ""), newest, 10); err != nil || len(rows) != 0 {
			t.Errorf("since newest: %d rows, %v; want none", len(rows), err)
		}
	})

	t.Run("unsupported forms say so", func(t *testing.T) {
		_, err := s.Search(ctx, store.SearchRequest{Query: mustParse(t, "offset:1*"), From: from, To: to, Limit: 10})
		if err == nil || !strings.Contains(err.Error(), "offset:1*") {
			t.Errorf("offset:1*: %v, want an error naming the form", err)
		}
	})
}

// plain is a line with no fields, for the matcher (the cursor queries use only words).
type plain string

func (p plain) Message() string             { return string(p) }
func (p plain) Field(string) (string, bool) { return "", false }

func idx(lines []line, msg string) int {
	return slices.IndexFunc(lines, func(l line) bool { return l.msg == msg })
}
