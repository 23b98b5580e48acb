//go:build integration

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

const logrotateBin = "/usr/sbin/logrotate"

// TestLogrotate rotates a file being written fast with the real logrotate, in create and
// in copytruncate mode, under the real agent: every line on disk arrives, in order within
// its file, once.
func TestLogrotate(t *testing.T) {
	if _, err := os.Stat(logrotateBin); err != nil {
		t.Fatalf("logrotate is required (Debian package logrotate): %v", err)
	}
	for _, mode := range []string{"create 0644", "copytruncate"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir() // 0700: logrotate refuses logs in group/world-writable dirs
			logDir := filepath.Join(dir, "logs")
			if err := os.Mkdir(logDir, 0o700); err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(logDir, "app.log")
			conf := filepath.Join(dir, "logrotate.conf")
			rot := fmt.Sprintf("%s {\n    rotate 1000\n    %s\n    missingok\n    nocompress\n}\n", logPath, mode)
			if err := os.WriteFile(conf, []byte(rot), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := agentConfig(t, dir, 64, "2s",
				fmt.Sprintf("{path: %s, topic: app, start: beginning}", logPath))
			agent := startAgent(t, cfg)

			stop := make(chan struct{})
			total := e2etest.RunWriter(t, logPath, 0, 10, 0, 2*time.Millisecond, stop) // ~5,000 lines/s
			// Rotations 1.2 s apart: a file being read is checked for truncation at least
			// every 500 ms while it grows; two copytruncates within one check would leave
			// the generation between them unseen (see the tail package comment).
			for i := range 6 {
				time.Sleep(1200 * time.Millisecond) // let lines pile up between rotations
				out, err := exec.Command(logrotateBin, "-f", "-s", filepath.Join(dir, "state"), conf).CombinedOutput()
				if err != nil {
					t.Fatalf("logrotate run %d: %v\n%s", i, err, out)
				}
			}
			time.Sleep(300 * time.Millisecond)
			close(stop)
			n := <-total

			where := onDisk(t, logDir, "app.log*")
			want := make(map[int]bool, len(where))
			for k := range where {
				want[k] = true
			}
			if mode != "copytruncate" && len(want) != n {
				t.Fatalf("only %d of %d written lines are on disk", len(want), n)
			}
			// copytruncate loses the lines written between its copy and its truncate; that
			// loss is logrotate's, so the promise is every line still on disk.
			t.Logf("%s: wrote %d lines, %d on disk after 6 rotations", mode, n, len(want))
			got := waitOutput(t, filepath.Join(dir, "out.log"), want, 30*time.Second, where)
			requireOrderPerFile(t, got, where)
			distinct := make(map[int]bool, len(got))
			for _, k := range got {
				distinct[k] = true
			}
			dups := len(got) - len(distinct)
			// Lines delivered but no longer on disk: copytruncate loses what is written
			// between its copy and its truncate, and the agent may have read those lines
			// from the original before the truncate. They must be lines that were written.
			extra := len(distinct) - len(want)
			t.Logf("%s: delivered %d lines, %d duplicates, %d read before copytruncate lost them", mode, len(got), dups, extra)
			if dups != 0 {
				t.Fatalf("%d duplicates without any crash", dups)
			}
			for k := range distinct {
				if !want[k] && (mode != "copytruncate" || k < 0 || k >= n) {
					t.Fatalf("line %d delivered but never written or not on disk", k)
				}
			}
			agent.Stop()
		})
	}
}
