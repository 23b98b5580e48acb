//go:build integration

package server_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// The standalone's rules: another address than loopback needs http.auth; every route but
// /healthz and the UI's files needs the credential, configured or made for the run;
// backend secrets stay home.
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

	// A configured token, and none: then the server makes one for the run and prints it in
	// the URL to open. Either way no other local account reads a line without it.
	for _, c := range []struct{ name, auth, token string }{
		{"configured", `auth: {token: "ui-token"}`, "ui-token"},
		{"generated", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := e2etest.FreeAddr(t)
			p := e2etest.Start(t, dir, "server", "--config", write(c.name+".yaml", addr, c.auth))
			t.Cleanup(p.Stop)
			s := server{base: "http://" + addr}
			await.Until(t, 20*time.Second, "/healthz to answer without a credential", func() bool {
				code, _ := s.get("/healthz")
				return code == 200
			})
			for _, path := range []string{"/api/hosts", "/api/agents", "/api/entries", "/metrics"} {
				if code, _ := s.get(path); code != 401 {
					t.Errorf("%s without the token: %d, want 401", path, code)
				}
			}
			s.token = c.token
			if c.token == "" {
				s.token = printedToken(t, p.Stdout())
			}
			for _, path := range []string{"/api/hosts", "/api/agents", "/api/entries", "/metrics"} {
				code, body := s.get(path)
				// The database does not exist: /api/hosts says which key to look at, and no more.
				if code != 200 && !(path == "/api/hosts" && code == 500 && strings.Contains(body, "sysagent.influxdb.database")) {
					t.Errorf("%s with the token: %d %s", path, code, body)
				}
				if strings.Contains(body, "influx-secret-token") {
					t.Errorf("%s sends the InfluxDB token to the browser", path)
				}
			}
			s.token = ""
			if code, body := s.get("/"); code != 200 || !strings.Contains(body, "<html") {
				t.Errorf("the UI's page without a credential: %d (it holds no data and asks for the token)", code)
			}
		})
	}
}
