package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/hostmetrics/sysagent"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/lifecycle"
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
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	cfg, logger, reg, err := loadCommand(fs, path, args, stderr)
	if err != nil {
		return err
	}
	sys, sysParts, err := newSysagent(cfg, reg, logger)
	if err != nil {
		return err
	}
	parts, err := serveHTTP(cfg.HTTP, reg, map[string]httpserver.Check{"influxdb": sys.Check}, logger)
	if err != nil {
		return err
	}
	if etcdconf.Enabled(cfg.Etcd) {
		// Its id is the agent id with "-sysagent", so an agent and a sysagent on one host
		// keep two records.
		registrar, closeEtcd, err := newRegistrar(cfg, logger, reg, func(v etcdconf.Vars) registration.Record {
			return registration.Record{ID: v.ID + "-sysagent", Role: "sysagent"}
		})
		if err != nil {
			return err
		}
		defer closeEtcd()
		parts = append(parts, lifecycle.Part{Name: "registration", Run: registrar.Run})
	}
	parts = append(parts, sysParts...)
	parts = append(parts, lifecycle.Part{Name: "sighup", Run: hupLogger("sysagent", hup, logger)})
	return lifecycle.Group{Logger: logger, Parts: parts}.Run(ctx)
}

// newSysagent builds the collector and its outputs on reg, and returns it with what must
// run: its /metrics listener when sysagent.prometheus_listen is set (bound now, so a busy
// port fails at start-up), then the collector. `agent` with agent.sysmetrics calls it too.
func newSysagent(cfg config.Config, reg *prometheus.Registry, logger *slog.Logger) (*sysagent.Sysagent, []lifecycle.Part, error) {
	sys, err := sysagent.New(cfg.Sysagent, sysagent.Deps{Logger: logger, Registerer: reg})
	if err != nil {
		return nil, nil, err
	}
	var parts []lifecycle.Part
	if l := cfg.Sysagent.PrometheusListen; l != "" && l != cfg.HTTP.Listen {
		srv, err := httpserver.New(httpserver.Config{Listen: l, Access: httpAccess(cfg.HTTP)},
			httpserver.Deps{Gatherer: reg, Checks: map[string]httpserver.Check{"influxdb": sys.Check}, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		if _, err := srv.Listen(); err != nil {
			return nil, nil, fmt.Errorf("sysagent.prometheus_listen: %w", err)
		}
		parts = append(parts, lifecycle.Part{Name: "sysagent.prometheus_listen", Run: srv.Run})
	}
	return sys, append(parts, lifecycle.Part{Name: "sysagent", Run: sys.Run}), nil
}
