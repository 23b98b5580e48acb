package kafkaout

import (
	"context"
	"sync"
	"sync/atomic"
)

// budget is a byte semaphore: the sum of the costs of the batches handed to the producer
// and not yet finished stays at or below limit. When it is full, Publish blocks, the
// tailing engine stops reading, and the files stay the buffer.
//
// It is taken once per batch by Publish and given back once the batch's last record is
// finished, when its memory is free (pooled for the next batch), so the common path is
// one atomic operation; the mutex is only for waiters.
type budget struct {
	limit   int64
	used    atomic.Int64
	waiters atomic.Int32

	mu sync.Mutex
	// wake is closed (and replaced) by a release while someone waits.
	wake chan struct{}
}

// SoftMemoryLimit is the Go memory limit the agent sets for itself with output kafka
// and max_buffered_bytes of maxBuffered (unless GOMEMLIMIT is set). With a full budget
// the live heap is about 1.1 × the budget (the records in flight, which the budget
// counts, and franz-go's request buffers, which it does not; BenchmarkInFlight), a
// pooled batch or two and ~10 MiB of the rest of the agent, so the garbage collector's
// normal target (twice the live heap) stays under this limit: it only stops the heap from
// doubling when the live set jumps, and never makes the collector run back to back, as a
// limit of budget + 64 MiB did (at 140 MiB RSS). With the default 12 MiB budget it is
// 68 MiB.
func SoftMemoryLimit(maxBuffered int64) int64 {
	return 3*maxBuffered + 32<<20
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit}
}

// tryTake takes n bytes if they fit, or if nothing is in flight (so a cost clamped to the
// limit always gets through alone).
func (b *budget) tryTake(n int64) bool {
	for {
		cur := b.used.Load()
		if cur+n > b.limit && cur != 0 {
			return false
		}
		if b.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// acquire takes n bytes, waiting until they are free or ctx ends. A single cost larger
// than the whole budget is clamped to it, so a huge line is still sent (alone). It returns
// the amount taken, which the caller must release.
func (b *budget) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(n, b.limit)
	if b.tryTake(n) {
		return n, nil
	}
	for {
		b.mu.Lock()
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.waiters.Add(1)
		b.mu.Unlock()
		// Check again after registering: a release between the first try and the
		// registration would not have woken us.
		ok := b.tryTake(n)
		if !ok {
			select {
			case <-ctx.Done():
			case <-wake:
			}
		}
		b.waiters.Add(-1)
		if ok {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if b.tryTake(n) {
			return n, nil
		}
	}
}

func (b *budget) release(n int64) {
	used := b.used.Add(-n)
	// Wake waiters only once an eighth of the budget is free: waking the publisher for
	// every acknowledged record would cost a lock and a context switch per record, and
	// refilling in larger steps batches better.
	if b.waiters.Load() == 0 || used > b.limit-b.limit/8 {
		return
	}
	b.mu.Lock()
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	b.mu.Unlock()
}

func (b *budget) inUse() int64 { return b.used.Load() }
