package kafkaout

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/logcollect/logcollect/internal/config"
)

func TestAcksModesDeliver(t *testing.T) {
	for _, acks := range []string{"all", "leader", "none"} {
		t.Run(acks, func(t *testing.T) {
			c := newCluster(t, kfake.SeedTopics(1, "app_log"))
			cfg := testConfig(c.ListenAddrs())
			cfg.Acks = acks
			s := newTestSink(t, cfg)
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
			s := newTestSink(t, cfg)
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

// selfSigned writes a CA-less self-signed server certificate for 127.0.0.1 and returns
// the server's tls.Config and the PEM path clients trust.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caPath
}

func TestTLS(t *testing.T) {
	serverTLS, caPath := selfSigned(t)
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
			s := newTestSink(t, cfg)
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
