//go:build integration

package standalone_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
)

// TestKill9ExactlyOnce kills the standalone with SIGKILL five times while lines are
// written, restarting it on the same data each time. At the end every line written is
// searchable exactly once: the store's offsets, committed with the rows, make the lines
// re-read after a restart (the agent's checkpoint lags the store) be skipped.
func TestKill9ExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	// The agent's own checkpoint is written within 10 ms of an acknowledgement by default,
	// which leaves the store's offsets little to do after a kill. A checkpoint that lags by
	// seconds makes every kill re-read stored lines, so the store's skip is what is tested.
	cfgPath := filepath.Join(dir, "standalone.yaml")
	if err := os.WriteFile(cfgPath, []byte("agent:\n  checkpoint_interval: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := newOpts(t, "--config", cfgPath, "--collect", logPath+"=app")
	stop := make(chan struct{})
	written := make(chan int, 1)
	go func() { // about 2,000 lines/s in bursts of 20
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		n := 0
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				written <- n
				return
			case <-tk.C:
			}
			var b strings.Builder
			for range 20 {
				fmt.Fprintf(&b, "L%09d crash test payload\n", n)
				n++
			}
			if _, err := f.WriteString(b.String()); err != nil {
				panic(err)
			}
		}
	}()

	p := start(t, o)
	skipped := 0.0 // lines re-read after a restart and recognised as stored
	for kill := 0; kill < 5; kill++ {
		// Let it ingest for a moment, so the kill lands mid-stream.
		before := p.search("", "").Total
		await.Until(t, 20*time.Second, "ingestion to progress", func() bool { return p.search("", "").Total > before+200 })
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond) // a random moment, not synchronisation
		skipped += p.metric("logcollect_store_duplicates_skipped_total")
		p.Kill()
		p = start(t, o)
	}
	close(stop)
	n := <-written
	await.Until(t, 60*time.Second, fmt.Sprintf("all %d lines to be stored", n), func() bool {
		return p.search("", "&from=now-1h").Total >= int64(n)
	})
	hits := p.allHits("", 1000)
	seen := make([]int, n)
	for _, h := range hits {
		i, err := strconv.Atoi(strings.TrimPrefix(strings.Fields(h.Message)[0], "L"))
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
	t.Logf("%d lines written across 5 kills, each stored once; %.0f re-read lines skipped", n, skipped)
	if skipped == 0 {
		t.Error("no re-read line was skipped: the kills did not exercise the exactly-once path")
	}
	// A clean stop (SIGTERM) and a restart change nothing: the agent's final checkpoint
	// covers every stored line.
	p.Stop()
	p = start(t, o)
	appendLines(t, logPath, fmt.Sprintf("L%09d after the clean restart", n))
	await.Until(t, 10*time.Second, "the line written after the restart", func() bool {
		return p.search("", "").Total == int64(n+1)
	})
	if got := p.metric("logcollect_store_duplicates_skipped_total"); got != 0 {
		t.Errorf("%v lines re-read after a clean stop; the final checkpoint should cover them all", got)
	}
	p.Stop()
}

func head(v []int) []int {
	if len(v) > 10 {
		return v[:10]
	}
	return v
}
