// Package metricsread reads host metrics back from where the sysagent writes them —
// InfluxDB 1.x (InfluxQL) or Prometheus (PromQL query_range) — and answers what
// /api/metrics and /api/hosts ask exactly as the standalone's store does: one field
// averaged per step in buckets starting at multiples of the step since the epoch, each
// point stamped with its bucket's start, empty steps left out, one series per tag set
// (host plus cpu / device / path / interface) sorted by tags; hosts sorted by name with
// the time of their newest point.
package metricsread

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// Reader is what the API reads host metrics through (api.MetricsReader).
type Reader interface {
	Metrics(ctx context.Context, r store.MetricsRequest) ([]store.Series, error)
	Hosts(ctx context.Context) ([]store.HostSeen, error)
}

// HostsWindow is how far back Hosts looks, on both backends: the standalone's default
// retention.
const HostsWindow = 7 * 24 * time.Hour

// sortSeries orders series as the store does: by their tags' JSON (keys sorted).
func sortSeries(s []store.Series) {
	key := func(x store.Series) string {
		b, _ := json.Marshal(x.Tags)
		return string(b)
	}
	slices.SortFunc(s, func(a, b store.Series) int { return strings.Compare(key(a), key(b)) })
}

func sortHosts(h []store.HostSeen) {
	slices.SortFunc(h, func(a, b store.HostSeen) int { return strings.Compare(a.Host, b.Host) })
}
