package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
)

// newRegistrar connects to etcd and announces a process whose role has no etcd client of
// its own (transfer, sysagent): record gets the host's variables and returns the role's
// record. The returned func closes the client.
func newRegistrar(cfg config.Config, logger *slog.Logger, reg prometheus.Registerer,
	record func(etcdconf.Vars) registration.Record) (*registration.Registrar, func(), error) {
	vars, err := etcdconf.AgentVars(cfg)
	if err != nil {
		return nil, nil, err
	}
	cli, err := etcdconf.NewClient(cfg.Etcd)
	if err != nil {
		return nil, nil, err
	}
	r, err := registration.NewProcess(cli, vars, record(vars), version, time.Duration(cfg.Etcd.LeaseTTL), logger, reg)
	if err != nil {
		_ = cli.Close()
		return nil, nil, err
	}
	return r, func() { _ = cli.Close() }, nil
}
