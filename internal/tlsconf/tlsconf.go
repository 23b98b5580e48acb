// Package tlsconf turns a TLS section of the config (kafka.tls, etcd.tls,
// opensearch.tls) into the *tls.Config a client dials with.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/logcollect/logcollect/internal/config"
)

// Client returns the client TLS configuration, or nil when t is not enabled. Errors name
// the key inside the section (ca_file, cert_file, key_file); the caller adds the section.
func Client(t config.TLS) (*tls.Config, error) {
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
			return nil, fmt.Errorf("read ca_file %s: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load cert_file %s / key_file %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
