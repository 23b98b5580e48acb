package opensearchsink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// templateBody is the composable index template of the transfer's indices: the line is
// full text, the agent's fields are keywords, parsed strings are keywords (searchable as
// whole values, aggregatable in Dashboards/Kibana), parsed numbers keep their JSON type.
// What logcollect's own search (internal/search/opensearchstore) needs: the message split
// into words as docs/search.md defines them (runs of letters and digits, lowercased: the
// logcollect_words analyzer), and every parsed number or boolean also as a keyword
// (name.keyword), so that field:value, prefixes and globs match it as written.
func (ix *Indexer) templateBody() map[string]any {
	kw := map[string]any{"type": "keyword"}
	withKeyword := func(typ string) map[string]any {
		return map[string]any{"type": typ, "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
	}
	return map[string]any{
		"index_patterns": []string{ix.index.pattern()},
		"priority":       200,
		"_meta":          map[string]any{"managed_by": "logcollect transfer"},
		"template": map[string]any{
			"settings": map[string]any{
				"index.number_of_shards":   ix.cfg.Shards,
				"index.number_of_replicas": ix.cfg.Replicas,
				"index.refresh_interval":   ix.cfg.RefreshInterval,
				"analysis": map[string]any{"analyzer": map[string]any{"logcollect_words": map[string]any{
					"type": "pattern", "pattern": `[^\p{L}\p{N}]+`, "lowercase": true,
				}}},
			},
			"mappings": map[string]any{
				"dynamic_templates": []any{
					map[string]any{"entry_fields": map[string]any{
						"path_match": "fields.*",
						"mapping":    map[string]any{"type": "keyword", "ignore_above": 1024},
					}},
					map[string]any{"parsed_strings": map[string]any{
						"match_mapping_type": "string",
						"mapping":            map[string]any{"type": "keyword", "ignore_above": 1024},
					}},
					map[string]any{"parsed_integers": map[string]any{"match_mapping_type": "long", "mapping": withKeyword("long")}},
					map[string]any{"parsed_numbers": map[string]any{"match_mapping_type": "double", "mapping": withKeyword("double")}},
					map[string]any{"parsed_booleans": map[string]any{"match_mapping_type": "boolean", "mapping": withKeyword("boolean")}},
				},
				"properties": map[string]any{
					"@timestamp": map[string]any{"type": "date"},
					"read_time":  map[string]any{"type": "date"},
					"message":    map[string]any{"type": "text", "analyzer": "logcollect_words"},
					"host":       kw,
					"path":       kw,
					"topic":      kw,
					"file_id":    kw,
					"offset":     map[string]any{"type": "long"},
					"kafka": map[string]any{"properties": map[string]any{
						"partition": map[string]any{"type": "integer"},
						"offset":    map[string]any{"type": "long"},
					}},
					"parse_error":     map[string]any{"type": "boolean"},
					"invalid_utf8":    map[string]any{"type": "boolean"},
					"status":          withKeyword("integer"),
					"body_bytes_sent": withKeyword("long"),
					"request":         map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 2048}}},
					"http_user_agent": map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 1024}}},
				},
			},
		},
	}
}

// policyBody is the ISM policy deleting indices older than opensearch.retention.
func (ix *Indexer) policyBody() map[string]any {
	return map[string]any{"policy": map[string]any{
		"description":   "logcollect transfer: delete indices older than " + ix.cfg.Retention,
		"default_state": "hot",
		"states": []any{
			map[string]any{
				"name":        "hot",
				"actions":     []any{},
				"transitions": []any{map[string]any{"state_name": "delete", "conditions": map[string]any{"min_index_age": ix.cfg.Retention}}},
			},
			map[string]any{"name": "delete", "actions": []any{map[string]any{"delete": map[string]any{}}}, "transitions": []any{}},
		},
		"ism_template": []any{map[string]any{"index_patterns": []string{ix.index.pattern()}, "priority": 200}},
	}}
}

// Setup installs (or updates) the index template and, with opensearch.retention, the ISM
// policy. It retries until OpenSearch answers or ctx ends: documents indexed before the
// template exists would get dynamic mappings that cannot be changed later.
func (ix *Indexer) Setup(ctx context.Context) error {
	if ix.cfg.Template == "" {
		return nil
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := ix.sleep(ctx, attempt); err != nil {
				return fmt.Errorf("install index template: %w", err)
			}
		}
		err := ix.putTemplate(ctx)
		if err == nil && ix.cfg.Retention != "" {
			err = ix.putPolicy(ctx)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("install index template: %w", ctx.Err())
		}
		// /healthz tells why the transfer does not start consuming (a wrong password).
		ix.setErr(err)
		if err == nil {
			return nil
		}
		ix.log.Warn("installing the index template failed; retrying", "attempt", attempt+1, "err", err)
	}
}

func (ix *Indexer) putTemplate(ctx context.Context) error {
	code, body, err := ix.do(ctx, http.MethodPut, "/_index_template/"+ix.cfg.Template, ix.templateBody())
	if err != nil {
		return err
	}
	if code >= 300 {
		return statusError("PUT _index_template/"+ix.cfg.Template, code, body)
	}
	ix.log.Info("index template installed", "template", ix.cfg.Template, "pattern", ix.index.pattern())
	return nil
}

// putPolicy creates the policy, or updates it when it exists (ISM wants the current
// sequence number for that). Without the ISM plugin (Elasticsearch, a bare OpenSearch)
// retention is not enforced: that is logged, not fatal.
func (ix *Indexer) putPolicy(ctx context.Context) error {
	path := "/_plugins/_ism/policies/" + ix.cfg.Template
	code, body, err := ix.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	switch {
	case code == http.StatusOK:
		var cur struct {
			SeqNo       int64 `json:"_seq_no"`
			PrimaryTerm int64 `json:"_primary_term"`
		}
		if err := json.Unmarshal(body, &cur); err != nil {
			return fmt.Errorf("decode ISM policy %s: %w", ix.cfg.Template, err)
		}
		path += fmt.Sprintf("?if_seq_no=%d&if_primary_term=%d", cur.SeqNo, cur.PrimaryTerm)
	case code == http.StatusNotFound && !bytes.Contains(body, []byte("no handler found")):
		// "Policy not found": created below.
	case code == http.StatusNotFound || code == http.StatusBadRequest || code == http.StatusMethodNotAllowed:
		ix.log.Warn("the cluster has no ISM plugin: opensearch.retention is not enforced (on Elasticsearch use an ILM policy, see docs/transfer.md)",
			"retention", ix.cfg.Retention, "err", truncate(body, 200))
		return nil
	default:
		return statusError("GET "+path, code, body)
	}
	code, body, err = ix.do(ctx, http.MethodPut, path, ix.policyBody())
	if err != nil {
		return err
	}
	if code >= 300 {
		return statusError("PUT ISM policy "+ix.cfg.Template, code, body)
	}
	ix.log.Info("retention policy installed", "policy", ix.cfg.Template, "retention", ix.cfg.Retention)
	return nil
}

// do sends one JSON request and returns the status and body.
func (ix *Indexer) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ix.client.Stream(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, strings.SplitN(path, "?", 2)[0], explainTransport(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
