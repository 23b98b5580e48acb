package tlsconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logcollect/logcollect/internal/config"
	"github.com/logcollect/logcollect/internal/testing/tlstest"
)

func TestClient(t *testing.T) {
	pair := tlstest.SelfSigned(t)
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tls  config.TLS
		want string
	}{
		{"missing ca file", config.TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}, "kafka.tls.ca_file: read"},
		{"ca not pem", config.TLS{Enabled: true, CAFile: notPEM}, "holds no PEM certificate"},
		{"cert without key", config.TLS{Enabled: true, CertFile: pair.CertFile}, "kafka.tls.cert_file and kafka.tls.key_file must be set together"},
		{"key is not the cert's", config.TLS{Enabled: true, CertFile: pair.CertFile, KeyFile: notPEM}, "kafka.tls.cert_file "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Client("kafka.tls", tt.tls)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Client err = %v, want %q", err, tt.want)
			}
		})
	}
	c, err := Client("kafka.tls", config.TLS{Enabled: true, CAFile: pair.CertFile, CertFile: pair.CertFile, KeyFile: pair.KeyFile, InsecureSkipVerify: true})
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || !c.InsecureSkipVerify {
		t.Fatalf("good TLS config: %v %+v", err, c)
	}
	if c, err := Client("kafka.tls", config.TLS{CAFile: "/nonexistent"}); c != nil || err != nil {
		t.Fatalf("disabled TLS must give nil, nil: %v %v", c, err)
	}
}
