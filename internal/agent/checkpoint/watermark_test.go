package checkpoint

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

type ack struct{ off, end int64 }

func TestWatermarkAck(t *testing.T) {
	tests := []struct {
		name  string
		start int64
		acks  []ack
		want  int64
	}{
		{"none", 0, nil, 0},
		{"non-zero start, none", 100, nil, 100},
		{"in order", 0, []ack{{0, 10}, {10, 25}, {25, 26}}, 26},
		{"from start offset", 100, []ack{{100, 150}, {150, 200}}, 200},
		{"gap holds", 0, []ack{{0, 10}, {20, 30}}, 10},
		{"gap filled", 0, []ack{{0, 10}, {20, 30}, {10, 20}}, 30},
		{"reverse order", 0, []ack{{30, 40}, {20, 30}, {10, 20}, {0, 10}}, 40},
		{"first range missing", 0, []ack{{10, 20}, {20, 30}}, 0},
		{"duplicate in order", 0, []ack{{0, 10}, {0, 10}, {10, 20}}, 20},
		{"duplicate pending", 0, []ack{{10, 20}, {10, 20}, {0, 10}}, 20},
		{"duplicate behind", 0, []ack{{0, 10}, {10, 20}, {0, 10}}, 20},
		{"before start", 100, []ack{{0, 50}, {50, 100}}, 100},
		{"straddles watermark", 0, []ack{{0, 10}, {5, 15}}, 15},
		{"straddles start", 100, []ack{{50, 120}}, 120},
		{"pending overlaps pending", 0, []ack{{10, 30}, {20, 25}, {0, 10}}, 30},
		{"pending inside reached range", 0, []ack{{5, 8}, {0, 20}}, 20},
		{"pending overlapping reached range", 0, []ack{{15, 30}, {0, 20}}, 30},
		{"pending gap after merge", 0, []ack{{10, 20}, {30, 40}, {0, 10}}, 20},
		{"empty range ignored", 0, []ack{{0, 0}, {5, 5}, {0, 3}}, 3},
		{"inverted range ignored", 0, []ack{{10, 0}}, 0},
		{"empty range cannot bridge a gap", 0, []ack{{0, 10}, {10, 10}, {11, 20}}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWatermark(tt.start, nil)
			for _, a := range tt.acks {
				w.Ack(a.off, a.end)
			}
			if got := w.Offset(); got != tt.want {
				t.Errorf("Offset() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWatermarkOnAdvance(t *testing.T) {
	var got []int64
	w := NewWatermark(0, func(off int64) { got = append(got, off) })
	for _, a := range []ack{{0, 10}, {20, 30}, {0, 10}, {30, 40}, {10, 20}, {40, 50}} {
		w.Ack(a.off, a.end)
	}
	want := []int64{10, 40, 50}
	if len(got) != len(want) {
		t.Fatalf("onAdvance calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("onAdvance calls %v, want %v", got, want)
		}
	}
}

// partition cuts [start, end) into random consecutive ranges.
func partition(r *rand.Rand, start, end int64) []ack {
	var parts []ack
	for off := start; off < end; {
		n := min(1+r.Int64N(200), end-off)
		parts = append(parts, ack{off, off + n})
		off += n
	}
	return parts
}

// TestWatermarkProperty acks a random permutation of a random partition of [start, end),
// with some ranges acknowledged twice, and checks after every ack that the watermark is
// exactly the first unacknowledged offset: it never passes a gap and never lags behind.
func TestWatermarkProperty(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 1))
		start := r.Int64N(1 << 40)
		end := start + 1 + r.Int64N(20_000)
		parts := partition(r, start, end)
		order := r.Perm(len(parts))
		// Redeliveries: duplicates of random ranges mixed in.
		for range len(parts) / 10 {
			order = append(order, r.IntN(len(parts)))
		}
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

		acked := make([]bool, len(parts))
		last := start
		w := NewWatermark(start, func(off int64) {
			if off <= last {
				t.Errorf("seed %d: onAdvance(%d) after %d", seed, off, last)
			}
			last = off
		})
		for _, i := range order {
			w.Ack(parts[i].off, parts[i].end)
			acked[i] = true
			want := end
			for j, ok := range acked {
				if !ok {
					want = parts[j].off
					break
				}
			}
			if got := w.Offset(); got != want {
				t.Fatalf("seed %d: after acking %v, Offset() = %d, want %d (first unacknowledged offset)", seed, parts[i], got, want)
			}
		}
		if w.Offset() != end || last != end {
			t.Fatalf("seed %d: final offset %d, last onAdvance %d, want %d", seed, w.Offset(), last, end)
		}
		if len(w.pending) != 0 {
			t.Fatalf("seed %d: %d ranges still pending", seed, len(w.pending))
		}
	}
}

func TestWatermarkConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const end = 1 << 20
	parts := partition(r, 0, end)
	r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })

	var mu sync.Mutex
	last := int64(0)
	monotonic := true
	w := NewWatermark(0, func(off int64) {
		mu.Lock()
		if off <= last {
			monotonic = false
		}
		last = off
		mu.Unlock()
	})
	const workers = 8
	done := make(chan error, 1)
	go func() { done <- w.Wait(context.Background(), end) }()
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			for i := k; i < len(parts); i += workers {
				w.Ack(parts[i].off, parts[i].end)
				_ = w.Offset()
			}
		})
	}
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got := w.Offset(); got != end {
		t.Errorf("Offset() = %d, want %d", got, end)
	}
	mu.Lock()
	defer mu.Unlock()
	if !monotonic || last != end {
		t.Errorf("onAdvance not monotonic (%v) or last %d != %d", monotonic, last, end)
	}
}

func TestWatermarkWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWatermark(0, nil)
		if err := w.Wait(t.Context(), 0); err != nil {
			t.Fatalf("Wait for the current offset: %v", err)
		}

		results := make(map[int64]chan error)
		for _, target := range []int64{10, 20, 30} {
			ch := make(chan error, 1)
			results[target] = ch
			go func() { ch <- w.Wait(t.Context(), target) }()
		}
		synctest.Wait() // all three are blocked in Wait
		if len(w.waiters) != 3 {
			t.Fatalf("%d waiters, want 3", len(w.waiters))
		}

		w.Ack(10, 30) // out of order: nobody may wake
		synctest.Wait()
		for target, ch := range results {
			select {
			case err := <-ch:
				t.Fatalf("Wait(%d) returned %v before the gap was acknowledged", target, err)
			default:
			}
		}

		w.Ack(0, 5) // 5: still below every target
		w.Ack(5, 10)
		synctest.Wait()
		if err := <-results[10]; err != nil {
			t.Errorf("Wait(10): %v", err)
		}
		// The gap filled: 10 merges with the pending [10, 30).
		if err := <-results[20]; err != nil {
			t.Errorf("Wait(20): %v", err)
		}
		if err := <-results[30]; err != nil {
			t.Errorf("Wait(30): %v", err)
		}
		if len(w.waiters) != 0 {
			t.Errorf("%d waiters left", len(w.waiters))
		}
	})
}

// A Wait woken by an Ack finds that Ack's onAdvance done: the engine's shutdown syncs the
// checkpoints as soon as its Wait returns, and the offset onAdvance hands on must be there.
func TestWatermarkWaitReturnsAfterOnAdvance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var handed atomic.Int64
		w := NewWatermark(0, func(off int64) { <-release; handed.Store(off) })
		seen := make(chan int64, 1)
		go func() {
			if err := w.Wait(t.Context(), 10); err != nil {
				t.Errorf("Wait: %v", err)
			}
			seen <- handed.Load()
		}()
		synctest.Wait()
		go w.Ack(0, 10)
		synctest.Wait() // the Ack is inside onAdvance
		select {
		case off := <-seen:
			close(release) // let the Ack end, so the bubble can
			t.Fatalf("Wait returned before onAdvance was done (it had handed on %d)", off)
		default:
		}
		close(release)
		if off := <-seen; off != 10 {
			t.Fatalf("after Wait, onAdvance had handed on %d, want 10", off)
		}
	})
}

func TestWatermarkWaitCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWatermark(0, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Wait(ctx, 100) }()
		synctest.Wait()
		w.Ack(0, 50)
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait err = %v, want context.Canceled", err)
		}
		if len(w.waiters) != 0 {
			t.Errorf("%d waiters left after cancel", len(w.waiters))
		}
		// A later advance must not touch the removed waiter's channel.
		w.Ack(50, 100)
		if w.Offset() != 100 {
			t.Errorf("Offset() = %d, want 100", w.Offset())
		}
	})
}

func TestWatermarkInOrderDoesNotAllocate(t *testing.T) {
	w := NewWatermark(0, nil)
	off := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		w.Ack(off, off+120)
		off += 120
	})
	if allocs != 0 {
		t.Errorf("in-order Ack allocates %.1f times", allocs)
	}
}

func BenchmarkWatermarkInOrder(b *testing.B) {
	w := NewWatermark(0, nil)
	off := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		w.Ack(off, off+120)
		off += 120
	}
	if w.Offset() != off {
		b.Fatalf("offset %d, want %d", w.Offset(), off)
	}
}

// BenchmarkWatermarkOutOfOrder acks windows of 64 lines in a shuffled order, like a sink
// that completes batches out of order.
func BenchmarkWatermarkOutOfOrder(b *testing.B) {
	const window = 64
	r := rand.New(rand.NewPCG(1, 2))
	perm := r.Perm(window)
	w := NewWatermark(0, nil)
	base := int64(0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		off := base + int64(perm[i])*120
		w.Ack(off, off+120)
		i++
		if i == window {
			i = 0
			base += window * 120
		}
	}
	// b.N need not be a multiple of the window: finish the last one.
	if i > 0 {
		for ; i < window; i++ {
			off := base + int64(perm[i])*120
			w.Ack(off, off+120)
		}
		base += window * 120
	}
	if w.Offset() != base {
		b.Fatalf("offset %d, want %d", w.Offset(), base)
	}
}
