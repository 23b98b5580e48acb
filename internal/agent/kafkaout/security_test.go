package kafkaout

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/tlstest"
)

func TestAcksModesDeliver(t *testing.T) {
	for _, acks := range []string{"all", "leader", "none"} {
		t.Run(acks, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "app_log"))
			cfg := testConfig(c.ListenAddrs())
			cfg.Acks = acks
			s := newTestSink(t, cfg, Deps{})
			acksLog := newAckLog()
			if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", 0, 200, acksLog, nil)); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "200 acks", func() bool { return acksLog.count() == 200 })
			consumeAll(t, c.ListenAddrs(), "app_log", 200, 10*time.Second)
		})
	}
}

func TestSASL(t *testing.T) {
	tests := []struct {
		name      string
		mechanism string
		password  string
		deliver   bool
	}{
		{name: "plain", mechanism: "PLAIN", password: "secret", deliver: true},
		{name: "scram-sha-256", mechanism: "SCRAM-SHA-256", password: "secret", deliver: true},
		{name: "scram-sha-512", mechanism: "SCRAM-SHA-512", password: "secret", deliver: true},
		{name: "wrong password", mechanism: "SCRAM-SHA-256", password: "nope", deliver: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "app_log"), kfake.EnableSASL(),
				kfake.Superuser(tc.mechanism, "agent", "secret"))
			cfg := testConfig(c.ListenAddrs())
			cfg.SASL = config.SASL{Mechanism: tc.mechanism, Username: "agent", Password: tc.password}
			s := newTestSink(t, cfg, Deps{})
			acks := newAckLog()
			if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", 0, 20, acks, nil)); err != nil {
				t.Fatal(err)
			}
			if tc.deliver {
				eventually(t, 10*time.Second, "20 acks", func() bool { return acks.count() == 20 })
				return
			}
			eventually(t, 10*time.Second, "degraded health", func() bool { return s.Health().Status == StatusDegraded })
			if n := acks.count(); n != 0 {
				t.Fatalf("%d events acknowledged with a wrong password", n)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	pair := tlstest.SelfSigned(t)
	serverTLS, caPath := pair.Server, pair.CertFile
	tests := []struct {
		name    string
		tls     config.TLS
		deliver bool
	}{
		{name: "trusted ca", tls: config.TLS{Enabled: true, CAFile: caPath}, deliver: true},
		{name: "skip verify", tls: config.TLS{Enabled: true, InsecureSkipVerify: true}, deliver: true},
		{name: "untrusted", tls: config.TLS{Enabled: true}, deliver: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "app_log"), kfake.TLS(serverTLS))
			cfg := testConfig(c.ListenAddrs())
			cfg.TLS = tc.tls
			s := newTestSink(t, cfg, Deps{})
			acks := newAckLog()
			if err := s.Publish(context.Background(), fileEvents("app_log", "h1", "/logs/a.log", 0, 20, acks, nil)); err != nil {
				t.Fatal(err)
			}
			if tc.deliver {
				eventually(t, 10*time.Second, "20 acks", func() bool { return acks.count() == 20 })
				return
			}
			eventually(t, 10*time.Second, "degraded health", func() bool { return s.Health().Status == StatusDegraded })
			if n := acks.count(); n != 0 {
				t.Fatalf("%d events acknowledged over an untrusted connection", n)
			}
		})
	}
}
