// Package agent wires the collecting side of logcollect: the checkpoint store, the tailing
// engine, the output sink and the sources of collect entries (the static agent.collect
// list, and a live source such as the etcd config center).
//
// Order matters for the delivery promise: the sink starts before the engine and drains
// after it, and the last act is the final checkpoint write.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/agent/tail"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/fileout"
)

// EntrySource delivers the desired collect entries over time, e.g. from etcd. Run calls
// apply with each whole, validated snapshot; apply refuses an invalid one (the previous
// entries keep running) and Run should log that and wait for the next snapshot. Run
// returns when ctx ends; any other error stops the agent.
type EntrySource interface {
	Run(ctx context.Context, apply func([]entry.Entry) error) error
}

// Deps are the agent's collaborators. Only Logger is required.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Sink receives the events. When nil it is built from agent.output (file or stdout);
	// output: kafka needs the caller to pass the Kafka producer here. A sink with a
	// `Run(ctx) error` method is run before the engine and stopped after it; one with
	// `Close(ctx) error` is flushed and closed before the final checkpoint write.
	Sink pipeline.Sink
	// Source, when set, replaces the static agent.collect entries with its snapshots.
	Source EntrySource
}

// Agent is the `logcollect agent` process body.
type Agent struct {
	cfg  config.Config
	tcfg tail.Config
	deps Deps
	log  *slog.Logger

	mu      sync.Mutex
	engine  *tail.Engine
	pending []entry.Entry
}

// New validates the configuration; it opens nothing.
func New(cfg config.Config, deps Deps) (*Agent, error) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Agent.FillID(); err != nil {
		return nil, err
	}
	// The same checks as config.Load, for callers that build the config by hand.
	if err := cfg.Agent.Validate(); err != nil {
		return nil, err
	}
	if deps.Sink == nil && cfg.Agent.Output == "kafka" {
		return nil, errors.New("agent.output: kafka needs the Kafka producer passed as the sink")
	}
	tcfg := tail.FromAgent(cfg.Agent)
	if err := tcfg.Validate(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return &Agent{cfg: cfg, tcfg: tcfg, deps: deps, log: deps.Logger.With("component", "agent"),
		pending: cfg.Agent.Collect}, nil
}

// ID returns the agent id (agent.id, or the hostname).
func (a *Agent) ID() string { return a.cfg.Agent.ID }

// Update applies a whole snapshot of collect entries (see tail.Engine.Update). Before Run
// has built the engine, the snapshot is kept and applied when it starts.
func (a *Agent) Update(entries []entry.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.engine == nil {
		for _, e := range entries {
			if err := e.Validate(a.cfg.Agent.AllowedPaths); err != nil {
				return err
			}
		}
		a.pending = entries
		return nil
	}
	return a.engine.Update(entries)
}

// Run collects until ctx ends, then stops reading, lets the sink deliver what is in flight
// (up to agent.shutdown_timeout), and writes the checkpoints a last time.
func (a *Agent) Run(ctx context.Context) error {
	store, err := checkpoint.Open(a.cfg.Agent.DataDir, a.deps.Logger)
	if err != nil {
		return fmt.Errorf("open checkpoints: %w", err)
	}
	if a.deps.Registerer != nil {
		if err := store.Register(a.deps.Registerer); err != nil {
			return fmt.Errorf("checkpoint metrics: %w", err)
		}
	}
	sink, closer, err := a.sink()
	if err != nil {
		return err
	}
	defer func() {
		if closer != nil {
			_ = closer.Close() // an early return: nothing was written worth reporting
		}
	}()
	eng, err := tail.New(a.tcfg, tail.Deps{Logger: a.deps.Logger, Registerer: a.deps.Registerer,
		Sink: sink, Store: store})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.engine = eng
	err = eng.Update(a.pending)
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("agent.collect: %w", err)
	}

	// The sink and the store outlive the engine: they get their own contexts, ended in
	// order after the engine returned.
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSink()
	sinkDone := make(chan error, 1)
	if rs, ok := sink.(interface{ Run(context.Context) error }); ok {
		go func() { sinkDone <- rs.Run(sinkCtx) }()
	} else {
		sinkDone <- nil
	}
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStore()
	storeDone := make(chan error, 1)
	go func() { storeDone <- store.Run(storeCtx, time.Duration(a.cfg.Agent.CheckpointInterval)) }()

	a.log.Info("agent started", "id", a.cfg.Agent.ID, "entries", len(a.pending),
		"output", a.cfg.Agent.Output, "data_dir", a.cfg.Agent.DataDir)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return eng.Run(gctx) })
	if a.deps.Source != nil {
		g.Go(func() error {
			err := a.deps.Source.Run(gctx, a.Update)
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("entry source: %w", err)
			}
			return nil
		})
	}
	// A sink that fails on its own (not because it was stopped) stops the agent.
	g.Go(func() error {
		select {
		case err := <-sinkDone:
			sinkDone <- err
			if err != nil {
				return fmt.Errorf("output: %w", err)
			}
			<-gctx.Done()
			return nil
		case <-gctx.Done():
			return nil
		}
	})
	runErr := g.Wait()

	stopSink()
	if err := <-sinkDone; err != nil && !errors.Is(err, context.Canceled) && runErr == nil {
		runErr = fmt.Errorf("output: %w", err)
	}
	// A sink that buffers (Kafka) flushes what it was handed before the final checkpoint
	// write, so the acknowledgements it still receives are saved too.
	if fc, ok := sink.(interface{ Close(context.Context) error }); ok {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(a.cfg.Agent.ShutdownTimeout))
		err := fc.Close(closeCtx)
		cancel()
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("close output: %w", err)
		}
	}
	if closer != nil {
		if err := closer.Close(); err != nil && runErr == nil {
			runErr = fmt.Errorf("close output: %w", err)
		}
		closer = nil
	}
	stopStore()
	if err := <-storeDone; err != nil && runErr == nil {
		runErr = err
	}
	a.log.Info("agent stopped", "err", runErr)
	return runErr
}

// sink returns the configured sink, building file or stdout when none was passed.
func (a *Agent) sink() (pipeline.Sink, io.Closer, error) {
	if a.deps.Sink != nil {
		return a.deps.Sink, nil, nil
	}
	switch a.cfg.Agent.Output {
	case "file":
		w, err := fileout.Open(a.cfg.Agent.OutputFile)
		if err != nil {
			return nil, nil, err
		}
		return w, w, nil
	default:
		w := fileout.Stdout()
		return w, w, nil
	}
}
