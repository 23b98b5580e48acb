//go:build integration

package server_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// The standalone's rules: another address than loopback needs http.auth; with it every
// route but /healthz and the UI's files needs the credential; backend secrets stay home.
func TestServerSecurity(t *testing.T) {
	etcd := testenv.EtcdEndpoints(t)[0]
	dir := t.TempDir()
	write := func(name, listen, auth string) string {
		p := filepath.Join(dir, name)
		e2etest.WriteFile(t, p, fmt.Sprintf(`http:
  listen: %s
  %s
etcd:
  endpoints: ["%s"]
sysagent:
  influxdb: {url: "%s", database: it_server_security, token: "influx-secret-token"}
`, listen, auth, etcd, testenv.InfluxDBURL(t)))
		return p
	}

	open := e2etest.Start(t, dir, "server", "--config", write("open.yaml", "0.0.0.0:0", ""))
	if err := open.Wait(); err == nil || !strings.Contains(open.Log(), "is not a loopback address: set http.auth") {
		t.Errorf("0.0.0.0 without http.auth: exit %v, log %q; want a refusal naming http.auth", err, open.Log())
	}

	addr := e2etest.FreeAddr(t)
	p := e2etest.Start(t, dir, "server", "--config", write("auth.yaml", addr, `auth: {token: "ui-token"}`))
	t.Cleanup(p.Stop)
	base := "http://" + addr
	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	await.Until(t, 20*time.Second, "/healthz to answer without a credential", func() bool {
		code, _ := get("/healthz", "")
		return code == 200
	})
	for _, path := range []string{"/api/hosts", "/api/agents", "/api/entries", "/metrics"} {
		if code, _ := get(path, ""); code != 401 {
			t.Errorf("%s without the token: %d, want 401", path, code)
		}
		code, body := get(path, "ui-token")
		// The database does not exist: /api/hosts says which key to look at, and no more.
		if code != 200 && !(path == "/api/hosts" && code == 500 && strings.Contains(body, "sysagent.influxdb.database")) {
			t.Errorf("%s with the token: %d %s", path, code, body)
		}
		if strings.Contains(body, "influx-secret-token") {
			t.Errorf("%s sends the InfluxDB token to the browser", path)
		}
	}
	if code, body := get("/", ""); code != 200 || !strings.Contains(body, "<html") {
		t.Errorf("the UI's page without a credential: %d (it holds no data and asks for the token)", code)
	}
}
