package kafkaout

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	records    *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	errors     *prometheus.CounterVec
	deadLetter *prometheus.CounterVec
	latency    prometheus.Histogram
}

// Error kinds, the values of the kind label of logcollect_kafka_errors_total.
const (
	kindTooLarge      = "too_large"
	kindInvalidRecord = "invalid_record"
	kindUnknownTopic  = "unknown_topic"
	kindInvalidTopic  = "invalid_topic"
	kindAuthorization = "authorization"
	kindAborted       = "aborted" // not delivered at shutdown; re-read after restart
	kindRetried       = "retried" // failed by the client without Kafka refusing it; produced again
	kindBrokerConnect = "broker_connect"
	kindDeadLetter    = "deadletter_write"
	kindOther         = "other"
)

func newMetrics(reg prometheus.Registerer, s *Sink) (*metrics, error) {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_kafka_records_sent_total",
			Help: "Records acknowledged by Kafka, per topic.",
		}, []string{"topic"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_kafka_sent_bytes_total",
			Help: "Value bytes (the log lines) acknowledged by Kafka, per topic.",
		}, []string{"topic"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_kafka_errors_total",
			Help: "Produce errors by kind (too_large, invalid_record, unknown_topic, invalid_topic, authorization, aborted, retried, broker_connect, deadletter_write, other).",
		}, []string{"kind"}),
		deadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_kafka_deadletter_records_total",
			Help: "Records Kafka refused for good, written to the dead-letter file, per topic.",
		}, []string{"topic"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "logcollect_kafka_produce_latency_seconds",
			Help:    "Time from handing a record to the producer until Kafka acknowledged it (one record in 64 is sampled).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	collectors := []prometheus.Collector{
		m.records, m.bytes, m.errors, m.deadLetter, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_kafka_inflight_bytes",
			Help: "Bytes (estimated memory) of records handed to the producer and not yet acknowledged.",
		}, func() float64 { return float64(s.budget.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_kafka_inflight_records",
			Help: "Records handed to the producer and not yet acknowledged.",
		}, func() float64 { return float64(s.inflight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_kafka_max_buffered_bytes",
			Help: "The in-flight byte budget (kafka.max_buffered_bytes); reading pauses when it is used up.",
		}, func() float64 { return float64(s.budget.limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_kafka_up",
			Help: "1 when Kafka acknowledges records, 0 when the sink is degraded.",
		}, func() float64 {
			if s.Health().Status == StatusOK {
				return 1
			}
			return 0
		}),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register kafka metrics: %w", err)
		}
	}
	return m, nil
}
