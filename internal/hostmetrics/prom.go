package hostmetrics

import (
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// promMetric is how one InfluxDB field is exposed to Prometheus: its name (base units, as
// the Prometheus naming rules ask: ratios 0–1 instead of percent), a scale from the field's
// value, and the tags that become labels besides host.
type promMetric struct {
	name, help string
	scale      float64
	labels     []string
	kind       prometheus.ValueType
}

// promGauges maps measurement → field → metric for the values that are gauges.
func promGauges() map[string]map[string]promMetric {
	g := func(name, help string, scale float64, labels ...string) promMetric {
		return promMetric{name: "logcollect_host_" + name, help: help, scale: scale, labels: labels, kind: prometheus.GaugeValue}
	}
	return map[string]map[string]promMetric{
		"cpu": {
			"usage_percent":  g("cpu_usage_ratio", "Share of the interval the CPU was busy (not idle, not iowait), 0-1.", 0.01, "cpu"),
			"user_percent":   g("cpu_user_ratio", "Share of the interval in user mode, 0-1.", 0.01, "cpu"),
			"system_percent": g("cpu_system_ratio", "Share of the interval in kernel mode, 0-1.", 0.01, "cpu"),
			"iowait_percent": g("cpu_iowait_ratio", "Share of the interval idle with IO outstanding, 0-1.", 0.01, "cpu"),
			"steal_percent":  g("cpu_steal_ratio", "Share of the interval stolen by the hypervisor, 0-1.", 0.01, "cpu"),
		},
		"load": {
			"load1":           g("load1", "1-minute load average.", 1),
			"load5":           g("load5", "5-minute load average.", 1),
			"load15":          g("load15", "15-minute load average.", 1),
			"load1_per_core":  g("load1_per_core", "1-minute load average divided by the logical CPUs.", 1),
			"load5_per_core":  g("load5_per_core", "5-minute load average divided by the logical CPUs.", 1),
			"load15_per_core": g("load15_per_core", "15-minute load average divided by the logical CPUs.", 1),
			"n_cpus":          g("cpus", "Logical CPUs.", 1),
		},
		"mem": {
			"total":        g("memory_total_bytes", "Physical memory.", 1),
			"used":         g("memory_used_bytes", "Memory in use (total - free - buffers - cache).", 1),
			"available":    g("memory_available_bytes", "Memory available to new processes without swapping.", 1),
			"used_percent": g("memory_used_ratio", "Used memory over total, 0-1.", 0.01),
			"swap_total":   g("swap_total_bytes", "Swap space.", 1),
			"swap_used":    g("swap_used_bytes", "Swap space in use.", 1),
		},
		"disk": {
			"total":               g("filesystem_size_bytes", "Size of the file system.", 1, "path", "device", "fstype"),
			"used":                g("filesystem_used_bytes", "Bytes used on the file system.", 1, "path", "device", "fstype"),
			"free":                g("filesystem_free_bytes", "Bytes free for unprivileged users.", 1, "path", "device", "fstype"),
			"used_percent":        g("filesystem_used_ratio", "Used over used+free, 0-1.", 0.01, "path", "device", "fstype"),
			"inodes_used_percent": g("filesystem_inodes_used_ratio", "Inodes used over total, 0-1.", 0.01, "path", "device", "fstype"),
		},
		"system": {
			"uptime_seconds": g("uptime_seconds", "Seconds since boot.", 1),
			"processes":      g("processes", "Processes (and threads) on the host.", 1),
			"users":          g("users", "Logged-in users (missing when utmp cannot be read).", 1),
		},
	}
}

// promCounters maps measurement → raw counter → metric for the cumulative values, which
// Prometheus gets as counters (rate() works on them; InfluxDB gets the rates).
func promCounters() map[string]map[string]promMetric {
	c := func(name, help string, labels ...string) promMetric {
		return promMetric{name: "logcollect_host_" + name, help: help, scale: 1, labels: labels, kind: prometheus.CounterValue}
	}
	return map[string]map[string]promMetric{
		"diskio": {
			"read_bytes":  c("disk_read_bytes_total", "Bytes read from the disk.", "device"),
			"write_bytes": c("disk_written_bytes_total", "Bytes written to the disk.", "device"),
			"reads":       c("disk_reads_completed_total", "Reads completed.", "device"),
			"writes":      c("disk_writes_completed_total", "Writes completed.", "device"),
		},
		"net": {
			"bytes_recv":   c("network_receive_bytes_total", "Bytes received.", "interface"),
			"bytes_sent":   c("network_transmit_bytes_total", "Bytes sent.", "interface"),
			"packets_recv": c("network_receive_packets_total", "Packets received.", "interface"),
			"packets_sent": c("network_transmit_packets_total", "Packets sent.", "interface"),
			"err_in":       c("network_receive_errors_total", "Receive errors.", "interface"),
			"err_out":      c("network_transmit_errors_total", "Transmit errors.", "interface"),
			"drop_in":      c("network_receive_drop_total", "Received packets dropped.", "interface"),
			"drop_out":     c("network_transmit_drop_total", "Packets to send dropped.", "interface"),
		},
	}
}

// promCollector serves the collector's last interval at scrape time (node_exporter style:
// descriptions built once, const metrics per scrape).
type promCollector struct {
	c                *Collector
	gauges, counters map[string]map[string]promMetric
	descs            map[string]*prometheus.Desc
}

func newPromCollector(c *Collector) *promCollector {
	p := &promCollector{c: c, gauges: promGauges(), counters: promCounters(), descs: map[string]*prometheus.Desc{}}
	for _, table := range []map[string]map[string]promMetric{p.gauges, p.counters} {
		for _, fields := range table {
			for _, m := range fields {
				p.descs[m.name] = prometheus.NewDesc(m.name, m.help, append([]string{"host"}, m.labels...), nil)
			}
		}
	}
	return p
}

// PromNames lists the Prometheus metric names the collector can serve, sorted.
func PromNames() []string {
	var names []string
	for _, table := range []map[string]map[string]promMetric{promGauges(), promCounters()} {
		for _, fields := range table {
			for _, m := range fields {
				names = append(names, m.name)
			}
		}
	}
	sort.Strings(names)
	return names
}

func (p *promCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

func (p *promCollector) Collect(ch chan<- prometheus.Metric) {
	p.c.mu.Lock()
	last := p.c.last
	p.c.mu.Unlock()
	for _, pt := range last.points {
		for field, v := range pt.Fields {
			if m, ok := p.gauges[pt.Measurement][field]; ok {
				ch <- p.metric(m, pt.Tags, v)
			}
		}
	}
	for _, rc := range last.counters {
		if m, ok := p.counters[rc.measurement][rc.field]; ok {
			ch <- p.metric(m, rc.tags, rc.value)
		}
	}
}

func (p *promCollector) metric(m promMetric, tags map[string]string, v float64) prometheus.Metric {
	values := make([]string, 0, 1+len(m.labels))
	values = append(values, tags["host"])
	for _, l := range m.labels {
		values = append(values, tags[l])
	}
	return prometheus.MustNewConstMetric(p.descs[m.name], m.kind, v*m.scale, values...)
}

// PromSource is where Prometheus holds one InfluxDB field (readers such as `logcollect
// server` query it back): the metric, the labels it has besides host, the scale from the
// field to the metric's value, and whether it is a counter whose per-second rate is the
// field (the *_per_sec fields of diskio and net).
type PromSource struct {
	Name    string
	Labels  []string
	Scale   float64
	Counter bool
}

// PromSourceOf returns the Prometheus source of a field of Schema(); false when the
// collector serves none.
func PromSourceOf(measurement, field string) (PromSource, bool) {
	if m, ok := promGauges()[measurement][field]; ok {
		return PromSource{Name: m.name, Labels: m.labels, Scale: m.scale}, true
	}
	raw, ok := strings.CutSuffix(field, "_per_sec")
	if !ok {
		return PromSource{}, false
	}
	if m, ok := promCounters()[measurement][raw]; ok {
		return PromSource{Name: m.name, Labels: m.labels, Scale: m.scale, Counter: true}, true
	}
	return PromSource{}, false
}
