package opensearchsink

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
)

// statusError is the error of a request OpenSearch refused as a whole. A 401 or 403 is a
// configuration problem, not an outage: the message names the keys to fix.
func statusError(what string, code int, body []byte) error {
	switch code {
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: HTTP 401: authentication failed: check opensearch.username and opensearch.password: %s",
			what, truncate(body, 200))
	case http.StatusForbidden:
		return fmt.Errorf("%s: HTTP 403: opensearch.username is not allowed to do this (it needs to write the indices and, with opensearch.template, manage templates): %s",
			what, truncate(body, 200))
	}
	return fmt.Errorf("%s: HTTP %d: %s", what, code, truncate(body, 300))
}

// explainTransport says which key to check when the server's certificate was refused; other
// errors are returned as they are (net/http already says "server gave HTTP response to
// HTTPS client" clearly). The cause stays wrapped.
func explainTransport(err error) error {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("TLS: the server's certificate is signed by an authority this host does not trust: set opensearch.tls.ca_file to the CA's PEM file: %w", err)
	case errors.As(err, &hostname):
		return fmt.Errorf("TLS: the server's certificate is not valid for the address in opensearch.addresses (use a name the certificate holds): %w", err)
	case errors.As(err, &invalid):
		return fmt.Errorf("TLS: the server's certificate is not valid (expired, or not a server certificate): %w", err)
	}
	return err
}
