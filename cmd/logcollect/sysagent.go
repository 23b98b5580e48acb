package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/hostmetrics/sysagent"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/logging"
)

func runSysagent(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("sysagent", `Collect host metrics (cpu, load, mem, disk, diskio, net, system) every
sysagent.interval and write them to InfluxDB (1.x: sysagent.influxdb.database, created
when missing; 2.x: bucket, org and token). While InfluxDB is down up to
sysagent.buffer_points points are kept, the oldest dropped past that. With
sysagent.prometheus_listen set, /metrics there also serves the logcollect_host_* metrics.
/metrics and /healthz are served on http.listen. When etcd.endpoints is set, the process
registers under /logcollect/agents/<id>-sysagent with role sysagent.

Example config:
  sysagent:
    interval: 10s
    influxdb: {url: "http://127.0.0.1:8086", database: sysinfo}
    prometheus_listen: 127.0.0.1:9101
  etcd:
    endpoints: []

Example:
  logcollect sysagent --config examples/sysagent.yaml`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	logger := logging.New(cfg.Log, stderr)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	sys, runners, err := newSysagent(cfg, reg, logger)
	if err != nil {
		return err
	}
	if cfg.HTTP.Listen != "" {
		srv := httpserver.New(cfg.HTTP.Listen, reg, map[string]httpserver.Check{"influxdb": sys.Check}, logger)
		if _, err := srv.Listen(); err != nil {
			return err
		}
		runners = append(runners, srv.Run)
	}
	if etcdconf.Enabled(cfg.Etcd) {
		registrar, closeEtcd, err := sysagentRegistrar(cfg, reg, logger)
		if err != nil {
			return err
		}
		defer closeEtcd()
		runners = append(runners, registrar.Run)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, run := range runners {
		g.Go(func() error { return run(gctx) })
	}
	return g.Wait()
}

// newSysagent builds the collector and its outputs on reg, and returns it with what must
// run: the collector and, when sysagent.prometheus_listen is set, its /metrics listener
// (bound now, so a busy port fails at start-up). `agent` with agent.sysmetrics calls it too.
func newSysagent(cfg config.Config, reg *prometheus.Registry, logger *slog.Logger) (*sysagent.Sysagent, []func(context.Context) error, error) {
	sys, err := sysagent.New(cfg.Sysagent, sysagent.Deps{Logger: logger, Registerer: reg})
	if err != nil {
		return nil, nil, err
	}
	runners := []func(context.Context) error{sys.Run}
	if l := cfg.Sysagent.PrometheusListen; l != "" && l != cfg.HTTP.Listen {
		srv := httpserver.New(l, reg, map[string]httpserver.Check{"influxdb": sys.Check}, logger)
		if _, err := srv.Listen(); err != nil {
			return nil, nil, fmt.Errorf("sysagent.prometheus_listen: %w", err)
		}
		runners = append(runners, srv.Run)
	}
	return sys, runners, nil
}

// sysagentRegistrar announces the process in etcd with role sysagent. Its id is the
// agent id with "-sysagent", so an agent and a sysagent on one host keep two records.
func sysagentRegistrar(cfg config.Config, reg prometheus.Registerer, logger *slog.Logger) (*registration.Registrar, func(), error) {
	return roleRegistrar(cfg, logger, reg, func(v etcdconf.Vars) registration.Record {
		return registration.Record{ID: v.ID + "-sysagent", Role: "sysagent"}
	})
}
