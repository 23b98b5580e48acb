//go:build !agentonly

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/etcdconf"
	"github.com/logcollect/logcollect/internal/control/registration"
	"github.com/logcollect/logcollect/internal/fileout"
	"github.com/logcollect/logcollect/internal/httpserver"
	"github.com/logcollect/logcollect/internal/kafka"
	"github.com/logcollect/logcollect/internal/lifecycle"
	"github.com/logcollect/logcollect/internal/transfer"
	"github.com/logcollect/logcollect/internal/transfer/opensearchsink"
)

func runTransfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("transfer", `Consume the Kafka topics in transfer.topics (or matching transfer.topic_regex) as the
consumer group transfer.group and index every line into OpenSearch (transfer.sink:
opensearch; or file / stdout for debugging). Offsets are committed only after the sink
accepted the documents, and each document's _id comes from the record, so a restart —
kill -9 included — never loses a line and never indexes one twice. Start more instances
with the same group to scale out; each needs its own transfer.instance_id (default: the
host name), with which a restarted instance takes its partitions back at once.
SIGINT/SIGTERM drain, commit (up to transfer.shutdown_timeout) and leave the group.
/metrics and /healthz are served on http.listen.

Example config:
  kafka:
    brokers: ["127.0.0.1:9092"]
  transfer:
    group: logtransfer
    topics: [web_log]
    parse:
      - {topic: web_log, format: nginx_combined}
  opensearch:
    addresses: ["http://127.0.0.1:9200"]
    index: "{topic}-{date}"
    retention: 14d

Example:
  logcollect transfer --config transfer.yaml`, stderr)
	path := fs.String("config", "logcollect.yaml", "config file (YAML, or the original .ini)")
	hup, stopHUP := notifyHUP()
	defer stopHUP()
	cfg, logger, reg, err := loadCommand(fs, path, args, stderr)
	if err != nil {
		return err
	}
	checks := map[string]httpserver.Check{}

	var sink transfer.Sink
	var indexer *opensearchsink.Indexer
	switch cfg.Transfer.Sink {
	case "opensearch":
		indexer, err = opensearchsink.New(cfg.OpenSearch, opensearchsink.Deps{Logger: logger, Registerer: reg})
		if err != nil {
			return err
		}
		sink = indexer
		checks["opensearch"] = indexer.Check
	case "file", "stdout":
		out := "-"
		if cfg.Transfer.Sink == "file" {
			out = cfg.Transfer.OutputFile
		}
		f, err := fileout.OpenDocs(out, stdout)
		if err != nil {
			return fmt.Errorf("transfer.output_file: %w", err)
		}
		defer f.Close()
		sink = f
	}
	kopts, err := kafka.ClientOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	consumer, err := transfer.New(transfer.Config{Transfer: cfg.Transfer, Batching: transfer.Batching{
		MaxDocs: cfg.OpenSearch.BulkMaxDocs, MaxBytes: cfg.OpenSearch.BulkMaxBytes,
		FlushInterval: time.Duration(cfg.OpenSearch.FlushInterval), Concurrency: cfg.OpenSearch.BulkConcurrency,
	}}, transfer.Deps{Sink: sink, KafkaOpts: kopts, Logger: logger, Registerer: reg})
	if err != nil {
		return err
	}
	checks["kafka"] = consumer.Check
	checks["partitions"] = func() error {
		// Informational: an instance of a group with more instances than partitions owns
		// none and is healthy; restarting it would only cost a rebalance.
		if consumer.Assigned() == 0 {
			return httpserver.Info("no partitions assigned (joining the group, or the group has more instances than partitions)")
		}
		return nil
	}
	// The byte budget bounds the documents held; the soft limit keeps the heap near it
	// during an OpenSearch outage. An operator's GOMEMLIMIT wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(2*cfg.Transfer.MaxBufferedBytes + 64<<20)
	}

	parts, err := serveHTTP(cfg.HTTP, reg, checks, logger)
	if err != nil {
		return err
	}
	if etcdconf.Enabled(cfg.Etcd) {
		registrar, closeEtcd, err := transferRegistrar(cfg, logger, reg)
		if err != nil {
			return err
		}
		defer closeEtcd()
		parts = append(parts, lifecycle.Part{Name: "registration", Run: registrar.Run})
	}
	parts = append(parts, lifecycle.Part{Name: "sighup", Run: hupLogger("transfer", hup, logger)})
	return lifecycle.Group{Logger: logger, Parts: append(parts, lifecycle.Part{Name: "transfer", Run: func(ctx context.Context) error {
		// The template must exist before the first document creates an index.
		if indexer != nil {
			if err := indexer.Setup(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		return consumer.Run(ctx)
	}})}.Run(ctx)
}

// transferRegistrar announces the transfer in etcd.
func transferRegistrar(cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (*registration.Registrar, func(), error) {
	topics := cfg.Transfer.Topics
	if cfg.Transfer.TopicRegex != "" {
		topics = []string{cfg.Transfer.TopicRegex}
	}
	return newRegistrar(cfg, logger, reg, func(v etcdconf.Vars) registration.Record {
		// Several transfers may run on one host: the pid keeps their ids apart.
		return registration.Record{ID: v.Hostname + "-transfer-" + strconv.Itoa(os.Getpid()), Role: "transfer",
			Group: cfg.Transfer.Group, Topics: topics}
	})
}
