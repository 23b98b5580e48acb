//go:build integration

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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

func benchLines() int {
	if v, err := strconv.Atoi(os.Getenv("LOGCOLLECT_BENCH_LINES")); err == nil && v > 0 {
		return v
	}
	return 200000
}

// cpuOf is the user+system CPU time of a process so far.
func cpuOf(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

func peakRSSMiB(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func pcts(v []float64) (float64, float64, float64) {
	slices.Sort(v)
	at := func(p int) float64 { return v[min(len(v)-1, len(v)*p/100)] }
	return at(50), at(95), at(99)
}

// BenchmarkStandaloneEndToEnd: files → standalone → searchable, beside VictoriaLogs' own
// single-node server fed the same lines through /insert/jsonline, in the same run. Also
// search latency per query kind on both, and append-to-searchable latency.
func BenchmarkStandaloneEndToEnd(b *testing.B) {
	n := benchLines()
	dir := b.TempDir()
	logPath := filepath.Join(dir, "access.log")
	f, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	// The lines carry the time of the run in their text: the standalone orders and keeps
	// lines by that time, and the searches below ask for the last 24 hours (with
	// AccessTime's fixed date the wait for every line never ended after that day).
	stamp := time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700")
	for i := range n {
		w.WriteString(strings.Replace(loadgen.AccessLine(i), loadgen.AccessTime, stamp, 1))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ResetTimer()

	// logcollect standalone
	o := opts{dataDir: filepath.Join(dir, "data"), httpAddr: e2etest.FreeAddr(b), etcdAddr: e2etest.FreeAddr(b),
		args: []string{"--collect", logPath + "=web"}}
	p := start(b, o)
	pid := p.Pid()
	c0, t0 := cpuOf(b, pid), time.Now()
	deadline := time.Now().Add(30 * time.Minute)
	for p.search("", "&from=now-24h").Total < int64(n) {
		if time.Now().After(deadline) {
			b.Fatal("standalone did not store every line within 30 minutes")
		}
		time.Sleep(50 * time.Millisecond) // polling a rate measurement; the wait bounds nothing
	}
	e2e := time.Since(t0)
	cpu := cpuOf(b, pid) - c0
	b.ReportMetric(float64(n)/e2e.Seconds(), "e2e_lines/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "e2e_cpu_us/line")
	b.ReportMetric(float64(duBytes(filepath.Join(o.dataDir, "store")))/float64(n), "store_bytes/line")
	b.ReportMetric(peakRSSMiB(b, pid), "peak_rss_MiB")

	kinds := []struct{ name, ours, logsql, from string }{
		{"rare_word_24h", "zebrafish", "zebrafish", "now-24h"},
		{"rare_phrase_ip", `"10.3.77.191"`, `"10.3.77.191"`, "now-24h"},
		{"common_word_1h", "curl", "curl", "now-1h"},
		{"host_and_word", "host:" + hostname(b) + " zebrafish", "zebrafish", "now-24h"},
	}
	for _, k := range kinds {
		var lat []float64
		for range 20 {
			s := time.Now()
			p.get("/api/search?limit=100&from="+k.from+"&q="+url.QueryEscape(k.ours), nil)
			lat = append(lat, float64(time.Since(s).Microseconds())/1000)
		}
		_, p95, _ := pcts(lat)
		b.ReportMetric(p95, k.name+"_p95_ms")
	}

	// Append to searchable.
	var lat []float64
	for i := range 20 {
		marker := fmt.Sprintf("latencymarker%d", i)
		s := time.Now()
		appendLines(b, logPath, "probe "+marker)
		for len(p.search(marker, "&limit=1").Hits) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		lat = append(lat, float64(time.Since(s).Milliseconds()))
	}
	_, _, p99 := pcts(lat)
	b.ReportMetric(p99, "append_to_search_p99_ms")
	p.Kill()

	// VictoriaLogs' own server, the same lines through one /insert/jsonline stream.
	vl := victoriaLogs(b)
	addr := e2etest.FreeAddr(b)
	cmd := exec.Command(vl, "-storageDataPath", filepath.Join(dir, "vl"), "-httpListenAddr", addr, "-loggerLevel", "ERROR")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	await.Until(b, 30*time.Second, "victoria-logs to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	var body bytes.Buffer
	now := time.Now()
	for i := range n {
		j, _ := json.Marshal(map[string]string{"_msg": loadgen.AccessLine(i), "_time": now.Add(time.Duration(i-n) * time.Microsecond).Format(time.RFC3339Nano),
			"host": "h", "path": logPath})
		body.Write(j)
		body.WriteByte('\n')
	}
	vc0, vt0 := cpuOf(b, cmd.Process.Pid), time.Now()
	resp, err := http.Post("http://"+addr+"/insert/jsonline?_stream_fields=host,path", "application/stream+json", &body)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	vlQuery := func(q string) int {
		resp, err := http.PostForm("http://"+addr+"/select/logsql/query", url.Values{"query": {q}})
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return bytes.Count(data, []byte("\n"))
	}
	for vlQuery("* | stats count() hits") == 0 || !strings.Contains(vlCount(b, addr), fmt.Sprintf(`"%d"`, n)) {
		time.Sleep(50 * time.Millisecond) // polling a rate measurement
	}
	vdur := time.Since(vt0)
	vcpu := cpuOf(b, cmd.Process.Pid) - vc0
	b.ReportMetric(float64(n)/vdur.Seconds(), "vl_lines/s")
	b.ReportMetric(float64(vcpu.Microseconds())/float64(n), "vl_cpu_us/line")
	b.ReportMetric((float64(n)/e2e.Seconds())/(float64(n)/vdur.Seconds()), "e2e_vs_vl_ratio")
	for _, k := range kinds {
		var lat []float64
		for range 20 {
			s := time.Now()
			vlQuery("_time:" + strings.TrimPrefix(k.from, "now-") + " " + k.logsql + " | sort by (_time desc) | limit 100")
			lat = append(lat, float64(time.Since(s).Microseconds())/1000)
		}
		_, p95, _ := pcts(lat)
		b.ReportMetric(p95, "vl_"+k.name+"_p95_ms")
	}
}

func vlCount(b *testing.B, addr string) string {
	resp, err := http.PostForm("http://"+addr+"/select/logsql/query", url.Values{"query": {"* | stats count() hits"}})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// victoriaLogs builds VictoriaLogs' single-node server from its Go module (cached in the
// repository's data/tmp), never a downloaded binary.
func victoriaLogs(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(testenv.RepoRoot(b), "data", "tmp", "vlbin")
	path := filepath.Join(bin, "victoria-logs")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	cmd := exec.Command("go", "install", "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.1")
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build victoria-logs: %v\n%s", err, out)
	}
	return path
}

func hostname(b *testing.B) string {
	h, err := os.Hostname()
	if err != nil {
		b.Fatal(err)
	}
	return h
}
