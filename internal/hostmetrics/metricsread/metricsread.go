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

// HostLister is a log reader's side of /api/hosts: the hosts with logs.
type HostLister interface {
	Hosts(ctx context.Context) ([]store.HostSeen, error)
}

// WithLogHosts returns r whose Hosts also lists the hosts with logs, as the standalone's
// store lists hosts with logs or metrics: each host once, with the newer of its times.
func WithLogHosts(r Reader, logs HostLister) Reader { return withLogHosts{r, logs} }

type withLogHosts struct {
	Reader
	logs HostLister
}

func (w withLogHosts) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	m, err := w.Reader.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	l, err := w.logs.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	last := map[string]time.Time{}
	for _, h := range append(m, l...) {
		if t, ok := last[h.Host]; !ok || h.LastSeen.After(t) {
			last[h.Host] = h.LastSeen
		}
	}
	out := make([]store.HostSeen, 0, len(last))
	for h, t := range last {
		out = append(out, store.HostSeen{Host: h, LastSeen: t})
	}
	sortHosts(out)
	return out, nil
}
