package kafkaout

import (
	"context"
	"sync"
)

// budget is a byte semaphore: the sum of the costs of the records handed to the producer
// and not yet acknowledged stays at or below limit. When it is full, Publish blocks, the
// tailing engine stops reading, and the files stay the buffer.
type budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
	// wake is closed (and replaced) on every release, so all waiters re-check; a nil
	// channel means nobody waits.
	wake chan struct{}
}

func newBudget(limit int64) *budget {
	return &budget{limit: limit}
}

// acquire takes n bytes, waiting until they are free or ctx ends. A single cost larger
// than the whole budget is clamped to it, so a huge line is still sent (alone). It returns
// the amount taken, which the caller must release.
func (b *budget) acquire(ctx context.Context, n int64) (int64, error) {
	if n > b.limit {
		n = b.limit
	}
	for {
		b.mu.Lock()
		if b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return n, nil
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-wake:
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
