package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/logcollect/logcollect/internal/agent"
	"github.com/logcollect/logcollect/internal/config"
)

func runAgent(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("agent", `Tail the log files of the collect entries (agent.collect) and ship every line to
the configured output (agent.output: kafka, file or stdout). Reading resumes after a
restart, kill -9 included, exactly where the output last acknowledged, from the
checkpoints in agent.data_dir. SIGINT/SIGTERM stop reading, wait up to
agent.shutdown_timeout for in-flight lines to be acknowledged, save the checkpoints
and exit 0.

Example config (output to a file, for a first try):
  agent:
    data_dir: ./data/agent
    output: file
    output_file: ./out.log
    collect:
      - {path: /var/log/nginx/*.log, topic: web_log, start: beginning}

Example:
  logcollect agent --config logcollect.yaml`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fmt.Errorf("load %s: %w", *path, err)
	}
	logger := agentLogger(cfg.Log, stderr)
	a, err := agent.New(cfg, agent.Deps{Logger: logger})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// agentLogger builds the process logger from the log section.
func agentLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
