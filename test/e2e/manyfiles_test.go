//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// TestTenThousandFiles reads 10,000 files of one glob, most idle, with max_open_files 256:
// every line arrives and the agent never holds more than 256 of them open.
func TestTenThousandFiles(t *testing.T) {
	const (
		files   = 10000
		maxOpen = 256
		active  = 100 // files written again after the first pass
	)
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	next := 0
	for i := range files {
		if err := os.WriteFile(filepath.Join(logDir, fmt.Sprintf("f%05d.log", i)), []byte(e2etest.FormatLine(next)), 0o644); err != nil {
			t.Fatal(err)
		}
		want[next] = true
		next++
	}
	cfg := agentConfig(t, dir, maxOpen, "5m",
		fmt.Sprintf("{path: '%s/*.log', topic: many, start: beginning}", logDir))
	agent := startAgent(t, cfg)

	peak := 0
	stopSampling := make(chan struct{})
	sampled := make(chan int)
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopSampling:
				sampled <- peak
				return
			case <-tk.C:
				peak = max(peak, fdsUnder(agent.Pid(), logDir))
			}
		}
	}()

	start := time.Now()
	waitOutput(t, filepath.Join(dir, "out.log"), want, 120*time.Second, nil)
	t.Logf("first pass: %d files read in %s", files, time.Since(start).Round(time.Millisecond))
	for i := range active { // a few files come alive again
		f, err := os.OpenFile(filepath.Join(logDir, fmt.Sprintf("f%05d.log", i*97)), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(e2etest.FormatLine(next)); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		want[next] = true
		next++
	}
	got := waitOutput(t, filepath.Join(dir, "out.log"), want, 60*time.Second, nil)
	close(stopSampling)
	p := <-sampled
	agent.Stop()
	t.Logf("%d files: %d lines delivered, peak open log descriptors %d (max_open_files %d)",
		files, len(got), p, maxOpen)
	if p > maxOpen {
		t.Fatalf("peak open descriptors %d > max_open_files %d", p, maxOpen)
	}
	if p == 0 {
		t.Fatal("no descriptor ever sampled: the sampler is broken")
	}
	if len(got) != len(want) {
		t.Fatalf("delivered %d lines, want %d (duplicates?)", len(got), len(want))
	}
}
