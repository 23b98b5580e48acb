package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/metrictest"
	"github.com/prometheus/client_golang/prometheus"
)

// clock is a fake time source moved by the test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newFixtureCollector(t *testing.T, src Source, reg prometheus.Registerer) (*Collector, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	c, err := New(Config{Interval: 10 * time.Second, Host: "web 1"}, Deps{Source: src, Now: clk.now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

// render prints points one a line, sorted, fields sorted: a stable text to compare.
func render(points []Point) string {
	lines := make([]string, 0, len(points))
	for _, p := range points {
		var tags, fields []string
		for k, v := range p.Tags {
			tags = append(tags, k+"="+v)
		}
		for k, v := range p.Fields {
			fields = append(fields, fmt.Sprintf("%s=%g", k, v))
		}
		sort.Strings(tags)
		sort.Strings(fields)
		lines = append(lines, p.Measurement+" "+strings.Join(tags, ",")+" "+strings.Join(fields, ","))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestCollectFixture(t *testing.T) {
	src := fixtureHost()
	c, clk := newFixtureCollector(t, src, nil)

	first := render(c.Collect(context.Background()))
	// The first interval has no rates yet: no cpu, diskio or net points, and no spike.
	wantFirst := strings.Join([]string{
		"disk device=/dev/vda,fstype=ext4,host=web 1,path=/ free=6.442450944e+10,inodes_used_percent=3,total=1.073741824e+11,used=4.294967296e+10,used_percent=40",
		"disk device=/dev/vdb,fstype=xfs,host=web 1,path=/data dir free=9.663676416e+09,inodes_used_percent=1,total=1.073741824e+10,used=1.073741824e+09,used_percent=10",
		"load host=web 1 load15=0.25,load15_per_core=0.125,load1=1,load1_per_core=0.5,load5=0.5,load5_per_core=0.25,n_cpus=2",
		"mem host=web 1 available=5.36870912e+09,swap_total=1.073741824e+09,swap_used=1.048576e+06,total=8.589934592e+09,used=2.147483648e+09,used_percent=25",
		"system host=web 1 processes=321,uptime_seconds=3600",
	}, "\n")
	if first != wantFirst {
		t.Errorf("first interval:\n%s\nwant:\n%s", first, wantFirst)
	}

	src.advance()
	clk.t = clk.t.Add(10 * time.Second)
	second := render(c.Collect(context.Background()))
	// cpu0 moved by user 3, system 1, idle 5, iowait 1 = 10 s: usage 40 %.
	for _, want := range []string{
		"cpu cpu=cpu0,host=web 1 iowait_percent=10,steal_percent=0,system_percent=10,usage_percent=40,user_percent=30",
		"cpu cpu=total,host=web 1 iowait_percent=10,steal_percent=0,system_percent=10,usage_percent=40,user_percent=30",
		"diskio device=vda,host=web 1 read_bytes_per_sec=1000,reads_per_sec=1,write_bytes_per_sec=2000,writes_per_sec=2",
		"net host=web 1,interface=eth0 bytes_recv_per_sec=100,bytes_sent_per_sec=200,drop_in_per_sec=0,drop_out_per_sec=0,err_in_per_sec=0,err_out_per_sec=0,packets_recv_per_sec=1,packets_sent_per_sec=2",
		"system host=web 1 processes=321,uptime_seconds=3610",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second interval lacks\n%s\nin:\n%s", want, second)
		}
	}
	for _, absent := range []string{"loop0", "vda1", "/dev/shm", "/proc", "/etc/hosts"} {
		if strings.Contains(second, absent) {
			t.Errorf("second interval has %q (a pseudo fs, partition, loop device or bind mount):\n%s", absent, second)
		}
	}
}

func TestPointsFollowSchema(t *testing.T) {
	src := fixtureHost()
	delete(src.errs, "host.users")
	c, clk := newFixtureCollector(t, src, nil)
	c.Collect(context.Background())
	src.advance()
	clk.t = clk.t.Add(10 * time.Second)
	seen := map[string]bool{}
	for _, p := range c.Collect(context.Background()) {
		seen[p.Measurement] = true
		fields := Schema()[p.Measurement]
		if fields == nil {
			t.Fatalf("measurement %q is not in Schema", p.Measurement)
		}
		if len(p.Fields) != len(fields) {
			t.Errorf("%s has fields %v, Schema says %v", p.Measurement, p.Fields, fields)
		}
		for _, f := range fields {
			if _, ok := p.Fields[f]; !ok {
				t.Errorf("%s lacks field %s", p.Measurement, f)
			}
		}
		if p.Tags["host"] != "web 1" {
			t.Errorf("%s host tag %q", p.Measurement, p.Tags["host"])
		}
	}
	if len(seen) != len(Schema()) {
		t.Errorf("measurements seen %v, Schema has %d", seen, len(Schema()))
	}
}

func TestCounterResetAndNewDevice(t *testing.T) {
	src := fixtureHost()
	c, clk := newFixtureCollector(t, src, nil)
	c.Collect(context.Background())

	// eth0's counters go back to near zero (driver reload), a new disk appears.
	src.nics[1].BytesRecv = 10
	src.diskio["vdc"] = src.diskio["vda"]
	clk.t = clk.t.Add(10 * time.Second)
	pts := c.Collect(context.Background())
	for _, p := range pts {
		if p.Tags["interface"] == "eth0" || p.Tags["device"] == "vdc" {
			t.Errorf("point right after a reset or a new device (would be a spike or negative): %v", p)
		}
	}
	// One interval later both have rates again, from the new baseline.
	src.nics[1].BytesRecv += 500
	clk.t = clk.t.Add(10 * time.Second)
	got := map[string]float64{}
	for _, p := range c.Collect(context.Background()) {
		if p.Tags["interface"] == "eth0" {
			got["eth0"] = p.Fields["bytes_recv_per_sec"]
		}
		if p.Tags["device"] == "vdc" {
			got["vdc"] = p.Fields["read_bytes_per_sec"]
		}
	}
	if got["eth0"] != 50 {
		t.Errorf("eth0 bytes_recv_per_sec after the reset = %v, want 50", got["eth0"])
	}
	if v, ok := got["vdc"]; !ok || v != 0 {
		t.Errorf("vdc read_bytes_per_sec = %v (present %v), want 0", v, ok)
	}
}

func TestCPUIowaitSteppingBackIsNotNegative(t *testing.T) {
	src := fixtureHost()
	c, clk := newFixtureCollector(t, src, nil)
	c.Collect(context.Background())
	src.advance()
	src.cpus[0].Iowait -= 2 // Linux's per-CPU iowait can decrease
	clk.t = clk.t.Add(10 * time.Second)
	for _, p := range c.Collect(context.Background()) {
		if p.Measurement != "cpu" {
			continue
		}
		for f, v := range p.Fields {
			if v < 0 || v > 100 || math.IsNaN(v) {
				t.Errorf("cpu %s %s = %v, want within 0-100", p.Tags["cpu"], f, v)
			}
		}
	}
}

func TestFailingCallIsSkippedAndCounted(t *testing.T) {
	src := fixtureHost()
	src.errs["disk.io"] = errors.New("open /proc/diskstats: permission denied")
	src.errs["mem.swap"] = errors.New("no swap here")
	reg := prometheus.NewRegistry()
	c, clk := newFixtureCollector(t, src, reg)
	for range 3 {
		c.Collect(context.Background())
		src.advance()
		clk.t = clk.t.Add(10 * time.Second)
	}
	pts := c.Collect(context.Background())
	var haveMem, haveNet bool
	for _, p := range pts {
		switch p.Measurement {
		case "diskio":
			t.Errorf("diskio point although the call fails: %v", p)
		case "mem":
			haveMem = true
			if _, ok := p.Fields["swap_total"]; ok {
				t.Errorf("swap_total reported although swap failed: %v", p.Fields)
			}
		case "net":
			haveNet = true
		}
	}
	if !haveMem || !haveNet {
		t.Errorf("the rest is not reported: mem %v net %v", haveMem, haveNet)
	}
	if got := metrictest.Value(t, c.callErrors.WithLabelValues("disk.io")); got != 4 {
		t.Errorf("disk.io errors counted %v, want 4", got)
	}
	if got := metrictest.Value(t, c.callErrors.WithLabelValues("host.users")); got != 4 {
		t.Errorf("host.users errors counted %v, want 4", got)
	}
}

func TestNewRejectsBadInterval(t *testing.T) {
	_, err := New(Config{Interval: 0, Host: "h"}, Deps{})
	if err == nil || !strings.Contains(err.Error(), "sysagent.interval") {
		t.Fatalf("err = %v, want one naming sysagent.interval", err)
	}
}

// recordingWriter keeps every interval's points.
type recordingWriter struct{ got chan []Point }

func (w recordingWriter) WritePoints(_ context.Context, p []Point) error {
	w.got <- p
	return nil
}

func TestRunWritesEveryInterval(t *testing.T) {
	w := recordingWriter{got: make(chan []Point, 10)}
	c, err := New(Config{Interval: 20 * time.Millisecond, Host: "h"}, Deps{Source: fixtureHost(), Writers: []Writer{w}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for i := range 2 {
		select {
		case pts := <-w.got:
			if len(pts) == 0 {
				t.Errorf("interval %d: no points", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("interval %d: no points written within 5s", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
