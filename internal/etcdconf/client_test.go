package etcdconf

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/etcdconf/etcdtest"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 (its own CA) and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "etcd-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// roundTrip writes and reads a key with a client built by NewClient.
func roundTrip(t *testing.T, cfg config.Etcd) error {
	t.Helper()
	cli, err := NewClient(cfg)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "tls-auth-probe", "x"); err != nil {
		return err
	}
	resp, err := cli.Get(ctx, "tls-auth-probe")
	if err != nil {
		return err
	}
	if len(resp.Kvs) != 1 {
		return errors.New("value not read back")
	}
	return nil
}

func TestNewClientTLS(t *testing.T) {
	cert, key := selfSigned(t)
	srv := etcdtest.StartTLS(t, cert, key)
	tests := []struct {
		name    string
		tls     config.TLS
		wantErr bool
	}{
		{"trusted CA", config.TLS{Enabled: true, CAFile: cert}, false},
		{"client certificate too", config.TLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key}, false},
		{"insecure skip verify", config.TLS{Enabled: true, InsecureSkipVerify: true}, false},
		{"unknown CA", config.TLS{Enabled: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := roundTrip(t, config.Etcd{Endpoints: srv.Endpoints(), DialTimeout: config.Duration(time.Second), TLS: tt.tls})
			if (err != nil) != tt.wantErr {
				t.Fatalf("round trip err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewClientAuth(t *testing.T) {
	srv := etcdtest.Start(t)
	admin := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := admin.UserAdd(ctx, "root", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AuthEnable(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
		wantErr          string
	}{
		{"right password", "root", "s3cret", ""},
		{"wrong password", "root", "nope", "authentication failed"},
		{"no credentials", "", "", "user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := roundTrip(t, config.Etcd{Endpoints: srv.Endpoints(), DialTimeout: config.Duration(5 * time.Second), Username: tt.user, Password: tt.pass})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("round trip err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	cert, key := selfSigned(t)
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tls  config.TLS
		want string
	}{
		{"missing ca file", config.TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}, "read ca_file"},
		{"ca not pem", config.TLS{Enabled: true, CAFile: notPEM}, "no PEM certificate"},
		{"cert without key", config.TLS{Enabled: true, CertFile: cert}, "together"},
		{"key is not the cert's", config.TLS{Enabled: true, CertFile: cert, KeyFile: notPEM}, "load cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSConfig(tt.tls)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("TLSConfig err = %v, want %q", err, tt.want)
			}
		})
	}
	if c, err := TLSConfig(config.TLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key}); err != nil || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("good TLS config: %v %+v", err, c)
	}
	if c, err := TLSConfig(config.TLS{}); c != nil || err != nil {
		t.Fatalf("disabled TLS: %v %v", c, err)
	}
	if _, err := NewClient(config.Etcd{}); !errors.Is(err, ErrNoEtcd) {
		t.Fatalf("NewClient without endpoints: %v", err)
	}
}
