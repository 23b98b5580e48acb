package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is what the collector needs from sysagent's section.
type Config struct {
	// Interval between two collections (sysagent.interval).
	Interval time.Duration
	// Host is the value of every point's host tag; empty means os.Hostname.
	Host string
}

// Deps are the collector's collaborators; all are optional.
type Deps struct {
	Writers []Writer
	Logger  *slog.Logger
	// Registerer, when set, gets the collector's own error counters. The host values
	// themselves are served by PromCollector, registered where the caller wants them.
	Registerer prometheus.Registerer
	// Source defaults to GopsutilSource; tests pass fixtures.
	Source Source
	// Now defaults to time.Now.
	Now func() time.Time
}

// Collector gathers host metrics every interval and hands them to its writers.
type Collector struct {
	cfg     Config
	writers []Writer
	src     Source
	now     func() time.Time
	log     *slog.Logger

	cpu, diskio, net *counters
	// failed holds the calls whose failure was already logged: a call that fails in a
	// container fails every interval, and once is enough to know.
	failed map[string]bool

	callErrors  *prometheus.CounterVec
	writeErrors prometheus.Counter

	mu   sync.Mutex
	last snapshot // what /metrics serves
}

// snapshot is one interval's result: the points, plus the raw cumulative counters that
// Prometheus gets as counters (it computes rates itself).
type snapshot struct {
	points   []Point
	counters []rawCounter
}

type rawCounter struct {
	measurement, field string
	tags               map[string]string
	value              float64
}

// New validates cfg and allocates; it reads nothing from the host.
func New(cfg Config, deps Deps) (*Collector, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("sysagent.interval: must be a positive duration (got %v)", cfg.Interval)
	}
	if cfg.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("sysagent.host: empty and the hostname is unknown: %w", err)
		}
		cfg.Host = h
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Source == nil {
		deps.Source = GopsutilSource{}
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Collector{
		cfg: cfg, writers: deps.Writers, src: deps.Source, now: deps.Now,
		log:    deps.Logger.With("component", "hostmetrics", "host", cfg.Host),
		cpu:    newCounters(),
		diskio: newCounters(),
		net:    newCounters(),
		failed: map[string]bool{},
		callErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logcollect_host_collect_errors_total",
			Help: "Host metric calls that failed, by call (a call failing in a container fails every interval).",
		}, []string{"call"}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logcollect_host_write_errors_total",
			Help: "Times a writer refused an interval's points.",
		}),
	}
	if deps.Registerer != nil {
		for _, col := range []prometheus.Collector{c.callErrors, c.writeErrors} {
			if err := deps.Registerer.Register(col); err != nil {
				return nil, fmt.Errorf("register host metrics: %w", err)
			}
		}
	}
	return c, nil
}

// PromCollector serves the last interval's values as logcollect_host_* metrics.
func (c *Collector) PromCollector() prometheus.Collector { return newPromCollector(c) }

// Host is the host tag the collector puts on its points.
func (c *Collector) Host() string { return c.cfg.Host }

// Run collects every interval until ctx ends. Collections are aligned to multiples of the
// interval (10:00:00, 10:00:10 …) and stamped with the boundary of the tick, not of the
// moment it is handled: a tick handled late still gets its own timestamp, so two intervals
// never share one (InfluxDB would keep only the last).
// A priming read at the first boundary means the first points written already have rates.
func (c *Collector) Run(ctx context.Context) error {
	wait := time.NewTimer(c.now().Truncate(c.cfg.Interval).Add(c.cfg.Interval).Sub(c.now()))
	select {
	case <-ctx.Done():
		wait.Stop()
		return nil
	case <-wait.C:
	}
	c.Collect(ctx)
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case tick := <-t.C:
			c.write(ctx, c.collectAt(ctx, tick))
		}
	}
}

func (c *Collector) write(ctx context.Context, points []Point) {
	for _, w := range c.writers {
		if err := w.WritePoints(ctx, points); err != nil && !errors.Is(err, context.Canceled) {
			c.writeErrors.Inc()
			c.log.Warn("writer refused the interval's points", "points", len(points), "err", err)
		}
	}
}

// Collect reads every metric once and returns the points. A failing call is counted
// (and logged the first time) and its measurement is left out; the rest is reported.
func (c *Collector) Collect(ctx context.Context) []Point { return c.collectAt(ctx, c.now()) }

func (c *Collector) collectAt(ctx context.Context, now time.Time) []Point {
	at := now.Truncate(c.cfg.Interval)
	var s snapshot
	c.cpu.begin()
	c.diskio.begin()
	c.net.begin()
	for _, collect := range []func(context.Context, time.Time, *snapshot){
		c.collectCPU, c.collectLoad, c.collectMem, c.collectDisk, c.collectDiskIO, c.collectNet, c.collectSystem,
	} {
		collect(ctx, at, &s)
	}
	c.cpu.end()
	c.diskio.end()
	c.net.end()
	c.mu.Lock()
	c.last = s
	c.mu.Unlock()
	return s.points
}

// failure counts a failed call and logs it once per call; ok is false when err is set.
func (c *Collector) failure(call string, err error) (ok bool) {
	if err == nil {
		return true
	}
	c.callErrors.WithLabelValues(call).Inc()
	if !c.failed[call] {
		c.failed[call] = true
		c.log.Warn("host metric call failed; skipping it (logged once)", "call", call, "err", err)
	}
	return false
}

// tags returns the host tag plus the given key/value pairs.
func (c *Collector) tags(kv ...string) map[string]string {
	t := make(map[string]string, 1+len(kv)/2)
	t["host"] = c.cfg.Host
	for i := 0; i+1 < len(kv); i += 2 {
		t[kv[i]] = kv[i+1]
	}
	return t
}

func (s *snapshot) add(p Point) { s.points = append(s.points, p) }

func (s *snapshot) addCounters(measurement string, tags map[string]string, names []string, values []float64) {
	for i, n := range names {
		s.counters = append(s.counters, rawCounter{measurement: measurement, field: n, tags: tags, value: values[i]})
	}
}
