// Package lifecycle runs the parts of a process in order: it starts them downstream first
// (the sink before the source that feeds it) and stops them upstream first, waiting for
// each to return before stopping the next, so every part drains into one that is still
// running. Every subcommand and every component with parts of its own (the agent, the
// standalone, the host-metrics agent) declares its order as a list of Parts and lets Run
// keep it; nobody writes cancel chains by hand. docs/architecture.md, "Lifecycle".
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Part is one long-running piece of a process.
type Part struct {
	// Name appears in errors and logs.
	Name string
	// Run blocks until its context ends, then returns after cleaning up; an error it
	// returns before that stops the whole group. A nil Run is a part with only a Close.
	// Run returning nil early is fine: the part is done, the others go on.
	Run func(ctx context.Context) error
	// Close, when set, runs after Run has returned during the stop, with a context
	// bounded by the group's StopTimeout: the place to flush what the part was handed.
	Close func(ctx context.Context) error
	// Drains says Run ends by itself once its input is closed (by the Close of the part
	// upstream of it): at its turn it is given StopTimeout to finish what it holds, and
	// its context is cancelled only after that.
	Drains bool
}

// Group is an ordered list of parts: Parts[0] is the most downstream (started first,
// stopped last).
type Group struct {
	Parts []Part
	// StopTimeout bounds each Close; 0 means 30 s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Run starts the parts in order and returns when ctx has ended or a part failed, after
// every part was stopped in reverse order. The error is the first failure (a part's Run
// error that was not the result of being stopped, or a Close error), wrapped with the
// part's name.
func (g Group) Run(ctx context.Context) error {
	log := g.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := g.StopTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	type running struct {
		stop context.CancelFunc
		done chan error
	}
	failed := make(chan struct{})
	var firstErr error
	setErr := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	runs := make([]running, len(g.Parts))
	fail := make(chan error, len(g.Parts))
	for i, p := range g.Parts {
		// Each part gets its own context, never the caller's: it is stopped when its turn
		// comes, after everything upstream of it has returned.
		pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		runs[i] = running{stop: stop, done: done}
		if p.Run == nil {
			done <- nil
			continue
		}
		go func() {
			err := p.Run(pctx)
			if err != nil && pctx.Err() == nil {
				fail <- fmt.Errorf("%s: %w", p.Name, err)
			}
			done <- err
		}()
	}
	go func() {
		select {
		case <-ctx.Done():
		case err := <-fail:
			setErr(err)
			log.Error("part failed; stopping", "err", err)
		}
		close(failed)
	}()
	<-failed

	for i := len(g.Parts) - 1; i >= 0; i-- {
		p := g.Parts[i]
		if p.Drains {
			drainWait(log, p.Name, runs[i].done, timeout)
		}
		runs[i].stop()
		err := <-runs[i].done
		if err != nil && !errors.Is(err, context.Canceled) {
			setErr(fmt.Errorf("%s: %w", p.Name, err))
		}
		if p.Close != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			if err := p.Close(cctx); err != nil {
				setErr(fmt.Errorf("close %s: %w", p.Name, err))
			}
			cancel()
		}
	}
	return firstErr
}

// drainWait waits up to timeout for a draining part to return by itself, and leaves its
// result in done for the caller.
func drainWait(log *slog.Logger, name string, done chan error, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		done <- err
	case <-t.C:
		log.Warn("a part did not drain within the stop timeout; cancelling it", "part", name, "timeout", timeout)
	}
}

// Run is Group{Parts: parts}.Run(ctx).
func Run(ctx context.Context, parts ...Part) error { return Group{Parts: parts}.Run(ctx) }
