//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// TestReloadOnSIGHUP runs the real agent under load (~2,000 lines/s into one file) and
// reloads its config file with SIGHUP: an added entry is applied within a second, a
// changed http.listen is refused with a log line naming the key (the agent keeps running
// its config), and across ten more reloads that add and remove an entry and switch
// log.level, every written line arrives exactly once.
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	entryA := fmt.Sprintf("{path: '%s', topic: a, start: beginning}", a)
	entryB := fmt.Sprintf("{path: '%s', topic: b, start: beginning}", b)
	entryC := fmt.Sprintf("{path: '%s', topic: c, start: beginning}", c)
	// b.log holds lines before its entry exists; c.log is re-added by the reloads but
	// never written, so its entry's coming and going must not touch a's reader.
	const bFirst, bLines = 500_000_000, 100
	var sb strings.Builder
	for i := range bLines {
		sb.WriteString(e2etest.FormatLine(bFirst + i))
	}
	e2etest.WriteFile(t, b, sb.String())

	out := filepath.Join(dir, "out.log")
	cfg := agentConfig(t, dir, 64, "1m", entryA)
	agent := startAgent(t, cfg)
	agent.WaitLog("SIGHUP re-reads the config file", 1, 10*time.Second)
	stop := make(chan struct{})
	total := e2etest.RunWriter(t, a, 0, 4, 0, 2*time.Millisecond, stop)
	hup := func() {
		t.Helper()
		if err := syscall.Kill(agent.Pid(), syscall.SIGHUP); err != nil {
			t.Fatalf("SIGHUP: %v", err)
		}
	}

	// An added entry: applied (the engine has it) within a second of the signal.
	agentConfig(t, dir, 64, "1m", entryA, entryB)
	hup()
	agent.WaitLog("config reloaded", 1, time.Second)
	if n := agent.LogCount("collect entries applied"); n != 2 {
		t.Fatalf("collect entries applied %d times, want 2 (start, reload)", n)
	}

	// A key that needs a restart: refused, named, and the old config keeps running.
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(data), `listen: "127.0.0.1:0"`, `listen: "`+e2etest.FreeAddr(t)+`"`, 1)
	if moved == string(data) {
		t.Fatal("the test config has no http.listen to change")
	}
	e2etest.WriteFile(t, cfg, moved)
	hup()
	agent.WaitLog("key=http.listen", 1, 2*time.Second)
	if !strings.Contains(agent.Log(), "reload refused") {
		t.Fatal("the http.listen change was not logged as refused")
	}

	// Ten reloads under load; each is awaited before the next signal.
	for i := range 10 {
		entries, level := []string{entryA, entryB}, "info"
		if i%2 == 0 {
			entries, level = append(entries, entryC), "debug"
		}
		agentConfig(t, dir, 64, "1m", entries...)
		data, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e2etest.WriteFile(t, cfg, strings.Replace(string(data), "log: {level: "+logLevel()+"}", "log: {level: "+level+"}", 1))
		hup()
		agent.WaitLog("config reloaded", 2+i, 2*time.Second)
		// Each reload lands while a's lines keep flowing: await 200 more first.
		before := len(e2etest.Numbers(t, out))
		await.Until(t, 10*time.Second, "200 more lines delivered", func() bool {
			return len(e2etest.Numbers(t, out)) >= before+200
		})
	}
	close(stop)
	n := <-total
	if !agent.Running() {
		t.Fatal("the agent exited during the reloads")
	}

	want := make(map[int]bool, n+bLines)
	where := make(map[int]string, n+bLines)
	for i := range n {
		want[i], where[i] = true, "a.log"
	}
	for i := range bLines {
		want[bFirst+i], where[bFirst+i] = true, "b.log"
	}
	waitOutput(t, out, want, 30*time.Second, where)
	agent.Stop()
	got := e2etest.Numbers(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d lines delivered for %d written: %d duplicates", len(got), len(want), len(got)-len(want))
	}
	requireOrderPerFile(t, got, where)
	t.Logf("reload test: 12 reloads, %d lines written to a.log under load, %d + %d delivered exactly once", n, n, bLines)
}
