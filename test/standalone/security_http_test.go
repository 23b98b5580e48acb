//go:build integration

package standalone_test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// call sends method path with headers (and Host, when not empty) and returns the status
// and the body.
func call(t *testing.T, p *proc, method, path, host, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSecurity: the standalone with no http.auth makes an access token and requires it;
// it answers only to its own names; another local account gets nothing.
func TestSecurity(t *testing.T) {
	// The data directory's parents are traversable by everyone, so that what keeps
	// another account out is the standalone's own 0700 directory and 0600 token file.
	parent := t.TempDir()
	for _, d := range []string{filepath.Dir(parent), parent} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := newOpts(t)
	o.dataDir = filepath.Join(parent, "data")
	p := start(t, o)
	tok := p.token()
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	_, port, _ := strings.Cut(strings.TrimPrefix(p.base, "http://"), ":")

	t.Run("one URL to open, token in the fragment", func(t *testing.T) {
		if want := p.base + "/#token=" + tok; !strings.Contains(p.Stdout(), "open "+want+" ") {
			t.Errorf("stdout %q does not offer %s", p.Stdout(), want)
		}
	})

	t.Run("a DNS-rebinding page is refused before any handler", func(t *testing.T) {
		evil := "evil.example:" + port
		origin := map[string]string{"Origin": "http://" + evil, "Authorization": "Bearer " + tok}
		if code, body := call(t, p, "GET", "/api/search?q=x&from=now-1h", evil, "", origin); code != 421 || !strings.Contains(body, "http.allowed_hosts") {
			t.Errorf("rebinding search: %d %s", code, body)
		}
		if code, body := call(t, p, "PUT", "/api/entries/collect_log_conf", evil, `{"entries":[],"revision":1}`, origin); code != 421 {
			t.Errorf("rebinding PUT: %d %s", code, body)
		}
	})

	t.Run("no credential, no data", func(t *testing.T) {
		for _, path := range []string{"/api/search?q=x&from=now-1h", "/api/entries", "/metrics"} {
			if code, body := call(t, p, "GET", path, "", "", nil); code != 401 {
				t.Errorf("GET %s without credential: %d %s", path, code, body)
			}
		}
		if code, body := call(t, p, "GET", "/api/search?q=x&from=now-1h", "", "", map[string]string{"Authorization": "Bearer wrong"}); code != 401 {
			t.Errorf("wrong token: %d %s", code, body)
		}
		if code, body := call(t, p, "GET", "/metrics", "", "", bearer); code != 200 || !strings.Contains(body, "go_goroutines") {
			t.Errorf("/metrics with the token: %d", code)
		}
		if code, body := call(t, p, "GET", "/healthz", "", "", nil); code != 200 || !strings.Contains(body, `"status":"ok"`) {
			t.Errorf("/healthz without credential: %d %s", code, body)
		}
	})

	t.Run("sign-in: token for a session cookie, same origin only", func(t *testing.T) {
		login := `{"token":"` + tok + `"}`
		if code, _ := call(t, p, "POST", "/api/login", "", login, map[string]string{"Origin": "http://evil.example"}); code != 403 {
			t.Errorf("sign-in from a foreign origin: %d", code)
		}
		req, _ := http.NewRequest("POST", p.base+"/api/login", strings.NewReader(login))
		req.Header.Set("Origin", p.base)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if resp.StatusCode != 204 || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
			t.Fatalf("sign-in: %d %v", resp.StatusCode, cookies)
		}
		cookie := map[string]string{"Cookie": cookies[0].Name + "=" + cookies[0].Value}
		if code, body := call(t, p, "GET", "/api/entries", "", "", cookie); code != 200 {
			t.Errorf("read with the cookie: %d %s", code, body)
		}
		// A cookie rides along on any request: a write with it alone, no Origin, is refused.
		if code, body := call(t, p, "PUT", "/api/entries/collect_log_conf", "", `{"entries":[],"revision":1}`, cookie); code != 403 {
			t.Errorf("cookie write without Origin: %d %s", code, body)
		}
	})

	t.Run("another local account reads nothing", func(t *testing.T) {
		asNobody := func(script string) (string, error) {
			cmd := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", script)
			cmd.Env = append(os.Environ(), "TOKEN_FILE="+filepath.Join(o.dataDir, "http-token"), "BASE="+p.base)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := asNobody(`cat "$TOKEN_FILE"`); err == nil || strings.Contains(out, tok) {
			t.Errorf("nobody read the token file: %v %q", err, out)
		}
		out, err := asNobody(`curl -s -o /dev/null -w '%{http_code} ' -H "Authorization: Bearer $(cat "$TOKEN_FILE" 2>/dev/null)" "$BASE/api/search?q=x&from=now-1h";` +
			`curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Origin: $BASE" -H 'Content-Type: application/json' ` +
			`--data '{"entries":[{"path":"/etc/shadow","topic":"x"}],"revision":1}' "$BASE/api/entries/collect_log_conf"`)
		if err != nil || out != "401 401" {
			t.Errorf("nobody's search and PUT: %q %v, want 401 401", out, err)
		}
	})
	p.Stop()
}

// TestConfiguredTokenCoversMetrics: with http.auth.token set, /metrics needs it too, and
// the token is not printed (its owner has it).
func TestConfiguredTokenCoversMetrics(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("http:\n  auth: {token: configured-s3cret}\nlog: {level: warn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := newOpts(t, "--config", cfg)
	p := start(t, o)
	if code, _ := call(t, p, "GET", "/metrics", "", "", nil); code != 401 {
		t.Errorf("/metrics without the token: %d", code)
	}
	if code, _ := call(t, p, "GET", "/metrics", "", "", map[string]string{"authorization": "bearer configured-s3cret"}); code != 200 {
		t.Errorf("/metrics with the token (lower-case scheme): %d", code)
	}
	if strings.Contains(p.Stdout(), "configured-s3cret") || !strings.Contains(p.Stdout(), "open "+p.base+"/ ") {
		t.Errorf("stdout %q: want the plain URL, no token", p.Stdout())
	}
	if _, err := os.Stat(filepath.Join(o.dataDir, "http-token")); err == nil {
		t.Error("an access token file was made although http.auth is set")
	}
	p.Stop()
}
