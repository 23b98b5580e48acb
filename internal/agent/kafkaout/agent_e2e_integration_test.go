//go:build integration

package kafkaout

// End-to-end tests through the real `logcollect agent` binary with agent.output: kafka
// and the real Kafka: the INI example, SIGKILL during a long run, and a broker outage.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// startAgent runs `logcollect agent -config cfg` in dir with extra environment.
func startAgent(t *testing.T, dir, cfg string, env ...string) *e2etest.Proc {
	t.Helper()
	return e2etest.StartEnv(t, dir, env, "agent", "-config", cfg)
}

func endOffsetsTotal(t *testing.T, adm *kadm.Client, topic string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return -1
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			total += o.Offset
		}
	})
	return total
}

// lineCounter consumes a topic in the background and counts distinct source offsets.
type lineCounter struct {
	mu      sync.Mutex
	seen    map[string]int // offset header → copies
	records int
	values  map[string]bool
	cancel  context.CancelFunc
	done    chan struct{}
}

func countLines(t *testing.T, brokers []string, topic string, keepValues bool) *lineCounter {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	lc := &lineCounter{seen: map[string]int{}, values: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(lc.done)
		defer cl.Close()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			lc.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				lc.records++
				lc.seen[offsetOf(headersOf(r))]++
				if keepValues {
					lc.values[string(r.Value)] = true
				}
			})
			lc.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-lc.done })
	return lc
}

func (lc *lineCounter) distinct() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return len(lc.seen)
}

func (lc *lineCounter) duplicates() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.records - len(lc.seen)
}

func (lc *lineCounter) hasValue(v string) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.values[v]
}

func appendLines(t *testing.T, path string, from, n int, pad string) {
	t.Helper()
	if err := writeLines(path, from, n, pad); err != nil {
		t.Fatal(err)
	}
}

// writeLines appends lines "line <i> <pad>"; safe to call from any goroutine.
func writeLines(path string, from, n int, pad string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := from; i < from+n; i++ {
		fmt.Fprintf(w, "line %09d %s\n", i, pad)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// The original course project's INI file ships the file's new lines to the topic.
func TestIntegrationAgentINIExample(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	dir := t.TempDir()
	topic := fmt.Sprintf("ini_example_%d", time.Now().UnixNano()) // created by the broker on first use
	logPath := filepath.Join(dir, "app.log")
	appendLines(t, logPath, 0, 100, "old, written before the agent started: not shipped")
	ini := fmt.Sprintf("[kafka]\naddress = %s\ntopic = %s\nchan_size = 100000\n\n[collect]\nlogfile_path = ./app.log\n", brokers[0], topic)
	if err := os.WriteFile(filepath.Join(dir, "config.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	lc := countLines(t, brokers, topic, true)
	p := startAgent(t, dir, "config.ini", "LOGCOLLECT_HTTP_LISTEN="+e2etest.FreeAddr(t))

	// The agent starts new files at their end: write a probe line until one arrives, so
	// the test knows the agent follows the file.
	deadline := time.Now().Add(60 * time.Second)
	next := 1000
	for lc.distinct() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no line reached topic %s within 60s; agent log:\n%s", topic, p.Log())
		}
		appendLines(t, logPath, next, 1, "probe")
		next++
		time.Sleep(200 * time.Millisecond) // pacing the probes, not synchronisation
	}
	const n = 5000
	appendLines(t, logPath, 10000, n, "new")
	eventually(t, 60*time.Second, "the new lines in Kafka", func() bool {
		return lc.hasValue(fmt.Sprintf("line %09d new", 10000+n-1))
	})
	for i := 10000; i < 10000+n; i++ {
		if v := fmt.Sprintf("line %09d new", i); !lc.hasValue(v) {
			t.Fatalf("%q missing from Kafka", v)
		}
	}
	if lc.hasValue(fmt.Sprintf("line %09d old, written before the agent started: not shipped", 0)) {
		t.Errorf("a line written before the agent started was shipped (start: end expected)")
	}
	p.Stop()
}

// SIGKILL five times during a 1,000,000-line run: every line arrives; at most 0.1 s of
// traffic is sent twice per kill.
func TestIntegrationAgentSIGKILL(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	dir := t.TempDir()
	topic := createTopic(t, brokers, "e2e-sigkill", 3, nil)
	logPath := filepath.Join(dir, "big.log")
	cfgPath := e2etest.KafkaAgentConfig(t, dir, "e2e-agent", logPath, topic, "127.0.0.1:0", brokers)
	const total, kills = 1_000_000, 5
	pad := strings.Repeat("x", 100) // ~120-byte lines

	admCl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	// The writer appends while the agent runs and is killed.
	writerDone := make(chan error, 1)
	appendLines(t, logPath, 0, 1000, pad)
	go func() {
		for i := 1000; i < total; i += 9000 {
			if err := writeLines(logPath, i, min(9000, total-i), pad); err != nil {
				writerDone <- err
				return
			}
			time.Sleep(100 * time.Millisecond) // ~90,000 lines/s: the run lasts ~11 s
		}
		writerDone <- nil
	}()

	p := startAgent(t, dir, cfgPath)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of the last agent:\n%s", p.Log())
		}
	})
	start := time.Now()
	var atKill []int64
	for k := 1; k <= kills; k++ {
		// Kill every ~2 s of the run, after the agent made progress since the last start
		// (so each kill interrupts real work, not a process still starting up).
		before := endOffsetsTotal(t, adm, topic)
		time.Sleep(2 * time.Second) // the scenario's kill interval
		// Or everything is in Kafka already: the agent may finish before the last kills.
		eventually(t, 60*time.Second, fmt.Sprintf("progress before kill %d", k), func() bool {
			n := endOffsetsTotal(t, adm, topic)
			return n > before || n >= total
		})
		p.Kill()
		atKill = append(atKill, endOffsetsTotal(t, adm, topic))
		p = startAgent(t, dir, cfgPath)
	}
	t.Logf("records in Kafka at each kill: %v", atKill)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	lc := countLines(t, brokers, topic, false)
	eventually(t, 180*time.Second, "every line in Kafka", func() bool { return lc.distinct() >= total })
	elapsed := time.Since(start)
	p.Stop()
	if d := lc.distinct(); d != total {
		t.Fatalf("%d distinct lines in Kafka, want %d", d, total)
	}
	// The promise (docs/tailing.md): a kill re-sends at most about 0.1 s of traffic,
	// the lines acknowledged since the last checkpoint save; the writer's 90,000 lines/s
	// make that 9,000 lines per kill.
	bound := kills * 9000
	t.Logf("SIGKILL x%d during %d lines: all arrived in %s, %d duplicates (%.3f%%, bound %d)",
		kills, total, elapsed.Round(time.Millisecond), lc.duplicates(), 100*float64(lc.duplicates())/total, bound)
	if d := lc.duplicates(); d > bound {
		t.Errorf("%d duplicates after %d kills: more than 0.1 s of traffic (%d) per kill", d, kills, bound)
	}
}

// The broker is stopped for 30 s while lines are written at a high rate, then started:
// every line arrives, the agent's RSS stays under 150 MiB, /healthz reports degraded.
// It stops the shared broker with scripts/services.sh and always starts it again.
func TestIntegrationAgentBrokerOutage(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	root := testenv.RepoRoot(t)
	services := func(action string) error {
		cmd := exec.Command(filepath.Join(root, "scripts", "services.sh"), action, "kafka")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("services.sh %s kafka: %w\n%s", action, err, out)
		}
		return nil
	}
	t.Cleanup(func() {
		if err := services("up"); err != nil {
			t.Errorf("Kafka left stopped: %v", err)
		}
	})

	dir := t.TempDir()
	topic := createTopic(t, brokers, "e2e-outage", 3, nil)
	logPath := filepath.Join(dir, "busy.log")
	listen := e2etest.FreeAddr(t)
	cfgPath := e2etest.KafkaAgentConfig(t, dir, "e2e-agent", logPath, topic, listen, brokers)
	appendLines(t, logPath, 0, 1, "first")
	p := startAgent(t, dir, cfgPath)

	// Writer: 20,000 lines/s of ~120 bytes until stopped.
	pad := strings.Repeat("y", 100)
	stopWriter := make(chan struct{})
	written := make(chan int, 1)
	writeErr := make(chan error, 1)
	go func() {
		n := 1
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWriter:
				written <- n
				return
			case <-tick.C:
				if err := writeLines(logPath, n, 1000, pad); err != nil {
					writeErr <- err
					written <- n
					return
				}
				n += 1000
			}
		}
	}()
	// RSS sampler.
	var maxRSS int64
	var rssMu sync.Mutex
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for {
			select {
			case <-stopRSS:
				return
			case <-time.After(100 * time.Millisecond):
				r := e2etest.MemBytes(p.Pid(), "VmRSS")
				rssMu.Lock()
				maxRSS = max(maxRSS, r)
				rssMu.Unlock()
			}
		}
	}()

	healthz := func() (int, string) {
		resp, err := http.Get("http://" + listen + "/healthz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	time.Sleep(5 * time.Second) // run at full rate before the outage (a phase of the scenario)
	if err := services("down"); err != nil {
		t.Fatal(err)
	}
	outageStart := time.Now()
	sawDegraded := false
	for time.Since(outageStart) < 30*time.Second {
		if code, body := healthz(); code == http.StatusServiceUnavailable {
			var rep struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			if json.Unmarshal([]byte(body), &rep) == nil && rep.Status == "degraded" && rep.Checks["kafka"] != "" && rep.Checks["kafka"] != "ok" {
				sawDegraded = true
			}
		}
		time.Sleep(500 * time.Millisecond) // polling /healthz through the outage
	}
	if err := services("up"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // writing on after the broker is back (a phase of the scenario)
	close(stopWriter)
	total := <-written
	select {
	case err := <-writeErr:
		t.Fatal(err)
	default:
	}

	lc := countLines(t, brokers, topic, false)
	eventually(t, 180*time.Second, "every line in Kafka", func() bool { return lc.distinct() >= total })
	close(stopRSS)
	<-rssDone
	p.Stop()
	if d := lc.distinct(); d != total {
		t.Fatalf("%d distinct lines in Kafka, want %d", d, total)
	}
	t.Logf("broker outage 30s: %d lines written, all arrived, %d duplicates, agent peak RSS %.1f MiB",
		total, lc.duplicates(), float64(maxRSS)/(1<<20))
	if maxRSS >= 150<<20 {
		t.Errorf("agent RSS peaked at %.1f MiB, want < 150 MiB", float64(maxRSS)/(1<<20))
	}
	if !sawDegraded {
		t.Errorf("/healthz never reported the kafka check degraded during the 30s outage (is Sink.Run running?)")
	}
}

// SIGTERM while a backlog is being shipped: the agent flushes what it handed to the
// producer and saves the checkpoint there, so a restart neither loses nor repeats a line.
func TestIntegrationAgentSIGTERMFlushes(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	dir := t.TempDir()
	topic := createTopic(t, brokers, "e2e-sigterm", 3, nil)
	logPath := filepath.Join(dir, "backlog.log")
	cfgPath := e2etest.KafkaAgentConfig(t, dir, "e2e-agent", logPath, topic, "127.0.0.1:0", brokers)
	const total = 500_000
	appendLines(t, logPath, 0, total, strings.Repeat("z", 100))
	admCl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)

	p := startAgent(t, dir, cfgPath)
	eventually(t, 60*time.Second, "shipping under way", func() bool { return endOffsetsTotal(t, adm, topic) > 0 })
	p.Stop() // SIGTERM mid-backlog
	atStop := endOffsetsTotal(t, adm, topic)

	p = startAgent(t, dir, cfgPath)
	lc := countLines(t, brokers, topic, false)
	eventually(t, 120*time.Second, "every line in Kafka", func() bool { return lc.distinct() >= total })
	p.Stop()
	if d := lc.distinct(); d != total {
		t.Fatalf("%d distinct lines, want %d", d, total)
	}
	t.Logf("SIGTERM after %d of %d lines: %d duplicates after the restart", atStop, total, lc.duplicates())
	if dups := lc.duplicates(); dups != 0 {
		t.Errorf("%d duplicates after a clean SIGTERM: the checkpoint was behind what Kafka had", dups)
	}
}
