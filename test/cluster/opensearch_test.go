//go:build integration

package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/e2etest"
)

// transferConfig writes the config of a transfer that consumes one topic of the cluster
// as group into indices <topic>-<date> of the shared OpenSearch.
func transferConfig(t *testing.T, dir, topic, group string, brokers []string, osURL, listen string) string {
	t.Helper()
	cfg := fmt.Sprintf(`kafka:
  brokers: [%s]
etcd:
  endpoints: []
transfer:
  group: %s
  topics: [%s]
  shutdown_timeout: 10s
  # transfer.session_timeout stays at its default (10 s): a loss during the failover is allowed.
opensearch:
  addresses: [%s]
  index: "%s-{date}"
  template: %s
  flush_interval: 200ms
  max_retry_backoff: 1s
http: {listen: %q}
log: {level: info}
`, strings.Join(brokers, ", "), group, topic, osURL, topic, topic, listen)
	path := filepath.Join(dir, "transfer.yaml")
	e2etest.WriteFile(t, path, cfg)
	return path
}

// indexCount refreshes the indices matching pattern and returns how many documents they
// hold, -1 when OpenSearch does not answer.
func indexCount(osURL, pattern string) int64 {
	cl := http.Client{Timeout: 30 * time.Second}
	if resp, err := cl.Post(osURL+"/"+pattern+"/_refresh?allow_no_indices=true", "application/json", nil); err == nil {
		_ = resp.Body.Close()
	}
	resp, err := cl.Get(osURL + "/" + pattern + "/_count?allow_no_indices=true")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var r struct {
		Count int64 `json:"count"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
		return -1
	}
	return r.Count
}

// deleteIndices removes what a transfer of this test created in the shared OpenSearch.
func deleteIndices(osURL, topic string) {
	cl := http.Client{Timeout: 30 * time.Second}
	for _, path := range []string{"/" + topic + "-*", "/_index_template/" + topic} {
		req, err := http.NewRequest(http.MethodDelete, osURL+path, nil)
		if err != nil {
			continue
		}
		if resp, err := cl.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
}
