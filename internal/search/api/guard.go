package api

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// guard enforces http.auth on every request, and on writes also a proof that the request
// is not a cross-site one (CSRF): credentials in an Authorization header, or a browser's
// same-origin markers.
func (a *API) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authed := a.authorized(r)
		if a.d.Auth.Enabled() && !authed {
			if a.d.Auth.Username != "" {
				w.Header().Set("WWW-Authenticate", `Basic realm="logcollect"`)
			}
			writeErr(w, http.StatusUnauthorized, "credentials required (http.auth): a bearer token or basic auth", "")
			return
		}
		write := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		if write && !(authed && r.Header.Get("Authorization") != "") && !sameOrigin(r) {
			writeErr(w, http.StatusForbidden, "writes need the auth token or a same-origin request (Origin or Sec-Fetch-Site)", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) authorized(r *http.Request) bool {
	au := a.d.Auth
	if !au.Enabled() {
		return true
	}
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok && au.Token != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(au.Token)) == 1
	}
	if u, p, ok := r.BasicAuth(); ok && au.Username != "" {
		return subtle.ConstantTimeCompare([]byte(u), []byte(au.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(au.Password)) == 1
	}
	return false
}

// sameOrigin: a cross-site browser request is refused; a request counts as same-origin
// when the browser says so or its Origin names this server.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return false
	case "same-origin":
		return true
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
