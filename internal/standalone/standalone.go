// Package standalone wires `logcollect standalone`: an embedded etcd, the agent with its
// entries from that etcd, the embedded log store as the agent's output, the host-metrics
// seam, and the HTTP API (plus UI, /metrics, /healthz) in one process.
//
// Start order: etcd, store, entries written, HTTP listening, agent. Stop order (SIGTERM):
// the agent stops reading and waits for its in-flight lines to be committed by the store
// and acknowledged, writes its checkpoints; then the store commits what it still holds and
// closes; then HTTP and etcd stop. Nothing acknowledged is lost, nothing is stored twice.
package standalone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logcollect/logcollect/internal/agent"
	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/control/entryedit"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/hostmetrics/sysagent"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/search/api"
	"github.com/logcollect/logcollect/internal/search/store"
	"github.com/logcollect/logcollect/internal/search/store/sqlitestore"
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

// storePoints hands the host-metrics collector's points to the store; the two Point types
// have the same shape, so each converts as it is.
type storePoints struct{ st store.Store }

func (w storePoints) WritePoints(ctx context.Context, points []hostmetrics.Point) error {
	out := make([]store.Point, len(points))
	for i, p := range points {
		out[i] = store.Point(p)
	}
	return w.st.WritePoints(ctx, out)
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
	if err := checkListen(cfg.HTTP); err != nil {
		return err
	}
	flagEntries, err := parseCollect(o.Collect)
	if err != nil {
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
	cli, err := clientv3.New(clientv3.Config{Endpoints: cfg.Etcd.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close() // before etcd.Close (deferred earlier), or that blocks

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st, err := sqlitestore.Open(sqlitestore.Config{Dir: cfg.Store.Path, Retention: time.Duration(cfg.Store.Retention),
		MaxBytes: cfg.Store.MaxBytes}, log, reg)
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
	registrar, err := registration.New(registration.Options{Client: cli,
		Record: registration.Record{ID: vars.ID, Role: "standalone", Hostname: vars.Hostname, IP: vars.IP, Version: o.Version,
			StartedAt: time.Now().UTC(), CollectKeys: keys},
		TTL: time.Duration(cfg.Etcd.LeaseTTL), Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	ag, err := agent.New(cfg, agent.Deps{Logger: log, Registerer: reg, Sink: store.NewSink(st),
		Source: filesSource{src: src, reg: registrar}})
	if err != nil {
		return err
	}
	a, err := api.New(api.Deps{Store: st, Etcd: cli, Logger: log, CollectKeys: keys,
		AllowedPaths: cfg.Agent.AllowedPaths, UI: o.UI,
		Auth: api.Auth{Token: cfg.HTTP.Auth.Token, Username: cfg.HTTP.Auth.Username, Password: cfg.HTTP.Auth.Password}})
	if err != nil {
		return err
	}
	srv := httpserver.New(cfg.HTTP.Listen, reg, map[string]httpserver.Check{}, log)
	srv.Handle("/", a.Handler())
	if cfg.HTTP.Pprof {
		srv.EnablePprof()
	}
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("--http-listen: %w", err)
	}
	collector, err := newHostMetrics(cfg, st, log, reg)
	if err != nil {
		return err
	}

	// The store's writer outlives the agent: it commits (and so acknowledges) the agent's
	// last lines during its shutdown.
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	defer stopStore()
	storeDone := make(chan error, 1)
	go func() { storeDone <- st.Run(storeCtx) }()

	fmt.Fprintf(o.Stdout, "logcollect standalone: open http://%s/  (etcd at %s, data in %s)\n", addr, o.EtcdListen, dataDir)
	log.Info("standalone started", "http", addr.String(), "etcd", o.EtcdListen, "data_dir", dataDir, "collect_keys", keys)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ag.Run(gctx) })
	g.Go(func() error { return registrar.Run(gctx) })
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		a.Close() // ends live tails, so the HTTP shutdown does not wait for them
		return nil
	})
	g.Go(func() error { return collector.Run(gctx) })
	runErr := g.Wait()
	stopStore()
	if err := <-storeDone; err != nil && runErr == nil {
		runErr = err
	}
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
		Writers: []hostmetrics.Writer{storePoints{st: st}}})
	if err != nil {
		return nil, fmt.Errorf("host metrics: %w", err)
	}
	return s, nil
}

// checkListen refuses a non-loopback HTTP address without http.auth.
func checkListen(h config.HTTP) error {
	host, _, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return fmt.Errorf("--http-listen / http.listen %q: must be host:port", h.Listen)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return nil
	}
	if h.Auth.Token == "" && h.Auth.Username == "" {
		return fmt.Errorf("--http-listen / http.listen %s is not a loopback address: set http.auth (token, or username and password) first, "+
			"or listen on 127.0.0.1", h.Listen)
	}
	return nil
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
	for attempt := 0; attempt < 5; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		cur, err := entryedit.Read(rctx, cli, key, allowed)
		cancel()
		if err != nil {
			return err
		}
		if cur.Err != nil {
			return fmt.Errorf("collect key %s in the embedded etcd is invalid (%v); fix it with 'logcollect ctl entries set'", key, cur.Err)
		}
		list := add
		if len(add) == 0 {
			if len(cur.Entries) > 0 || anyEntries(ctx, cli, keys[1:]) {
				return nil
			}
			list = []entry.Entry{defaultEntry}
			log.Info("no collect entries configured: collecting the readable /var/log/*.log files", "key", key)
		}
		merged := entry.Merge(cur.Entries, list)
		if len(cur.Entries) == len(merged) && sameEntries(cur.Entries, merged) {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = entryedit.Set(wctx, cli, key, merged, cur.Revision, allowed)
		cancel()
		if errors.Is(err, entryedit.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write collect entries to %s: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("write collect entries to %s: it kept changing", key)
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

// filesSource tells the registration which entries the agent collects after each apply.
type filesSource struct {
	src *etcdconf.Watcher
	reg *registration.Registrar
}

func (s filesSource) Run(ctx context.Context, apply func([]entry.Entry) error) error {
	return s.src.Run(ctx, func(list []entry.Entry) error {
		if err := apply(list); err != nil {
			return err
		}
		paths := make([]string, len(list))
		for i, e := range list {
			paths[i] = e.Path
		}
		s.reg.SetFiles(paths)
		return nil
	})
}
