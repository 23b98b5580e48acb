package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// ErrNoLogReader answers the log routes (search, context, tail, fields) until the
// OpenSearch reader is built into this binary.
var ErrNoLogReader = errors.New("the OpenSearch log reader is not built into this version of logcollect server: " +
	"search, context, live tail and facets are unavailable; host metrics, agents and entries work")

// openLogs opens the log side of the API over opensearch (the indices the transfer
// writes). The OpenSearch reader (internal/search/opensearchstore) is being written beside
// this package; until it lands here, the log routes answer ErrNoLogReader and the rest of
// the server works.
func openLogs(_ config.Config, _ *slog.Logger, _ prometheus.Registerer) (store.Store, error) {
	return noLogs{}, nil
}

// noLogs is the log reader of a binary without one: no rows, no hosts with logs.
type noLogs struct{}

var _ store.Store = noLogs{}

func (noLogs) Append(context.Context, []store.Row, func()) error { return ErrNoLogReader }
func (noLogs) Search(context.Context, store.SearchRequest) (store.SearchResult, error) {
	return store.SearchResult{}, ErrNoLogReader
}
func (noLogs) Histogram(context.Context, *query.Node, time.Time, time.Time, time.Duration) ([]store.Bucket, bool, error) {
	return nil, false, ErrNoLogReader
}
func (noLogs) Since(context.Context, *query.Node, int64, int) ([]store.Row, error) {
	return nil, ErrNoLogReader
}
func (noLogs) LastSeq() int64           { return 0 }
func (noLogs) Changed() <-chan struct{} { return nil }
func (noLogs) Context(context.Context, string, string, int64, int, int) ([]store.Row, int, error) {
	return nil, 0, ErrNoLogReader
}
func (noLogs) Fields(context.Context, *query.Node, time.Time, time.Time, int, int) ([]store.FieldFacet, int64, error) {
	return nil, 0, ErrNoLogReader
}
func (noLogs) WritePoints(context.Context, []hostmetrics.Point) error { return ErrNoLogReader }
func (noLogs) Metrics(context.Context, store.MetricsRequest) ([]store.Series, error) {
	return nil, ErrNoLogReader
}
func (noLogs) Hosts(context.Context) ([]store.HostSeen, error) { return nil, nil }
func (noLogs) Retain(context.Context, time.Time) error         { return nil }
