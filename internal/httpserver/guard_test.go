package httpserver

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testGuard is the guard of a server on listen in front of its real mux (/metrics,
// /healthz) plus /api/entries/k and a UI at /, both answering 204.
func testGuard(t *testing.T, listen string, a Access) *guard {
	t.Helper()
	s, err := New(Config{Listen: listen}, Deps{Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	s.Handle("/api/entries/k", ok)
	s.Handle("/", ok)
	_, port, _ := net.SplitHostPort(listen)
	bound, err := net.ResolveTCPAddr("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGuard(a, listen, bound, s.mux)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type hdr map[string]string

func TestGuard(t *testing.T) {
	token := Auth{Token: "s3"}
	basic := Auth{Username: "u", Password: "p"}
	proxy := []string{"logs.example.com", "other.example:9000"}
	session := (&guard{auth: token, now: time.Now}).newSession()
	expired := (&guard{auth: token, now: func() time.Time { return time.Now().Add(-2 * sessionTTL) }}).newSession()
	own := "http://127.0.0.1:8080"
	for _, tc := range []struct {
		name    string
		listen  string // default 127.0.0.1:8080
		access  Access
		method  string
		host    string // default 127.0.0.1:8080
		path    string // default /api/entries/k
		headers hdr
		want    int
	}{
		// The Host allowlist.
		{name: "listen address", method: "GET", want: 204},
		{name: "localhost on the port", method: "GET", host: "localhost:8080", want: 204},
		{name: "LOCALHOST, trailing dot", method: "GET", host: "LOCALHOST.:8080", want: 204},
		{name: "[::1] on the port", method: "GET", host: "[::1]:8080", want: 204},
		{name: "loopback on another port", method: "GET", host: "127.0.0.1:9999", want: 421},
		{name: "rebinding name", method: "GET", host: "evil.example:8080", want: 421},
		{name: "rebinding write with its own Origin", method: "PUT", host: "evil.example:8080",
			headers: hdr{"Origin": "http://evil.example:8080"}, want: 421},
		{name: "forged Host on /metrics", method: "GET", host: "evil.example:8080", path: "/metrics", want: 421},
		{name: "forged Host on /healthz", method: "GET", host: "evil.example:8080", path: "/healthz", want: 421},
		{name: "0.0.0.0 is not a name", listen: "0.0.0.0:8080", method: "GET", host: "0.0.0.0:8080", want: 421},
		{name: "0.0.0.0 answers loopback", listen: "0.0.0.0:8080", method: "GET", host: "localhost:8080", want: 204},
		{name: "allowed name, any port", access: Access{AllowedHosts: proxy}, method: "GET", host: "logs.example.com", want: 204},
		{name: "allowed host:port", access: Access{AllowedHosts: proxy}, method: "GET", host: "other.example:9000", want: 204},
		{name: "allowed host, wrong port", access: Access{AllowedHosts: proxy}, method: "GET", host: "other.example:9001", want: 421},

		// Writes and their origin, without http.auth.
		{name: "read, no auth", method: "GET", want: 204},
		{name: "write, no Origin", method: "PUT", want: 403},
		{name: "write, own Origin", method: "PUT", headers: hdr{"Origin": own}, want: 204},
		{name: "write, localhost Origin", method: "PUT", headers: hdr{"Origin": "http://localhost:8080"}, want: 204},
		{name: "write, proxy Origin", access: Access{AllowedHosts: proxy}, method: "PUT", host: "logs.example.com",
			headers: hdr{"Origin": "https://logs.example.com"}, want: 204},
		{name: "write, foreign Origin", method: "PUT", headers: hdr{"Origin": "http://evil.example:8080"}, want: 403},
		{name: "write, null Origin", method: "PUT", headers: hdr{"Origin": "null"}, want: 403},
		{name: "write, own Origin on another port", method: "PUT", headers: hdr{"Origin": "http://127.0.0.1:3000"}, want: 403},
		{name: "same-origin does not admit", method: "PUT", headers: hdr{"Sec-Fetch-Site": "same-origin"}, want: 403},
		{name: "same-origin with foreign Origin", method: "PUT",
			headers: hdr{"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"}, want: 403},
		{name: "cross-site refuses own Origin", method: "PUT", headers: hdr{"Sec-Fetch-Site": "cross-site", "Origin": own}, want: 403},
		{name: "same-site refuses", method: "POST", headers: hdr{"Sec-Fetch-Site": "same-site", "Origin": own}, want: 403},
		{name: "Authorization ignored without auth", method: "PUT", headers: hdr{"Authorization": "Bearer x"}, want: 403},

		// Token auth.
		{name: "token missing", access: Access{Auth: token}, method: "GET", want: 401},
		{name: "token wrong", access: Access{Auth: token}, method: "GET", headers: hdr{"Authorization": "Bearer nope"}, want: 401},
		{name: "token right", access: Access{Auth: token}, method: "GET", headers: hdr{"Authorization": "Bearer s3"}, want: 204},
		{name: "bearer lower case", access: Access{Auth: token}, method: "GET", headers: hdr{"Authorization": "bearer s3"}, want: 204},
		{name: "BEARER upper case", access: Access{Auth: token}, method: "GET", headers: hdr{"Authorization": "BEARER s3"}, want: 204},
		{name: "bearer write needs no Origin", access: Access{Auth: token}, method: "PUT", headers: hdr{"Authorization": "Bearer s3"}, want: 204},
		{name: "bearer write, foreign Origin", access: Access{Auth: token}, method: "PUT",
			headers: hdr{"Authorization": "Bearer s3", "Origin": "http://evil.example"}, want: 403},
		{name: "bearer write, cross-site", access: Access{Auth: token}, method: "PUT",
			headers: hdr{"Authorization": "Bearer s3", "Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "cookie read", access: Access{Auth: token}, method: "GET", headers: hdr{"Cookie": SessionCookie + "=" + session}, want: 204},
		{name: "cookie write, no Origin", access: Access{Auth: token}, method: "PUT",
			headers: hdr{"Cookie": SessionCookie + "=" + session}, want: 403},
		{name: "cookie write, own Origin", access: Access{Auth: token}, method: "PUT",
			headers: hdr{"Cookie": SessionCookie + "=" + session, "Origin": own}, want: 204},
		{name: "cookie forged", access: Access{Auth: token}, method: "GET",
			headers: hdr{"Cookie": SessionCookie + "=9999999999.00ff"}, want: 401},
		{name: "cookie expired", access: Access{Auth: token}, method: "GET", headers: hdr{"Cookie": SessionCookie + "=" + expired}, want: 401},
		{name: "cookie of another token", access: Access{Auth: Auth{Token: "other"}}, method: "GET",
			headers: hdr{"Cookie": SessionCookie + "=" + session}, want: 401},

		// Basic auth.
		{name: "basic right", access: Access{Auth: basic}, method: "GET", headers: hdr{"Authorization": "Basic dTpw"}, want: 204},
		{name: "basic lower case", access: Access{Auth: basic}, method: "GET", headers: hdr{"Authorization": "basic dTpw"}, want: 204},
		{name: "basic wrong", access: Access{Auth: basic}, method: "GET", headers: hdr{"Authorization": "Basic dTp4"}, want: 401},
		{name: "bearer against basic", access: Access{Auth: basic}, method: "GET", headers: hdr{"Authorization": "Bearer p"}, want: 401},
		{name: "basic write, no Origin", access: Access{Auth: basic}, method: "PUT", headers: hdr{"Authorization": "Basic dTpw"}, want: 403},
		{name: "basic write, own Origin", access: Access{Auth: basic}, method: "PUT",
			headers: hdr{"Authorization": "Basic dTpw", "Origin": own}, want: 204},

		// /metrics, /healthz and the UI.
		{name: "/metrics without auth configured", method: "GET", path: "/metrics", want: 200},
		{name: "/metrics without credential", access: Access{Auth: token}, method: "GET", path: "/metrics", want: 401},
		{name: "/metrics with token", access: Access{Auth: token}, method: "GET", path: "/metrics",
			headers: hdr{"Authorization": "Bearer s3"}, want: 200},
		{name: "/metrics with basic", access: Access{Auth: basic}, method: "GET", path: "/metrics",
			headers: hdr{"Authorization": "Basic dTpw"}, want: 200},
		{name: "/healthz open", access: Access{Auth: token}, method: "GET", path: "/healthz", want: 200},
		{name: "UI closed by default", access: Access{Auth: token}, method: "GET", path: "/", want: 401},
		{name: "UI open with OpenUI", access: Access{Auth: token, OpenUI: true}, method: "GET", path: "/", want: 204},
		{name: "OpenUI keeps the API closed", access: Access{Auth: token, OpenUI: true}, method: "GET", want: 401},
		{name: "OpenUI keeps /metrics closed", access: Access{Auth: token, OpenUI: true}, method: "GET", path: "/metrics", want: 401},
		{name: "OpenUI not with basic", access: Access{Auth: basic, OpenUI: true}, method: "GET", path: "/", want: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listen := or(tc.listen, "127.0.0.1:8080")
			req := httptest.NewRequest(tc.method, "http://x"+or(tc.path, "/api/entries/k"), nil)
			req.Host = or(tc.host, "127.0.0.1:8080")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			testGuard(t, listen, tc.access).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body.String())
			}
			if rec.Code == http.StatusMisdirectedRequest && !strings.Contains(rec.Body.String(), "http.allowed_hosts") {
				t.Errorf("421 does not name http.allowed_hosts: %s", rec.Body.String())
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestLogin(t *testing.T) {
	g := testGuard(t, "127.0.0.1:8080", Access{Auth: Auth{Token: "s3"}})
	post := func(body string, headers hdr) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8080"+LoginPath, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec
	}
	own := hdr{"Origin": "http://127.0.0.1:8080"}
	for _, tc := range []struct {
		name    string
		body    string
		headers hdr
		want    int
	}{
		{"wrong token", `{"token":"nope"}`, own, 401},
		{"no Origin", `{"token":"s3"}`, nil, 403},
		{"foreign Origin", `{"token":"s3"}`, hdr{"Origin": "http://evil.example"}, 403},
		{"cross-site", `{"token":"s3"}`, hdr{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "cross-site"}, 403},
		{"not JSON", `s3`, own, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rec := post(tc.body, tc.headers); rec.Code != tc.want || len(rec.Result().Cookies()) != 0 {
				t.Errorf("status %d, cookies %v; want %d and none", rec.Code, rec.Result().Cookies(), tc.want)
			}
		})
	}

	rec := post(`{"token":"s3"}`, own)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body.String())
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want one", cookies)
	}
	c := cookies[0]
	if c.Name != SessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure on plain http", c)
	}
	req := httptest.NewRequest("GET", "http://127.0.0.1:8080/api/entries/k", nil)
	req.AddCookie(c)
	got := httptest.NewRecorder()
	g.ServeHTTP(got, req)
	if got.Code != http.StatusNoContent {
		t.Errorf("request with the session cookie: %d", got.Code)
	}

	basic := testGuard(t, "127.0.0.1:8080", Access{Auth: Auth{Username: "u", Password: "p"}})
	req = httptest.NewRequest("POST", "http://127.0.0.1:8080"+LoginPath, strings.NewReader(`{"token":"p"}`))
	req.Header.Set("Origin", "http://127.0.0.1:8080")
	rec = httptest.NewRecorder()
	basic.ServeHTTP(rec, req)
	var body map[string]string
	if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["error"] == "" {
		t.Errorf("token sign-in with basic auth: %d %s", rec.Code, rec.Body.String())
	}
}

func TestValidateAllowedHost(t *testing.T) {
	for s, ok := range map[string]bool{
		"logs.example.com": true, "logs.example.com:8443": true, "[::1]:8080": true, "10.0.0.5": true,
		"": false, "http://logs.example.com": false, "logs.example.com/x": false, "host:0": false,
		"host:http": false, "[::1": false, ":8080": false,
	} {
		if err := ValidateAllowedHost(s); (err == nil) != ok {
			t.Errorf("ValidateAllowedHost(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}
