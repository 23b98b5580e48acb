//go:build integration

package standalone_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/querycases"
)

// The known data set (querycases): app.log (topic app) and other.log (topic other, entry
// field team=core), collected from the beginning by host h1.
var (
	appLines  = querycases.AppLines
	otherLine = querycases.OtherLine
)

func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := fmt.Sprintf(`agent:
  id: h1
  collect:
    - {path: %s, topic: app, start: beginning}
    - {path: %s, topic: other, start: beginning, fields: {team: core}}
etcd:
  collect_keys: [collect_log_conf]
log: {level: warn}
`, filepath.Join(dir, "app.log"), filepath.Join(dir, "other.log"))
	path := filepath.Join(dir, "standalone.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func messages(hits []hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Message
	}
	slices.Sort(out)
	return out
}

func TestAPI(t *testing.T) {
	dir := t.TempDir()
	appendLines(t, filepath.Join(dir, "app.log"), appLines...)
	appendLines(t, filepath.Join(dir, "other.log"), otherLine)
	o := newOpts(t, "--config", writeConfig(t, dir))
	p := start(t, o)
	await.Until(t, 10*time.Second, "the 7 lines of the data set to be searchable", func() bool {
		return p.search("", "").Total == 7
	})

	t.Run("appended line found within 2s", func(t *testing.T) {
		begin := time.Now()
		appendLines(t, filepath.Join(dir, "app.log"), "fresh line marker4711")
		await.Until(t, 2*time.Second, "the appended line in /api/search", func() bool {
			return len(p.search("marker4711", "").Hits) == 1
		})
		t.Logf("appended line searchable after %s", time.Since(begin))
	})

	t.Run("query forms", func(t *testing.T) {
		// Each form of docs/search.md, on the data set.
		for _, tc := range querycases.Cases {
			got := messages(p.search(tc.Q, "").Hits)
			want := slices.Clone(tc.Want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("q=%s: got %q, want %q", tc.Q, got, want)
			}
		}
	})

	t.Run("highlight in UTF-16 units", func(t *testing.T) {
		appendLines(t, filepath.Join(dir, "app.log"), "ünïcode 😀 highlightme now")
		var r searchResp
		await.Until(t, 5*time.Second, "the unicode line", func() bool {
			r = p.search("highlightme", "")
			return len(r.Hits) == 1
		})
		// "ünïcode 😀 " is 10 UTF-16 units (the emoji is a surrogate pair).
		if got := r.Hits[0].Highlight; len(got) != 1 || got[0] != [2]int{11, 22} {
			t.Errorf("highlight = %v, want [[11 22]]", got)
		}
	})

	t.Run("histogram adds up to the total", func(t *testing.T) {
		for _, q := range []string{"", "error", "topic:app", "NOT error"} {
			r := p.search(q, "")
			var sum int64
			for _, b := range r.Buckets {
				sum += b.Count
			}
			if sum != r.Total || r.Total == 0 || r.StepMS != 60000 || len(r.Buckets) < 60 || len(r.Buckets) > 61 {
				t.Errorf("q=%q: buckets sum %d, total %d, step %d ms, %d buckets", q, sum, r.Total, r.StepMS, len(r.Buckets))
			}
		}
	})

	t.Run("cursors page every hit once", func(t *testing.T) {
		all := p.search("", "&limit=1000").Hits
		paged := p.allHits("", 2)
		if len(paged) != len(all) || len(all) < 9 {
			t.Fatalf("paged %d hits, one page %d", len(paged), len(all))
		}
		for i := range all {
			if paged[i].Message != all[i].Message || paged[i].Offset != all[i].Offset {
				t.Errorf("hit %d: paged %q, single page %q", i, paged[i].Message, all[i].Message)
			}
		}
	})

	t.Run("context", func(t *testing.T) {
		h := p.search(`"disk almost full"`, "").Hits[0]
		var r struct {
			Hits   []hit `json:"hits"`
			Anchor int   `json:"anchor"`
		}
		q := fmt.Sprintf("/api/context?file_id=%s&offset=%d&host=h1&before=2&after=1", url.QueryEscape(h.FileID), h.Offset)
		if code := p.get(q, &r); code != 200 {
			t.Fatalf("status %d", code)
		}
		var got []string
		for _, x := range r.Hits {
			got = append(got, x.Message)
		}
		if want := appLines[1:5]; !slices.Equal(got, want) || r.Anchor != 2 {
			t.Errorf("context = %q anchor %d, want %q anchor 2", got, r.Anchor, want)
		}
	})

	t.Run("fields, hosts, agents", func(t *testing.T) {
		var f struct {
			Fields []struct {
				Name   string `json:"name"`
				Values []struct {
					Value string `json:"value"`
					Count int64  `json:"count"`
				} `json:"values"`
			} `json:"fields"`
		}
		p.get("/api/fields?q="+url.QueryEscape("level:*")+"&from=now-1h", &f)
		names := []string{}
		for _, x := range f.Fields {
			names = append(names, x.Name)
		}
		if len(f.Fields) < 5 || !slices.Equal(names[:3], []string{"host", "path", "topic"}) ||
			f.Fields[0].Values[0].Value != "h1" || f.Fields[0].Values[0].Count != 2 || !slices.Contains(names, "level") {
			t.Errorf("fields = %+v", f.Fields)
		}
		var hosts struct {
			Hosts []struct {
				Host string `json:"host"`
			} `json:"hosts"`
		}
		p.get("/api/hosts", &hosts)
		if len(hosts.Hosts) != 1 || hosts.Hosts[0].Host != "h1" {
			t.Errorf("hosts = %+v", hosts)
		}
		var agents struct {
			Agents []struct {
				ID string `json:"id"`
			} `json:"agents"`
		}
		p.get("/api/agents", &agents)
		if len(agents.Agents) != 1 || agents.Agents[0].ID != "h1" {
			t.Errorf("agents = %+v", agents)
		}
		if code := p.get("/", nil); code != 200 {
			t.Errorf("GET / = %d, want the UI (or the placeholder page)", code)
		}
	})

	t.Run("bad parameters are 400 with a message", func(t *testing.T) {
		for _, tc := range []struct{ path, param string }{
			{"/api/search?limit=0", "limit"},
			{"/api/search?limit=abc", "limit"},
			{"/api/search?from=yesterday", "from"},
			{"/api/search?to=now-2h&from=now-1h", "from"},
			{"/api/search?q=" + url.QueryEscape(`"unbalanced`), "q"},
			{"/api/search?q=" + url.QueryEscape("(a OR"), "q"},
			{"/api/search?cursor=zzz", "cursor"},
			{"/api/context?offset=1", "file_id"},
			{"/api/context?file_id=1:2&offset=-1", "offset"},
			{"/api/context?file_id=1:2&offset=0&before=9999", "before"},
			{"/api/fields?limit=1000", "limit"},
			{"/api/metrics?field=usage_percent", "measurement"},
			{"/api/metrics?measurement=bogus&field=x", "measurement"},
			{"/api/metrics?measurement=cpu", "field"},
			{"/api/metrics?measurement=cpu&field=usage_percent&step=0s", "step"},
			{"/api/tail?q=" + url.QueryEscape("("), "q"},
		} {
			var e struct {
				Error string `json:"error"`
				Param string `json:"param"`
			}
			if code := p.get(tc.path, &e); code != 400 || e.Param != tc.param || !strings.HasPrefix(e.Error, tc.param+":") {
				t.Errorf("GET %s: status %d, %+v; want 400 naming %s", tc.path, code, e, tc.param)
			}
		}
		var e struct {
			Error string `json:"error"`
		}
		if code := p.get("/api/search?q="+url.QueryEscape(`error "unbalanced`), &e); !strings.Contains(e.Error, "position 6") || code != 400 {
			t.Errorf("syntax error %d %q does not say where", code, e.Error)
		}
		if code := p.get("/api/nothing", &e); code != 404 || e.Error == "" {
			t.Errorf("unknown route: %d %q", code, e.Error)
		}
	})

	t.Run("metrics of an empty store", func(t *testing.T) {
		var m struct {
			StepMS int64 `json:"step_ms"`
			Series []any `json:"series"`
		}
		if code := p.get("/api/metrics?measurement=cpu&field=usage_percent&from=now-1h", &m); code != 200 || m.StepMS != 30000 || m.Series == nil {
			t.Errorf("metrics: %d %+v", code, m)
		}
	})

	t.Run("tail, and resume with Last-Event-ID", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		events := tailStream(t, ctx, p, "/api/tail?q=tailword", "")
		appendLines(t, filepath.Join(dir, "app.log"), "tailword one", "not this one")
		first := <-events
		if first.data == "" || !strings.Contains(first.data, "tailword one") {
			t.Fatalf("first event %+v", first)
		}
		cancel()
		appendLines(t, filepath.Join(dir, "app.log"), "tailword two", "tailword three")
		await.Until(t, 5*time.Second, "the two lines stored", func() bool { return p.search("tailword", "").Total == 3 })
		ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel2()
		resumed := tailStream(t, ctx2, p, "/api/tail?q=tailword", first.id)
		for _, want := range []string{"tailword two", "tailword three"} {
			ev := <-resumed
			if !strings.Contains(ev.data, `"`+want+`"`) {
				t.Fatalf("resumed event %+v, want %q", ev, want)
			}
		}
	})

	t.Run("entries: 403 cross-origin, 400 invalid, 409 stale, 200 starts collection", func(t *testing.T) {
		var list struct {
			Keys []struct {
				Key      string           `json:"key"`
				Entries  []map[string]any `json:"entries"`
				Revision int64            `json:"revision"`
			} `json:"keys"`
		}
		p.get("/api/entries", &list)
		if len(list.Keys) != 1 || list.Keys[0].Key != "collect_log_conf" || list.Keys[0].Revision == 0 || len(list.Keys[0].Entries) != 2 {
			t.Fatalf("entries = %+v", list)
		}
		rev := list.Keys[0].Revision
		same := map[string]string{"Origin": p.base}
		newPath := filepath.Join(dir, "put.log")
		entries := append(list.Keys[0].Entries, map[string]any{"path": newPath, "topic": "put", "start": "beginning"})
		body := map[string]any{"entries": entries, "revision": rev}
		var e map[string]any
		if code := p.put("/api/entries/collect_log_conf", body, &e, map[string]string{"Origin": "http://evil.example"}); code != 403 {
			t.Errorf("cross-origin PUT: %d %v", code, e)
		}
		if code := p.put("/api/entries/collect_log_conf", body, &e, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != 403 {
			t.Errorf("cross-site PUT: %d %v", code, e)
		}
		bad := map[string]any{"entries": append(slices.Clone(list.Keys[0].Entries), map[string]any{"path": newPath}), "revision": rev}
		if code := p.put("/api/entries/collect_log_conf", bad, &e, same); code != 400 || e["param"] != "entries[2].topic" {
			t.Errorf("invalid PUT: %d %v", code, e)
		}
		stale := map[string]any{"entries": entries, "revision": rev - 1}
		var conflict struct {
			Error   string `json:"error"`
			Current struct {
				Revision int64 `json:"revision"`
			} `json:"current"`
		}
		if code := p.put("/api/entries/collect_log_conf", stale, &conflict, same); code != 409 || conflict.Current.Revision != rev {
			t.Errorf("stale PUT: %d %+v", code, conflict)
		}
		var ok struct {
			Revision int64 `json:"revision"`
		}
		if code := p.put("/api/entries/collect_log_conf", body, &ok, same); code != 200 || ok.Revision <= rev {
			t.Fatalf("PUT: %d %+v", code, ok)
		}
		appendLines(t, newPath, "line from the put entry")
		await.Until(t, 10*time.Second, "the PUT entry's file to be collected", func() bool {
			return len(p.search("topic:put", "").Hits) == 1
		})
	})

	t.Run("ctl entries add against the embedded etcd starts collection", func(t *testing.T) {
		path := filepath.Join(dir, "ctl.log")
		out, err := p.ctl("entries", "add", "--key", "collect_log_conf",
			"--entry", fmt.Sprintf(`{"path":%q,"topic":"ctl","start":"beginning"}`, path))
		if err != nil {
			t.Fatalf("ctl: %v\n%s", err, out)
		}
		appendLines(t, path, "line from the ctl entry")
		await.Until(t, 10*time.Second, "the ctl entry's file to be collected", func() bool {
			return len(p.search("topic:ctl", "").Hits) == 1
		})
	})

	t.Run("a taken port is a clear error naming the flag", func(t *testing.T) {
		for _, tc := range []struct {
			o    opts
			flag string
			port string
		}{
			{opts{dataDir: t.TempDir(), httpAddr: o.httpAddr, etcdAddr: e2etest.FreeAddr(t)}, "--http-listen", o.httpAddr},
			{opts{dataDir: t.TempDir(), httpAddr: e2etest.FreeAddr(t), etcdAddr: o.etcdAddr}, "--etcd-listen", o.etcdAddr},
		} {
			q := startNoWait(t, tc.o)
			err := q.Wait()
			_, port, _ := strings.Cut(tc.port, ":")
			if err == nil || !strings.Contains(q.Log(), tc.flag) || !strings.Contains(q.Log(), "port "+port+" is already in use") {
				t.Errorf("second instance on %s: exit %v, stderr %q", tc.port, err, q.Log())
			}
		}
	})

	t.Run("a non-loopback address needs http.auth", func(t *testing.T) {
		_, port, _ := strings.Cut(e2etest.FreeAddr(t), ":")
		q := startNoWait(t, opts{dataDir: t.TempDir(), httpAddr: "0.0.0.0:" + port, etcdAddr: e2etest.FreeAddr(t)})
		if err := q.Wait(); err == nil || !strings.Contains(q.Log(), "http.auth") {
			t.Errorf("0.0.0.0 without auth: exit %v, stderr %q", err, q.Log())
		}
	})

	p.Stop()
}

type event struct{ id, data string }

// tailStream opens an SSE stream and sends each hit event.
func tailStream(t *testing.T, ctx context.Context, p *proc, path, lastID string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp := p.do(req)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan event, 16)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			case line == "" && ev.data != "":
				ch <- ev
				ev = event{}
			}
		}
	}()
	return ch
}
