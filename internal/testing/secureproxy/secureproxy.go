// Package secureproxy stands in for a secured OpenSearch cluster in tests: a reverse proxy
// that terminates TLS with a certificate made at run time and checks HTTP basic auth before
// forwarding to a plain-HTTP server (the test OpenSearch, which runs without its security
// plugin). A wrong or missing password is answered as OpenSearch's security plugin does:
// 401 with a JSON error and a WWW-Authenticate challenge.
package secureproxy

import (
	"crypto/subtle"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/logcollect/logcollect/internal/testing/tlstest"
)

// unauthorized is the body OpenSearch's security plugin sends with a 401.
const unauthorized = `{"error":{"root_cause":[{"type":"security_exception","reason":"Unauthorized"}],` +
	`"type":"security_exception","reason":"Unauthorized"},"status":401}`

// Proxy is a running proxy.
type Proxy struct {
	// URL is the https:// base URL clients use.
	URL string
	// CAFile is the PEM file of the certificate's CA: a client trusts the proxy with it.
	CAFile string

	user, pass string
	passed     atomic.Int64
	refused    atomic.Int64
}

// Start serves on a free loopback port until the test ends, forwarding requests that carry
// user:pass to target (a base URL such as http://127.0.0.1:9200).
func Start(t testing.TB, target, user, pass string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("secureproxy: target %q: %v", target, err)
	}
	pair := tlstest.SelfSigned(t)
	p := &Proxy{CAFile: pair.CertFile, user: user, pass: pass}
	fwd := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewUnstartedServer(p.handler(fwd))
	srv.TLS = pair.Server
	// Refused handshakes (the test of an untrusted certificate) are expected: the client's
	// side of them is what tests assert, not the server's log line.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *Proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.authorized(r) {
			p.refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="OpenSearch Security"`)
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, unauthorized)
			return
		}
		p.passed.Add(1)
		// The backend has no security: the credentials stop here.
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r)
	})
}

func (p *Proxy) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	// Both compared, always: the time taken says nothing about which one was wrong.
	u := subtle.ConstantTimeCompare([]byte(user), []byte(p.user))
	w := subtle.ConstantTimeCompare([]byte(pass), []byte(p.pass))
	return u&w == 1
}

// Passed is how many requests were authorized and forwarded.
func (p *Proxy) Passed() int64 { return p.passed.Load() }

// Refused is how many requests were answered 401.
func (p *Proxy) Refused() int64 { return p.refused.Load() }
