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

	"github.com/logcollect/logcollect/internal/agent/checkpoint"
	"github.com/logcollect/logcollect/internal/agent/pipeline"
	"github.com/logcollect/logcollect/internal/agent/tail"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/fileout"
	"github.com/logcollect/logcollect/internal/lifecycle"
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
	// output: kafka needs the caller to pass the Kafka producer here. A pipeline.Runner
	// sink is run before the engine and stopped after it; a pipeline.Closer is flushed and
	// closed before the final checkpoint write.
	Sink pipeline.Sink
	// Source, when set, replaces the static agent.collect entries with its snapshots.
	Source EntrySource
	// Applied, when set, is told each snapshot of entries the agent accepted (the
	// registration announces their files).
	Applied func([]entry.Entry)
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
	} else if err := a.engine.Update(entries); err != nil {
		return err
	}
	if a.deps.Applied != nil {
		a.deps.Applied(entries)
	}
	return nil
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
	eng, err := tail.New(a.tcfg, tail.Deps{Logger: a.deps.Logger, Registerer: a.deps.Registerer,
		Sink: sink, Store: store})
	if err == nil {
		a.mu.Lock()
		a.engine = eng
		if err = eng.Update(a.pending); err != nil {
			err = fmt.Errorf("agent.collect: %w", err)
		}
		a.mu.Unlock()
	}
	if err != nil {
		if closer != nil {
			_ = closer.Close() // an early return: nothing was written worth reporting
		}
		return err
	}

	a.log.Info("agent started", "id", a.cfg.Agent.ID, "entries", len(a.pending),
		"output", a.cfg.Agent.Output, "data_dir", a.cfg.Agent.DataDir)
	// Downstream first: the checkpoint store outlives the sink, whose last
	// acknowledgements it saves in its final write; the sink outlives the engine, whose
	// in-flight lines it delivers; the engine outlives the entry source.
	runErr := lifecycle.Group{Logger: a.log, StopTimeout: time.Duration(a.cfg.Agent.ShutdownTimeout), Parts: []lifecycle.Part{
		{Name: "checkpoints", Run: func(ctx context.Context) error {
			return store.Run(ctx, time.Duration(a.cfg.Agent.CheckpointInterval))
		}},
		sinkPart(sink, closer),
		{Name: "tail", Run: eng.Run},
		{Name: "entry source", Run: a.runSource},
	}}.Run(ctx)
	a.log.Info("agent stopped", "err", runErr)
	return runErr
}

// sinkPart runs the sink's own loop when it has one and, at the stop, delivers what it
// still holds before the output file (if the agent opened one) is closed.
func sinkPart(sink pipeline.Sink, closer io.Closer) lifecycle.Part {
	p := lifecycle.Part{Name: "output"}
	if r, ok := sink.(pipeline.Runner); ok {
		p.Run = r.Run
	}
	c, _ := sink.(pipeline.Closer)
	if c != nil || closer != nil {
		p.Close = func(ctx context.Context) error {
			var err error
			if c != nil {
				err = c.Close(ctx)
			}
			if closer != nil {
				err = errors.Join(err, closer.Close())
			}
			return err
		}
	}
	return p
}

// runSource feeds the entry source's snapshots to Update until ctx ends.
func (a *Agent) runSource(ctx context.Context) error {
	if a.deps.Source == nil {
		return nil
	}
	return a.deps.Source.Run(ctx, a.Update)
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
