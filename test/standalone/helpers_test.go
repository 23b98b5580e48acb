//go:build integration

// Package standalone_test runs the real `logcollect standalone` binary (temporary data
// dir, random free ports for HTTP and the embedded etcd) and checks its HTTP API.
package standalone_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// proc is one run of the standalone: the binary (e2etest.Proc) and its addresses.
type proc struct {
	*e2etest.Proc
	t       testing.TB
	base    string // http://127.0.0.1:port
	etcd    string // 127.0.0.1:port
	dataDir string
}

// token is the access token the standalone made in its data directory (http.auth unset).
func (p *proc) token() string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dataDir, "http-token"))
	if err != nil {
		p.t.Fatalf("access token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// do sends req with the access token, as a script holding it would.
func (p *proc) do(req *http.Request) *http.Response {
	p.t.Helper()
	req.Header.Set("Authorization", "Bearer "+p.token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// opts are one start's addresses and arguments; the same opts restart on the same data.
type opts struct {
	dataDir, httpAddr, etcdAddr string
	args                        []string
}

func newOpts(t testing.TB, args ...string) opts {
	return opts{dataDir: t.TempDir(), httpAddr: e2etest.FreeAddr(t), etcdAddr: e2etest.FreeAddr(t), args: args}
}

// start runs the binary and waits until it printed its URL and answers /healthz.
func start(t testing.TB, o opts) *proc {
	t.Helper()
	p := startNoWait(t, o)
	await.Until(t, 30*time.Second, "the standalone to print its URL", func() bool {
		if !p.Running() {
			t.Fatalf("standalone exited early: %v", p.Wait())
		}
		return strings.Contains(p.Stdout(), "open http://")
	})
	await.Until(t, 10*time.Second, "/healthz", func() bool {
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func startNoWait(t testing.TB, o opts) *proc {
	t.Helper()
	args := append([]string{"standalone", "--data-dir", o.dataDir, "--http-listen", o.httpAddr, "--etcd-listen", o.etcdAddr}, o.args...)
	return &proc{Proc: e2etest.Start(t, "", args...), t: t, base: "http://" + o.httpAddr, etcd: o.etcdAddr,
		dataDir: o.dataDir}
}

// get fetches path and decodes the JSON answer into v (when not nil); it returns the status.
func (p *proc) get(path string, v any) int {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+path, nil)
	resp := p.do(req)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			p.t.Fatalf("GET %s: decode %q: %v", path, body, err)
		}
	}
	return resp.StatusCode
}

// put sends a JSON body with the access token and headers (an Origin, as a browser would).
func (p *proc) put(path string, body any, v any, headers map[string]string) int {
	p.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPut, p.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp := p.do(req)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			p.t.Fatalf("PUT %s: decode %q: %v", path, data, err)
		}
	}
	return resp.StatusCode
}

// ctl runs `logcollect ctl --data-dir <its data dir> args...` and returns its combined
// output and error.
func (p *proc) ctl(args ...string) (string, error) {
	p.t.Helper()
	out, err := exec.Command(testenv.Binary(p.t), append([]string{"ctl", "--data-dir", p.dataDir}, args...)...).CombinedOutput()
	return string(out), err
}

type hit struct {
	Time      string            `json:"time"`
	Host      string            `json:"host"`
	Path      string            `json:"path"`
	Topic     string            `json:"topic"`
	Offset    int64             `json:"offset"`
	FileID    string            `json:"file_id"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields"`
	Highlight [][2]int          `json:"highlight"`
}

type searchResp struct {
	Hits    []hit  `json:"hits"`
	Cursor  string `json:"cursor"`
	Total   int64  `json:"total"`
	Buckets []struct {
		Time  string `json:"time"`
		Count int64  `json:"count"`
	} `json:"buckets"`
	StepMS int64  `json:"step_ms"`
	Error  string `json:"error"`
	Param  string `json:"param"`
}

// search runs a query over the last hour.
func (p *proc) search(q string, extra string) searchResp {
	p.t.Helper()
	var r searchResp
	if !strings.Contains(extra, "from=") {
		extra += "&from=now-1h"
	}
	if code := p.get("/api/search?q="+url.QueryEscape(q)+extra, &r); code != 200 {
		p.t.Fatalf("search %q: status %d: %s", q, code, r.Error)
	}
	return r
}

// allHits pages through every hit of q (limit per page) and returns them newest first.
func (p *proc) allHits(q string, limit int) []hit {
	p.t.Helper()
	var all []hit
	cursor := ""
	for page := 0; ; page++ {
		extra := fmt.Sprintf("&limit=%d", limit)
		if cursor != "" {
			extra += "&cursor=" + url.QueryEscape(cursor)
		}
		r := p.search(q, extra)
		all = append(all, r.Hits...)
		if r.Cursor == "" {
			return all
		}
		cursor = r.Cursor
		if page > 100000 {
			p.t.Fatal("too many pages")
		}
	}
}

func appendLines(t testing.TB, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// metric returns the value of an unlabelled metric on /metrics (0 when absent).
func (p *proc) metric(name string) float64 {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+"/metrics", nil)
	resp := p.do(req)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	return 0
}
