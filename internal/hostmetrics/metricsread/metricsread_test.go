package metricsread

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// fixture answers every request with body (a real answer of the service, captured) and
// records the form it was sent.
type fixture struct {
	status int
	body   string
	form   url.Values
	header http.Header
	path   string
}

func (f *fixture) server(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		f.form, f.header, f.path = r.PostForm, r.Header.Clone(), r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		if f.status != 0 {
			w.WriteHeader(f.status)
		}
		_, _ = w.Write([]byte(f.body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var (
	t0   = time.UnixMilli(1796166280000).UTC()
	step = 10 * time.Second
)

func TestInfluxMetrics(t *testing.T) {
	f := &fixture{body: `{"results":[{"statement_id":0,"series":[` +
		`{"name":"cpu","tags":{"cpu":"total","host":"h1"},"columns":["time","mean"],"values":[[1796166280000,10],[1796166290000,20]]},` +
		`{"name":"cpu","tags":{"cpu":"cpu0","host":"h1"},"columns":["time","mean"],"values":[[1796166290000,30],[1796166300000,null]]},` +
		`{"name":"cpu","tags":{"cpu":"","host":"h1"},"columns":["time","mean"],"values":[[1796166290000,1]]}]}]}`}
	r, err := NewInflux(InfluxConfig{URL: f.server(t), Database: "sysinfo", Token: "u:p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: "usage_percent", Host: "h1",
		From: t0, To: t0.Add(time.Minute), Step: step})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := `SELECT mean("usage_percent") FROM "cpu" WHERE time >= 1796166280000000000 AND time < 1796166340000000000` +
		` AND "host" = 'h1' GROUP BY time(10000ms), * fill(none)`
	if f.path != "/query" || f.form.Get("q") != wantQ || f.form.Get("db") != "sysinfo" || f.form.Get("epoch") != "ms" {
		t.Errorf("sent %s %v, want q=%s", f.path, f.form, wantQ)
	}
	if f.header.Get("Authorization") != "Token u:p" {
		t.Errorf("Authorization %q", f.header.Get("Authorization"))
	}
	want := []store.Series{ // sorted by tags' JSON; an empty tag dropped; a null value left out
		{Tags: map[string]string{"cpu": "cpu0", "host": "h1"}, Points: [][2]float64{{1796166290000, 30}}},
		{Tags: map[string]string{"cpu": "total", "host": "h1"}, Points: [][2]float64{{1796166280000, 10}, {1796166290000, 20}}},
		{Tags: map[string]string{"host": "h1"}, Points: [][2]float64{{1796166290000, 1}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestInfluxQuoting(t *testing.T) {
	f := &fixture{body: `{"results":[{"statement_id":0}]}`}
	r, _ := NewInflux(InfluxConfig{URL: f.server(t), Database: "d"}, nil)
	got, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: `a"b\`, Host: `x' OR 'y`,
		From: t0, To: t0.Add(time.Minute), Step: 1500 * time.Microsecond})
	if err != nil || len(got) != 0 || got == nil {
		t.Fatalf("got %v, %v; want an empty list", got, err)
	}
	q := f.form.Get("q")
	for _, want := range []string{`mean("a\"b\\")`, `"host" = 'x\' OR \'y'`, `time(1500000ns)`} {
		if !strings.Contains(q, want) {
			t.Errorf("query %s lacks %s", q, want)
		}
	}
	if f.header.Get("Authorization") != "" {
		t.Error("Authorization sent without a token")
	}
}

func TestInfluxHosts(t *testing.T) {
	f := &fixture{body: `{"results":[{"statement_id":0,"series":[` +
		`{"name":"mem","tags":{"host":"h2"},"columns":["time","last"],"values":[[1796166301000,100]]},` +
		`{"name":"mem","tags":{"host":"h1"},"columns":["time","last"],"values":[[1796166296000,100]]}]}]}`}
	r, _ := NewInflux(InfluxConfig{URL: f.server(t), Database: "d"}, nil)
	got, err := r.Hosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.HostSeen{{Host: "h1", LastSeen: time.UnixMilli(1796166296000).UTC()}, {Host: "h2", LastSeen: time.UnixMilli(1796166301000).UTC()}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if q := f.form.Get("q"); q != `SELECT last("total") FROM "mem" WHERE time > now() - 604800000ms GROUP BY "host"` {
		t.Errorf("query %s", q)
	}
}

func TestInfluxErrors(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"no database", `{"results":[{"statement_id":0,"error":"database not found: nope"}]}`, 200, "sysagent.influxdb.database"},
		{"bad statement", `{"error":"error parsing query: found FROM, expected ) at line 1, char 17"}`, 400, "error parsing query"},
		{"not InfluxDB", `<html>bad gateway</html>`, 502, "502 Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fixture{status: tt.status, body: tt.body}
			r, _ := NewInflux(InfluxConfig{URL: f.server(t), Database: "nope"}, nil)
			_, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: "f", From: t0, To: t0.Add(time.Minute), Step: step})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{second(NewInflux(InfluxConfig{URL: "localhost:8086", Database: "d"}, nil)), "sysagent.influxdb.url"},
		{second(NewInflux(InfluxConfig{URL: "http://h:8086"}, nil)), "sysagent.influxdb.database"},
		{second(NewPrometheus(PromConfig{URL: "", ScrapeInterval: time.Second}, nil)), "server.prometheus.url"},
		{second(NewPrometheus(PromConfig{URL: "http://h:9090"}, nil)), "server.prometheus.scrape_interval"},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("err %v, want one naming %s", tt.err, tt.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestPromMetricsGauge(t *testing.T) {
	f := &fixture{body: `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"cpu":"total","host":"h1"},"values":[[1796166290,"0.5"],[1796166300,"0.25"],[1796166310,"NaN"]]},` +
		`{"metric":{"cpu":"cpu0","host":"h1"},"values":[[1796166300,"1"]]}]}}`}
	r, _ := NewPrometheus(PromConfig{URL: f.server(t), ScrapeInterval: 15 * time.Second}, nil)
	// From is mid-bucket: the first bucket starts before it, as in the store.
	got, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: "usage_percent", Host: "h1",
		From: t0.Add(3 * time.Second), To: t0.Add(30 * time.Second), Step: step})
	if err != nil {
		t.Fatal(err)
	}
	wantQ := `avg by (host, cpu) (avg_over_time(logcollect_host_cpu_usage_ratio{host="h1"}[30000ms]))`
	if f.path != "/api/v1/query_range" || f.form.Get("query") != wantQ || f.form.Get("start") != "1796166290" ||
		f.form.Get("end") != "1796166310" || f.form.Get("step") != "10" {
		t.Errorf("sent %s %v, want query %s from 1796166290 to 1796166310 every 10", f.path, f.form, wantQ)
	}
	want := []store.Series{ // percent, stamped with the bucket start, NaN left out
		{Tags: map[string]string{"cpu": "cpu0", "host": "h1"}, Points: [][2]float64{{1796166290000, 100}}},
		{Tags: map[string]string{"cpu": "total", "host": "h1"}, Points: [][2]float64{{1796166280000, 50}, {1796166290000, 25}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestPromMetricsCounterRate(t *testing.T) {
	f := &fixture{body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`}
	r, _ := NewPrometheus(PromConfig{URL: f.server(t), ScrapeInterval: 15 * time.Second}, nil)
	got, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "net", Field: "bytes_recv_per_sec",
		From: t0, To: t0.Add(2 * time.Hour), Step: 2 * time.Minute})
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want an empty list", got, err)
	}
	if q := f.form.Get("query"); q != `avg by (host, interface) (rate(logcollect_host_network_receive_bytes_total[120000ms]))` {
		t.Errorf("query %s", q)
	}
	f.form = nil
	if got, err := r.Metrics(context.Background(), store.MetricsRequest{Measurement: "cpu", Field: "nope",
		From: t0, To: t0.Add(time.Hour), Step: step}); err != nil || got == nil || len(got) != 0 || f.form != nil {
		t.Errorf("unknown field: %v, %v, sent %v; want no series and no query", got, err, f.form)
	}
}

func TestPromHostsAndErrors(t *testing.T) {
	f := &fixture{body: `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"host":"h2"},"value":[1796166310.5,"1796166301.25"]},{"metric":{"host":"h1"},"value":[1796166310.5,"1796166296"]}]}}`}
	r, _ := NewPrometheus(PromConfig{URL: f.server(t), ScrapeInterval: 15 * time.Second}, nil)
	got, err := r.Hosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.HostSeen{{Host: "h1", LastSeen: time.UnixMilli(1796166296000).UTC()}, {Host: "h2", LastSeen: time.UnixMilli(1796166301250).UTC()}}
	if !reflect.DeepEqual(got, want) || f.path != "/api/v1/query" {
		t.Errorf("got %v from %s, want %v", got, f.path, want)
	}
	f.status, f.body = 400, `{"status":"error","errorType":"bad_data","error":"1:14: parse error: unexpected \"(\" in grouping opts"}`
	if _, err := r.Hosts(context.Background()); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("err %v, want Prometheus's message", err)
	}
}
