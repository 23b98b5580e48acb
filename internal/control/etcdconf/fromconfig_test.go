package etcdconf

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/control/entry"
	"github.com/logcollect/logcollect/internal/testing/etcdtest"
)

func TestAgentVars(t *testing.T) {
	host, _ := os.Hostname()
	fallback, fallbackErr := firstGlobalIP()
	tests := []struct {
		name      string
		id        string
		endpoints []string
		wantID    string
		wantIP    string
		wantErr   bool
	}{
		{"no etcd", "a1", nil, "a1", "", false},
		{"id defaults to hostname", "", nil, host, "", false},
		{"ip of the route to etcd", "a1", []string{"127.0.0.1:2379"}, "a1", "127.0.0.1", false},
		{"unresolvable endpoint falls back", "a1", []string{"etcd.invalid:2379"}, "a1", fallback, fallbackErr != nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Agent.ID = tt.id
			cfg.Etcd.Endpoints = tt.endpoints
			v, err := AgentVars(cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if v.ID != tt.wantID || v.IP != tt.wantIP || v.Hostname != host {
				t.Fatalf("vars = %+v, want id %q ip %q hostname %q", v, tt.wantID, tt.wantIP, host)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	srv := etcdtest.Start(t)
	cli := srv.Client()
	cfg := config.Default()
	cfg.Agent.DataDir = t.TempDir()
	cfg.Agent.Collect = []entry.Entry{{Path: "/var/log/s.log", Topic: "s"}}
	cfg.Agent.AllowedPaths = []string{"/var/log/**"}
	vars := Vars{IP: "10.1.2.3", Hostname: "h", ID: "i"}

	w, err := FromConfig(cfg, cli, vars, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"collect_log_conf", "collect_log_10.1.2.3_conf"}; !slices.Equal(w.opts.Keys, want) {
		t.Fatalf("keys = %q, want %q", w.opts.Keys, want)
	}
	if w.opts.CacheFile != filepath.Join(cfg.Agent.DataDir, CacheFileName) {
		t.Fatalf("cache file = %q", w.opts.CacheFile)
	}
	if len(w.opts.Static) != 1 || !slices.Equal(w.opts.AllowedPaths, cfg.Agent.AllowedPaths) {
		t.Fatalf("static %v allowed %v", w.opts.Static, w.opts.AllowedPaths)
	}

	// Without etcd: static only, no keys, no cache.
	w, err = FromConfig(cfg, nil, vars, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.opts.Client != nil || len(w.opts.Keys) != 0 || w.opts.CacheFile != "" {
		t.Fatalf("static-only watcher = %+v", w.opts)
	}

	// A static entry outside the allowlist is refused at construction.
	cfg.Agent.Collect = []entry.Entry{{Path: "/etc/passwd", Topic: "x"}}
	if _, err := FromConfig(cfg, cli, vars, nil, nil); err == nil {
		t.Fatal("static entry outside allowed_paths accepted")
	}
}
