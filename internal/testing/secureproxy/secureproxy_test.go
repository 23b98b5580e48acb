package secureproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "credentials leaked to the backend", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "backend "+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	p := Start(t, backend.URL, "admin", "s3cret")

	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CAFile holds no certificate")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	tests := []struct {
		name       string
		user, pass string // "" user: no Authorization header
		wantCode   int
		wantBody   string
	}{
		{"right password", "admin", "s3cret", http.StatusOK, "backend /_bulk"},
		{"wrong password", "admin", "nope", http.StatusUnauthorized, `"type":"security_exception"`},
		{"wrong user", "root", "s3cret", http.StatusUnauthorized, `"status":401`},
		{"no credentials", "", "", http.StatusUnauthorized, `"reason":"Unauthorized"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, p.URL+"/_bulk", nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := trusting.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode || !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("got %d %s, want %d with %s", resp.StatusCode, body, tt.wantCode, tt.wantBody)
			}
			if tt.wantCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Fatalf("401 without a Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if p.Passed() != 1 || p.Refused() != 3 {
		t.Fatalf("passed %d refused %d, want 1 and 3", p.Passed(), p.Refused())
	}

	// A client without the CA refuses the certificate.
	_, err = http.Get(p.URL + "/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a client without the CA: err = %v, want x509.UnknownAuthorityError", err)
	}
}
