//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// startEtcdAgent runs the real agent with a config file.
func startEtcdAgent(t *testing.T, cfg string) *e2etest.Proc {
	t.Helper()
	return e2etest.Start(t, "", "agent", "--config", cfg)
}

const appliedMsg = `msg="collect entries applied"`

func etcdEventually(t *testing.T, within time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

func etcdctlCmd(t *testing.T, endpoints []string, args ...string) {
	t.Helper()
	cmd := exec.Command("etcdctl", append([]string{"--endpoints", strings.Join(endpoints, ",")}, args...)...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("etcdctl %v: %v\n%s", args, err, out)
	}
}

// uniqueKeys returns collect keys of this test only: others may watch collect_log_conf.
func uniqueKeys(t *testing.T, cli *clientv3.Client) (global, host string, templates []string) {
	t.Helper()
	s := fmt.Sprintf("_e2e%d", time.Now().UnixNano())
	global, host = "collect_log_conf"+s, "collect_log_127.0.0.1_conf"+s
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, global)
		_, _ = cli.Delete(ctx, host)
	})
	return global, host, []string{global, "collect_log_{ip}_conf" + s}
}

func entryJSON(path, topic string) string {
	return fmt.Sprintf(`[{"path":%q,"topic":%q}]`, path, topic)
}

// outCount is the number of well-formed numbered lines in the output.
func outCount(t *testing.T, out string) int { return len(e2etest.Numbers(t, out)) }

// requireExactlyOnce checks that the output holds every number in [from, to) exactly once.
func requireExactlyOnce(t *testing.T, got []int, from, to int) {
	t.Helper()
	seen := make(map[int]int, len(got))
	for _, n := range got {
		seen[n]++
	}
	for n := from; n < to; n++ {
		switch seen[n] {
		case 1:
		case 0:
			t.Fatalf("line %d lost (range %d..%d)", n, from, to-1)
		default:
			t.Fatalf("line %d delivered %d times", n, seen[n])
		}
	}
}

// TestEtcdHotReload: an entry put with etcdctl in the original format reaches the output
// within a second; a topic change restarts it without loss or duplicate; an invalid value
// is rejected and logged while the entry keeps running; a delete stops the reading.
func TestEtcdHotReload(t *testing.T) {
	eps := testenv.EtcdEndpoints(t)
	cli := e2etest.EtcdClient(t, eps)
	global, _, templates := uniqueKeys(t, cli)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "a.log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.log")
	agent := startEtcdAgent(t, e2etest.EtcdAgentConfig(t, dir, "e2e-hot", eps, templates, 2*time.Second))
	agent.WaitLog(appliedMsg, 1, 10*time.Second)

	stopWriter := startNumberWriter(t, logPath, 0) // ~500 lines/s

	start := time.Now()
	etcdctlCmd(t, eps, "put", global, entryJSON(logPath, "a_log"))
	etcdEventually(t, time.Second, func() bool { return outCount(t, out) > 0 }, "first line within 1s of etcdctl put")
	t.Logf("put → first line at the output: %v", time.Since(start))

	grow := func(what string) {
		t.Helper()
		n := outCount(t, out)
		etcdEventually(t, 5*time.Second, func() bool { return outCount(t, out) >= n+100 }, what)
	}
	grow("lines flowing")
	etcdctlCmd(t, eps, "put", global, entryJSON(logPath, "a2_log"))
	agent.WaitLog(appliedMsg, 3, 2*time.Second)
	grow("lines flowing after the topic change")

	etcdctlCmd(t, eps, "put", global, `[{"path":"`+logPath+`","topic":}]`)
	agent.WaitLog(`msg="collect entries rejected; the key keeps its previous value"`, 1, 2*time.Second)
	if logs := agent.Log(); !strings.Contains(logs, "key="+global) {
		t.Fatalf("rejection log does not name the key %s", global)
	}
	grow("lines still flowing after the invalid put")

	n := stopWriter()
	got := waitEtcdOutput(t, out, n, 10*time.Second)
	requireExactlyOnce(t, got, got[0], n)

	etcdctlCmd(t, eps, "del", global)
	agent.WaitLog(appliedMsg, 4, 2*time.Second)
	before := outCount(t, out)
	stopWriter2 := startNumberWriter(t, logPath, n)
	time.Sleep(1500 * time.Millisecond) // asserting an absence: give the agent time to misbehave
	stopWriter2()
	if after := outCount(t, out); after != before {
		t.Fatalf("output grew from %d to %d lines after the entry was deleted", before, after)
	}
	agent.Stop()
}

// waitEtcdOutput waits until the output's last line is n-1 and returns its numbers.
func waitEtcdOutput(t *testing.T, out string, n int, within time.Duration) []int {
	t.Helper()
	var got []int
	etcdEventually(t, within, func() bool {
		got = e2etest.Numbers(t, out)
		return len(got) > 0 && got[len(got)-1] == n-1
	}, fmt.Sprintf("line %d at the output", n-1))
	return got
}

// startNumberWriter appends numbered lines from first on; the returned stop (also run at
// cleanup) ends the writer and returns the next number it would have written.
func startNumberWriter(t *testing.T, path string, first int) (stop func() int) {
	stopc := make(chan struct{})
	total := e2etest.RunWriter(t, path, first, 5, 0, 10*time.Millisecond, stopc)
	var once sync.Once
	var n int
	stop = func() int {
		once.Do(func() { close(stopc); n = <-total })
		return n
	}
	t.Cleanup(func() { stop() })
	return stop
}

// privateEtcd is a real etcd process of this test alone (the Debian binary), so the test
// can stop it without disturbing other tests that use the shared one.
type privateEtcd struct {
	t            *testing.T
	dir          string
	client, peer string
	cmd          *exec.Cmd
	done         chan error
	log          *e2etest.Buffer
}

func startPrivateEtcd(t *testing.T) *privateEtcd {
	t.Helper()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	dir := filepath.Join(t.TempDir(), "etcd")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e := &privateEtcd{t: t, dir: dir, client: free(), peer: free(), log: &e2etest.Buffer{}}
	e.start()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("private etcd log (tail):\n%s", e2etest.Tail(e.log.String(), 3000))
		}
	})
	return e
}

func (e *privateEtcd) start() {
	e.t.Helper()
	c, p := "http://"+e.client, "http://"+e.peer
	e.cmd = exec.Command("etcd", "--name", "e2e", "--data-dir", e.dir,
		"--listen-client-urls", c, "--advertise-client-urls", c,
		"--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
		"--initial-cluster", "e2e="+p, "--logger=zap", "--log-outputs=stderr")
	e.cmd.Stderr = e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("start etcd (Debian package etcd-server): %v", err)
	}
	e.done = make(chan error, 1)
	go func() { e.done <- e.cmd.Wait() }()
	etcdEventually(e.t, 20*time.Second, func() bool {
		cl := http.Client{Timeout: time.Second}
		resp, err := cl.Get(c + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return bytes.Contains(b, []byte(`"health":"true"`))
	}, "private etcd healthy")
}

func (e *privateEtcd) stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	e.cmd = nil
}

// TestEtcdOutage: entries changed while the agent is cut off from etcd are applied after
// it reconnects; etcd stopped for 20 s while entries change nowhere loses no line; an
// agent that starts while etcd is unreachable runs on its cached entries and catches up.
func TestEtcdOutage(t *testing.T) {
	etcd := startPrivateEtcd(t)
	eps := []string{etcd.client}
	cli := e2etest.EtcdClient(t, eps)
	global, host, templates := uniqueKeys(t, cli)
	proxy := e2etest.NewProxy(t, etcd.client)
	dir := t.TempDir()
	aPath, bPath, cPath := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	for _, p := range []string{aPath, bPath, cPath} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.log")
	// start: beginning for b and c, so the test need not know when the agent first looked.
	bc := func(paths ...string) string {
		var parts []string
		for _, p := range paths {
			parts = append(parts, fmt.Sprintf(`{"path":%q,"topic":"bc_log","start":"beginning"}`, p))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	// put waits for the test's own client to reconnect after an etcd restart.
	put := func(key, val string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := cli.Put(ctx, key, val); err != nil {
			t.Fatal(err)
		}
	}
	put(global, entryJSON(aPath, "a_log"))
	cfg := e2etest.EtcdAgentConfig(t, dir, "e2e-outage", []string{proxy.Addr()}, templates, 2*time.Second)
	agent := startEtcdAgent(t, cfg)
	agent.WaitLog(appliedMsg, 1, 10*time.Second)

	stopWriter := startNumberWriter(t, aPath, 0)
	etcdEventually(t, 5*time.Second, func() bool { return outCount(t, out) > 0 }, "first line")
	flowing := func(what string) {
		t.Helper()
		n := outCount(t, out)
		etcdEventually(t, 5*time.Second, func() bool { return outCount(t, out) > n }, what)
	}

	// 1. Cut off: the host key gains b.log meanwhile.
	proxy.Cut()
	put(host, bc(bPath))
	for range 3 {
		flowing("lines flowing while the agent is cut off")
		time.Sleep(time.Second) // pacing of the cut-off
	}
	proxy.Restore()
	restored := time.Now()
	agent.WaitLog("source=etcd entries=2", 1, 10*time.Second)
	t.Logf("change made while cut off applied %v after reconnection", time.Since(restored))
	appendLine(t, bPath, "B-after-cut")
	waitOutLine(t, out, "B-after-cut", 5*time.Second)

	// 2. etcd stopped for 20 s; nothing changes; lines keep flowing.
	etcd.stop()
	stopped := time.Now()
	for time.Since(stopped) < 20*time.Second {
		flowing("lines flowing while etcd is stopped")
		time.Sleep(time.Second) // pacing of the 20 s outage
	}
	etcd.start()
	restarted := time.Now()
	put(host, bc(bPath, cPath))
	agent.WaitLog("source=etcd entries=3", 1, 10*time.Second)
	t.Logf("first change after the etcd restart applied %v after the restart", time.Since(restarted))
	appendLine(t, cPath, "C-after-restart")
	waitOutLine(t, out, "C-after-restart", 5*time.Second)

	n := stopWriter()
	got := waitEtcdOutput(t, out, n, 10*time.Second)
	requireExactlyOnce(t, got, got[0], n)
	agent.Stop()

	// 3. Restart while etcd is unreachable: the cache brings back all three entries.
	proxy.Cut()
	agent2 := startEtcdAgent(t, cfg)
	agent2.WaitLog("source=cache entries=3", 1, 15*time.Second)
	appendLine(t, cPath, "C-from-cache")
	waitOutLine(t, out, "C-from-cache", 5*time.Second)
	// etcd reachable again: a change made meanwhile is caught up.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.Delete(ctx, host); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()
	agent2.WaitLog("source=etcd entries=1", 1, 15*time.Second)
	agent2.Stop()
}

// TestEtcdCtlRace: two `logcollect ctl entries set` based on the same read race on one
// key: exactly one wins, the other gets a conflict.
func TestEtcdCtlRace(t *testing.T) {
	eps := testenv.EtcdEndpoints(t)
	cli := e2etest.EtcdClient(t, eps)
	global, _, _ := uniqueKeys(t, cli)
	etcdctlCmd(t, eps, "put", global, `[{"path":"/var/log/a.log","topic":"a"}]`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, global)
	if err != nil {
		t.Fatal(err)
	}
	rev := resp.Kvs[0].ModRevision

	type res struct {
		code int
		out  string
	}
	results := make([]res, 2)
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for i := range results {
		cmd := exec.Command(testenv.Binary(t), "ctl", "--endpoints", strings.Join(eps, ","),
			"entries", "set", "--key", global, "--file", "-", "--rev", fmt.Sprint(rev))
		cmd.Dir = t.TempDir() // no logcollect.yaml there: built-in defaults and --endpoints
		cmd.Stdin = strings.NewReader(entryJSON("/var/log/a.log", fmt.Sprintf("writer%d", i)))
		wg.Go(func() {
			<-gun
			b, _ := cmd.CombinedOutput()
			results[i] = res{cmd.ProcessState.ExitCode(), string(b)}
		})
	}
	close(gun)
	wg.Wait()
	wins, conflicts := 0, 0
	for _, r := range results {
		switch {
		case r.code == 0:
			wins++
		case r.code == 3 && strings.Contains(r.out, "changed since it was read"):
			conflicts++
		default:
			t.Errorf("unexpected result: exit %d: %s", r.code, r.out)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and 1: %+v", wins, conflicts, results)
	}
}

// TestEtcdCtlAgents: `logcollect ctl agents` lists a running agent and stops listing it
// within the lease TTL after kill -9.
func TestEtcdCtlAgents(t *testing.T) {
	eps := testenv.EtcdEndpoints(t)
	cli := e2etest.EtcdClient(t, eps)
	_, _, templates := uniqueKeys(t, cli)
	dir := t.TempDir()
	id := fmt.Sprintf("e2e-agents-%d", time.Now().UnixNano())
	agent := startEtcdAgent(t, e2etest.EtcdAgentConfig(t, dir, id, eps, templates, 2*time.Second))

	ctlAgents := func() []map[string]any {
		t.Helper()
		cmd := exec.Command(testenv.Binary(t), "ctl", "--config", filepath.Join(dir, "agent.yaml"), "agents", "--json")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("ctl agents: %v", err)
		}
		var list []map[string]any
		if err := json.Unmarshal(b, &list); err != nil {
			t.Fatalf("ctl agents --json: %v: %s", err, b)
		}
		return list
	}
	listed := func() bool {
		for _, a := range ctlAgents() {
			if a["id"] == id {
				return true
			}
		}
		return false
	}
	etcdEventually(t, 10*time.Second, listed, "the agent in ctl agents")
	table, err := exec.Command(testenv.Binary(t), "ctl", "--config", filepath.Join(dir, "agent.yaml"), "agents").Output()
	if err != nil || !strings.Contains(string(table), id) || !strings.HasPrefix(string(table), "ID") {
		t.Fatalf("ctl agents table (%v):\n%s", err, table)
	}
	agent.Kill()
	killed := time.Now()
	etcdEventually(t, 2*time.Second+1500*time.Millisecond, func() bool { return !listed() }, "the agent gone within the lease TTL (2s)")
	t.Logf("agent unlisted %v after kill -9 (lease TTL 2s)", time.Since(killed))
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Fatal(err)
	}
}

func waitOutLine(t *testing.T, out, line string, within time.Duration) {
	t.Helper()
	etcdEventually(t, within, func() bool {
		b, _ := os.ReadFile(out)
		return bytes.Contains(b, []byte(line+"\n"))
	}, fmt.Sprintf("%q at the output", line))
}

// BenchmarkEtcdPutToFirstLine measures, through the real binary and the real etcd, the time
// from an etcdctl-equivalent put of a new entry to the first line of its file at the
// output. Run with -benchtime=100x for p50/p99 over 100 changes.
func BenchmarkEtcdPutToFirstLine(b *testing.B) {
	eps := testenv.EtcdEndpoints(b)
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	key := fmt.Sprintf("collect_log_conf_bench%d", time.Now().UnixNano())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, key)
	}()
	dir := b.TempDir()
	out := filepath.Join(dir, "out.log")
	cfg := fmt.Sprintf("agent: {id: bench, data_dir: %s, output: file, output_file: %s, scan_interval: 1s}\n"+
		"etcd: {endpoints: [%s], collect_keys: [%s], dial_timeout: 1s}\nhttp: {listen: \"127.0.0.1:0\"}\n",
		filepath.Join(dir, "data"), out, eps[0], key)
	cfgPath := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(testenv.BinaryFor(b, "agent"), "agent", "--config", cfgPath)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		marker := fmt.Sprintf("first-line-of-%d", i)
		path := filepath.Join(dir, fmt.Sprintf("f%d.log", i))
		if err := os.WriteFile(path, []byte(marker+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		val := fmt.Sprintf(`[{"path":%q,"topic":"bench","start":"beginning"}]`, path)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		_, err := cli.Put(ctx, key, val)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		deadline := start.Add(10 * time.Second)
		for {
			data, _ := os.ReadFile(out)
			if bytes.Contains(data, []byte(marker+"\n")) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not at the output within 10s", marker)
			}
			time.Sleep(2 * time.Millisecond) // polling interval of the output file
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// BenchmarkEtcdApply1000Entries puts 1,000 new entries at once (one file each, one line
// each) and measures, through the real binary, the time until every first line is at the
// output, and the agent's peak resident memory.
func BenchmarkEtcdApply1000Entries(b *testing.B) {
	eps := testenv.EtcdEndpoints(b)
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	key := fmt.Sprintf("collect_log_conf_bench1000_%d", time.Now().UnixNano())
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, _ = cli.Delete(ctx, key)
	}()
	const n = 1000
	var worst time.Duration
	var peak int64
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		out := filepath.Join(dir, "out.log")
		logs := filepath.Join(dir, "logs")
		if err := os.Mkdir(logs, 0o755); err != nil {
			b.Fatal(err)
		}
		var parts []string
		for i := range n {
			p := filepath.Join(logs, fmt.Sprintf("f%04d.log", i))
			if err := os.WriteFile(p, fmt.Appendf(nil, "line-of-%04d\n", i), 0o644); err != nil {
				b.Fatal(err)
			}
			parts = append(parts, fmt.Sprintf(`{"path":%q,"topic":"bench","start":"beginning"}`, p))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := cli.Put(ctx, key, "[]")
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		cfg := fmt.Sprintf("agent: {id: bench1000, data_dir: %s, output: file, output_file: %s, max_open_files: 2048}\n"+
			"etcd: {endpoints: [%s], collect_keys: [%s], dial_timeout: 1s}\nhttp: {listen: \"127.0.0.1:0\"}\n",
			filepath.Join(dir, "data"), out, eps[0], key)
		cfgPath := filepath.Join(dir, "agent.yaml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(testenv.BinaryFor(b, "agent"), "agent", "--config", cfgPath)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Let the agent come up on the empty key first.
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(dir, "data", "etcd_entries.json")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("agent did not read etcd within 10s")
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
		b.StartTimer()
		start := time.Now()
		ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
		_, err = cli.Put(ctx, key, "["+strings.Join(parts, ",")+"]")
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		deadline = start.Add(60 * time.Second)
		for {
			data, _ := os.ReadFile(out)
			if bytes.Count(data, []byte("\n")) >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d lines at the output after 60s", bytes.Count(data, []byte("\n")), n)
			}
			time.Sleep(5 * time.Millisecond) // polling interval of the output file
		}
		took := time.Since(start)
		b.StopTimer()
		worst = max(worst, took)
		peak = max(peak, e2etest.MemBytes(cmd.Process.Pid, "VmHWM"))
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
}
