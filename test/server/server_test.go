//go:build integration

// Package server_test runs the real `logcollect sysagent` into the real InfluxDB and
// Prometheus, then the real `logcollect server` over each of them and the real etcd, and
// checks /api/metrics, /api/hosts, /api/agents and /api/entries answer in the standalone's
// shapes with the sysagent's values.
package server_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/testing/await"
	"github.com/logcollect/logcollect/internal/testing/e2etest"
	"github.com/logcollect/logcollect/internal/testing/testenv"
)

// charted are the (measurement, field) pairs the hosts page draws (web/static/js/metrics.js).
var charted = [][2]string{
	{"cpu", "usage_percent"}, {"cpu", "user_percent"}, {"cpu", "system_percent"}, {"cpu", "iowait_percent"},
	{"load", "load1"}, {"load", "load5"}, {"load", "load15"},
	{"mem", "used"}, {"mem", "available"}, {"mem", "swap_used"},
	{"disk", "used_percent"},
	{"diskio", "read_bytes_per_sec"}, {"diskio", "write_bytes_per_sec"},
	{"net", "bytes_recv_per_sec"}, {"net", "bytes_sent_per_sec"},
}

type series struct {
	Tags   map[string]string `json:"tags"`
	Points [][2]float64      `json:"points"`
}

type metricsAnswer struct {
	StepMS int64    `json:"step_ms"`
	Series []series `json:"series"`
}

type hostsAnswer struct {
	Hosts []struct {
		Host     string `json:"host"`
		LastSeen string `json:"last_seen"`
	} `json:"hosts"`
}

func suffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// cluster is one sysagent writing to a database of its own and scraped by Prometheus.
type cluster struct {
	host, db, influx, prom, etcd, key string
}

func TestServerOverRealServices(t *testing.T) {
	s := suffix(t)
	c := cluster{host: "it-server-" + s, db: "logcollect_it_server_" + s, influx: testenv.InfluxDBURL(t),
		prom: testenv.PrometheusURL(t), etcd: testenv.EtcdEndpoints(t)[0], key: "it_server_" + s + "_conf"}
	dir := t.TempDir()
	promAddr := e2etest.FreeAddr(t)
	sysCfg := filepath.Join(dir, "sysagent.yaml")
	e2etest.WriteFile(t, sysCfg, fmt.Sprintf(`sysagent:
  interval: 1s
  host: %[1]s
  influxdb: {url: "%[2]s", database: %[3]s}
  prometheus_listen: %[4]s
etcd:
  endpoints: ["%[5]s"]
agent:
  id: %[1]s
http:
  listen: %[6]s
`, c.host, c.influx, c.db, promAddr, c.etcd, e2etest.FreeAddr(t)))
	t.Cleanup(func() { influxQuery(c.influx, "", `DROP DATABASE "`+c.db+`"`) })
	sys := e2etest.Start(t, dir, "sysagent", "--config", sysCfg)
	testenv.PrometheusTarget(t, c.host, promAddr, map[string]string{"test": "server"})
	await.Until(t, 30*time.Second, "three intervals of points in InfluxDB", func() bool {
		return countAtLeast(influxQuery(c.influx, c.db, `SELECT count("usage_percent") FROM "cpu" WHERE "host" = '`+c.host+`'`), 3)
	})

	var influxDisk float64
	t.Run("influxdb", func(t *testing.T) {
		s := startServer(t, c, "metrics: influxdb")
		checkHosts(t, s, c.host)
		checkMetrics(t, s, c.host)
		influxDisk = rootDiskUsed(t, s, c.host)
		checkAgents(t, s, c.host+"-sysagent")
		checkEntries(t, s, c.key)
	})
	t.Run("prometheus", func(t *testing.T) {
		s := startServer(t, c, "metrics: prometheus\n  prometheus: {url: \""+c.prom+"\", scrape_interval: 2s}")
		await.Until(t, 60*time.Second, "Prometheus to have scraped the sysagent a few times", func() bool {
			var m metricsAnswer
			code := s.getJSON(t, "/api/metrics?"+url.Values{"measurement": {"net"}, "field": {"bytes_recv_per_sec"},
				"host": {c.host}, "from": {"now-2m"}, "step": {"2s"}}.Encode(), &m)
			return code == 200 && len(m.Series) > 0 && len(m.Series[0].Points) >= 3
		})
		checkHosts(t, s, c.host)
		checkMetrics(t, s, c.host)
		// The same unit as InfluxDB's (percent, not Prometheus's ratio), and the same value
		// give or take what was written meanwhile.
		if got := rootDiskUsed(t, s, c.host); got < 0.5 || got < influxDisk-1 || got > influxDisk+1 {
			t.Errorf("disk used_percent of / = %v through Prometheus, %v through InfluxDB", got, influxDisk)
		}
	})
	sys.Stop()
}

// startServer runs `logcollect server` with the given server section and no http.auth: it
// then makes a token for the run and prints it in the URL to open, which is read here.
func startServer(t *testing.T, c cluster, serverSection string) server {
	t.Helper()
	dir := t.TempDir()
	addr := e2etest.FreeAddr(t)
	cfg := filepath.Join(dir, "server.yaml")
	e2etest.WriteFile(t, cfg, fmt.Sprintf(`http:
  listen: %s
etcd:
  endpoints: ["%s"]
  collect_keys: [%s, "it_server_{ip}_conf"]
sysagent:
  influxdb: {url: "%s", database: %s}
server:
  %s
`, addr, c.etcd, c.key, c.influx, c.db, serverSection))
	p := e2etest.Start(t, dir, "server", "--config", cfg)
	t.Cleanup(p.Stop)
	s := server{base: "http://" + addr}
	await.Until(t, 20*time.Second, "the server to answer /healthz", func() bool {
		code, _ := s.get("/healthz")
		return code == 200
	})
	if out := p.Stdout(); !strings.Contains(out, "logcollect server: open "+s.base+"/#token=") {
		t.Errorf("stdout %q does not say where to open", out)
	}
	s.token = printedToken(t, p.Stdout())
	return s
}

// printedToken is the token in the URL `logcollect server` printed to open.
func printedToken(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`open http://\S+/#token=(\S+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout %q has no URL with a token", stdout)
	}
	return m[1]
}

// server is a running `logcollect server` and the token it takes.
type server struct{ base, token string }

// get sends a GET with the token, when there is one.
func (s server) get(path string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getJSON decodes a GET's answer strictly (a field the standalone does not send fails).
func (s server) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	code, b := s.get(path)
	if code != 200 {
		t.Logf("GET %s: %d %s", path, code, b)
		return code
	}
	dec := json.NewDecoder(strings.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("GET %s: %v in %s", path, err, b)
	}
	return code
}

// put writes a key's entries as the UI does: the session cookie's stand-in (the token)
// and the page's own Origin.
func (s server) put(t *testing.T, key, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.base+"/api/entries/"+url.PathEscape(key), strings.NewReader(body))
	req.Header.Set("Origin", s.base)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", key, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func checkHosts(t *testing.T, s server, host string) {
	t.Helper()
	var h hostsAnswer
	if code := s.getJSON(t, "/api/hosts", &h); code != 200 {
		t.Fatalf("/api/hosts: %d", code)
	}
	for _, x := range h.Hosts {
		if x.Host != host {
			continue
		}
		seen, err := time.Parse(time.RFC3339, x.LastSeen)
		if err != nil || time.Since(seen) > time.Minute || time.Until(seen) > 5*time.Second {
			t.Errorf("host %s last_seen %q (%v), want within the last minute", host, x.LastSeen, err)
		}
		return
	}
	t.Errorf("/api/hosts lacks %s: %+v", host, h)
}

// checkMetrics asks for every charted field of the host as the hosts page does, and
// checks that each has a series of this host with points and sound values.
func checkMetrics(t *testing.T, s server, host string) {
	t.Helper()
	for _, mf := range charted {
		var m metricsAnswer
		u := "/api/metrics?" + url.Values{"measurement": {mf[0]}, "field": {mf[1]}, "host": {host}, "from": {"now-5m"}}.Encode()
		if code := s.getJSON(t, u, &m); code != 200 {
			t.Errorf("%s.%s: status %d", mf[0], mf[1], code)
			continue
		}
		if m.StepMS != 1000 {
			t.Errorf("%s.%s: step_ms %d, want 1000 (5 minutes in at most 300 points)", mf[0], mf[1], m.StepMS)
		}
		if len(m.Series) == 0 || len(m.Series[0].Points) == 0 {
			t.Errorf("%s.%s: no series with points", mf[0], mf[1])
			continue
		}
		for _, ser := range m.Series {
			if ser.Tags["host"] != host {
				t.Errorf("%s.%s: series tags %v, want host %s", mf[0], mf[1], ser.Tags, host)
			}
			for _, p := range ser.Points {
				if int64(p[0])%m.StepMS != 0 || p[1] < 0 || (strings.HasSuffix(mf[1], "_percent") && p[1] > 100.0001) {
					t.Errorf("%s.%s %v: point %v (steps start at multiples of step_ms; values ≥ 0, percents ≤ 100)", mf[0], mf[1], ser.Tags, p)
					break
				}
			}
		}
	}
	// Units as the standalone's: percent, not a ratio; bytes.
	var cpu metricsAnswer
	s.getJSON(t, "/api/metrics?measurement=cpu&field=usage_percent&host="+host+"&from=now-5m", &cpu)
	if !hasTag(cpu.Series, "cpu", "total") {
		t.Errorf("cpu series %v lack cpu=total", cpu.Series)
	}
	var mem metricsAnswer
	s.getJSON(t, "/api/metrics?measurement=mem&field=total&host="+host+"&from=now-5m", &mem)
	if len(mem.Series) != 1 || len(mem.Series[0].Points) == 0 || mem.Series[0].Points[0][1] != memTotal(t) {
		t.Errorf("mem.total %v, want /proc/meminfo's %v", mem.Series, memTotal(t))
	}
}

// rootDiskUsed is the newest disk used_percent of / over the last minute.
func rootDiskUsed(t *testing.T, s server, host string) float64 {
	t.Helper()
	var m metricsAnswer
	s.getJSON(t, "/api/metrics?measurement=disk&field=used_percent&host="+host+"&from=now-1m", &m)
	for _, ser := range m.Series {
		if ser.Tags["path"] == "/" && len(ser.Points) > 0 {
			return ser.Points[len(ser.Points)-1][1]
		}
	}
	t.Errorf("no disk series of / in %+v", m)
	return -1
}

func hasTag(ss []series, k, v string) bool {
	for _, s := range ss {
		if s.Tags[k] == v {
			return true
		}
	}
	return false
}

func checkAgents(t *testing.T, s server, sysID string) {
	t.Helper()
	var a struct {
		Agents []struct {
			ID          string    `json:"id"`
			Hostname    string    `json:"hostname"`
			IP          string    `json:"ip"`
			Version     string    `json:"version"`
			StartedAt   time.Time `json:"started_at"`
			CollectKeys []string  `json:"collect_keys"`
			Files       []string  `json:"files"`
			Role        string    `json:"role"`
			Group       string    `json:"group"`
			Topics      []string  `json:"topics"`
		} `json:"agents"`
	}
	await.Until(t, 10*time.Second, "the sysagent and the server in /api/agents", func() bool {
		s.getJSON(t, "/api/agents", &a)
		var sys, srv bool
		for _, x := range a.Agents {
			sys = sys || (x.ID == sysID && x.Role == "sysagent")
			srv = srv || (x.Role == "server" && strings.Contains(x.ID, "-server-"))
		}
		return sys && srv
	})
}

type keyValue struct {
	Key      string            `json:"key"`
	Entries  []json.RawMessage `json:"entries"`
	Revision int64             `json:"revision"`
}

func checkEntries(t *testing.T, s server, key string) {
	t.Helper()
	var list struct {
		Keys []keyValue `json:"keys"`
	}
	if code := s.getJSON(t, "/api/entries", &list); code != 200 || len(list.Keys) != 1 || list.Keys[0].Key != key || list.Keys[0].Revision != 0 {
		t.Fatalf("/api/entries: %d %+v, want the one fixed key %s, absent", code, list, key)
	}
	body := `{"entries": [{"path": "/var/log/it/*.log", "topic": "it_log"}], "revision": 0}`
	code, b := s.put(t, key, body)
	var ok keyValue
	if err := json.Unmarshal(b, &ok); code != 200 || err != nil || ok.Revision == 0 || len(ok.Entries) != 1 {
		t.Fatalf("PUT %s: %d %s", key, code, b)
	}
	t.Cleanup(func() { _, _ = s.put(t, key, fmt.Sprintf(`{"entries": [], "revision": %d}`, ok.Revision)) })
	code, b = s.put(t, key, body) // revision 0 again: the key exists now
	var conflict struct {
		Error   string   `json:"error"`
		Current keyValue `json:"current"`
	}
	if err := json.Unmarshal(b, &conflict); code != 409 || err != nil || conflict.Current.Revision != ok.Revision || len(conflict.Current.Entries) != 1 {
		t.Errorf("stale PUT: %d %s, want 409 with the current entries at revision %d", code, b, ok.Revision)
	}
	var got keyValue
	if code := s.getJSON(t, "/api/entries/"+key, &got); code != 200 || got.Revision != ok.Revision {
		t.Errorf("GET %s: %d %+v", key, code, got)
	}
	if code, b := s.put(t, "/logcollect/agents/x", body); code != 403 && code != 404 {
		t.Errorf("PUT outside the collect keys: %d %s, want it refused", code, b)
	}
	// No agent.allowed_paths in the server's config: entries may name /var/log/** only.
	shadow := fmt.Sprintf(`{"entries": [{"path": "/etc/shadow", "topic": "x"}], "revision": %d}`, ok.Revision)
	if code, b := s.put(t, key, shadow); code != 400 || !strings.Contains(string(b), "/etc/shadow") || !strings.Contains(string(b), "agent.allowed_paths") {
		t.Errorf("PUT of /etc/shadow: %d %s, want 400 naming the path and agent.allowed_paths", code, b)
	}
}

func influxQuery(base, db, q string) string {
	resp, err := http.PostForm(base+"/query", url.Values{"db": {db}, "q": {q}})
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// countAtLeast reads the count of a one-row InfluxQL count() answer.
func countAtLeast(answer string, n float64) bool {
	var a struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if json.Unmarshal([]byte(answer), &a) != nil || len(a.Results) == 0 || len(a.Results[0].Series) == 0 ||
		len(a.Results[0].Series[0].Values) == 0 || len(a.Results[0].Series[0].Values[0]) < 2 {
		return false
	}
	v, ok := a.Results[0].Series[0].Values[0][1].(float64)
	return ok && v >= n
}

func memTotal(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	t.Fatal("no MemTotal")
	return 0
}
