package transfer

import (
	"context"
	"sync"
)

// budget counts the bytes of documents read from Kafka and not yet finished by the sink.
// The poll loop stops polling while it is full, so the data waits in Kafka.
type budget struct {
	max int64

	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced when bytes are released
}

func newBudget(max int64) *budget { return &budget{max: max, freed: make(chan struct{})} }

func (b *budget) take(n int64) {
	b.mu.Lock()
	b.used += n
	b.mu.Unlock()
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// waitRoom blocks while the budget is full; it reports whether it had to wait, and
// returns early when ctx ends.
func (b *budget) waitRoom(ctx context.Context) (waited bool) {
	for {
		b.mu.Lock()
		full, freed := b.used >= b.max, b.freed
		b.mu.Unlock()
		if !full {
			return waited
		}
		waited = true
		select {
		case <-freed:
		case <-ctx.Done():
			return waited
		}
	}
}
