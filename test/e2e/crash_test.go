//go:build integration

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestCrashRecovery kills the real agent with SIGKILL at random moments while lines are
// written fast and the file is rotated (rename + create), restarting it each time. At the
// end no line is missing; duplicates are reported and must stay within the in-flight
// window (what was read since the last checkpoint write) per kill.
func TestCrashRecovery(t *testing.T) {
	const (
		kills        = 6
		linesPerTick = 10
		tick         = 2 * time.Millisecond // ~5,000 lines/s
	)
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(logDir, "app.log")
	cfg := agentConfig(t, dir, 64, "2s",
		fmt.Sprintf("{path: '%s*', topic: app, start: beginning}", logPath))

	stop := make(chan struct{})
	total := runWriter(t, logPath, linesPerTick, tick, stop)
	var rotWG sync.WaitGroup
	rotWG.Add(1)
	rotations := 0
	go func() { // rename + create every ~700 ms
		defer rotWG.Done()
		tk := time.NewTicker(700 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				rotations++
				if err := os.Rename(logPath, fmt.Sprintf("%s.%d", logPath, rotations)); err != nil {
					t.Errorf("rotate: %v", err)
					return
				}
				f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					t.Errorf("create: %v", err)
					return
				}
				_ = f.Close()
			}
		}
	}()

	agent := startAgent(t, cfg)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := range kills {
		// A random moment, at least 1.1 s after the start, so that each run has written
		// a checkpoint (every second) and the in-flight window stays one interval.
		time.Sleep(time.Duration(1100+rng.IntN(1400)) * time.Millisecond)
		agent.kill()
		t.Logf("kill %d: SIGKILL sent", i+1)
		agent = startAgent(t, cfg)
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	n := <-total
	rotWG.Wait()

	where := onDisk(t, logDir, "app.log*")
	if len(where) != n {
		t.Fatalf("only %d of %d written lines are on disk", len(where), n)
	}
	want := make(map[int]bool, n)
	for k := range n {
		want[k] = true
	}
	waitOutput(t, filepath.Join(dir, "out.log"), want, 60*time.Second, where)
	agent.stop()
	got := numbers(t, filepath.Join(dir, "out.log"))
	dups := len(got) - n
	// In flight per kill: what was read after the last checkpoint write that reached the
	// disk, i.e. at most one checkpoint interval (1 s) plus the 100 ms sync of acked
	// offsets; reading keeps up with writing, so that is about 1.1 s of writing. Bound:
	// 1.5 s of writing per kill.
	bound := kills * 3 * int(time.Second/tick) * linesPerTick / 2
	t.Logf("crash test: %d kills, %d rotations, %d lines written, %d delivered, %d duplicates (bound %d)",
		kills, rotations, n, len(got), dups, bound)
	if dups > bound {
		t.Fatalf("%d duplicates exceed the in-flight bound %d", dups, bound)
	}
}
