// Package metrictest reads Prometheus metric values in tests.
package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Value returns the value of a counter or gauge.
func Value(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.GetGauge().GetValue()
}
