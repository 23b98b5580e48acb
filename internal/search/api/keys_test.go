package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCollectKeyOnly(t *testing.T) {
	a := &API{d: Deps{
		CollectKeys:  []string{"collect_log_conf", "collect_log_10.0.0.7_conf"},
		KeyTemplates: []string{"collect_log_conf", "collect_log_{ip}_conf"},
	}}
	tests := []struct {
		key string
		ok  bool
	}{
		{"collect_log_conf", true},
		{"collect_log_10.0.0.7_conf", true},
		{"collect_log_10.0.0.9_conf", true}, // another host's key, through {ip}
		{"/logcollect/agents/vm", false},
		{"collect_log_a/b_conf", false}, // a placeholder is one path segment
		{"collect_log_conf_x", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			w := httptest.NewRecorder()
			if got := a.collectKey(w, tt.key); got != tt.ok {
				t.Fatalf("collectKey(%q) = %v, want %v", tt.key, got, tt.ok)
			}
			if tt.ok {
				return
			}
			var body errBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusForbidden || !strings.Contains(body.Error, "collect_log_{ip}_conf") ||
				!strings.Contains(body.Error, "etcd.collect_keys") {
				t.Fatalf("status %d, error %q: want 403 naming the editable keys", w.Code, body.Error)
			}
		})
	}
}
