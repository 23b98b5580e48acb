package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
)

// roleRegistrar connects to etcd and announces a process of one role (transfer,
// sysagent): record gets the host's variables and fills in the role's id and fields;
// hostname, IP, version and start time are set here. The returned func closes the
// client. The agent and the standalone register through their own etcd wiring.
func roleRegistrar(cfg config.Config, logger *slog.Logger, reg prometheus.Registerer,
	record func(etcdconf.Vars) registration.Record) (*registration.Registrar, func(), error) {
	vars, err := etcdconf.AgentVars(cfg)
	if err != nil {
		return nil, nil, err
	}
	cli, err := etcdconf.NewClient(cfg.Etcd)
	if err != nil {
		return nil, nil, err
	}
	rec := record(vars)
	rec.Hostname, rec.IP, rec.Version, rec.StartedAt = vars.Hostname, vars.IP, version, time.Now().UTC()
	r, err := registration.New(registration.Options{
		Client:     cli,
		Record:     rec,
		TTL:        time.Duration(cfg.Etcd.LeaseTTL),
		Logger:     logger,
		Registerer: reg,
	})
	if err != nil {
		_ = cli.Close()
		return nil, nil, err
	}
	return r, func() { _ = cli.Close() }, nil
}
