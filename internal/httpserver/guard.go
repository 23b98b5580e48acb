package httpserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Auth is http.auth: a bearer token, or basic username and password. Zero: no credential
// is required.
type Auth struct {
	Token, Username, Password string
}

// Enabled says whether credentials are required.
func (a Auth) Enabled() bool { return a.Token != "" || a.Username != "" }

// Access says who may use the server: the names it answers to besides its listen address
// and the loopback names (http.allowed_hosts), and the credential it requires (http.auth).
type Access struct {
	AllowedHosts []string
	Auth         Auth
	// OpenUI, with a token, serves GET and HEAD outside /api/, /metrics and /debug/
	// without a credential: the web UI's own files, which carry no data and include the
	// sign-in form that asks for the token.
	OpenUI bool
}

// SessionCookie is the cookie POST /api/login sets: what a browser replays instead of the
// token (an EventSource cannot send an Authorization header).
const SessionCookie = "logcollect_session"

// LoginPath takes {"token": "..."} and answers with the session cookie.
const LoginPath = "/api/login"

const sessionTTL = 7 * 24 * time.Hour

// credential is how a request proved who it is. A bearer token is sent only by code that
// holds it; a cookie or basic auth is ambient: a browser replays it on any request to this
// origin, so a write carrying only that must also prove it comes from this origin.
type credential int

const (
	credNone credential = iota
	credAmbient
	credBearer
)

// hostPort is an allowed name; port "" allows every port of that name.
type hostPort struct{ host, port string }

// guard answers only requests meant for this server (the Host allowlist against DNS
// rebinding), requires the credential, and refuses cross-origin writes.
type guard struct {
	allowed []hostPort
	auth    Auth
	openUI  bool
	now     func() time.Time
	next    http.Handler
}

// newGuard builds the guard for a server listening on listen (as configured) and bound at
// bound (the port 0 was replaced by the kernel's choice).
func newGuard(a Access, listen string, bound net.Addr, next http.Handler) (*guard, error) {
	allowed, err := allowedHosts(listen, bound, a.AllowedHosts)
	if err != nil {
		return nil, err
	}
	return &guard{allowed: allowed, auth: a.Auth, openUI: a.OpenUI, now: time.Now, next: next}, nil
}

// allowedHosts: the listen address (unless it is 0.0.0.0 or ::, whose names are the
// operator's to list), the loopback names on the bound port, and the configured names.
func allowedHosts(listen string, bound net.Addr, extra []string) ([]hostPort, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen %q: %w", listen, err)
	}
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return nil, fmt.Errorf("bound address %s: %w", bound, err)
	}
	out := []hostPort{{"localhost", port}, {"127.0.0.1", port}, {"::1", port}}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		out = append(out, hostPort{normHost(host), port})
	}
	for _, h := range extra {
		hp, err := parseAllowedHost(h)
		if err != nil {
			return nil, err
		}
		out = append(out, hp)
	}
	return out, nil
}

// ValidateAllowedHost checks one http.allowed_hosts value (config validation).
func ValidateAllowedHost(s string) error {
	_, err := parseAllowedHost(s)
	return err
}

// parseAllowedHost reads one http.allowed_hosts value: host or host:port, IPv6 in brackets.
func parseAllowedHost(s string) (hostPort, error) {
	if s == "" || strings.ContainsAny(s, "/@?# ") {
		return hostPort{}, fmt.Errorf("http.allowed_hosts %q: must be host or host:port (no scheme, no path)", s)
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return hostPort{}, fmt.Errorf("http.allowed_hosts %q: port must be 1-65535", s)
		}
	} else if strings.Count(s, ":") == 1 || strings.HasPrefix(s, "[") {
		return hostPort{}, fmt.Errorf("http.allowed_hosts %q: %w", s, err)
	}
	if host == "" {
		return hostPort{}, fmt.Errorf("http.allowed_hosts %q: empty host", s)
	}
	return hostPort{normHost(host), port}, nil
}

func normHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// splitWithDefault splits host[:port]; a missing port is the scheme's default.
func splitWithDefault(hostport, defPort string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return normHost(h), p
	}
	return normHost(hostport), defPort
}

func (g *guard) isAllowed(host, port string) bool {
	for _, a := range g.allowed {
		if a.host == host && (a.port == "" || a.port == port) {
			return true
		}
	}
	return false
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defPort := "80"
	if r.TLS != nil {
		defPort = "443"
	}
	if !g.isAllowed(splitWithDefault(r.Host, defPort)) {
		writeJSONError(w, http.StatusMisdirectedRequest, fmt.Sprintf(
			"this server does not answer to the name %q: if it is reached by that name (a reverse proxy), add it to http.allowed_hosts", r.Host))
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == LoginPath {
		g.login(w, r)
		return
	}
	cred := g.credential(r)
	if g.auth.Enabled() && cred == credNone && !g.open(r) {
		g.unauthorized(w)
		return
	}
	if isWrite(r.Method) {
		if reason := g.crossOrigin(r, cred == credBearer); reason != "" {
			writeJSONError(w, http.StatusForbidden, reason)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// open: what answers without a credential. /healthz says only ok or degraded and the
// names of its checks; the UI's files (with a token) hold no data.
func (g *guard) open(r *http.Request) bool {
	if r.URL.Path == "/healthz" {
		return true
	}
	if !g.openUI || g.auth.Token == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	p := r.URL.Path
	return !strings.HasPrefix(p, "/api/") && p != "/api" && p != "/metrics" && !strings.HasPrefix(p, "/debug/")
}

// crossOrigin says why a write is refused, or "". Sec-Fetch-Site only ever refuses: a
// request naming no site is judged by its Origin. Without a bearer token the Origin must
// be present: a cookie or basic auth rides along on any request a page makes.
func (g *guard) crossOrigin(r *http.Request, bearer bool) string {
	switch strings.ToLower(r.Header.Get("Sec-Fetch-Site")) {
	case "cross-site", "same-site":
		return "cross-site write refused (Sec-Fetch-Site)"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		if bearer {
			return ""
		}
		return "a write needs an Authorization: Bearer token, or an Origin header naming this server"
	}
	if !g.allowedOrigin(o) {
		return fmt.Sprintf("write from origin %q refused: it is not one of this server's names (http.allowed_hosts)", o)
	}
	return ""
}

func (g *guard) allowedOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	def := "80"
	if u.Scheme == "https" {
		def = "443"
	}
	return g.isAllowed(splitWithDefault(u.Host, def))
}

// credential checks the Authorization header (scheme names are case-insensitive, RFC
// 7235), then the session cookie.
func (g *guard) credential(r *http.Request) credential {
	if !g.auth.Enabled() {
		return credNone
	}
	if scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(scheme, "Bearer") && g.auth.Token != "":
			if equal(value, g.auth.Token) {
				return credBearer
			}
		case strings.EqualFold(scheme, "Basic") && g.auth.Username != "":
			r2 := &http.Request{Header: http.Header{"Authorization": {"Basic " + value}}}
			if u, p, ok := r2.BasicAuth(); ok && equal(u, g.auth.Username) && equal(p, g.auth.Password) {
				return credAmbient
			}
		}
	}
	if c, err := r.Cookie(SessionCookie); err == nil && g.validSession(c.Value) {
		return credAmbient
	}
	return credNone
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (g *guard) unauthorized(w http.ResponseWriter) {
	if g.auth.Username != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="logcollect"`)
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer realm="logcollect"`)
	}
	writeJSONError(w, http.StatusUnauthorized, "credentials required (http.auth): a bearer token, the session cookie of POST /api/login, or basic auth")
}

// login exchanges the token for a session cookie. It is a write like any other: only from
// a page of this server (a foreign page must not sign a browser in to its own choice).
func (g *guard) login(w http.ResponseWriter, r *http.Request) {
	if reason := g.crossOrigin(r, false); reason != "" {
		writeJSONError(w, http.StatusForbidden, reason)
		return
	}
	if g.auth.Token == "" {
		writeJSONError(w, http.StatusNotFound, "no token sign-in here: http.auth is not a token")
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
		writeJSONError(w, http.StatusBadRequest, "body must be {\"token\": \"...\"}")
		return
	}
	if !equal(strings.TrimSpace(body.Token), g.auth.Token) {
		g.unauthorized(w)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: g.newSession(), Path: "/",
		MaxAge: int(sessionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	w.WriteHeader(http.StatusNoContent)
}

// A session is "<expiry unix>.<HMAC-SHA256(token, expiry)>": nothing to store, it
// survives a restart, it ends with its expiry or when the token changes.
func (g *guard) newSession() string {
	exp := strconv.FormatInt(g.now().Add(sessionTTL).Unix(), 10)
	return exp + "." + g.sign(exp)
}

func (g *guard) validSession(v string) bool {
	exp, sig, ok := strings.Cut(v, ".")
	if !ok || g.auth.Token == "" {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || g.now().Unix() >= n {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(g.sign(exp)))
}

func (g *guard) sign(exp string) string {
	m := hmac.New(sha256.New, []byte(g.auth.Token))
	m.Write([]byte("logcollect session " + exp))
	return hex.EncodeToString(m.Sum(nil))
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
