package opensearchsink

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests     *prometheus.CounterVec
	duration     prometheus.Histogram
	indexed      prometheus.Counter
	itemFailures *prometheus.CounterVec
	retries      *prometheus.CounterVec
}

func newMetrics() metrics {
	return metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_bulk_requests_total",
			Help: "Bulk requests sent, by result (ok, throttled, too_large, error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "logcollect_bulk_request_duration_seconds",
			Help:    "Latency of bulk requests, failed ones included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		indexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_bulk_documents_indexed_total",
			Help: "Documents OpenSearch accepted.",
		}),
		itemFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_bulk_item_failures_total",
			Help: "Bulk items that failed, by OpenSearch's error type (retried or refused for good).",
		}, []string{"reason"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_bulk_retries_total",
			Help: "Retries: of whole requests (kind=request) and of single items (kind=item).",
		}, []string{"kind"}),
	}
}

func (m metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.indexed, m.itemFailures, m.retries} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("register bulk metrics: %w", err)
		}
	}
	return nil
}
