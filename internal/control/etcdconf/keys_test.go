package etcdconf

import (
	"slices"
	"testing"
)

func TestExpandKeys(t *testing.T) {
	v := Vars{IP: "10.0.0.7", Hostname: "web1", ID: "agent-a"}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"defaults", []string{"collect_log_conf", "collect_log_{ip}_conf"}, []string{"collect_log_conf", "collect_log_10.0.0.7_conf"}},
		{"all placeholders", []string{"/c/{hostname}/{id}/{ip}"}, []string{"/c/web1/agent-a/10.0.0.7"}},
		{"duplicate after expansion dropped", []string{"k_{id}", "k_agent-a", "g"}, []string{"k_agent-a", "g"}},
		{"unknown placeholder left as is", []string{"k_{zone}"}, []string{"k_{zone}"}},
		{"empty", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpandKeys(tt.in, v); !slices.Equal(got, tt.want) {
				t.Fatalf("ExpandKeys(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestKeyPattern(t *testing.T) {
	tests := []struct {
		tmpl   string
		key    string
		prefix string
		want   bool
	}{
		{"collect_log_conf", "collect_log_conf", "collect_log_conf", true},
		{"collect_log_conf", "collect_log_conf2", "collect_log_conf", false},
		{"collect_log_{ip}_conf", "collect_log_10.0.0.1_conf", "collect_log_", true},
		{"collect_log_{ip}_conf", "collect_log__conf", "collect_log_", false},
		{"collect_log_{ip}_conf", "collect_log_a/b_conf", "collect_log_", false},
		{"collect_log_{ip}_conf", "collect_log_1.2.3.4_confX", "collect_log_", false},
		{"/logs/{hostname}/{id}", "/logs/h/i", "/logs/", true},
		{"a.b{id}", "aXb1", "a.b", false}, // literal parts are quoted
	}
	for _, tt := range tests {
		t.Run(tt.tmpl+"/"+tt.key, func(t *testing.T) {
			p := NewKeyPattern(tt.tmpl)
			if p.Prefix != tt.prefix {
				t.Fatalf("Prefix = %q, want %q", p.Prefix, tt.prefix)
			}
			if got := p.Match(tt.key); got != tt.want {
				t.Fatalf("Match(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestLocalIP(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		want      string
		wantErr   bool
	}{
		{"host:port", []string{"127.0.0.1:2379"}, "127.0.0.1", false},
		{"url", []string{"http://127.0.0.1:2379"}, "127.0.0.1", false},
		{"first bad, second good", []string{"bad host:x", "127.0.0.1:2379"}, "127.0.0.1", false},
		{"none", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LocalIP(tt.endpoints)
			if (err != nil) != tt.wantErr {
				t.Fatalf("LocalIP err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("LocalIP = %q, want %q", got, tt.want)
			}
		})
	}
}
