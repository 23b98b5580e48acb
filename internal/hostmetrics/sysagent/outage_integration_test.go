//go:build integration

package sysagent_test

// InfluxDB stopped for 20 s and started again: a private influxd on free ports (the shared
// one stays up for everyone else), two sysagents writing to it, one with a buffer large
// enough for the outage and one with a buffer too small.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/hostmetrics/sysagent"
	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

type privateInflux struct {
	dir, conf, url string
	cmd            *exec.Cmd
	done           chan error
}

func startPrivateInflux(t *testing.T) *privateInflux {
	t.Helper()
	if _, err := exec.LookPath("influxd"); err != nil {
		t.Fatalf("influxd is not installed (scripts/services.sh install influxdb): %v", err)
	}
	dir := t.TempDir()
	httpAddr, rpcAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	conf := filepath.Join(dir, "influxdb.conf")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = %q
  log-enabled = false
[monitor]
  store-enabled = false
`, rpcAddr, dir+"/meta", dir+"/data", dir+"/wal", httpAddr)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := &privateInflux{dir: dir, conf: conf, url: "http://" + httpAddr}
	p.start(t)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *privateInflux) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(p.dir, "influxd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command("influxd", "-config", p.conf)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start influxd: %v", err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	await.Until(t, 30*time.Second, "the private influxd to answer /ping", func() bool {
		resp, err := httpClient.Get(p.url + "/ping")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 204
	})
}

func (p *privateInflux) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
}

// countingWriter counts the points the collector hands to its writers.
type countingWriter struct {
	mu     sync.Mutex
	points int
}

func (c *countingWriter) WritePoints(_ context.Context, p []hostmetrics.Point) error {
	c.mu.Lock()
	c.points += len(p)
	c.mu.Unlock()
	return nil
}

func (c *countingWriter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.points
}

// agentUnderOutage is one in-process sysagent with its own registry.
type agentUnderOutage struct {
	host    string
	reg     *prometheus.Registry
	counted *countingWriter
	done    chan error
}

func (a *agentUnderOutage) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	fams, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() != labels[i+1] {
						continue next
					}
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

func runAgentUnderOutage(ctx context.Context, t *testing.T, influxURL, host string, buffer int) *agentUnderOutage {
	t.Helper()
	cfg := config.Default().Sysagent
	cfg.Interval = config.Duration(time.Second)
	cfg.Host = host
	cfg.InfluxDB = config.InfluxDB{URL: influxURL, Database: "outage"}
	cfg.BufferPoints = buffer
	a := &agentUnderOutage{host: host, reg: prometheus.NewRegistry(), counted: &countingWriter{}, done: make(chan error, 1)}
	s, err := sysagent.New(cfg, sysagent.Deps{Registerer: a.reg, Writers: []hostmetrics.Writer{a.counted}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- s.Run(ctx) }()
	return a
}

// storedPoints counts the points of host in the database: one per series and timestamp,
// through a field every point of its measurement carries.
func storedPoints(t *testing.T, influxURL, host string) int {
	t.Helper()
	always := map[string]string{"cpu": "usage_percent", "load": "load1", "mem": "total", "disk": "total",
		"diskio": "reads_per_sec", "net": "bytes_recv_per_sec", "system": "uptime_seconds"}
	n := 0
	for m, f := range always {
		for _, s := range influxQuery(t, influxURL, "outage", fmt.Sprintf(`SELECT count(%q) FROM %q WHERE "host" = '%s'`, f, m, host)) {
			for _, v := range s.column("count") {
				n += int(v)
			}
		}
	}
	return n
}

func TestInfluxOutageBuffersThenDelivers(t *testing.T) {
	t.Parallel()
	inf := startPrivateInflux(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := suffix(t)
	roomy := runAgentUnderOutage(ctx, t, inf.url, "it-outage-roomy-"+id, 100000)
	tight := runAgentUnderOutage(ctx, t, inf.url, "it-outage-tight-"+id, 50)
	for _, a := range []*agentUnderOutage{roomy, tight} {
		await.Until(t, 15*time.Second, a.host+" writing", func() bool {
			return a.metric(t, "logcollect_influx_points_written_total") > 0
		})
	}

	inf.stop(t)
	down := time.Now()
	// The outage lasts 20 s (about 20 intervals, several times the tight buffer).
	await.Until(t, 40*time.Second, "20 s of outage with failed writes", func() bool {
		return time.Since(down) >= 20*time.Second &&
			roomy.metric(t, "logcollect_influx_write_errors_total") > 0 && tight.metric(t, "logcollect_influx_write_errors_total") > 0
	})
	if got := roomy.metric(t, "logcollect_influx_buffered_points"); got < 100 {
		t.Errorf("roomy buffer holds %v points after 20 s down, want the outage's points", got)
	}
	if got := tight.metric(t, "logcollect_influx_buffered_points"); got != 50 {
		t.Errorf("tight buffer holds %v points, want its limit 50", got)
	}
	inf.start(t)
	for _, a := range []*agentUnderOutage{roomy, tight} {
		await.Until(t, 20*time.Second, a.host+" to deliver its buffer", func() bool {
			return a.metric(t, "logcollect_influx_buffered_points") == 0 && a.metric(t, "logcollect_influx_up") == 1
		})
	}
	cancel()
	for _, a := range []*agentUnderOutage{roomy, tight} {
		select {
		case err := <-a.done:
			if err != nil {
				t.Errorf("%s: Run: %v", a.host, err)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: Run did not return after cancel", a.host)
		}
	}

	handed, stored := roomy.counted.count(), storedPoints(t, inf.url, roomy.host)
	dropped := roomy.metric(t, "logcollect_influx_points_dropped_total", "reason", "buffer_full")
	if stored != handed || dropped != 0 {
		t.Errorf("roomy: %d points collected, %d stored, %v dropped; want all stored, none dropped", handed, stored, dropped)
	}
	handed, stored = tight.counted.count(), storedPoints(t, inf.url, tight.host)
	dropped = tight.metric(t, "logcollect_influx_points_dropped_total", "reason", "buffer_full")
	if dropped == 0 || stored+int(dropped) != handed {
		t.Errorf("tight: %d points collected, %d stored, %v dropped; want stored + dropped = collected, dropped > 0", handed, stored, dropped)
	}
	t.Logf("tight buffer: %d collected, %d stored, %v dropped", handed, stored, dropped)
}
