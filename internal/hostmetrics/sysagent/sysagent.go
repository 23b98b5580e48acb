// Package sysagent wires the host metrics collector to its outputs: the InfluxDB writer
// (when sysagent.influxdb.url is set), any extra writer the caller adds (the standalone's
// store), and the logcollect_host_* metrics on the caller's Prometheus registry (when
// sysagent.prometheus_listen is set). `logcollect sysagent`, `logcollect agent` with
// agent.sysmetrics and the standalone all run it the same way.
package sysagent

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/logcollect/logcollect/internal/lifecycle"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/hostmetrics/influx"
)

// Deps are the collaborators; all are optional.
type Deps struct {
	Logger *slog.Logger
	// Registerer gets the InfluxDB writer's metrics and the collector's error counters,
	// plus the logcollect_host_* metrics when prometheus_listen is set.
	Registerer prometheus.Registerer
	// Writers receive every interval's points besides InfluxDB.
	Writers []hostmetrics.Writer
	// Source replaces gopsutil (tests).
	Source hostmetrics.Source
}

// Sysagent is the collector with its outputs.
type Sysagent struct {
	collector *hostmetrics.Collector
	influx    *influx.Writer
}

// New validates the section and allocates; nothing is read or sent until Run.
func New(cfg config.Sysagent, deps Deps) (*Sysagent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sysagent{}
	writers := append([]hostmetrics.Writer(nil), deps.Writers...)
	if cfg.InfluxDB.URL != "" {
		w, err := influx.New(InfluxConfig(cfg), influx.Deps{Logger: deps.Logger, Registerer: deps.Registerer})
		if err != nil {
			return nil, err
		}
		s.influx = w
		writers = append(writers, w)
	}
	c, err := hostmetrics.New(hostmetrics.Config{Interval: time.Duration(cfg.Interval), Host: cfg.Host},
		hostmetrics.Deps{Writers: writers, Logger: deps.Logger, Registerer: deps.Registerer, Source: deps.Source})
	if err != nil {
		return nil, err
	}
	s.collector = c
	// Without a Prometheus listener the host values stay out of /metrics: a Prometheus
	// scraping the process for its own metrics does not get ~100 host series it did not ask for.
	if cfg.PrometheusListen != "" && deps.Registerer != nil {
		if err := deps.Registerer.Register(c.PromCollector()); err != nil {
			return nil, fmt.Errorf("register host metrics: %w", err)
		}
	}
	return s, nil
}

// InfluxConfig is the InfluxDB writer's configuration from the sysagent section. Retries
// back off up to one interval (within 1–30 s): a recovered InfluxDB gets the buffer about
// as soon as it would get the next interval's points.
func InfluxConfig(cfg config.Sysagent) influx.Config {
	return influx.Config{
		URL: cfg.InfluxDB.URL, Database: cfg.InfluxDB.Database, Org: cfg.InfluxDB.Org,
		Bucket: cfg.InfluxDB.Bucket, Token: cfg.InfluxDB.Token, BufferPoints: cfg.BufferPoints,
		MaxBackoff: min(30*time.Second, max(time.Second, time.Duration(cfg.Interval))),
	}
}

// Host is the host tag of the points.
func (s *Sysagent) Host() string { return s.collector.Host() }

// Check reports the InfluxDB writer's health (nil without InfluxDB).
func (s *Sysagent) Check() error {
	if s.influx == nil {
		return nil
	}
	return s.influx.Check()
}

// Run collects and writes until ctx ends. The InfluxDB writer outlives the collector: it
// is stopped only after the last interval was handed over, and then sends what is left.
func (s *Sysagent) Run(ctx context.Context) error {
	writer := lifecycle.Part{Name: "influxdb writer"}
	if s.influx != nil {
		writer.Run = s.influx.Run
	}
	err := lifecycle.Run(ctx, writer, lifecycle.Part{Name: "collector", Run: s.collector.Run})
	if err != nil {
		return fmt.Errorf("sysagent: %w", err)
	}
	return nil
}
