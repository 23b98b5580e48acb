package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/lifecycle"
	"github.com/logcollect/logcollect/internal/logging"
)

// loadCommand parses a long-running subcommand's flags (the --config path registered as
// path) and returns its config, logger and a metrics registry with the Go and process
// collectors.
func loadCommand(fs *flag.FlagSet, path *string, args []string, stderr io.Writer) (config.Config, *slog.Logger, *prometheus.Registry, error) {
	cfg, logger, _, reg, err := loadLeveled(fs, path, args, stderr)
	return cfg, logger, reg, err
}

// loadLeveled is loadCommand with the logger's level variable, for a reload to set.
func loadLeveled(fs *flag.FlagSet, path *string, args []string, stderr io.Writer) (config.Config, *slog.Logger, *slog.LevelVar, *prometheus.Registry, error) {
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, nil, nil, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, nil, nil, nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return config.Config{}, nil, nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	logger, level := logging.NewLeveled(cfg.Log, stderr)
	return cfg, logger, level, reg, nil
}

// serveHTTP binds http.listen (so a busy port fails at start-up) and returns the part that
// serves /metrics and /healthz there, first in every subcommand's order: it answers until
// everything else has stopped. An empty http.listen serves nothing.
func serveHTTP(h config.HTTP, reg *prometheus.Registry, checks map[string]httpserver.Check, logger *slog.Logger) ([]lifecycle.Part, error) {
	if h.Listen == "" {
		return nil, nil
	}
	srv, err := httpserver.New(httpserver.Config{Listen: h.Listen, Access: httpAccess(h), Pprof: h.Pprof},
		httpserver.Deps{Gatherer: reg, Checks: checks, Logger: logger})
	if err != nil {
		return nil, err
	}
	if _, err := srv.Listen(); err != nil {
		return nil, err
	}
	return []lifecycle.Part{{Name: "http", Run: srv.Run}}, nil
}

// httpAccess is http.allowed_hosts and http.auth, for every listener of the process.
func httpAccess(h config.HTTP) httpserver.Access {
	return httpserver.Access{AllowedHosts: h.AllowedHosts,
		Auth: h.Auth.Credential()}
}
