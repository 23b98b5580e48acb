package transfer

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	records      prometheus.Counter
	written      prometheus.Counter
	deadLettered *prometheus.CounterVec
	parseErrors  *prometheus.CounterVec
	invalidUTF8  prometheus.Counter
	commits      *prometheus.CounterVec
	bufBytes     prometheus.GaugeFunc
	paused       prometheus.Gauge
	rebalances   *prometheus.CounterVec
	assigned     prometheus.GaugeFunc
}

func newMetrics(c *Consumer) metrics {
	return metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_transfer_records_total",
			Help: "Kafka records read.",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_transfer_documents_written_total",
			Help: "Documents the sink accepted.",
		}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_transfer_dead_lettered_total",
			Help: "Documents the sink refused for good, written to the dead-letter topic (result=written) or only logged when transfer.dlq_topic is empty (result=logged).",
		}, []string{"result"}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_transfer_parse_errors_total",
			Help: "Lines of a topic with a parse rule that did not parse (indexed as plain text, parse_error: true).",
		}, []string{"topic"}),
		invalidUTF8: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_transfer_invalid_utf8_total",
			Help: "Lines that were not valid UTF-8 (indexed with the bad bytes replaced, invalid_utf8: true).",
		}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_transfer_commits_total",
			Help: "Offset commits, by result.",
		}, []string{"result"}),
		bufBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_transfer_inflight_bytes",
			Help: "Bytes of documents read from Kafka and not yet accepted by the sink (bounded by transfer.max_buffered_bytes).",
		}, func() float64 { return float64(c.budget.inUse()) }),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_transfer_fetch_paused",
			Help: "1 while fetching waits because transfer.max_buffered_bytes are in flight.",
		}),
		rebalances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_transfer_partitions_changes_total",
			Help: "Partitions assigned, revoked and lost in rebalances.",
		}, []string{"change"}),
		assigned: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logcollect_transfer_assigned_partitions",
			Help: "Partitions this instance owns now (0 while joining, or when the group has more instances than partitions).",
		}, func() float64 { return float64(c.Assigned()) }),
	}
}

func (m metrics) register(r prometheus.Registerer, lag prometheus.Collector) error {
	for _, c := range []prometheus.Collector{m.records, m.written, m.deadLettered, m.parseErrors, m.invalidUTF8,
		m.commits, m.bufBytes, m.paused, m.rebalances, m.assigned, lag} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("register transfer metrics: %w", err)
		}
	}
	return nil
}

// lagCollector reports the lag of each assigned partition: records in Kafka not yet in the
// sink.
type lagCollector struct {
	c    *Consumer
	desc *prometheus.Desc
}

func newLagCollector(c *Consumer) *lagCollector {
	return &lagCollector{c: c, desc: prometheus.NewDesc("logcollect_transfer_lag_records",
		"Records of an assigned partition not yet accepted by the sink: the high watermark of the last fetch − the next offset to commit.",
		[]string{"topic", "partition"}, nil)}
}

func (l *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range l.c.assigned() {
		if lag, ok := p.lag(); ok {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(lag), p.topic, strconv.Itoa(int(p.id)))
		}
	}
}
