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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/loadgen"
)

// vlKinds are issue 22's search kinds: the standalone's query and VictoriaLogs' LogsQL
// for the same lines, over the last 24 hours unless from says otherwise.
func vlKinds(r loadgen.Realistic) []struct{ name, ours, logsql, from string } {
	return []struct{ name, ours, logsql, from string }{
		{"common_word", "kube", "kube", "24h"},
		{"two_words", "GET 404", "GET 404", "24h"},
		{"rare_ip_phrase", `"` + r.IP(r.N/2) + `"`, `"` + r.IP(r.N/2) + `"`, "24h"},
		{"rare_number", r.ID(r.N / 2), r.ID(r.N / 2), "24h"},
		{"absent_word", loadgen.Absent, loadgen.Absent, "24h"},
		{"field_value", "status:503", "status:503", "24h"},
		{"histogram_1h", "", "*", "1h"},
		{"prefix", loadgen.Prefix + "*", loadgen.Prefix + "*", "24h"},
	}
}

// BenchmarkStandaloneVsVictoriaLogs is issue 22's comparison: LOGCOLLECT_BENCH_LINES lines
// of a realistic access log (loadgen.Realistic, stamped over the last 20 hours) tailed
// from the beginning by `logcollect standalone` (format nginx_combined: stored by event
// time), and the same lines given to VictoriaLogs' single-node server (built from its Go
// module) as one /insert/jsonline stream with each line's _time and status. Reported for
// both: lines/s until all searchable, CPU µs per line, peak RSS (until all searchable,
// and with the searches), disk after a clean
// shutdown (the standalone's store and its embedded etcd apart) and the p95 of 20 runs of
// each search kind, the two servers asked in turn; and the ratios, standalone over
// VictoriaLogs. The standalone alone (LOGCOLLECT_BENCH_VL=off): append → searchable
// while it ingests (prober:
// ingest_append_to_search_p99_ms, a line appended to a second file a second after the
// one before was found). The standalone's search is its UI's first page: the newest 100 lines with
// the histogram and total of the range. VictoriaLogs is timed twice: asked for the
// newest 100 alone (vl_<kind>, issue 22's first comparison; for the histogram of the
// last hour, its hits by minute alone) and asked for the same page as its own web UI
// asks for it, the lines and the hits by step at once (vl_page_<kind>,
// ratio_page_<kind>). LOGCOLLECT_BENCH_HEAP=file saves the standalone's Go heap profile after
// the searches (http.pprof on), LOGCOLLECT_BENCH_CPU=file a CPU profile of the ingest's
// first 4 s. LOGCOLLECT_BENCH_VL=off runs the standalone alone (issue
// 22's 100,000,000 lines: VictoriaLogs' stream of them would not fit in memory), and
// LOGCOLLECT_BENCH_ROUNDS sets the rounds of searches (20); LOGCOLLECT_BENCH_KEEP names a
// new directory for the run's files, kept after it.
func BenchmarkStandaloneVsVictoriaLogs(b *testing.B) {
	r := loadgen.Realistic{N: benchLines(), End: time.Now(), Span: 20 * time.Hour}
	n := r.N
	withVL := os.Getenv("LOGCOLLECT_BENCH_VL") != "off"
	rounds := 20
	if v, err := strconv.Atoi(os.Getenv("LOGCOLLECT_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	dir := b.TempDir()
	if keep := os.Getenv("LOGCOLLECT_BENCH_KEEP"); keep != "" {
		// The run's files stay there (a new directory): its store can then be opened
		// alone, to profile a search of 100 million lines without ingesting them again.
		if err := os.Mkdir(keep, 0o755); err != nil {
			b.Fatal(err)
		}
		dir = keep
	}
	logPath := filepath.Join(dir, "access.log")
	var body bytes.Buffer // VictoriaLogs' stream, built before either server starts
	var vlBody io.Writer
	if withVL {
		vlBody = &body
	}
	writeRealistic(b, r, logPath, vlBody)
	b.ResetTimer()

	// logcollect standalone, alone on the machine while it ingests.
	cfg := filepath.Join(dir, "standalone.yaml")
	heap, cpu := os.Getenv("LOGCOLLECT_BENCH_HEAP"), os.Getenv("LOGCOLLECT_BENCH_CPU")
	entries := fmt.Sprintf("{path: %s, topic: web, format: nginx_combined, start: beginning}", logPath)
	// The standalone alone is timed for append → searchable while it ingests too. Not
	// beside VictoriaLogs: the probes' blocks, stamped now while the log's are hours
	// older, are inserted past them and leave the numbers' tables' pages part empty
	// (+0.2–0.5 MB at 2M lines, where the store is compared with VictoriaLogs').
	probes := prober{path: filepath.Join(dir, "probe.log"), off: withVL}
	if !probes.off {
		appendLines(b, probes.path) // there from the start: the agent tails it with the log
		entries += fmt.Sprintf(", {path: %s, topic: probe, start: beginning}", probes.path)
	}
	conf := "agent:\n  collect: [" + entries + "]\n"
	if heap != "" || cpu != "" {
		conf += "http: {pprof: true}\n"
	}
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	o := opts{dataDir: filepath.Join(dir, "data"), httpAddr: e2etest.FreeAddr(b), etcdAddr: e2etest.FreeAddr(b),
		args: []string{"--config", cfg}}
	p := start(b, o)
	pid := p.Pid()
	c0, t0 := cpuOf(b, pid), time.Now()
	var profiling sync.WaitGroup
	if cpu != "" { // the first seconds of the ingest
		profiling.Go(func() { saveProfile(b, p, "profile?seconds=4", cpu) })
	}
	wait := max(30*time.Minute, time.Duration(n/20000)*time.Second) // 20,000 lines/s at least
	for deadline := t0.Add(wait); p.search("", "&from=now-24h&limit=1").Total < int64(n+probes.n); {
		if time.Now().After(deadline) {
			b.Fatalf("standalone did not store every line within %s", wait)
		}
		probes.step(b, p)
		time.Sleep(50 * time.Millisecond) // polling a rate measurement; the wait bounds nothing
	}
	ours := float64(n) / time.Since(t0).Seconds()
	for probes.pending() { // stored (the total counts it), found by the next search
		if time.Now().After(t0.Add(wait)) {
			b.Fatalf("probe %d stored but not found", probes.n)
		}
		probes.step(b, p)
		time.Sleep(10 * time.Millisecond)
	}
	profiling.Wait()
	oursCPU := float64((cpuOf(b, pid) - c0).Microseconds()) / float64(n)
	oursIngestRSS := peakRSSMiB(b, pid)

	// VictoriaLogs' server, alone while it ingests (the standalone idle beside it).
	var vl *vlServer
	var vpid int
	var theirs, theirsCPU, theirsIngestRSS float64
	if withVL {
		vl = startVL(b, filepath.Join(dir, "vl"))
		vpid = vl.cmd.Process.Pid
		vc0, vt0 := cpuOf(b, vpid), time.Now()
		resp, err := http.Post(vl.base+"/insert/jsonline?_stream_fields=host,path", "application/stream+json", &body)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for want := fmt.Sprintf(`"%d"`, n); !strings.Contains(vl.query(b, "* | stats count() hits"), want); {
			if b.Failed() {
				b.FailNow() // victoria-logs refused the count: it would never reach n
			}
			time.Sleep(50 * time.Millisecond) // polling a rate measurement
		}
		theirs = float64(n) / time.Since(vt0).Seconds()
		theirsCPU = float64((cpuOf(b, vpid) - vc0).Microseconds()) / float64(n)
		theirsIngestRSS = peakRSSMiB(b, vpid)
	}

	// report reports the standalone's a, and beside it VictoriaLogs' v when it ran.
	report := func(what string, a, v float64) {
		b.ReportMetric(a, what)
		if !withVL {
			return
		}
		b.ReportMetric(v, "vl_"+what)
		if v > 0 {
			b.ReportMetric(a/v, "ratio_"+what)
		}
	}
	report("lines/s", ours, theirs)
	report("cpu_us/line", oursCPU, theirsCPU)
	report("ingest_peak_rss_MiB", oursIngestRSS, theirsIngestRSS)
	if len(probes.lat) > 0 {
		_, _, p99 := pcts(probes.lat)
		b.ReportMetric(p99, "ingest_append_to_search_p99_ms")
		b.ReportMetric(slices.Max(probes.lat), "ingest_append_to_search_max_ms")
		b.ReportMetric(float64(len(probes.lat)), "ingest_probes")
	}

	// The searches, the two servers asked in turn so both see the same load.
	kinds := vlKinds(r)
	lat := map[string][]float64{}
	failed := map[string]int{} // searches that ran out of time, by kind
	for range rounds {
		if b.Failed() {
			b.FailNow() // a request to victoria-logs failed
		}
		for _, k := range kinds {
			s := time.Now()
			switch code := p.get("/api/search?limit=100&from=now-"+k.from+"&q="+url.QueryEscape(k.ours), nil); code {
			case 200:
			case 503: // store.query_timeout (10 s) ran out: counted, its time kept
				failed[k.name]++
			default:
				b.Fatalf("%s: status %d", k.name, code)
			}
			lat[k.name] = append(lat[k.name], float64(time.Since(s).Microseconds())/1000)
			if !withVL {
				continue
			}
			q := vlNewest(k.logsql, k.from)
			if k.name == "histogram_1h" {
				q = "_time:1h | stats by (_time:1m) count() hits"
			}
			s = time.Now()
			vl.query(b, q)
			lat["vl_"+k.name] = append(lat["vl_"+k.name], float64(time.Since(s).Microseconds())/1000)
			s = time.Now()
			vl.page(b, k.logsql, k.from)
			lat["vl_page_"+k.name] = append(lat["vl_page_"+k.name], float64(time.Since(s).Microseconds())/1000)
		}
	}
	for _, k := range kinds {
		_, a, _ := pcts(lat[k.name])
		var v float64
		if withVL {
			_, v, _ = pcts(lat["vl_"+k.name])
		}
		report(k.name+"_p95_ms", a, v)
		if pg := lat["vl_page_"+k.name]; len(pg) > 0 {
			_, v, _ = pcts(pg)
			b.ReportMetric(v, "vl_page_"+k.name+"_p95_ms")
			b.ReportMetric(a/v, "ratio_page_"+k.name+"_p95_ms")
		}
		if failed[k.name] > 0 {
			b.ReportMetric(float64(failed[k.name]), k.name+"_timeouts")
		}
	}
	if heap != "" {
		saveProfile(b, p, "heap", heap)
	}

	var theirsRSS float64
	if withVL {
		theirsRSS = peakRSSMiB(b, vpid)
	}
	report("peak_rss_MiB", peakRSSMiB(b, pid), theirsRSS)
	p.Stop()
	if withVL {
		vl.stop(b)
	}
	store, etcd := duBytes(filepath.Join(o.dataDir, "store")), duBytes(filepath.Join(o.dataDir, "etcd"))
	report("disk_MB", float64(store)/1e6, float64(duBytes(filepath.Join(dir, "vl")))/1e6)
	b.ReportMetric(float64(etcd)/1e6, "etcd_disk_MB")
}

// prober times append → searchable while the standalone ingests (issue 22: p99 < 2 s
// throughout, at 100 million lines too): a line with a marker of its own appended to
// a second file the standalone tails, a second after the one before was found, and
// searched for until it is.
type prober struct {
	path string
	off  bool      // no probes
	n    int       // probes appended
	at   time.Time // when the newest was appended, until it is found (zero then)
	next time.Time // when the next may be appended
	lat  []float64 // ms, each probe's append → found
}

func (pr *prober) pending() bool { return !pr.at.IsZero() }

// step appends a probe when none waits and its time has come, or searches for the
// waiting one and times it when found.
func (pr *prober) step(b *testing.B, p *proc) {
	b.Helper()
	if pr.off {
		return
	}
	if !pr.pending() {
		if time.Now().Before(pr.next) {
			return
		}
		pr.n++
		appendLines(b, pr.path, fmt.Sprintf("probe ingestprobe%d", pr.n))
		pr.at = time.Now()
		return
	}
	if len(p.search(fmt.Sprintf("ingestprobe%d", pr.n), "&limit=1").Hits) == 0 {
		return
	}
	pr.lat = append(pr.lat, float64(time.Since(pr.at).Milliseconds()))
	pr.at, pr.next = time.Time{}, time.Now().Add(time.Second)
}

// writeRealistic writes r's lines to path and VictoriaLogs' jsonline stream of them to vl
// (none when vl is nil).
func writeRealistic(b *testing.B, r loadgen.Realistic, path string, vl io.Writer) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var enc *json.Encoder
	if vl != nil {
		enc = json.NewEncoder(vl)
	}
	for i := range r.N {
		line, at := r.Line(i)
		w.WriteString(line)
		w.WriteByte('\n')
		if enc == nil {
			continue
		}
		_, after, _ := strings.Cut(line, `HTTP/1.1" `)
		status, _, _ := strings.Cut(after, " ")
		if err := enc.Encode(map[string]string{"_msg": line, "_time": at.UTC().Format(time.RFC3339Nano),
			"status": status, "host": "h", "path": path}); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

type vlServer struct {
	cmd  *exec.Cmd
	base string
}

// startVL runs VictoriaLogs' server with its defaults (its data in dir) until it answers.
func startVL(b *testing.B, dir string) *vlServer {
	b.Helper()
	addr := e2etest.FreeAddr(b)
	cmd := exec.Command(victoriaLogs(b), "-storageDataPath", dir, "-httpListenAddr", addr, "-loggerLevel", "ERROR",
		"-retentionPeriod", "30d")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	v := &vlServer{cmd: cmd, base: "http://" + addr}
	await.Until(b, 30*time.Second, "victoria-logs to answer", func() bool {
		resp, err := http.Get(v.base + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	return v
}

func (v *vlServer) query(b *testing.B, q string) string {
	b.Helper()
	return v.post(b, "/select/logsql/query", url.Values{"query": {q}})
}

// post posts form to VictoriaLogs' endpoint and returns the answer of a 200. It may run
// on another goroutine than the benchmark's, so it reports a failure with Errorf.
func (v *vlServer) post(b *testing.B, endpoint string, form url.Values) string {
	b.Helper()
	resp, err := http.PostForm(v.base+endpoint, form)
	if err != nil {
		b.Error(err)
		return ""
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Errorf("victoria-logs %s %v: status %d: %s", endpoint, form, resp.StatusCode, data)
	}
	return string(data)
}

// vlNewest is the LogsQL of the newest 100 lines of logsql over the last from.
func vlNewest(logsql, from string) string {
	return "_time:" + from + " " + logsql + " | sort by (_time desc) | limit 100"
}

// page asks VictoriaLogs for what the standalone's first page holds, as its own web UI
// asks for it: the newest 100 lines and the hits by step over the range (the UI's
// histogram: 60 steps of whole minutes, 24 minutes over 24 hours, where the standalone
// rounds its step up to 30 minutes, 48 bars), both requests at once, and returns when
// both are answered. The standalone answers the same in one request.
func (v *vlServer) page(b *testing.B, logsql, from string) {
	b.Helper()
	d, err := time.ParseDuration(from)
	if err != nil {
		b.Fatal(err)
	}
	end := time.Now()
	step := (d / 60).Truncate(time.Minute)
	var wg sync.WaitGroup
	wg.Go(func() { v.query(b, vlNewest(logsql, from)) })
	hits := url.Values{"query": {logsql}, "start": {end.Add(-d).Format(time.RFC3339)},
		"end": {end.Format(time.RFC3339)}, "step": {fmt.Sprintf("%dm", step/time.Minute)}}
	wg.Go(func() {
		if got := v.post(b, "/select/logsql/hits", hits); !strings.Contains(got, `"hits"`) {
			b.Errorf("victoria-logs hits of %q: %.200s", logsql, got)
		}
	})
	wg.Wait()
}

// stop ends the server with SIGTERM (it flushes its parts) and waits for it.
func (v *vlServer) stop(b *testing.B) {
	b.Helper()
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- v.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatal("victoria-logs did not exit within 60 s of SIGTERM")
	}
}

// saveProfile writes the standalone's Go profile at /debug/pprof/<what> (heap: in use and
// allocated; profile?seconds=N: CPU) to path.
func saveProfile(b *testing.B, p *proc, what, path string) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.base+"/debug/pprof/"+what, nil)
	resp := p.do(req)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Errorf("%s profile: status %d, %v", what, resp.StatusCode, err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Error(err)
		return
	}
	b.Logf("%s profile in %s (%s bytes)", what, path, strconv.Itoa(len(data)))
}
