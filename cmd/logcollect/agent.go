package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/logcollect/logcollect/internal/agent"
	"github.com/logcollect/logcollect/internal/agent/kafkaout"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/httpserver"
)

func runAgent(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("agent", `Tail the log files of the collect entries and ship every line to the configured
output (agent.output: kafka, file or stdout). Entries come from agent.collect and, when
etcd.endpoints is set, from the etcd keys in etcd.collect_keys, watched and applied
within a second. Reading resumes after a restart, kill -9 included, exactly where the
output last acknowledged, from the checkpoints in agent.data_dir. SIGINT/SIGTERM stop
reading, wait up to agent.shutdown_timeout for in-flight lines to be acknowledged, save
the checkpoints and exit 0. /metrics and /healthz are served on http.listen.

Example config (output to a file, no etcd, for a first try):
  agent:
    data_dir: ./data/agent
    output: file
    output_file: ./out.log
    collect:
      - {path: /var/log/nginx/*.log, topic: web_log, start: beginning}
  etcd:
    endpoints: []

Example:
  logcollect agent --config logcollect.yaml
  logcollect agent --config config.ini     # the original course project's file`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	cfg, logger, reg, err := loadCommand(fs, path, args, stderr)
	if err != nil {
		return err
	}
	checks := map[string]httpserver.Check{}

	deps := agent.Deps{Logger: logger, Registerer: reg}
	var kafkaSink *kafkaout.Sink
	if cfg.Agent.Output == "kafka" {
		kafkaSink, err = kafkaout.New(cfg.Kafka, kafkaout.WithLogger(logger), kafkaout.WithRegisterer(reg),
			kafkaout.WithDataDir(cfg.Agent.DataDir))
		if err != nil {
			return fmt.Errorf("kafka output: %w", err)
		}
		deps.Sink = kafkaSink
		checks["kafka"] = kafkaSink.Check
		// A ceiling on the heap well above its steady state (kafkaout.SoftMemoryLimit).
		// An operator's GOMEMLIMIT wins.
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
			debug.SetMemoryLimit(kafkaout.SoftMemoryLimit(cfg.Kafka.MaxBufferedBytes))
		}
	}

	var cli *clientv3.Client
	if etcdconf.Enabled(cfg.Etcd) {
		if cli, err = etcdconf.NewClient(cfg.Etcd); err != nil {
			return err
		}
		defer cli.Close()
	}
	vars, err := etcdconf.AgentVars(cfg)
	if err != nil {
		return err
	}
	// Without etcd the watcher serves the static agent.collect entries alone.
	src, err := etcdconf.FromConfig(cfg, cli, vars, logger, reg)
	if err != nil {
		return err
	}
	var registrar *registration.Registrar
	if cli != nil {
		registrar, err = registration.New(registration.Options{
			Client: cli,
			Record: registration.Record{ID: vars.ID, Role: "agent", Hostname: vars.Hostname, IP: vars.IP, Version: version,
				StartedAt: time.Now().UTC(), CollectKeys: etcdconf.ExpandKeys(cfg.Etcd.CollectKeys, vars)},
			TTL:        time.Duration(cfg.Etcd.LeaseTTL),
			Logger:     logger,
			Registerer: reg,
		})
		if err != nil {
			return err
		}
	}
	deps.Source = entrySource{src: src, reg: registrar}
	a, err := agent.New(cfg, deps)
	if err != nil {
		return err
	}

	// agent.sysmetrics: the host metrics collector in the same process (one per host).
	var sysRunners []func(context.Context) error
	if cfg.Agent.Sysmetrics {
		// InfluxDB's health stays off the agent's /healthz: an InfluxDB outage must not get
		// the log shipper restarted by a supervisor (its metrics show the outage).
		_, runners, err := newSysagent(cfg, reg, logger)
		if err != nil {
			return err
		}
		sysRunners = runners
	}

	var srv *httpserver.Server
	if cfg.HTTP.Listen != "" {
		srv = httpserver.New(cfg.HTTP.Listen, reg, checks, logger)
		if cfg.HTTP.Pprof {
			srv.EnablePprof()
		}
		if _, err := srv.Listen(); err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	// The agent flushes and closes the Kafka sink before its final checkpoint write.
	g.Go(func() error { return a.Run(gctx) })
	if registrar != nil {
		g.Go(func() error { return registrar.Run(gctx) })
	}
	if srv != nil {
		g.Go(func() error { return srv.Run(gctx) })
	}
	for _, run := range sysRunners {
		g.Go(func() error { return run(gctx) })
	}
	return g.Wait()
}

// entrySource tells the registration which entries the agent collects after each apply.
type entrySource struct {
	src *etcdconf.Watcher
	reg *registration.Registrar
}

func (s entrySource) Run(ctx context.Context, apply func([]entry.Entry) error) error {
	return s.src.Run(ctx, func(list []entry.Entry) error {
		if err := apply(list); err != nil {
			return err
		}
		if s.reg != nil {
			paths := make([]string, len(list))
			for i, e := range list {
				paths[i] = e.Path
			}
			s.reg.SetFiles(paths)
		}
		return nil
	})
}
