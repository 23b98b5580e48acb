package server

import (
	"log/slog"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/search/opensearchstore"
	"github.com/logcollect/logcollect/internal/transfer/opensearchsink"
)

// openLogs is the log side of the API: the indices the transfer writes (opensearch.index
// with each placeholder matching anything), read through the transfer's own client
// settings (addresses, TLS, basic auth).
func openLogs(cfg config.Config, log *slog.Logger) (*opensearchstore.Store, error) {
	if err := cfg.OpenSearch.Validate(); err != nil {
		return nil, err
	}
	client, err := opensearchsink.NewClient(cfg.OpenSearch, log)
	if err != nil {
		return nil, err
	}
	return opensearchstore.New(client, opensearchstore.Options{
		Pattern: opensearchsink.IndexPattern(cfg.OpenSearch.Index), Logger: log})
}
