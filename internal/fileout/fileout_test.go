package fileout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

type ackRec struct {
	mu     sync.Mutex
	ranges [][2]int64
}

func (a *ackRec) Ack(off, end int64) {
	a.mu.Lock()
	a.ranges = append(a.ranges, [2]int64{off, end})
	a.mu.Unlock()
}

func TestPublishWritesLinesAndAcksMergedRanges(t *testing.T) {
	tests := []struct {
		name  string
		batch func(a, b *ackRec) []pipeline.Event
		want  string
		acksA [][2]int64
		acksB [][2]int64
	}{
		{
			name: "adjacent ranges merge",
			batch: func(a, _ *ackRec) []pipeline.Event {
				return []pipeline.Event{
					{Line: []byte("one"), Offset: 0, End: 4, Ack: a},
					{Line: []byte("two"), Offset: 4, End: 8, Ack: a},
				}
			},
			want:  "one\ntwo\n",
			acksA: [][2]int64{{0, 8}},
		},
		{
			name: "gap and other file stay separate",
			batch: func(a, b *ackRec) []pipeline.Event {
				return []pipeline.Event{
					{Line: []byte("x\xff"), Offset: 0, End: 3, Ack: a},
					{Line: []byte(""), Offset: 10, End: 11, Ack: a},
					{Line: []byte("b"), Offset: 0, End: 2, Ack: b},
				}
			},
			want:  "x\xff\n\nb\n",
			acksA: [][2]int64{{0, 3}, {10, 11}},
			acksB: [][2]int64{{0, 2}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			w, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			a, b := &ackRec{}, &ackRec{}
			if err := w.Publish(context.Background(), tc.batch(a, b)); err != nil {
				t.Fatal(err)
			}
			// Acknowledged means written: the file holds the lines before Close.
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("file = %q, want %q", got, tc.want)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if !equalRanges(a.ranges, tc.acksA) || !equalRanges(b.ranges, tc.acksB) {
				t.Fatalf("acks a=%v b=%v, want %v %v", a.ranges, b.ranges, tc.acksA, tc.acksB)
			}
		})
	}
}

func equalRanges(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPublishAfterCancelIsRefusedAndNotAcked(t *testing.T) {
	w := New(&discard{}, "test")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := &ackRec{}
	if err := w.Publish(ctx, []pipeline.Event{{Line: []byte("x"), End: 2, Ack: a}}); err == nil {
		t.Fatal("publish on a cancelled context succeeded")
	}
	if len(a.ranges) != 0 {
		t.Fatalf("acked %v", a.ranges)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkPublish(b *testing.B) {
	w := New(discard{}, "bench")
	a := &ackRec{}
	line := make([]byte, 120)
	batch := make([]pipeline.Event, 1024)
	b.SetBytes(int64(len(batch) * (len(line) + 1)))
	for b.Loop() {
		for i := range batch {
			batch[i] = pipeline.Event{Line: line, Offset: int64(i * 121), End: int64(i*121 + 121), Ack: a}
		}
		a.ranges = a.ranges[:0]
		if err := w.Publish(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOpenEndsATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	if err := os.WriteFile(path, []byte("whole\ntor"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(context.Background(), []pipeline.Event{{Line: []byte("next"), End: 5, Ack: &ackRec{}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "whole\ntor\nnext\n" {
		t.Fatalf("file = %q", got)
	}
}

// flaky fails its first write, then works.
type flaky struct {
	failed bool
	got    []byte
}

func (f *flaky) Write(p []byte) (int, error) {
	if !f.failed {
		f.failed = true
		return 0, errors.New("no space left on device")
	}
	f.got = append(f.got, p...)
	return len(p), nil
}

func TestWriteErrorIsReturnedNotAckedAndRetryWorks(t *testing.T) {
	out := &flaky{}
	w := New(out, "flaky")
	a := &ackRec{}
	batch := []pipeline.Event{{Line: []byte("x"), Offset: 0, End: 2, Ack: a}}
	if err := w.Publish(context.Background(), batch); err == nil {
		t.Fatal("write error not returned")
	}
	if len(a.ranges) != 0 {
		t.Fatalf("acked after a failed write: %v", a.ranges)
	}
	if err := w.Publish(context.Background(), batch); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if string(out.got) != "x\n" || len(a.ranges) != 1 {
		t.Fatalf("after retry: file %q acks %v", out.got, a.ranges)
	}
}
