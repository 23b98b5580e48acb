// Package hostmetrics collects host metrics (CPU, load, memory, file systems, disk IO,
// network, system) with gopsutil at a fixed interval and hands each interval's points to
// Writers (InfluxDB, the embedded store) and, when a Prometheus registry is given, serves
// the same values as logcollect_host_* metrics.
//
// Rates (disk IO, network) come from counter differences between two intervals. A device
// seen for the first time, or a counter that went backwards (a reset, a reboot, a wrapped
// 32-bit counter), gives no point for that interval instead of a spike or a negative rate.
package hostmetrics

import (
	"context"
	"time"
)

// Point is one measurement of one series at one time, in InfluxDB's model.
type Point struct {
	Measurement string
	Tags        map[string]string // always "host"; plus cpu / device / path / interface
	Fields      map[string]float64
	Time        time.Time
}

// Writer receives each interval's points. The collector calls every writer it was given;
// a writer should not block for long (buffer and send in its own goroutine).
type Writer interface {
	WritePoints(ctx context.Context, points []Point) error
}

// Schema lists every measurement the collector emits and its fields: the names InfluxDB,
// the store, /api/metrics and the dashboards use. A point never carries a field outside it.
// A field may be missing from a point when its source failed (users in a container).
func Schema() map[string][]string {
	return map[string][]string{
		"cpu":    {"usage_percent", "user_percent", "system_percent", "iowait_percent", "steal_percent"},
		"load":   {"load1", "load5", "load15", "load1_per_core", "load5_per_core", "load15_per_core", "n_cpus"},
		"mem":    {"total", "used", "available", "used_percent", "swap_total", "swap_used"},
		"disk":   {"total", "used", "free", "used_percent", "inodes_used_percent"},
		"diskio": {"read_bytes_per_sec", "write_bytes_per_sec", "reads_per_sec", "writes_per_sec"},
		"net": {"bytes_recv_per_sec", "bytes_sent_per_sec", "packets_recv_per_sec", "packets_sent_per_sec",
			"err_in_per_sec", "err_out_per_sec", "drop_in_per_sec", "drop_out_per_sec"},
		"system": {"uptime_seconds", "processes", "users"},
	}
}
