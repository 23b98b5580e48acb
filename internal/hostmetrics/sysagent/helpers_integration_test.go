//go:build integration

package sysagent_test

import (
	"crypto/rand"
	"encoding/hex"
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
	"syscall"
	"testing"
	"time"
)

var httpClient = &http.Client{Timeout: 10 * time.Second}

func suffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// series is one series of an InfluxQL answer.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// column returns the values of one column as floats (nulls left out).
func (s series) column(name string) []float64 {
	var out []float64
	for i, c := range s.Columns {
		if c != name {
			continue
		}
		for _, row := range s.Values {
			if v, ok := row[i].(float64); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

// influxQuery runs one InfluxQL statement; a statement error fails the test.
func influxQuery(t *testing.T, base, db, q string) []series {
	t.Helper()
	out, err := tryInfluxQuery(base, db, q)
	if err != nil {
		t.Fatalf("InfluxQL %q: %v", q, err)
	}
	return out
}

func tryInfluxQuery(base, db, q string) ([]series, error) {
	resp, err := httpClient.PostForm(base+"/query", url.Values{"db": {db}, "q": {q}, "epoch": {"s"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Series []series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if body.Error != "" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	var out []series
	for _, r := range body.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("%s", r.Error)
		}
		out = append(out, r.Series...)
	}
	return out, nil
}

// promResult is an instant-vector answer of Prometheus.
type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// promQuery runs an instant PromQL query; an error answer (bad syntax) is returned.
func promQuery(base, expr string) ([]promResult, error) {
	resp, err := httpClient.PostForm(base+"/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s", body.Error)
	}
	if body.Data.ResultType == "scalar" {
		return []promResult{{}}, nil
	}
	var res []promResult
	if err := json.Unmarshal(body.Data.Result, &res); err != nil {
		return nil, err
	}
	// NaN (a quantile over no observations) is no data to show.
	kept := res[:0]
	for _, r := range res {
		if len(r.Value) == 2 && r.Value[1] != "NaN" {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// memTotal is MemTotal of /proc/meminfo in bytes.
func memTotal(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

// statfsTotal is the size of the file system at path, as statfs(2) reports it.
func statfsTotal(t *testing.T, path string) float64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatalf("statfs %s: %v", path, err)
	}
	return float64(st.Blocks) * float64(st.Bsize)
}

// proc is a logcollect binary run by a test, stopped with SIGTERM at cleanup.
type proc struct {
	cmd    *exec.Cmd
	stderr string
	done   chan error
}

func startBinary(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{cmd: exec.Command(bin, args...), stderr: filepath.Join(dir, "stderr"), done: make(chan error, 1)}
	f, err := os.Create(p.stderr)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = f
	p.cmd.Stdout = f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	_ = f.Close()
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM and waits; a non-zero exit fails the test (with its log).
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%v exited with %v; log:\n%s", p.cmd.Args, err, p.log())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%v did not stop within 20s of SIGTERM; log:\n%s", p.cmd.Args, p.log())
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.stderr)
	return string(b)
}

func httpGet(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
