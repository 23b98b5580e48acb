package hostmetrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gathered returns name → the samples' label sets → value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		out[f.GetName()] = map[string]float64{}
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			out[f.GetName()][key] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestPromCollectorServesTheLastInterval(t *testing.T) {
	src := fixtureHost()
	c, clk := newFixtureCollector(t, src, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.PromCollector())
	c.Collect(context.Background())
	src.advance()
	clk.t = clk.t.Add(10 * time.Second)
	c.Collect(context.Background())

	got := gathered(t, reg)
	checks := []struct {
		name, labels string
		want         float64
	}{
		{"logcollect_host_cpu_usage_ratio", "cpu=total,host=web 1,", 0.4},
		{"logcollect_host_memory_total_bytes", "host=web 1,", 8 << 30},
		{"logcollect_host_memory_used_ratio", "host=web 1,", 0.25},
		{"logcollect_host_filesystem_size_bytes", "device=/dev/vdb,fstype=xfs,host=web 1,path=/data dir,", 10 << 30},
		{"logcollect_host_cpus", "host=web 1,", 2},
		{"logcollect_host_uptime_seconds", "host=web 1,", 3610},
		// Counters are the raw totals: Prometheus computes rates itself.
		{"logcollect_host_disk_read_bytes_total", "device=vda,host=web 1,", 11000},
		{"logcollect_host_network_receive_bytes_total", "host=web 1,interface=eth0,", 2000},
		{"logcollect_host_network_receive_drop_total", "host=web 1,interface=eth0,", 2},
	}
	for _, c := range checks {
		v, ok := got[c.name][c.labels]
		if !ok || v != c.want {
			t.Errorf("%s{%s} = %v (present %v), want %v; have %v", c.name, c.labels, v, ok, c.want, got[c.name])
		}
	}
	if _, ok := got["logcollect_host_users"]; ok {
		t.Error("logcollect_host_users served although the users call fails")
	}
	for name := range got {
		found := false
		for _, n := range PromNames() {
			found = found || n == name
		}
		if !found {
			t.Errorf("served %s, which PromNames does not list", name)
		}
	}
}

// Every field the collector writes to InfluxDB can be read back from Prometheus, so the
// hosts page draws the same charts over either.
func TestPromSourceCoversTheSchema(t *testing.T) {
	for m, fields := range Schema() {
		for _, f := range fields {
			src, ok := PromSourceOf(m, f)
			if !ok {
				t.Errorf("%s.%s: no Prometheus source", m, f)
				continue
			}
			if src.Scale == 0 || src.Name == "" {
				t.Errorf("%s.%s: source %+v", m, f, src)
			}
		}
	}
	if src, _ := PromSourceOf("net", "bytes_recv_per_sec"); !src.Counter || src.Name != "logcollect_host_network_receive_bytes_total" {
		t.Errorf("net.bytes_recv_per_sec = %+v, want the receive bytes counter", src)
	}
	if _, ok := PromSourceOf("cpu", "nope"); ok {
		t.Error("an unknown field has a source")
	}
}
