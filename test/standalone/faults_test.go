//go:build integration

package standalone_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
)

// TestStoreWALLostReread deletes the store's -wal (and -shm) after kill -9, once the
// agent's checkpoint is durable past every line: the store lost lines it had
// acknowledged. At the restart the standalone moves the checkpoint back to the store's
// offsets, says so (log, metrics, /healthz degraded until the lines are stored again)
// and every line is searchable exactly once. The log file is moved aside during the
// restart so that the degraded state lasts until the test has seen it.
func TestStoreWALLostReread(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	o := newOpts(t, "--collect", logPath+"=app")
	const n = 5000
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("W%06d wal loss payload", i)
	}
	appendLines(t, logPath, lines...)
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}

	p := start(t, o)
	await.Until(t, 30*time.Second, "all lines searchable", func() bool { return p.search("", "").Total == n })
	awaitRegistryOffset(t, o.dataDir, logPath, fi.Size())
	p.Kill()
	wals, _ := filepath.Glob(filepath.Join(o.dataDir, "store", "*.db-wal"))
	if len(wals) == 0 {
		t.Fatal("no -wal file after kill -9: nothing to lose")
	}
	for _, w := range wals {
		for _, f := range []string{w, strings.TrimSuffix(w, "-wal") + "-shm"} {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	aside := filepath.Join(dir, "aside.log")
	if err := os.Rename(logPath, aside); err != nil {
		t.Fatal(err)
	}

	p = startAnyHealth(t, o)
	await.Until(t, 10*time.Second, "/healthz degraded by the lost lines", func() bool {
		status, checks := p.health()
		return status == "degraded" &&
			strings.Contains(checks["store"], "store lost committed lines of 1 files (WAL or database damaged); re-reading them")
	})
	if got := p.metric("logcollect_store_lost_files_total"); got != 1 {
		t.Errorf("logcollect_store_lost_files_total = %v, want 1", got)
	}
	if got := p.metric("logcollect_store_reread_bytes_total"); got != float64(fi.Size()) {
		t.Errorf("logcollect_store_reread_bytes_total = %v, want %d (the whole file: the store kept none of it)", got, fi.Size())
	}
	if log := p.Log(); !strings.Contains(log, "store lost committed lines") || !strings.Contains(log, logPath) {
		t.Errorf("no warning naming %s in the log:\n%s", logPath, log)
	}

	if err := os.Rename(aside, logPath); err != nil {
		t.Fatal(err)
	}
	await.Until(t, 30*time.Second, "/healthz ok once the lines are stored again", func() bool {
		status, _ := p.health()
		return status == "ok"
	})
	requireEachOnce(t, p, "W", n)
	p.Stop()
}

// TestStoreDiskFull puts the store on a 3 MiB tmpfs and fills it: /healthz is degraded
// while commits fail, ok again once space is back (the tmpfs grown), and every line
// written before and during the fault is searchable exactly once.
func TestStoreDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	o := newOpts(t, "--collect", logPath+"=app")
	storeDir := filepath.Join(o.dataDir, "store")
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		t.Fatal(err)
	}
	run(t, "mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", storeDir)
	t.Cleanup(func() { run(t, "umount", storeDir) })

	p := start(t, o)
	const before, during = 1000, 6000
	lines := make([]string, 0, during)
	for i := range before {
		lines = append(lines, fmt.Sprintf("D%06d before the disk fills", i))
	}
	appendLines(t, logPath, lines...)
	await.Until(t, 30*time.Second, "the lines before the fault searchable", func() bool {
		return p.search("", "").Total == before
	})
	lines = lines[:0]
	buf := make([]byte, 256)
	for i := range during { // 512 random hex characters each: neither compression nor the index shrinks them
		_, _ = rand.Read(buf)
		lines = append(lines, fmt.Sprintf("D%06d %s", before+i, hex.EncodeToString(buf)))
	}
	appendLines(t, logPath, lines...)
	await.Until(t, 60*time.Second, "/healthz degraded by the failing writes", func() bool {
		status, checks := p.health()
		return status == "degraded" && strings.Contains(checks["store"], "store writes failing")
	})
	if got := p.metric("logcollect_store_write_failing"); got != 1 {
		t.Errorf("logcollect_store_write_failing = %v, want 1", got)
	}

	run(t, "mount", "-o", "remount,size=64m", storeDir)
	await.Until(t, 60*time.Second, "/healthz ok once space is back", func() bool {
		status, _ := p.health()
		return status == "ok"
	})
	if got := p.metric("logcollect_store_write_failing"); got != 0 {
		t.Errorf("logcollect_store_write_failing = %v after recovery, want 0", got)
	}
	requireEachOnce(t, p, "D", before+during)
	p.Stop()
}

// health returns /healthz's status and its checks.
func (p *proc) health() (string, map[string]string) {
	p.t.Helper()
	var rep struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	p.get("/healthz", &rep)
	return rep.Status, rep.Checks
}

// startAnyHealth runs the binary and waits until it listens, whatever /healthz says.
func startAnyHealth(t *testing.T, o opts) *proc {
	t.Helper()
	p := startNoWait(t, o)
	await.Until(t, 30*time.Second, "the standalone to print its URL", func() bool {
		if !p.Running() {
			t.Fatalf("standalone exited early: %v", p.Wait())
		}
		return strings.Contains(p.Stdout(), "open http://")
	})
	return p
}

// awaitRegistryOffset waits until the agent's checkpoint registry, on disk, holds path at
// offset (the registry is written within 10 s of a change).
func awaitRegistryOffset(t *testing.T, dataDir, path string, offset int64) {
	t.Helper()
	await.Until(t, 30*time.Second, fmt.Sprintf("the checkpoint registry to hold %s at %d", path, offset), func() bool {
		data, err := os.ReadFile(filepath.Join(dataDir, "agent", "registry.json"))
		if err != nil {
			return false
		}
		var reg struct {
			Files []struct {
				Path   string `json:"path"`
				Offset int64  `json:"offset"`
			} `json:"files"`
		}
		if err := json.Unmarshal(data, &reg); err != nil {
			return false
		}
		for _, f := range reg.Files {
			if f.Path == path && f.Offset == offset {
				return true
			}
		}
		return false
	})
}

// requireEachOnce waits for n lines and checks that lines "<prefix>%06d ..." 0..n-1 are
// each stored exactly once.
func requireEachOnce(t *testing.T, p *proc, prefix string, n int) {
	t.Helper()
	await.Until(t, 60*time.Second, fmt.Sprintf("%d lines searchable", n), func() bool {
		return p.search("", "").Total >= int64(n)
	})
	seen := make([]int, n)
	hits := p.allHits("", 1000)
	for _, h := range hits {
		i, err := strconv.Atoi(strings.TrimPrefix(strings.Fields(h.Message)[0], prefix))
		if err != nil || i >= n {
			t.Fatalf("unexpected line %q", h.Message)
		}
		seen[i]++
	}
	var missing, dup []int
	for i, c := range seen {
		if c == 0 {
			missing = append(missing, i)
		}
		if c > 1 {
			dup = append(dup, i)
		}
	}
	if len(missing) > 0 || len(dup) > 0 || len(hits) != n {
		t.Fatalf("%d lines written, %d stored: %d missing (first %v), %d duplicated (first %v)",
			n, len(hits), len(missing), head(missing), len(dup), head(dup))
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
