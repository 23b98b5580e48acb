//go:build integration

package sysagent_test

// End to end through the real `logcollect agent` binary with agent.sysmetrics: true, the
// real InfluxDB, Kafka and Prometheus: three intervals of host metrics queried back, the
// /metrics page against them, a PromQL query for this host, and every query of every
// Grafana dashboard executed.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// pipelineRun is one agent with sysmetrics, its InfluxDB database and its Prometheus target.
type pipelineRun struct {
	host, db, influx, prom, addr string
	agent                        *proc
}

func startPipeline(t *testing.T) *pipelineRun {
	t.Helper()
	r := &pipelineRun{
		host:   "it-sysagent-" + suffix(t),
		influx: testenv.InfluxDBURL(t),
		prom:   testenv.PrometheusURL(t),
		addr:   e2etest.FreeAddr(t),
	}
	r.db = "logcollect_it_" + strings.TrimPrefix(r.host, "it-sysagent-")
	brokers := testenv.KafkaBrokers(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	var lines strings.Builder
	for i := range 100 {
		fmt.Fprintf(&lines, "line %d of the sysagent end-to-end test\n", i)
	}
	if err := os.WriteFile(logPath, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`agent:
  id: %[1]s
  data_dir: %[2]s/data
  output: kafka
  sysmetrics: true
  collect:
    - {path: %[3]s, topic: %[1]s, start: beginning}
kafka:
  brokers: [%[4]s]
etcd:
  endpoints: []
sysagent:
  interval: 1s
  host: %[1]s
  influxdb: {url: "%[5]s", database: %[6]s}
  prometheus_listen: %[7]s
http:
  listen: %[7]s
`, r.host, dir, logPath, brokers[0], r.influx, r.db, r.addr)
	cfgPath := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = tryInfluxQuery(r.influx, "", `DROP DATABASE "`+r.db+`"`) })
	r.agent = startBinary(t, testenv.BinaryFor(t, "agent"), "agent", "--config", cfgPath)
	testenv.PrometheusTarget(t, r.host, r.addr, map[string]string{"test": "sysagent"})
	return r
}

func TestAgentSysmetricsEndToEnd(t *testing.T) {
	t.Parallel()
	r := startPipeline(t)
	// Three intervals: three cpu points of this host (the database did not exist before).
	await.Until(t, 30*time.Second, "three intervals of cpu points in InfluxDB", func() bool {
		s, err := tryInfluxQuery(r.influx, r.db, `SELECT count("usage_percent") FROM "cpu" WHERE "host" = '`+r.host+`' AND "cpu" = 'total'`)
		return err == nil && len(s) == 1 && len(s[0].column("count")) == 1 && s[0].column("count")[0] >= 3
	})

	t.Run("influx values", func(t *testing.T) { checkInfluxValues(t, r) })
	t.Run("metrics page", func(t *testing.T) { checkMetricsPage(t, r) })
	t.Run("prometheus scrape", func(t *testing.T) {
		await.Until(t, 45*time.Second, "Prometheus to have scraped this host", func() bool {
			res, err := promQuery(r.prom, `logcollect_host_memory_total_bytes{host="`+r.host+`"}`)
			return err == nil && len(res) == 1
		})
		res, err := promQuery(r.prom, `logcollect_host_memory_total_bytes{host="`+r.host+`"}`)
		if err != nil || len(res) != 1 || res[0].Value[1] != strconv.FormatFloat(memTotal(t), 'f', -1, 64) {
			t.Errorf("PromQL memory total = %v (err %v), want %v", res, err, memTotal(t))
		}
	})
	t.Run("dashboards", func(t *testing.T) { checkDashboards(t, r) })
}

func checkInfluxValues(t *testing.T, r *pipelineRun) {
	where := ` WHERE "host" = '` + r.host + `'`
	for m, fields := range hostmetrics.Schema() {
		s := influxQuery(t, r.influx, r.db, `SELECT * FROM "`+m+`"`+where)
		if len(s) == 0 || len(s[0].Values) == 0 {
			t.Errorf("measurement %s: no points for host %s", m, r.host)
			continue
		}
		for _, f := range fields {
			if f == "users" { // utmp is missing in containers: the field is optional
				continue
			}
			if len(s[0].column(f)) == 0 {
				t.Errorf("%s.%s: no values", m, f)
			}
		}
	}
	for _, s := range influxQuery(t, r.influx, r.db, `SELECT * FROM "cpu"`+where+` GROUP BY "cpu"`) {
		for _, f := range hostmetrics.Schema()["cpu"] {
			for _, v := range s.column(f) {
				if v < 0 || v > 100 {
					t.Errorf("cpu %s %s = %v, want within 0-100", s.Tags["cpu"], f, v)
				}
			}
		}
	}
	mem := influxQuery(t, r.influx, r.db, `SELECT last("total") FROM "mem"`+where)
	if got, want := mem[0].column("last")[0], memTotal(t); got != want {
		t.Errorf("mem.total = %v, /proc/meminfo MemTotal = %v", got, want)
	}
	disks := influxQuery(t, r.influx, r.db, `SELECT last("total"), last("used_percent") FROM "disk"`+where+` GROUP BY "path"`)
	if len(disks) == 0 {
		t.Fatal("no disk series")
	}
	for _, s := range disks {
		if got, want := s.column("last")[0], statfsTotal(t, s.Tags["path"]); got != want {
			t.Errorf("disk %s total = %v, statfs says %v", s.Tags["path"], got, want)
		}
		if p := s.column("last_1")[0]; p <= 0 || p > 100 {
			t.Errorf("disk %s used_percent = %v", s.Tags["path"], p)
		}
	}
	for _, s := range influxQuery(t, r.influx, r.db, `SELECT * FROM "net","diskio"`+where) {
		for _, c := range s.Columns {
			for _, v := range s.column(c) {
				if c != "time" && (v < 0 || math.IsNaN(v)) {
					t.Errorf("%s %s = %v: a rate must not be negative", s.Name, c, v)
				}
			}
		}
	}
}

// scrape reads the /metrics page with the Prometheus text parser.
func scrape(t *testing.T, addr string) map[string]*familyValues {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics answered %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	out := map[string]*familyValues{}
	for name, f := range families {
		fv := &familyValues{}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			fv.samples = append(fv.samples, sample{labels, v})
		}
		out[name] = fv
	}
	return out
}

type sample struct {
	labels map[string]string
	value  float64
}

type familyValues struct{ samples []sample }

func (f *familyValues) find(kv ...string) (float64, bool) {
	if f == nil {
		return 0, false
	}
next:
	for _, s := range f.samples {
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

func checkMetricsPage(t *testing.T, r *pipelineRun) {
	fams := scrape(t, r.addr)
	for _, name := range hostmetrics.PromNames() {
		if _, ok := fams[name]; !ok && name != "logcollect_host_users" {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, name := range []string{"logcollect_influx_points_written_total", "logcollect_tail_lines_total", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("/metrics lacks %s (agent, writer and process metrics share the page)", name)
		}
	}
	if v, _ := fams["logcollect_host_memory_total_bytes"].find("host", r.host); v != memTotal(t) {
		t.Errorf("logcollect_host_memory_total_bytes = %v, want MemTotal %v", v, memTotal(t))
	}
	// The same values as InfluxDB: the file system sizes and the CPU count.
	where := ` WHERE "host" = '` + r.host + `'`
	for _, s := range influxQuery(t, r.influx, r.db, `SELECT last("total") FROM "disk"`+where+` GROUP BY "path"`) {
		got, ok := fams["logcollect_host_filesystem_size_bytes"].find("host", r.host, "path", s.Tags["path"])
		if !ok || got != s.column("last")[0] {
			t.Errorf("filesystem_size_bytes{path=%q} = %v (present %v), InfluxDB has %v", s.Tags["path"], got, ok, s.column("last")[0])
		}
	}
	n := influxQuery(t, r.influx, r.db, `SELECT last("n_cpus") FROM "load"`+where)[0].column("last")[0]
	if got, _ := fams["logcollect_host_cpus"].find("host", r.host); got != n {
		t.Errorf("logcollect_host_cpus = %v, InfluxDB n_cpus = %v", got, n)
	}
	if v, ok := fams["logcollect_host_cpu_usage_ratio"].find("host", r.host, "cpu", "total"); !ok || v < 0 || v > 1 {
		t.Errorf("cpu usage ratio %v (present %v), want within 0-1", v, ok)
	}
	if v, ok := fams["logcollect_host_network_receive_bytes_total"].find("host", r.host, "interface", "lo"); !ok || v <= 0 {
		t.Errorf("lo receive bytes counter %v (present %v), want > 0", v, ok)
	}
}
