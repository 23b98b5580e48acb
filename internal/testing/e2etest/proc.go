// Package e2etest holds what end-to-end tests of the real logcollect binary share: running
// the binary and reading its log and metrics, numbered log lines (writer and reader), and a
// TCP proxy that cuts or blackholes a connection to a real server.
package e2etest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// Proc is one run of the real binary. Its stderr (the log) and stdout are kept in memory
// (no test here has it print lines to stdout); the test's cleanup kills it if still
// running and prints the end of its log when the test failed.
type Proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	log  *Buffer
	out  *Buffer
	done chan error
	err  error
	exit bool
}

// Start runs `logcollect args...` in dir (the test's working directory when empty):
// logcollect-agent for the host's commands, as hosts run them (testenv.BinaryFor).
func Start(t testing.TB, dir string, args ...string) *Proc {
	t.Helper()
	return StartEnv(t, dir, nil, args...)
}

// StartEnv is Start with env ("KEY=value") added to the test's environment.
func StartEnv(t testing.TB, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, log: &Buffer{}, out: &Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(testenv.BinaryFor(t, args[0]), args...)
	p.cmd.Dir = dir
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start logcollect %s: %v", strings.Join(args, " "), err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			p.wait()
		}
		if t.Failed() {
			t.Logf("logcollect %s (pid %d) log, last lines:\n%s", args[0], p.cmd.Process.Pid, Tail(p.log.String(), 6000))
		}
	})
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Log returns everything the process logged so far.
func (p *Proc) Log() string { return p.log.String() }

// Stdout returns everything the process printed to stdout so far.
func (p *Proc) Stdout() string { return p.out.String() }

// LogCount returns how many log lines contain s.
func (p *Proc) LogCount(s string) int { return p.log.Count(s) }

// WaitLog waits until the process logged s at least n times.
func (p *Proc) WaitLog(s string, n int, within time.Duration) {
	p.t.Helper()
	await.Until(p.t, within, fmt.Sprintf("%d× %q in the log", n, s), func() bool { return p.log.Count(s) >= n })
}

func (p *Proc) exited() bool {
	if p.exit {
		return true
	}
	select {
	case p.err = <-p.done:
		p.exit = true
	default:
	}
	return p.exit
}

func (p *Proc) wait() error {
	if !p.exit {
		p.err, p.exit = <-p.done, true
	}
	return p.err
}

// Wait waits for the process to end and returns how it ended (nil: exit 0).
func (p *Proc) Wait() error { return p.wait() }

// Running says whether the process is still running: a test that expects it to ride
// through a fault checks this.
func (p *Proc) Running() bool { return !p.exited() }

// Stop sends SIGTERM and requires a clean exit 0 within 30 s.
func (p *Proc) Stop() {
	p.t.Helper()
	if p.exited() {
		if p.err != nil {
			p.t.Fatalf("logcollect had already exited with %v before SIGTERM", p.err)
		}
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.err, p.exit = err, true
		if err != nil {
			p.t.Fatalf("logcollect exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatal("logcollect did not exit within 30 s of SIGTERM")
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	_ = p.wait()
}

// FreeAddr returns a loopback address with a port free right now, for a process's
// http.listen (agents of other tests may hold the default port).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Metrics reads the Prometheus text at http://addr/metrics and returns each sample's value
// by its name with labels as written, e.g. `logcollect_kafka_errors_total{kind="other"}`.
func Metrics(addr string) (map[string]float64, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// Buffer is a bytes.Buffer safe for one writer and many readers: a process's log.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count returns how often s occurs.
func (l *Buffer) Count(s string) int { return strings.Count(l.String(), s) }

// Tail returns the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// WriteFile writes a file or fails the test.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// MemBytes reads one memory line of /proc/<pid>/status, "VmRSS" (resident now) or
// "VmHWM" (peak resident), in bytes; 0 when the process is gone.
func MemBytes(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field+":" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// CPUSeconds returns the user+system CPU time a running process used so far (0 when it
// is gone), from /proc/<pid>/stat at the usual 100 ticks a second.
func CPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after its ')' are plain.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// EtcdAgentConfig writes dir/agent.yaml for an agent with output: file (dir/out.log) whose
// entries come from the given etcd endpoints and collect keys only, and returns its path.
func EtcdAgentConfig(t testing.TB, dir, id string, endpoints, keys []string, leaseTTL time.Duration) string {
	t.Helper()
	q := func(l []string) string { b, _ := json.Marshal(l); return string(b) }
	cfg := fmt.Sprintf(`agent:
  id: %s
  data_dir: %s
  output: file
  output_file: %s
  scan_interval: 1s
  checkpoint_interval: 1s
  shutdown_timeout: 5s
etcd:
  endpoints: %s
  collect_keys: %s
  dial_timeout: 1s
  lease_ttl: %s
http: {listen: "127.0.0.1:0"}
log: {level: info}
`, id, filepath.Join(dir, "data"), filepath.Join(dir, "out.log"), q(endpoints), q(keys), leaseTTL)
	path := filepath.Join(dir, "agent.yaml")
	WriteFile(t, path, cfg)
	return path
}

// KafkaAgentConfig writes dir/agent.yaml for an agent with id that reads logPath from the
// beginning into topic on the brokers (no etcd), its HTTP server on listen, and returns
// its path.
func KafkaAgentConfig(t testing.TB, dir, id, logPath, topic, listen string, brokers []string) string {
	t.Helper()
	cfg := fmt.Sprintf(`agent:
  id: %s
  data_dir: %s
  output: kafka
  collect:
    - {path: %s, topic: %s, start: beginning}
kafka:
  brokers: [%s]
etcd:
  endpoints: []
http:
  listen: %s
log:
  level: info
`, id, filepath.Join(dir, "data"), logPath, topic, strings.Join(brokers, ", "), listen)
	path := filepath.Join(dir, "agent.yaml")
	WriteFile(t, path, cfg)
	return path
}

// EtcdClient connects to the endpoints; the test's cleanup closes it.
func EtcdClient(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 3 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}
