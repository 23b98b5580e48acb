//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/logging"
	"github.com/logcollect/logcollect/internal/standalone"
	"github.com/logcollect/logcollect/web"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func runStandalone(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("standalone", `The whole system in one process: an embedded etcd (data in DATA/etcd, clients on
--etcd-listen, so etcdctl and 'logcollect ctl' work against it), the agent with its entries
from that etcd, the embedded log store (DATA/store) as the agent's output, and the HTTP
API and web UI on --http-listen. The --collect flags and agent.collect of the config file
are written to the first collect key at start; with no entry anywhere, the readable
/var/log/*.log files are collected. Every line is stored exactly once, also across kill -9.
SIGINT/SIGTERM stop reading, store what is in flight, and exit 0.

Examples:
  logcollect standalone --collect '/var/log/nginx/*.log=web_log'
  logcollect standalone --config logcollect.yaml --data-dir /var/lib/logcollect`, stderr)
	path := fs.String("config", "", "config file (YAML, or the original .ini); default: built-in defaults")
	dataDir := fs.String("data-dir", "data/standalone", "where etcd, the store and the agent's checkpoints live")
	httpListen := fs.String("http-listen", "", "API and UI address (default: http.listen, 127.0.0.1:8080)")
	etcdListen := fs.String("etcd-listen", standalone.DefaultEtcdListen, "embedded etcd client address")
	printToken := fs.Bool("print-token", false, "print the access token of --data-dir (made if missing) and exit: curl -H \"Authorization: Bearer $(logcollect standalone --print-token)\"")
	var collect listFlag
	fs.Var(&collect, "collect", "GLOB=TOPIC: collect these files (repeatable)")
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *printToken {
		tok, err := standalone.AccessToken(*dataDir)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, tok)
		return err
	}
	cfg := config.Default()
	if *path != "" {
		loaded, err := config.Load(*path)
		if err != nil {
			return err
		}
		cfg = loaded
	}
	logger := logging.New(cfg.Log, stderr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = hupLogger("standalone", hup, logger)(ctx) }() // nil when ctx ends
	return standalone.Run(ctx, standalone.Options{Config: cfg, DataDir: *dataDir, Collect: collect,
		HTTPListen: *httpListen, EtcdListen: *etcdListen, Version: version, Logger: logger, Stdout: stdout,
		UI: web.Handler()})
}
