package etcdconf

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/config"
)

// AgentVars returns the placeholder values of an agent: agent.id, the hostname, and the
// address of the interface used to reach etcd (empty when there is no etcd).
func AgentVars(cfg config.Config) (Vars, error) {
	host, err := os.Hostname()
	if err != nil {
		return Vars{}, fmt.Errorf("hostname: %w", err)
	}
	v := Vars{Hostname: host, ID: cfg.Agent.ID}
	if v.ID == "" {
		v.ID = host
	}
	if Enabled(cfg.Etcd) {
		ip, err := LocalIP(cfg.Etcd.Endpoints)
		if err != nil {
			// An endpoint name that does not resolve right now (DNS down with etcd) must
			// not keep the agent from starting on its cache: fall back to the first
			// global unicast address, which is the routed one on most hosts.
			fallback, ferr := firstGlobalIP()
			if ferr != nil {
				return Vars{}, fmt.Errorf("etcd.endpoints: find the local address for {ip}: %w", errors.Join(err, ferr))
			}
			ip = fallback
		}
		v.IP = ip
	}
	return v, nil
}

func firstGlobalIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("list interface addresses: %w", err)
	}
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || !ipn.IP.IsGlobalUnicast() {
			continue
		}
		if ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
		if v6 == "" {
			v6 = ipn.IP.String()
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return "", errors.New("no global unicast interface address")
}

// FromConfig builds an agent's Watcher from its config: the collect keys expanded with
// vars, agent.collect as static entries, agent.allowed_paths, the cache in agent.data_dir
// and etcd.dial_timeout as the read timeout. cli is nil when etcd is not configured.
func FromConfig(cfg config.Config, cli *clientv3.Client, vars Vars, logger *slog.Logger, reg prometheus.Registerer) (*Watcher, error) {
	opts := Options{
		Client:       cli,
		Static:       cfg.Agent.Collect,
		AllowedPaths: cfg.Agent.AllowedPaths,
		ReadTimeout:  time.Duration(cfg.Etcd.DialTimeout),
		Logger:       logger,
		Registerer:   reg,
	}
	if cli != nil {
		opts.Keys = ExpandKeys(cfg.Etcd.CollectKeys, vars)
		if cfg.Agent.DataDir != "" {
			opts.CacheFile = CachePath(cfg.Agent.DataDir)
		}
	}
	return New(opts)
}
