package lifecycle

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder keeps the order of events from several goroutines.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func part(r *recorder, name string, started *sync.WaitGroup) Part {
	started.Add(1)
	return Part{Name: name,
		Run: func(ctx context.Context) error {
			started.Done()
			<-ctx.Done()
			r.add("stop " + name)
			return ctx.Err()
		},
		Close: func(context.Context) error { r.add("close " + name); return nil },
	}
}

func TestStopsUpstreamFirstEachAfterTheNextReturned(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	// The parts are made (started.Add) before Wait can run.
	parts := []Part{part(&r, "sink", &started), part(&r, "engine", &started), part(&r, "source", &started)}
	go func() { done <- Run(ctx, parts...) }()
	started.Wait() // every part is running before the stop
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{"stop source", "close source", "stop engine", "close engine", "stop sink", "close sink"}
	if got := r.get(); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestAFailingPartStopsTheOthersAndIsReported(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	boom := errors.New("boom")
	failing := Part{Name: "output", Run: func(ctx context.Context) error { return boom }}
	err := Run(t.Context(), failing, part(&r, "engine", &started))
	if !errors.Is(err, boom) || err.Error() != "output: boom" {
		t.Fatalf("err = %v, want output: boom", err)
	}
	if got := r.get(); !slices.Equal(got, []string{"stop engine", "close engine"}) {
		t.Fatalf("events = %v", got)
	}
}

func TestAPartDoneEarlyLeavesTheOthersRunning(t *testing.T) {
	var r recorder
	var started sync.WaitGroup
	ctx, cancel := context.WithCancel(t.Context())
	early := Part{Name: "setup", Run: func(context.Context) error { r.add("setup done"); return nil }}
	done := make(chan error, 1)
	server := part(&r, "server", &started) // before Wait can run
	go func() { done <- Run(ctx, server, early) }()
	started.Wait()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while a part was still running", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestCloseIsBoundedByStopTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var closeErr error
	g := Group{StopTimeout: 50 * time.Millisecond, Parts: []Part{{Name: "slow",
		Close: func(ctx context.Context) error { <-ctx.Done(); closeErr = ctx.Err(); return closeErr }}}}
	err := g.Run(ctx)
	if !errors.Is(closeErr, context.DeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close err = %v, Run err = %v; want the deadline", closeErr, err)
	}
}

func TestADrainingPartFinishesItsInputBeforeItIsCancelled(t *testing.T) {
	input := make(chan int, 3)
	var got []int
	ctx, cancel := context.WithCancel(t.Context())
	sink := Part{Name: "sink", Drains: true, Run: func(ctx context.Context) error {
		for v := range input {
			if ctx.Err() != nil {
				return ctx.Err() // cancelled before the input was drained
			}
			got = append(got, v)
		}
		return nil
	}}
	source := Part{Name: "source",
		Run:   func(ctx context.Context) error { <-ctx.Done(); return nil },
		Close: func(context.Context) error { input <- 1; input <- 2; input <- 3; close(input); return nil }}
	cancel()
	if err := Run(ctx, sink, source); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("drained %v, want [1 2 3]", got)
	}
}

func TestADrainingPartThatHangsIsCancelledAfterTheTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	hang := Part{Name: "stuck", Drains: true, Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	if err := (Group{StopTimeout: 20 * time.Millisecond, Parts: []Part{hang}}).Run(ctx); err != nil {
		t.Fatalf("Run: %v (a cancelled part's context.Canceled is not a failure)", err)
	}
}
