package metricsread

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/search/store"
)

// InfluxConfig is where the sysagent writes (sysagent.influxdb): the server reads the same.
type InfluxConfig struct {
	URL, Database string
	// Token, when set, is sent as "Authorization: Token …" (InfluxDB 1.8 also accepts
	// "username:password" there).
	Token string
}

// Influx reads InfluxDB 1.x with InfluxQL (POST /query). It holds no state of its own.
type Influx struct {
	cfg      InfluxConfig
	client   *http.Client
	queryURL string
}

var _ Reader = (*Influx)(nil)

// NewInflux validates cfg; it does not connect. client nil is a client with a 30 s
// timeout (the API's query timeout ends a request earlier).
func NewInflux(cfg InfluxConfig, client *http.Client) (*Influx, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sysagent.influxdb.url: must be an http:// or https:// URL (got %q)", cfg.URL)
	}
	if cfg.Database == "" {
		return nil, errors.New("sysagent.influxdb.database: required to read host metrics from InfluxDB 1.x")
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Influx{cfg: cfg, client: client, queryURL: u.JoinPath("query").String()}, nil
}

// Metrics returns one field's series averaged per step over [From, To).
func (r *Influx) Metrics(ctx context.Context, req store.MetricsRequest) ([]store.Series, error) {
	if req.Step <= 0 {
		return nil, fmt.Errorf("metrics step %s: must be positive", req.Step)
	}
	// GROUP BY time() buckets start at multiples of the step since the epoch, like the
	// store's; GROUP BY * gives one series per tag set; fill(none) leaves empty steps out.
	q := fmt.Sprintf(`SELECT mean(%s) FROM %s WHERE time >= %d AND time < %d`,
		ident(req.Field), ident(req.Measurement), req.From.UnixNano(), req.To.UnixNano())
	if req.Host != "" {
		q += ` AND "host" = ` + literal(req.Host)
	}
	q += fmt.Sprintf(` GROUP BY time(%s), * fill(none)`, duration(req.Step))
	res, err := r.query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]store.Series, 0, len(res))
	for _, s := range res {
		ser := store.Series{Tags: map[string]string{}, Points: [][2]float64{}}
		for k, v := range s.Tags {
			// GROUP BY * names every tag key of the measurement; a series without one
			// has it empty. The store's tags are only those the point had.
			if v != "" {
				ser.Tags[k] = v
			}
		}
		for _, row := range s.Values {
			t, v, ok := timeValue(row)
			if ok {
				ser.Points = append(ser.Points, [2]float64{t, v})
			}
		}
		out = append(out, ser)
	}
	sortSeries(out)
	return out, nil
}

// Hosts lists the hosts with a mem point in the last HostsWindow, with their newest one:
// mem is in every interval of every host (its source never fails on Linux).
func (r *Influx) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	res, err := r.query(ctx, fmt.Sprintf(`SELECT last("total") FROM "mem" WHERE time > now() - %s GROUP BY "host"`, duration(HostsWindow)))
	if err != nil {
		return nil, err
	}
	out := make([]store.HostSeen, 0, len(res))
	for _, s := range res {
		h := s.Tags["host"]
		if h == "" || len(s.Values) == 0 {
			continue
		}
		if t, _, ok := timeValue(s.Values[0]); ok {
			out = append(out, store.HostSeen{Host: h, LastSeen: time.UnixMilli(int64(t)).UTC()})
		}
	}
	sortHosts(out)
	return out, nil
}

// Check pings InfluxDB (/healthz).
func (r *Influx) Check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := r.query(ctx, `SHOW MEASUREMENTS LIMIT 1`)
	return err
}

// series is one series of an InfluxQL answer.
type series struct {
	Tags   map[string]string `json:"tags"`
	Values [][]any           `json:"values"`
}

// query runs one statement with times in Unix milliseconds.
func (r *Influx) query(ctx context.Context, q string) ([]series, error) {
	form := url.Values{"db": {r.cfg.Database}, "q": {q}, "epoch": {"ms"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.queryURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r.cfg.Token != "" {
		req.Header.Set("Authorization", "Token "+r.cfg.Token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query InfluxDB at sysagent.influxdb.url: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read InfluxDB answer: %w", err)
	}
	var ans struct {
		Results []struct {
			Series []series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("InfluxDB answered %s: %.200s", resp.Status, body)
	}
	if ans.Error == "" && len(ans.Results) > 0 {
		ans.Error = ans.Results[0].Error
	}
	switch {
	case strings.HasPrefix(ans.Error, "database not found"):
		return nil, fmt.Errorf("InfluxDB: %s (sysagent.influxdb.database: no sysagent has written there yet, or the name differs)", ans.Error)
	case ans.Error != "":
		return nil, fmt.Errorf("InfluxDB: %s", ans.Error)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("InfluxDB answered %s: %.200s", resp.Status, body)
	case len(ans.Results) == 0:
		return nil, nil
	}
	return ans.Results[0].Series, nil
}

// timeValue reads a [time, value] row; a null value (no data) is not ok.
func timeValue(row []any) (t, v float64, ok bool) {
	if len(row) < 2 {
		return 0, 0, false
	}
	t, ok1 := row[0].(float64)
	v, ok2 := row[1].(float64)
	return t, v, ok1 && ok2
}

// ident quotes an InfluxQL identifier: the field name comes from the request.
func ident(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// literal quotes an InfluxQL string.
func literal(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// duration writes d as an InfluxQL duration literal.
func duration(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%dns", d.Nanoseconds())
}
