// Package tlsconf turns a TLS section of the config (kafka.tls, etcd.tls,
// opensearch.tls) into the *tls.Config a client dials with.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/logcollect/logcollect/internal/config"
)

// Client returns the client TLS configuration, or nil when t is not enabled. section is the
// section's key ("kafka.tls"), so that errors name the whole key.
func Client(section string, t config.TLS) (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// An explicit opt-in, for test clusters with self-signed certificates.
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: read %s: %w", section, t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: %s holds no PEM certificate", section, t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("%s.cert_file and %s.key_file must be set together", section, section)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s.cert_file %s / %s.key_file %s: %w", section, t.CertFile, section, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
