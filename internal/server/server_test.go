package server

import (
	"reflect"
	"strings"
	"testing"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/hostmetrics/metricsread"
)

func TestFixedKeys(t *testing.T) {
	got := fixedKeys([]string{"collect_log_conf", "collect_log_{ip}_conf", "web_{hostname}", "shared"})
	if want := []string{"collect_log_conf", "shared"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestNewMetrics(t *testing.T) {
	cfg := config.Default()
	r, _, err := NewMetrics(cfg, nil)
	if _, ok := r.(*metricsread.Influx); err != nil || !ok {
		t.Errorf("default: %T, %v; want InfluxDB", r, err)
	}
	cfg.Server.Metrics = "prometheus"
	r, _, err = NewMetrics(cfg, nil)
	if _, ok := r.(*metricsread.Prometheus); err != nil || !ok {
		t.Errorf("prometheus: %T, %v", r, err)
	}
	bad := map[string]func(*config.Config){
		"sysagent.influxdb.url": func(c *config.Config) { c.Sysagent.InfluxDB.URL = "" },
		"sysagent.influxdb.database": func(c *config.Config) {
			c.Sysagent.InfluxDB = config.InfluxDB{URL: "http://h:8086", Bucket: "b", Org: "o"}
		},
		"server.prometheus.url": func(c *config.Config) {
			c.Server.Metrics, c.Server.Prometheus.URL = "prometheus", "h:9090"
		},
	}
	for key, change := range bad {
		c := config.Default()
		change(&c)
		if _, _, err := NewMetrics(c, nil); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("err %v, want one naming %s", err, key)
		}
	}
}
