package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/agent"
	"github.com/logcollect/logcollect/internal/agent/kafkaout"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/lifecycle"
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
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	cfg, logger, level, reg, err := loadLeveled(fs, path, args, stderr)
	if err != nil {
		return err
	}
	checks := map[string]httpserver.Check{}

	deps := agent.Deps{Logger: logger, Registerer: reg}
	var kafkaSink *kafkaout.Sink
	if cfg.Agent.Output == "kafka" {
		kafkaSink, err = kafkaout.New(cfg.Kafka, kafkaout.Deps{Logger: logger, Registerer: reg, DataDir: cfg.Agent.DataDir})
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
		if len(cfg.Agent.AllowedPaths) == 0 {
			// Whoever can write a collect key can then read any file this process can
			// (as root: /etc/shadow, SSH keys) and ship it to Kafka.
			logger.Warn("agent.allowed_paths is empty: entries from etcd may name any file this agent can read; "+
				"set agent.allowed_paths (e.g. [\"/var/log/**\"]) to limit them", "component", "agent", "uid", os.Getuid())
		}
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
		registrar, err = registration.NewProcess(cli, vars,
			registration.Record{Role: "agent", CollectKeys: etcdconf.ExpandKeys(cfg.Etcd.CollectKeys, vars)},
			version, time.Duration(cfg.Etcd.LeaseTTL), logger, reg)
		if err != nil {
			return err
		}
	}
	deps.Source, deps.Applied = src, registrar.SetEntries
	a, err := agent.New(cfg, deps)
	if err != nil {
		return err
	}

	parts, err := serveHTTP(cfg.HTTP, reg, checks, logger)
	if err != nil {
		return err
	}
	// agent.sysmetrics: the host metrics collector in the same process (one per host).
	if cfg.Agent.Sysmetrics {
		// InfluxDB's health stays off the agent's /healthz: an InfluxDB outage must not get
		// the log shipper restarted by a supervisor (its metrics show the outage).
		_, sysParts, err := newSysagent(cfg, reg, logger)
		if err != nil {
			return err
		}
		parts = append(parts, sysParts...)
	}
	if registrar != nil {
		parts = append(parts, lifecycle.Part{Name: "registration", Run: registrar.Run})
	}
	// The agent flushes and closes the Kafka sink before its final checkpoint write. The
	// reload part comes last: it feeds the entry source, which runs inside the agent.
	rl := &reloader{path: *path, cur: cfg, hup: hup, level: level, static: src.SetStatic, log: logger.With("component", "reload")}
	parts = append(parts, lifecycle.Part{Name: "agent", Run: a.Run}, lifecycle.Part{Name: "reload", Run: rl.Run})
	return lifecycle.Group{Logger: logger, Parts: parts}.Run(ctx)
}
