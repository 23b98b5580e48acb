// Package server wires `logcollect server`: the HTTP API of docs/api.md and the web UI over
// a cluster — logs from OpenSearch (the indices the transfer writes), host metrics from
// InfluxDB or Prometheus (server.metrics), collect entries and live components from etcd.
// It keeps no state of its own (sessions are signed with http.auth.token), so several can
// run behind a load balancer. Security is the standalone's: loopback by default, any other
// address only with http.auth, a credential always (a token made for the run when none is
// configured), and the Host, credential and origin guard of httpserver in
// front of everything; no backend's credentials ever reach a browser (the API answers
// with rows, series and entries only).
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/hostmetrics/metricsread"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/lifecycle"
	"github.com/logcollect/logcollect/internal/search/api"
)

// Options are the server's inputs.
type Options struct {
	Config  config.Config
	Version string
	Logger  *slog.Logger
	// Registry is served at /metrics.
	Registry *prometheus.Registry
	// Stdout receives the "open http://..." line.
	Stdout io.Writer
	// UI is served at / when set.
	UI http.Handler
}

// Run serves until ctx ends.
func Run(ctx context.Context, o Options) error {
	cfg, log := o.Config, o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	auth := cfg.HTTP.Auth.Credential()
	if err := httpserver.CheckListen(cfg.HTTP.Listen, auth); err != nil {
		return err
	}
	auth, generated := runAuth(auth)
	if !etcdconf.Enabled(cfg.Etcd) {
		return errors.New("etcd.endpoints: required: the server reads the collect entries and the live components from etcd")
	}
	metrics, metricsCheck, err := NewMetrics(cfg, nil)
	if err != nil {
		return err
	}
	logs, err := openLogs(cfg, log)
	if err != nil {
		return err
	}
	cli, err := etcdconf.NewClient(cfg.Etcd)
	if err != nil {
		return err
	}
	defer cli.Close()
	allowed := editableFiles(cfg.Agent.AllowedPaths)
	log.Info("entries may name only these files", "agent.allowed_paths", allowed)
	a, err := api.New(api.Deps{Logs: logs, Metrics: metrics, Etcd: cli, Logger: log,
		CollectKeys: fixedKeys(cfg.Etcd.CollectKeys), KeyTemplates: cfg.Etcd.CollectKeys, AllowedPaths: allowed,
		UI: o.UI, QueryTimeout: time.Duration(cfg.Store.QueryTimeout)})
	if err != nil {
		return err
	}
	srv, err := httpserver.New(httpserver.Config{Listen: cfg.HTTP.Listen, Pprof: cfg.HTTP.Pprof,
		Access: httpserver.Access{AllowedHosts: cfg.HTTP.AllowedHosts, Auth: auth, OpenUI: true}},
		httpserver.Deps{Gatherer: o.Registry, Logger: log,
			Checks: map[string]httpserver.Check{"etcd": etcdCheck(cli), "metrics": informational(metricsCheck)}})
	if err != nil {
		return err
	}
	srv.Handle("/", a.Handler())
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("--http-listen: %w", err)
	}
	registrar, err := newRegistrar(cfg, cli, o.Version, log, o.Registry)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "logcollect server: open %s  (metrics from %s, etcd at %s)\n", httpserver.OpenURL(addr, generated), cfg.Server.Metrics,
		strings.Join(cfg.Etcd.Endpoints, ","))
	log.Info("server started", "http", addr.String(), "metrics", cfg.Server.Metrics, "etcd", cfg.Etcd.Endpoints,
		"auth", authSource(generated))
	// Live tails end before the HTTP server shuts down, so it does not wait for them.
	return lifecycle.Group{Logger: log, Parts: []lifecycle.Part{
		{Name: "http", Run: srv.Run},
		{Name: "api", Close: func(context.Context) error { a.Close(); return nil }},
		{Name: "registration", Run: registrar.Run},
	}}.Run(ctx)
}

// runAuth is the configured credential or, when there is none, a random token made for
// this run (returned as generated too, to be printed in the URL to open), as a notebook
// server does. Without one every local account could read the logs through the API, and
// unlike the standalone the server has no data directory to keep a token in. Instances
// behind a load balancer, and scripts, set http.auth (CheckListen requires it off
// loopback), so that a session or a token works on each of them and across restarts.
func runAuth(a httpserver.Auth) (auth httpserver.Auth, generated string) {
	if a.Enabled() {
		return a, ""
	}
	tok := rand.Text()
	return httpserver.Auth{Token: tok}, tok
}

func authSource(generated string) string {
	if generated != "" {
		return "a token made for this run, in the URL on stdout"
	}
	return "http.auth"
}

// NewMetrics is the host-metrics reader server.metrics names, and its health check.
func NewMetrics(cfg config.Config, client *http.Client) (metricsread.Reader, httpserver.Check, error) {
	switch cfg.Server.Metrics {
	case "influxdb":
		in := cfg.Sysagent.InfluxDB
		if in.Bucket != "" && in.Database == "" {
			return nil, nil, errors.New("sysagent.influxdb.database: the server reads InfluxDB 1.x with InfluxQL; " +
				"for InfluxDB 2.x name the bucket's DBRP mapping here")
		}
		r, err := metricsread.NewInflux(metricsread.InfluxConfig{URL: in.URL, Database: in.Database, Token: in.Token}, client)
		if err != nil {
			return nil, nil, fmt.Errorf("server.metrics influxdb: %w", err)
		}
		return r, r.Check, nil
	case "prometheus":
		p := cfg.Server.Prometheus
		r, err := metricsread.NewPrometheus(metricsread.PromConfig{URL: p.URL, ScrapeInterval: time.Duration(p.ScrapeInterval)}, client)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Check, nil
	}
	return nil, nil, fmt.Errorf("server.metrics: must be influxdb or prometheus (got %q)", cfg.Server.Metrics)
}

// fixedKeys are the collect keys without a placeholder: GET /api/entries lists them. A
// key with {ip}, {hostname} or {id} is one per host; the server is none of them, so those
// are reached by name (GET/PUT /api/entries/{key} accept any key the templates match).
func fixedKeys(templates []string) []string {
	var out []string
	for _, t := range templates {
		if etcdconf.NewKeyPattern(t).Exact() {
			out = append(out, t)
		}
	}
	return out
}

// etcdCheck and informational report a backend on /healthz without degrading it: every
// instance behind a load balancer shares the backends, and one being down must not take
// all of them out of rotation (search still works while etcd is down, and the reverse).
func etcdCheck(cli *clientv3.Client) httpserver.Check {
	return informational(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "/logcollect/agents/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err
	})
}

func informational(check httpserver.Check) httpserver.Check {
	return func() error {
		if err := check(); err != nil {
			return httpserver.Info("unreachable: " + err.Error())
		}
		return nil
	}
}

// newRegistrar announces the server under /logcollect/agents/ with role server, so the
// agents page lists it; the pid keeps several on one host apart.
func newRegistrar(cfg config.Config, cli *clientv3.Client, version string, log *slog.Logger, reg prometheus.Registerer) (*registration.Registrar, error) {
	vars, err := etcdconf.AgentVars(cfg)
	if err != nil {
		return nil, err
	}
	return registration.NewProcess(cli, vars, registration.Record{ID: vars.Hostname + "-server-" + strconv.Itoa(os.Getpid()), Role: "server"},
		version, time.Duration(cfg.Etcd.LeaseTTL), log, reg)
}

// editableFiles is what entries edited through the server may name: agent.allowed_paths,
// or /var/log/** when it is empty. The server writes the entries of every agent of the
// cluster, and an agent without an allowlist of its own reads whatever it is told.
func editableFiles(configured []string) []string {
	if len(configured) > 0 {
		return configured
	}
	return []string{"/var/log/**"}
}
