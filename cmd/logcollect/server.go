//go:build !agentonly

package main

import (
	"context"
	"io"
	"os"
	"runtime/debug"

	"github.com/logcollect/logcollect/internal/server"
	"github.com/logcollect/logcollect/web"
)

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server", `The standalone's API and web UI over a cluster: search, context, live tail and facets
over the OpenSearch indices the transfer writes (opensearch), host charts from InfluxDB
(server.metrics: influxdb, reading sysagent.influxdb) or Prometheus (server.metrics:
prometheus, server.prometheus.url), live agents and the collect-entries editor over etcd
(etcd.endpoints, tls, username/password). It keeps no state: run several behind a load
balancer, all with the same http.auth. Like the standalone it listens on loopback unless
http.auth is set, and without http.auth it makes a token for the run, printed in the URL
to open; /metrics and /healthz are served beside the API.

Example:
  logcollect server --config examples/server.yaml`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	httpListen := fs.String("http-listen", "", "API and UI address (default: http.listen, 127.0.0.1:8080)")
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	cfg, logger, reg, err := loadCommand(fs, path, args, stderr)
	if err != nil {
		return err
	}
	if *httpListen != "" {
		cfg.HTTP.Listen = *httpListen
	}
	// The server's live heap is a few MiB and each search allocates a few hundred KiB
	// (the answer read, the rows, the answer written), so with GOGC=100 the collector ran
	// every few searches and took 30 % of the server's CPU. 400 takes it to 7 % for ~10 MiB
	// more heap (docs/benchmarks.md, issue 19). An operator's GOGC wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = hupLogger("server", hup, logger)(ctx) }() // nil when ctx ends
	return server.Run(ctx, server.Options{Config: cfg, Version: version, Logger: logger, Registry: reg, Stdout: stdout, UI: web.Handler()})
}
