//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

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

// startAgent runs the real agent with a config file.
func startAgent(t *testing.T, cfg string) *e2etest.Proc {
	t.Helper()
	return e2etest.Start(t, "", "agent", "--config", cfg)
}

// waitOutput polls the output until every number in want arrived, or fails.
func waitOutput(t *testing.T, out string, want map[int]bool, timeout time.Duration, where map[int]string) []int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := e2etest.Numbers(t, out)
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
		for _, n := range e2etest.Numbers(t, f) {
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
