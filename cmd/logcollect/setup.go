package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/logging"
)

// loadCommand parses a long-running subcommand's flags (the --config path registered as
// path) and returns its config, logger and a metrics registry with the Go and process
// collectors.
func loadCommand(fs *flag.FlagSet, path *string, args []string, stderr io.Writer) (config.Config, *slog.Logger, *prometheus.Registry, error) {
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, nil, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, nil, nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return cfg, logging.New(cfg.Log, stderr), reg, nil
}
