package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestValue(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "c_total", Help: "h"})
	c.Add(2.5)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "h"})
	g.Set(-4)
	if got := Value(t, c); got != 2.5 {
		t.Errorf("counter %v, want 2.5", got)
	}
	if got := Value(t, g); got != -4 {
		t.Errorf("gauge %v, want -4", got)
	}
}
