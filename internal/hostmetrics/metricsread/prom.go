package metricsread

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/hostmetrics"
	"github.com/logcollect/logcollect/internal/search/store"
)

// PromConfig is the Prometheus that scrapes the sysagents' logcollect_host_* metrics.
type PromConfig struct {
	URL string
	// ScrapeInterval is that of the job scraping the sysagents: an average needs at least
	// one sample in its window and a rate two, so windows are never shorter than 2× and
	// 4× of it (Grafana's $__rate_interval rule), whatever the step.
	ScrapeInterval time.Duration
}

// Prometheus reads Prometheus's HTTP API (query_range, query). It holds no state.
type Prometheus struct {
	cfg    PromConfig
	client *http.Client
	base   *url.URL
}

var _ Reader = (*Prometheus)(nil)

// NewPrometheus validates cfg; it does not connect. client nil is a client with a 30 s
// timeout.
func NewPrometheus(cfg PromConfig, client *http.Client) (*Prometheus, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server.prometheus.url: must be an http:// or https:// URL (got %q)", cfg.URL)
	}
	if cfg.ScrapeInterval <= 0 {
		return nil, fmt.Errorf("server.prometheus.scrape_interval: must be positive (got %s)", cfg.ScrapeInterval)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Prometheus{cfg: cfg, client: client, base: u}, nil
}

// Metrics returns one field's series averaged per step over [From, To). A gauge is
// avg_over_time over the step, a *_per_sec field the rate of its counter, scaled back
// to the field's unit (ratios 0–1 to percent) and grouped by the field's tags. Prometheus
// evaluates a window (t-w, t], so the query runs at each bucket's end and the points are
// stamped with the bucket's start.
func (p *Prometheus) Metrics(ctx context.Context, req store.MetricsRequest) ([]store.Series, error) {
	if req.Step <= 0 {
		return nil, fmt.Errorf("metrics step %s: must be positive", req.Step)
	}
	src, ok := hostmetrics.PromSourceOf(req.Measurement, req.Field)
	if !ok {
		return []store.Series{}, nil // as the store: an unknown field has no series
	}
	expr := p.expr(src, req.Host, req.Step)
	first := floorTo(req.From, req.Step)
	last := floorTo(req.To.Add(-time.Nanosecond), req.Step)
	if last.Before(first) {
		return []store.Series{}, nil
	}
	form := url.Values{"query": {expr}, "start": {unixSeconds(first.Add(req.Step))},
		"end": {unixSeconds(last.Add(req.Step))}, "step": {strconv.FormatFloat(req.Step.Seconds(), 'f', -1, 64)}}
	var res []struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	if err := p.call(ctx, "query_range", form, &res); err != nil {
		return nil, err
	}
	out := make([]store.Series, 0, len(res))
	for _, r := range res {
		ser := store.Series{Tags: map[string]string{}, Points: [][2]float64{}}
		for k, v := range r.Metric {
			if v != "" {
				ser.Tags[k] = v
			}
		}
		for _, pt := range r.Values {
			t, v, ok := promSample(pt)
			if !ok {
				continue
			}
			ms := math.Round(t*1000) - float64(req.Step.Milliseconds())
			ser.Points = append(ser.Points, [2]float64{ms, v / src.Scale})
		}
		if len(ser.Points) > 0 {
			out = append(out, ser)
		}
	}
	sortSeries(out)
	return out, nil
}

// expr is the PromQL of one field.
func (p *Prometheus) expr(src hostmetrics.PromSource, host string, step time.Duration) string {
	sel := src.Name
	if host != "" {
		sel += `{host=` + strconv.Quote(host) + `}` // PromQL strings use Go's escapes
	}
	by := strings.Join(append([]string{"host"}, src.Labels...), ", ")
	if src.Counter {
		return fmt.Sprintf("avg by (%s) (rate(%s[%s]))", by, sel, promDuration(max(step, 4*p.cfg.ScrapeInterval)))
	}
	return fmt.Sprintf("avg by (%s) (avg_over_time(%s[%s]))", by, sel, promDuration(max(step, 2*p.cfg.ScrapeInterval)))
}

// hostsMetric is in every interval of every host (memory never fails on Linux).
const hostsMetric = "logcollect_host_memory_total_bytes"

// Hosts lists the hosts with a sample in the last HostsWindow and the time of their
// newest one: timestamp() of the raw samples, over a subquery every 5 minutes (the
// lookback, so no sample is missed) and, for the minutes since the last of its steps,
// now. label_replace keeps the two apart for `or`.
func (p *Prometheus) Hosts(ctx context.Context) ([]store.HostSeen, error) {
	expr := fmt.Sprintf(`max by (host) (label_replace(max_over_time(timestamp(%[1]s)[%[2]s:5m]), "src", "window", "", "")`+
		` or label_replace(timestamp(%[1]s), "src", "now", "", ""))`, hostsMetric, promDuration(HostsWindow))
	var res []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	if err := p.call(ctx, "query", url.Values{"query": {expr}}, &res); err != nil {
		return nil, err
	}
	out := make([]store.HostSeen, 0, len(res))
	for _, r := range res {
		_, ts, ok := promSample(r.Value)
		if h := r.Metric["host"]; ok && h != "" {
			out = append(out, store.HostSeen{Host: h, LastSeen: time.UnixMilli(int64(math.Round(ts * 1000))).UTC()})
		}
	}
	sortHosts(out)
	return out, nil
}

// Check asks Prometheus whether it is ready (/healthz).
func (p *Prometheus) Check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base.JoinPath("-", "ready").String(), nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("Prometheus at server.prometheus.url: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("Prometheus at server.prometheus.url is not ready: %s", resp.Status)
	}
	return nil
}

// call POSTs a form to /api/v1/<endpoint> and decodes data.result into result.
func (p *Prometheus) call(ctx context.Context, endpoint string, form url.Values, result any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base.JoinPath("api", "v1", endpoint).String(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("query Prometheus at server.prometheus.url: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read Prometheus answer: %w", err)
	}
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return fmt.Errorf("Prometheus answered %s: %.200s", resp.Status, body)
	}
	if ans.Status != "success" {
		return fmt.Errorf("Prometheus: %s (%s)", ans.Error, resp.Status)
	}
	if err := json.Unmarshal(ans.Data.Result, result); err != nil {
		return fmt.Errorf("Prometheus %s result: %w", endpoint, err)
	}
	return nil
}

// promSample reads [unix seconds, "value"]; NaN and infinities (no data) are not ok.
func promSample(s [2]any) (t, v float64, ok bool) {
	t, ok1 := s[0].(float64)
	str, ok2 := s[1].(string)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, false
	}
	return t, v, true
}

func floorTo(t time.Time, step time.Duration) time.Time {
	ns := t.UnixNano()
	s := int64(step)
	q := ns / s
	if ns%s < 0 {
		q--
	}
	return time.Unix(0, q*s)
}

func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// promDuration writes d in PromQL's units (whole milliseconds at least).
func promDuration(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}
