package tail

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	lines         *prometheus.CounterVec
	bytes         *prometheus.CounterVec
	timeFailures  *prometheus.CounterVec
	filesOpen     prometheus.Gauge
	truncated     prometheus.Counter
	rotations     prometheus.Counter
	readErrors    *prometheus.CounterVec
	unreadBytes   prometheus.Counter
	scans         prometheus.Counter
	publishErrors prometheus.Counter
	lagDesc       *prometheus.Desc
	engine        *Engine
}

func newMetrics(reg prometheus.Registerer, e *Engine) (*metrics, error) {
	m := &metrics{
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_tail_lines_total",
			Help: "Lines read from files, per collect entry (before filters).",
		}, []string{"entry"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_tail_bytes_total",
			Help: "Bytes read from files, per collect entry, newlines included.",
		}, []string{"entry"}),
		timeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_tail_time_parse_failures_total",
			Help: "Lines whose time looked like a timestamp (or was in the entry's time field) but did not parse; they keep the read time as event time.",
		}, []string{"entry"}),
		filesOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logcollect_tail_files_open",
			Help: "Files currently held open by harvesters.",
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_tail_truncated_lines_total",
			Help: "Lines cut at max_line_bytes.",
		}),
		rotations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_tail_rotations_total",
			Help: "Rotations seen: files renamed away or removed while open, and truncations.",
		}),
		readErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_tail_read_errors_total",
			Help: "Files that could not be read, by reason (permission, not_regular, open, read, stat).",
		}, []string{"reason"}),
		unreadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_tail_removed_unread_bytes_total",
			Help: "Bytes of removed files left unread when close_removed_after forced them closed.",
		}),
		scans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_tail_scans_total",
			Help: "Glob rescans of the entries (periodic, after directory events, or kicked).",
		}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_tail_publish_errors_total",
			Help: "Batches the output refused (retried with backoff until taken).",
		}),
		lagDesc: prometheus.NewDesc("logcollect_tail_lag_bytes",
			"Bytes of a file not yet acknowledged by the output (size - checkpoint).",
			[]string{"path"}, nil),
		engine: e,
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lines, m.bytes, m.filesOpen, m.truncated,
		m.rotations, m.readErrors, m.unreadBytes, m.scans, m.publishErrors, lagCollector{m}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// lagCollector computes each known file's lag at scrape time, so the hot path never
// touches a gauge per file.
type lagCollector struct{ m *metrics }

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.lagDesc }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	for path, lag := range c.m.engine.lags() {
		ch <- prometheus.MustNewConstMetric(c.m.lagDesc, prometheus.GaugeValue, float64(lag), path)
	}
}
