//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testenv"
)

// agentProc is one run of the real binary.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

// agentConfig writes a YAML config for the agent reading entries into dir/out.log.
func agentConfig(t *testing.T, dir string, maxOpen int, closeInactive string, entries ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `agent:
  id: e2e
  data_dir: %s
  output: file
  output_file: %s
  scan_interval: 1s
  close_inactive: %s
  close_removed_after: 1m
  shutdown_timeout: 5s
  max_open_files: %d
  collect:
`, filepath.Join(dir, "data"), filepath.Join(dir, "out.log"), closeInactive, maxOpen)
	for _, e := range entries {
		fmt.Fprintf(&b, "    - %s\n", e)
	}
	// No etcd: the static entries alone, whatever runs on this machine.
	b.WriteString("etcd: {endpoints: []}\n")
	// A free port: agents of other tests (and `make run`) may hold the default one.
	b.WriteString("http: {listen: \"127.0.0.1:0\"}\n")
	b.WriteString("log: {level: " + logLevel() + "}\n")
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// logLevel is the agent's log level: info, or LOGCOLLECT_E2E_LOG_LEVEL.
func logLevel() string {
	if l := os.Getenv("LOGCOLLECT_E2E_LOG_LEVEL"); l != "" {
		return l
	}
	return "info"
}

func startAgent(t *testing.T, cfg string) *agentProc {
	t.Helper()
	cmd := exec.Command(testenv.Binary(t), "agent", "--config", cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{t: t, cmd: cmd, stderr: &stderr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("agent log (pid %d):\n%s", cmd.Process.Pid, lastBytes(stderr.String(), 4000))
		}
	})
	return p
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and requires a clean exit 0.
func (p *agentProc) stop() {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Fatalf("agent exited with %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.t.Fatalf("agent did not exit 30s after SIGTERM\n%s", p.stderr)
	}
}

// kill sends SIGKILL.
func (p *agentProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// lineRE is the only line shape the writer produces; a torn line does not match.
var lineRE = regexp.MustCompile(`^L(\d{9})\.$`)

func formatLine(n int) string { return fmt.Sprintf("L%09d.\n", n) }

// numbers returns the numbers of the well-formed lines of a file, in file order.
func numbers(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := lineRE.FindSubmatch(sc.Bytes()); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			out = append(out, n)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// writer appends numbered lines to a log file as a logging application does: one
// descriptor in O_APPEND mode, reopened when the path names a new file (after a rename
// rotation; real applications are told by a signal, this one checks now and then).
type writer struct {
	path string
	f    *os.File
	ino  uint64
	next int
}

func (w *writer) open(flags int) error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|flags, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if w.f != nil {
		_ = w.f.Close()
	}
	w.f, w.ino = f, fi.Sys().(*syscall.Stat_t).Ino
	return nil
}

// write appends n lines in one write call, after checking whether the path moved. While
// the path is missing (between logrotate's rename and its create) it keeps writing to the
// old file, as an application does until it is told to reopen; it never creates the file
// itself after the first time, which would race with logrotate's create.
func (w *writer) write(n int) error {
	if w.f == nil {
		if err := w.open(os.O_CREATE); err != nil {
			return err
		}
	} else if fi, err := os.Stat(w.path); err == nil && fi.Sys().(*syscall.Stat_t).Ino != w.ino {
		_ = w.open(0) // gone again already: keep the old descriptor
	}
	var b strings.Builder
	for range n {
		b.WriteString(formatLine(w.next))
		w.next++
	}
	_, err := w.f.WriteString(b.String())
	return err
}

// runWriter writes `perTick` numbered lines, starting at first, every tick until stop is
// closed; it returns the next number it would have written.
func runWriter(t *testing.T, path string, first, perTick int, tick time.Duration, stop <-chan struct{}) <-chan int {
	out := make(chan int, 1)
	go func() {
		w := &writer{path: path, next: first}
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				if w.f != nil {
					_ = w.f.Close()
				}
				out <- w.next
				return
			case <-tk.C:
				if err := w.write(perTick); err != nil {
					t.Errorf("writer: %v", err)
				}
			}
		}
	}()
	return out
}

// waitOutput polls the output until every number in want arrived, or fails.
func waitOutput(t *testing.T, out string, want map[int]bool, timeout time.Duration, where map[int]string) []int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := numbers(t, out)
		seen := make(map[int]bool, len(got))
		for _, n := range got {
			seen[n] = true
		}
		missing := 0
		first := -1
		for n := range want {
			if !seen[n] {
				missing++
				if first < 0 || n < first {
					first = n
				}
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines never arrived (first missing: %d, in %s)", missing, len(want), first, where[first])
		}
		time.Sleep(100 * time.Millisecond) // polling interval of the output file
	}
}

// onDisk maps each number to the log file holding it now (after all rotations).
func onDisk(t *testing.T, dir, glob string) map[int]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]string{}
	for _, f := range files {
		for _, n := range numbers(t, f) {
			m[n] = filepath.Base(f)
		}
	}
	return m
}

// requireOrderPerFile checks that, restricted to the lines of any one file on disk, the
// output is strictly increasing: in order and without duplicates within a file.
func requireOrderPerFile(t *testing.T, got []int, where map[int]string) {
	t.Helper()
	last := map[string]int{}
	for _, n := range got {
		f, ok := where[n]
		if !ok {
			continue
		}
		if prev, ok := last[f]; ok && n <= prev {
			t.Fatalf("file %s: line %d delivered after %d", f, n, prev)
		}
		last[f] = n
	}
}

// fdsUnder counts the process's open descriptors on files under dir.
func fdsUnder(pid int, dir string) int {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}
