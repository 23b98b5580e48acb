// Package standalone wires `logcollect standalone`: an embedded etcd, the agent with its
// entries from that etcd, the embedded log store as the agent's output, the host-metrics
// seam, and the HTTP API (plus UI, /metrics, /healthz) in one process.
//
// Start order: etcd, store, entries written, HTTP listening, agent. Stop order (SIGTERM,
// kept by internal/lifecycle): the agent stops reading and waits for its in-flight lines to
// be committed by the store and acknowledged, writes its checkpoints; then the
// registration, host metrics and HTTP stop; then the store commits what it still holds
// and closes; etcd last. Nothing acknowledged is lost, nothing is stored twice.
package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/logcollect/logcollect/internal/agent"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/entryedit"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/hostmetrics/sysagent"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/lifecycle"
	"github.com/logcollect/logcollect/internal/search/api"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/search/store/sqlitestore"
	"github.com/logcollect/logcollect/internal/standalone/datadir"
)

// DefaultEtcdListen is the embedded etcd's client address, where etcdctl and
// `logcollect ctl` find it.
const DefaultEtcdListen = "127.0.0.1:2379"

// Options are the standalone's inputs.
type Options struct {
	Config config.Config
	// DataDir holds etcd/, store/ and agent/.
	DataDir string
	// Collect are --collect GLOB=TOPIC flags.
	Collect []string
	// HTTPListen and EtcdListen override http.listen and the default etcd address.
	HTTPListen, EtcdListen string
	Version                string
	Logger                 *slog.Logger
	// Stdout receives the "open http://..." line.
	Stdout io.Writer
	// UI is served at / when set (the web UI's embedded assets).
	UI http.Handler
}

// DefaultEntries is what runs when no entry is configured anywhere.
var defaultEntry = entry.Entry{Path: "/var/log/*.log", Topic: "varlog", Start: entry.StartBeginning}

// Run runs the standalone until ctx ends.
func Run(ctx context.Context, o Options) error {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.HTTPListen != "" {
		cfg.HTTP.Listen = o.HTTPListen
	}
	if o.EtcdListen == "" {
		o.EtcdListen = DefaultEtcdListen
	}
	if o.DataDir == "" {
		return errors.New("--data-dir: required")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("--data-dir %s: %w", o.DataDir, err)
	}
	if err := httpserver.CheckListen(cfg.HTTP.Listen, cfg.HTTP.Auth.Credential()); err != nil {
		return err
	}
	if err := checkEtcdListen(o.EtcdListen); err != nil {
		return err
	}
	flagEntries, err := parseCollect(o.Collect)
	if err != nil {
		return err
	}
	if len(cfg.Agent.AllowedPaths) == 0 {
		cfg.Agent.AllowedPaths = defaultAllowed(append(cfg.Agent.Collect, flagEntries...))
	}
	if err := datadir.Prepare(dataDir); err != nil {
		return err
	}
	cfg.Agent.DataDir = filepath.Join(dataDir, "agent")
	cfg.Store.Path = filepath.Join(dataDir, "store")
	cfg.Etcd.Endpoints = []string{o.EtcdListen}
	if err := probe("--http-listen", cfg.HTTP.Listen); err != nil {
		return err
	}

	etcd, err := startEtcd(filepath.Join(dataDir, "etcd"), o.EtcdListen)
	if err != nil {
		return err
	}
	defer etcd.Close()
	// Only the address and timeout of the config's etcd section apply: the embedded etcd
	// has no TLS and its one user is root.
	cli, err := connectEtcd(ctx, config.Etcd{Endpoints: cfg.Etcd.Endpoints, DialTimeout: cfg.Etcd.DialTimeout}, dataDir, log)
	if err != nil {
		return err
	}
	defer cli.Close() // before etcd.Close (deferred earlier), or that blocks
	if err := datadir.WriteClient(dataDir, datadir.Client{Endpoint: o.EtcdListen, AllowedPaths: cfg.Agent.AllowedPaths}); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	skew := time.Duration(cfg.Store.MaxTimeSkew)
	if skew == 0 {
		skew = -1 // the key's 0 is no limit, the engine's is its default
	}
	st, err := sqlitestore.Open(sqlitestore.Config{Dir: cfg.Store.Path, Retention: time.Duration(cfg.Store.Retention),
		MaxBytes: cfg.Store.MaxBytes, MaxTimeSkew: skew}, log, reg)
	if err != nil {
		return err
	}
	defer st.Close()

	vars, err := etcdconf.AgentVars(cfg)
	if err != nil {
		return err
	}
	keys := etcdconf.ExpandKeys(cfg.Etcd.CollectKeys, vars)
	if len(keys) == 0 {
		return errors.New("etcd.collect_keys: must not be empty in standalone")
	}
	if err := seedEntries(ctx, cli, keys, append(cfg.Agent.Collect, flagEntries...), cfg.Agent.AllowedPaths, log); err != nil {
		return err
	}
	// etcd is the one source of entries now: what was static is in the collect key.
	cfg.Agent.Collect = nil

	src, err := etcdconf.FromConfig(cfg, cli, vars, log, reg)
	if err != nil {
		return err
	}
	registrar, err := registration.NewProcess(cli, vars, registration.Record{Role: "standalone", CollectKeys: keys},
		o.Version, time.Duration(cfg.Etcd.LeaseTTL), log, reg)
	if err != nil {
		return err
	}
	ag, err := agent.New(cfg, agent.Deps{Logger: log, Registerer: reg, Sink: store.NewSink(st),
		Source: src, Applied: registrar.SetEntries})
	if err != nil {
		return err
	}
	if err := recoverLost(ctx, cfg.Agent.DataDir, ag.ID(), st, log); err != nil {
		return err
	}
	a, err := api.New(api.Deps{Logs: st, Metrics: st, Etcd: cli, Logger: log, CollectKeys: keys, KeyTemplates: cfg.Etcd.CollectKeys,
		AllowedPaths: cfg.Agent.AllowedPaths, UI: o.UI, QueryTimeout: time.Duration(cfg.Store.QueryTimeout)})
	if err != nil {
		return err
	}
	auth, generated, err := httpAuth(cfg.HTTP.Auth, dataDir)
	if err != nil {
		return err
	}
	srv, err := httpserver.New(httpserver.Config{Listen: cfg.HTTP.Listen, Pprof: cfg.HTTP.Pprof,
		Access: httpserver.Access{AllowedHosts: cfg.HTTP.AllowedHosts, Auth: auth, OpenUI: true}},
		httpserver.Deps{Gatherer: reg, Checks: map[string]httpserver.Check{"store": st.Check}, Logger: log})
	if err != nil {
		return err
	}
	srv.Handle("/", a.Handler())
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("--http-listen: %w", err)
	}
	collector, err := newHostMetrics(cfg, st, log, reg)
	if err != nil {
		return err
	}

	fmt.Fprintf(o.Stdout, "logcollect standalone: open %s  (etcd at %s, data in %s)\n", httpserver.OpenURL(addr, generated), o.EtcdListen, dataDir)
	log.Info("standalone started", "http", addr.String(), "etcd", o.EtcdListen, "data_dir", dataDir, "collect_keys", keys,
		"allowed_paths", cfg.Agent.AllowedPaths)
	// Downstream first. The store's writer outlives the agent: it commits (and so
	// acknowledges) the agent's last lines during its shutdown. Live tails end before the
	// HTTP server shuts down, so it does not wait for them.
	runErr := lifecycle.Group{Logger: log, Parts: []lifecycle.Part{
		{Name: "store", Run: st.Run},
		{Name: "http", Run: srv.Run},
		{Name: "api", Close: func(context.Context) error { a.Close(); return nil }},
		{Name: "host metrics", Run: collector.Run},
		{Name: "registration", Run: registrar.Run},
		{Name: "agent", Run: ag.Run},
	}}.Run(ctx)
	log.Info("standalone stopped", "err", runErr)
	return runErr
}

// newHostMetrics is the sysagent's collector writing into the store (and its error counters
// on /metrics). The standalone needs no InfluxDB, so none is written to: sysagent.influxdb
// is for `logcollect sysagent` and the agent's sysmetrics.
func newHostMetrics(cfg config.Config, st store.Store, log *slog.Logger, reg prometheus.Registerer) (*sysagent.Sysagent, error) {
	sc := cfg.Sysagent
	sc.InfluxDB.URL = ""
	sc.PrometheusListen = ""
	if sc.Host == "" {
		sc.Host = cfg.Agent.ID
	}
	s, err := sysagent.New(sc, sysagent.Deps{Logger: log.With("component", "hostmetrics"), Registerer: reg,
		Writers: []hostmetrics.Writer{st}})
	if err != nil {
		return nil, fmt.Errorf("host metrics: %w", err)
	}
	return s, nil
}

// httpAuth is http.auth, or, when none is configured, the data directory's access token
// (also returned as generated, to be printed in the URL to open): without a credential
// every local account could read through the API what the standalone reads (root's logs
// included).
func httpAuth(c config.HTTPAuth, dataDir string) (a httpserver.Auth, generated string, err error) {
	if c.Token != "" || c.Username != "" {
		return c.Credential(), "", nil
	}
	tok, err := AccessToken(dataDir)
	if err != nil {
		return httpserver.Auth{}, "", err
	}
	return httpserver.Auth{Token: tok}, tok, nil
}

// defaultAllowed is the standalone's agent.allowed_paths when the config sets none:
// /var/log and the directories of the entries given at start (--collect and the config
// file's agent.collect), so an entry added later through the API or ctl cannot name
// /etc/shadow or ~/.ssh.
func defaultAllowed(given []entry.Entry) []string {
	out := []string{"/var/log/**"}
	for _, e := range given {
		g := filepath.Join(filepath.Dir(filepath.Clean(e.Path)), "**")
		if !slices.Contains(out, g) && !entry.Allowed(g, out) {
			out = append(out, g)
		}
	}
	return out
}

// parseCollect reads --collect GLOB=TOPIC values.
func parseCollect(flags []string) ([]entry.Entry, error) {
	var out []entry.Entry
	for _, f := range flags {
		glob, topic, ok := strings.Cut(f, "=")
		if !ok || glob == "" || topic == "" {
			return nil, fmt.Errorf("--collect %q: must be GLOB=TOPIC, e.g. /var/log/app/*.log=app_log", f)
		}
		abs, err := filepath.Abs(glob)
		if err != nil {
			return nil, fmt.Errorf("--collect %q: %w", f, err)
		}
		e := entry.Entry{Path: abs, Topic: topic, Start: entry.StartBeginning}
		if err := e.Validate(nil); err != nil {
			return nil, fmt.Errorf("--collect %q: %w", f, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// seedEntries writes the configured entries into the first collect key, replacing entries
// of the same path and keeping the others (those added with ctl or the UI). With no
// entry anywhere it writes the default /var/log/*.log entry, and says so.
func seedEntries(ctx context.Context, cli *clientv3.Client, keys []string, add []entry.Entry, allowed []string, log *slog.Logger) error {
	key := keys[0]
	_, err := entryedit.Modify(ctx, cli, key, allowed, -1, 5*time.Second, func(cur []entry.Entry) ([]entry.Entry, bool, error) {
		list := add
		if len(add) == 0 {
			if len(cur) > 0 || anyEntries(ctx, cli, keys[1:]) {
				return nil, false, nil
			}
			list = []entry.Entry{defaultEntry}
			log.Info("no collect entries configured: collecting the readable /var/log/*.log files", "key", key)
		}
		merged := entry.Merge(cur, list)
		return merged, len(cur) != len(merged) || !sameEntries(cur, merged), nil
	})
	if errors.Is(err, entryedit.ErrStoredInvalid) {
		return fmt.Errorf("collect key %s in the embedded etcd is invalid (%v); fix it with 'logcollect ctl entries set'", key, err)
	}
	if err != nil {
		return fmt.Errorf("write collect entries to %s: %w", key, err)
	}
	return nil
}

func sameEntries(a, b []entry.Entry) bool {
	for i := range a {
		if a[i].Path != b[i].Path || !entry.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func anyEntries(ctx context.Context, cli *clientv3.Client, keys []string) bool {
	for _, k := range keys {
		cur, err := entryedit.Read(ctx, cli, k, nil)
		if err == nil && len(cur.Entries) > 0 {
			return true
		}
	}
	return false
}
