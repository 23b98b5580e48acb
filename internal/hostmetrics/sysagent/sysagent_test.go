package sysagent

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
)

func TestHostValuesOnlyWithPrometheusListen(t *testing.T) {
	for _, listen := range []string{"", "127.0.0.1:9101"} {
		cfg := config.Default().Sysagent
		cfg.Host = "h"
		cfg.PrometheusListen = listen
		reg := prometheus.NewRegistry()
		if _, err := New(cfg, Deps{Registerer: reg}); err != nil {
			t.Fatal(err)
		}
		descs := make(chan *prometheus.Desc, 1000)
		reg.Describe(descs)
		close(descs)
		var host, influx bool
		for d := range descs {
			host = host || strings.Contains(d.String(), `"logcollect_host_memory_total_bytes"`)
			influx = influx || strings.Contains(d.String(), `"logcollect_influx_points_written_total"`)
		}
		if host != (listen != "") || !influx {
			t.Errorf("prometheus_listen %q: host values registered %v, influx metrics %v", listen, host, influx)
		}
	}
}

func TestNewNamesBadKeys(t *testing.T) {
	cfg := config.Default().Sysagent
	cfg.Interval = config.Duration(-time.Second)
	cfg.BufferPoints = 0
	_, err := New(cfg, Deps{})
	for _, key := range []string{"sysagent.interval", "sysagent.buffer_points"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err = %v, want one naming %s", err, key)
		}
	}
}

func TestNoInfluxWhenURLEmpty(t *testing.T) {
	cfg := config.Default().Sysagent
	cfg.InfluxDB.URL = ""
	s, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if s.influx != nil || s.Check() != nil {
		t.Errorf("an InfluxDB writer without a url")
	}
}
