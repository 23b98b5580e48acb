package checkpoint

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/logcollect/logcollect/internal/agent/pipeline"
)

var _ pipeline.Acker = (*Watermark)(nil)

// Watermark is one file's acknowledged offset: every byte before Offset() has been
// acknowledged by the output. Acks may arrive in any order; the offset advances only over
// contiguous acknowledged ranges. It is safe for concurrent use.
//
// An in-order ack (offset == Offset()) costs one uncontended mutex and no allocation, as it
// runs once per line. Out-of-order ranges wait in a min-heap until the gap before them
// fills; the heap is bounded by the engine's in-flight window.
type Watermark struct {
	mu        sync.Mutex
	off       int64 // guarded by mu
	pending   spanHeap
	waiters   []waiter
	onAdvance func(offset int64)

	// published mirrors off so Offset is a lock-free load: the engine polls it for every
	// file before each checkpoint write.
	published atomic.Int64
}

type waiter struct {
	target int64
	ch     chan struct{}
}

// NewWatermark returns a watermark at start. onAdvance, if not nil, is called with the new
// offset each time it moves. It is called with the watermark's lock held, so calls come in
// increasing order and never overlap; it must be quick and must not call back into the
// Watermark. Polling Offset() is the cheaper alternative when the offset is only needed
// periodically (e.g. for a checkpoint write every second).
func NewWatermark(start int64, onAdvance func(offset int64)) *Watermark {
	w := &Watermark{off: start, onAdvance: onAdvance}
	w.published.Store(start)
	return w
}

// Ack marks the bytes [offset, end) acknowledged. Duplicate, overlapping and empty ranges
// are harmless: only the union of acknowledged ranges that touches the watermark moves it.
func (w *Watermark) Ack(offset, end int64) {
	if end <= offset {
		return
	}
	w.mu.Lock()
	cur := w.off
	if offset > cur {
		// A gap before this range: keep it until the gap is acknowledged.
		w.pending.push(span{offset, end})
		w.mu.Unlock()
		return
	}
	if end <= cur {
		w.mu.Unlock() // already acknowledged
		return
	}
	cur = end
	if len(w.pending) > 0 {
		cur = w.pending.drain(cur)
	}
	w.off = cur
	w.published.Store(cur)
	// onAdvance before the waiters: a waiter may act on the offset at once (the engine's
	// shutdown syncs the checkpoints when its Wait returns), so whatever onAdvance hands
	// on must already be there. Woken first, a clean SIGTERM lost the last acknowledgement
	// now and then: up to one sink ack run (256 lines) read and sent again after restart.
	if w.onAdvance != nil {
		w.onAdvance(cur)
	}
	if len(w.waiters) > 0 {
		w.wake(cur)
	}
	w.mu.Unlock()
}

// AcceptsRanges marks the Watermark as an Acker that takes one Ack covering several
// consecutive events as well as one per event (it keeps the union of acknowledged
// ranges), so a sink may gather acknowledgements before calling it.
func (w *Watermark) AcceptsRanges() {}

// Offset returns the watermark: every byte before it is acknowledged.
func (w *Watermark) Offset() int64 { return w.published.Load() }

// Wait blocks until Offset() >= target or ctx ends, in which case it returns an error
// wrapping ctx.Err(). The engine uses it at shutdown and before closing a file for good.
func (w *Watermark) Wait(ctx context.Context, target int64) error {
	w.mu.Lock()
	if w.off >= target {
		w.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	w.waiters = append(w.waiters, waiter{target: target, ch: ch})
	w.mu.Unlock()

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, wt := range w.waiters {
		if wt.ch == ch {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
			break
		}
	}
	if w.off >= target {
		return nil // reached while ctx ended: report the success
	}
	return fmt.Errorf("wait for acknowledged offset %d (at %d): %w", target, w.off, ctx.Err())
}

// wake releases the waiters whose target is reached. Called with mu held.
func (w *Watermark) wake(cur int64) {
	kept := w.waiters[:0]
	for _, wt := range w.waiters {
		if cur >= wt.target {
			close(wt.ch)
		} else {
			kept = append(kept, wt)
		}
	}
	clear(w.waiters[len(kept):])
	w.waiters = kept
}

// span is an acknowledged range [off, end) waiting for the gap before it.
type span struct{ off, end int64 }

// spanHeap is a min-heap on off. Hand-written rather than container/heap, whose interface
// boxing would allocate on every push.
type spanHeap []span

func (h *spanHeap) push(s span) {
	*h = append(*h, s)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].off <= a[i].off {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *spanHeap) pop() {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && a[r].off < a[l].off {
			m = r
		}
		if a[i].off <= a[m].off {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
}

// drain merges every pending span that starts at or before cur and returns the new end of
// the contiguous acknowledged range.
func (h *spanHeap) drain(cur int64) int64 {
	for len(*h) > 0 && (*h)[0].off <= cur {
		if e := (*h)[0].end; e > cur {
			cur = e
		}
		h.pop()
	}
	return cur
}
