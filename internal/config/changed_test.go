package config

import (
	"slices"
	"testing"

	"github.com/logcollect/logcollect/internal/control/entry"
)

func TestChanged(t *testing.T) {
	base := Default()
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"collect and level", func(c *Config) {
			c.Agent.Collect = append(c.Agent.Collect, entry.Entry{Path: "/var/log/a.log", Topic: "a"})
			c.Log.Level = "debug"
		}, []string{"agent.collect", "log.level"}},
		{"nested leaf", func(c *Config) { c.Kafka.TLS.Enabled = true }, []string{"kafka.tls.enabled"}},
		{"list", func(c *Config) { c.Kafka.Brokers = []string{"b:9092"} }, []string{"kafka.brokers"}},
		{"duration", func(c *Config) { c.Agent.ScanInterval *= 2 }, []string{"agent.scan_interval"}},
		{"listen", func(c *Config) { c.HTTP.Listen = "127.0.0.1:1" }, []string{"http.listen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := Default()
			tc.change(&next)
			if got := Changed(base, next); !slices.Equal(got, tc.want) {
				t.Fatalf("Changed = %v, want %v", got, tc.want)
			}
		})
	}
}
