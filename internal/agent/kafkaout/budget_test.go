package kafkaout

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	tests := []struct {
		name      string
		limit     int64
		hold      int64 // acquired first and kept
		want      int64 // then acquired
		wantTaken int64
		wantBlock bool
	}{
		{name: "fits", limit: 100, hold: 40, want: 60, wantTaken: 60},
		{name: "blocks when full", limit: 100, hold: 50, want: 60, wantBlock: true},
		{name: "huge clamped when empty", limit: 100, want: 500, wantTaken: 100},
		{name: "huge waits for others", limit: 100, hold: 1, want: 500, wantBlock: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBudget(tc.limit)
			if tc.hold > 0 {
				if _, err := b.acquire(context.Background(), tc.hold); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			taken, err := b.acquire(ctx, tc.want)
			if tc.wantBlock {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("acquire(%d) = %d, %v; want it to block", tc.want, taken, err)
				}
				// Releasing the held bytes unblocks a waiter.
				done := make(chan error, 1)
				go func() {
					_, err := b.acquire(context.Background(), tc.want)
					done <- err
				}()
				b.release(tc.hold)
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("release did not wake the waiter")
				}
				return
			}
			if err != nil || taken != tc.wantTaken {
				t.Fatalf("acquire(%d) = %d, %v; want %d", tc.want, taken, err, tc.wantTaken)
			}
			if got := b.inUse(); got != tc.hold+taken {
				t.Fatalf("inUse = %d, want %d", got, tc.hold+taken)
			}
			b.release(taken)
			if got := b.inUse(); got != tc.hold {
				t.Fatalf("after release inUse = %d, want %d", got, tc.hold)
			}
		})
	}
}
