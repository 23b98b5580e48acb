package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/testing/await"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCfg(t *testing.T) (config.Config, string) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Agent.ID = "a1"
	cfg.Agent.DataDir = filepath.Join(dir, "data")
	cfg.Agent.Output = "file"
	cfg.Agent.OutputFile = filepath.Join(dir, "out.log")
	cfg.Agent.ScanInterval = config.Duration(100 * time.Millisecond)
	cfg.Agent.ShutdownTimeout = config.Duration(2 * time.Second)
	return cfg, dir
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, 10*time.Second, what, cond)
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*config.Config)
		want string
	}{
		{"kafka without sink", func(c *config.Config) { c.Agent.Output = "kafka" }, "kafka"},
		{"unknown output", func(c *config.Config) { c.Agent.Output = "carrier-pigeon" }, "agent.output"},
		{"bad entry", func(c *config.Config) { c.Agent.Collect = []entry.Entry{{Path: "x", Topic: "t"}} }, "agent.collect"},
		{"bad max_open_files", func(c *config.Config) { c.Agent.MaxOpenFiles = 0 }, "max_open_files"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := testCfg(t)
			tc.mod(&cfg)
			_, err := New(cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRunFileOutputAndFinalCheckpoint(t *testing.T) {
	cfg, dir := testCfg(t)
	logPath := filepath.Join(dir, "app.log")
	if err := os.WriteFile(logPath, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Agent.Collect = []entry.Entry{{Path: logPath, Topic: "t", Start: entry.StartBeginning}}
	a, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, "two lines in the output", func() bool {
		b, _ := os.ReadFile(cfg.Agent.OutputFile)
		return string(b) == "one\ntwo\n"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, err := checkpoint.Open(cfg.Agent.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := st.All()
	if len(all) != 1 || all[0].Offset != 8 {
		t.Fatalf("checkpoints after shutdown: %+v", all)
	}
}

// runSink is an asynchronous sink: it acks from its own goroutine, and must be running.
type runSink struct {
	ch      chan []pipeline.Event
	mu      sync.Mutex
	lines   []string
	stopped bool
}

func (s *runSink) Publish(ctx context.Context, b []pipeline.Event) error {
	select {
	case s.ch <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *runSink) Run(ctx context.Context) error {
	for {
		select {
		case b := <-s.ch:
			s.mu.Lock()
			for _, ev := range b {
				s.lines = append(s.lines, string(ev.Line))
				ev.Ack.Ack(ev.Offset, ev.End)
			}
			s.mu.Unlock()
		case <-ctx.Done():
			s.mu.Lock()
			s.stopped = true
			s.mu.Unlock()
			return nil
		}
	}
}

type source struct{ snaps [][]entry.Entry }

func (s source) Run(ctx context.Context, apply func([]entry.Entry) error) error {
	for _, snap := range s.snaps {
		_ = apply(snap) // an invalid snapshot is refused; the next one is applied
	}
	<-ctx.Done()
	return nil
}

func TestRunWithSinkAndEntrySource(t *testing.T) {
	cfg, dir := testCfg(t)
	cfg.Agent.Output = "kafka" // the sink passed in replaces it
	logPath := filepath.Join(dir, "src.log")
	if err := os.WriteFile(logPath, []byte("from source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := &runSink{ch: make(chan []pipeline.Event)}
	src := source{snaps: [][]entry.Entry{
		{{Path: "not-absolute", Topic: "t"}},
		{{Path: logPath, Topic: "t", Start: entry.StartBeginning}},
	}}
	a, err := New(cfg, Deps{Sink: sink, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, "the source's entry read", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.lines) == 1 && sink.lines[0] == "from source"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !sink.stopped {
		t.Fatal("sink was not stopped")
	}
}
