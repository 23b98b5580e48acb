package etcdconf

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	rejected      *prometheus.CounterVec
	applied       prometheus.Counter
	applyErrors   prometheus.Counter
	readErrors    prometheus.Counter
	watchRestarts prometheus.Counter
	entries       prometheus.Gauge
	revision      prometheus.Gauge
	fromCache     prometheus.Gauge
	lastApplied   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_etcdconf_rejected_total",
			Help: "Values of collect keys rejected as invalid (bad JSON, missing topic, path not allowed...); the key keeps its previous value.",
		}, []string{"key"}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_etcdconf_snapshots_applied_total",
			Help: "Entry snapshots handed to the tailing engine successfully.",
		}),
		applyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_etcdconf_apply_errors_total",
			Help: "Entry snapshots the tailing engine refused; the previous entries keep running.",
		}),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_etcdconf_read_errors_total",
			Help: "Failed reads of the collect keys (etcd unreachable, no leader...).",
		}),
		watchRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_etcdconf_watch_restarts_total",
			Help: "Watches that broke (compaction, cancellation) and were re-established after a fresh read.",
		}),
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_etcdconf_entries",
			Help: "Collect entries in the snapshot applied last (static and etcd merged).",
		}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_etcdconf_revision",
			Help: "etcd revision the applied entries were read at.",
		}),
		fromCache: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_etcdconf_from_cache",
			Help: "1 while the agent runs on the cached entries because etcd has not been read yet.",
		}),
		lastApplied: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_etcdconf_last_applied_timestamp_seconds",
			Help: "Unix time of the last successfully applied snapshot.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.rejected, m.applied, m.applyErrors, m.readErrors,
		m.watchRestarts, m.entries, m.revision, m.fromCache, m.lastApplied} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register etcdconf metrics (one Watcher per registry): %w", err)
		}
	}
	return m, nil
}
