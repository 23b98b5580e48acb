package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/logformat"
)

// countSink acks everything at once and counts lines.
type countSink struct {
	lines atomic.Int64
	done  chan struct{}
	want  int64
}

func (s *countSink) Publish(_ context.Context, batch []pipeline.Event) error {
	for i := range batch {
		batch[i].Ack.Ack(batch[i].Offset, batch[i].End)
	}
	if s.lines.Add(int64(len(batch))) == s.want {
		close(s.done)
	}
	return nil
}

// BenchmarkReadFile measures the engine alone (no output): one file of 120-byte lines
// read from the beginning, with time detection off (format plain, layout none) and on.
// Reported per line; the target is detect ≤ 1.15 × off.
func BenchmarkReadFile(b *testing.B) {
	b.Run("time=off", func(b *testing.B) { benchReadFile(b, &logformat.Time{Layout: logformat.LayoutNone}) })
	b.Run("time=detect", func(b *testing.B) { benchReadFile(b, nil) })
}

func benchReadFile(b *testing.B, tm *logformat.Time) {
	const lines = 200000
	dir := b.TempDir()
	path := filepath.Join(dir, "big.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	for i := range lines {
		fmt.Fprintf(f, "2026-11-25T14:00:00.000Z INFO service=checkout request_id=%08d user=u%06d path=/api/v1/items status=%03d\n", i, i, 200)
	}
	f.Close()
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size() / lines)
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += lines {
		b.StopTimer()
		st, err := checkpoint.Open(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		sink := &countSink{done: make(chan struct{}), want: lines}
		cfg := testConfig()
		cfg.ReadBufferBytes = 256 << 10
		eng, err := New(cfg, Deps{Sink: sink, Store: st})
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.Update([]entry.Entry{{Path: path, Topic: "t", Start: entry.StartBeginning, Time: tm}}); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		b.StartTimer()
		cpu0 := processCPU()
		go func() { _ = eng.Run(ctx); close(done) }()
		select {
		case <-sink.done:
		case <-time.After(time.Minute):
			b.Fatal("timeout")
		}
		cpu += processCPU() - cpu0
		b.StopTimer()
		cancel()
		<-done
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/line")
}
