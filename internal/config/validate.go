package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/logcollect/logcollect/internal/httpserver"
)

// Validate checks every section and returns all problems at once, each naming its key.
func (c Config) Validate() error {
	return errors.Join(
		c.Agent.Validate(),
		c.Kafka.Validate(c.Agent.Output == "kafka"),
		c.recordKey(),
		c.Etcd.Validate(),
		c.Transfer.Validate(),
		c.OpenSearch.Validate(),
		c.transferBudget(),
		c.Sysagent.Validate(),
		c.HTTP.Validate(),
		c.Log.Validate(),
		c.Store.Validate(),
		c.Server.Validate(),
	)
}

func oneOf(key, got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return fmt.Errorf("%s: must be one of %s (got %q)", key, strings.Join(allowed, ", "), got)
}

func positive(key string, d Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s: must be a positive duration such as 10s", key)
	}
	return nil
}

// Validate checks the agent section.
func (a Agent) Validate() error {
	errs := []error{
		oneOf("agent.output", a.Output, "kafka", "file", "stdout"),
		oneOf("agent.watch", a.Watch, "auto", "inotify", "poll"),
		positive("agent.close_inactive", a.CloseInactive),
		positive("agent.close_removed_after", a.CloseRemovedAfter),
		positive("agent.shutdown_timeout", a.ShutdownTimeout),
		positive("agent.scan_interval", a.ScanInterval),
		positive("agent.checkpoint_interval", a.CheckpointInterval),
		positive("agent.checkpoint_prune_after", a.CheckpointPrune),
	}
	if a.DataDir == "" {
		errs = append(errs, errors.New("agent.data_dir: required"))
	}
	if a.Output == "file" && a.OutputFile == "" {
		errs = append(errs, errors.New("agent.output_file: required when agent.output is file"))
	}
	if a.MaxOpenFiles < 1 {
		errs = append(errs, fmt.Errorf("agent.max_open_files: must be at least 1 (got %d)", a.MaxOpenFiles))
	}
	if a.ReadBufferBytes < 4096 {
		errs = append(errs, fmt.Errorf("agent.read_buffer_bytes: must be at least 4096 (got %d)", a.ReadBufferBytes))
	}
	for i, g := range a.AllowedPaths {
		if !strings.HasPrefix(g, "/") {
			errs = append(errs, fmt.Errorf("agent.allowed_paths[%d]: must be an absolute glob (got %q)", i, g))
		}
	}
	seen := map[string]bool{}
	for i, e := range a.Collect {
		if err := e.Validate(a.AllowedPaths); err != nil {
			errs = append(errs, fmt.Errorf("agent.collect[%d]: %w", i, err))
		}
		if seen[e.Path] {
			errs = append(errs, fmt.Errorf("agent.collect[%d].path: %q listed twice", i, e.Path))
		}
		seen[e.Path] = true
	}
	return errors.Join(errs...)
}

// recordKey refuses an agent id with ':' when records are compact: the transfer then
// takes the host from the key "<agent id>:<path>", up to its first ':'.
func (c Config) recordKey() error {
	if c.Agent.Output == "kafka" && c.Kafka.Headers == HeadersCompact && strings.Contains(c.Agent.ID, ":") {
		return fmt.Errorf("agent.id: %q must not contain ':' with kafka.headers compact (the record key is \"<agent id>:<path>\"); "+
			"choose another id or set kafka.headers to full", c.Agent.ID)
	}
	return nil
}

// Validate checks the kafka section; brokers are required only when something uses Kafka.
func (k Kafka) Validate(used bool) error {
	errs := []error{
		oneOf("kafka.acks", k.Acks, "all", "leader", "none"),
		oneOf("kafka.compression", k.Compression, "none", "gzip", "snappy", "lz4", "zstd"),
		oneOf("kafka.partitioner", k.Partitioner, "key", "round_robin"),
		oneOf("kafka.headers", k.Headers, HeadersCompact, HeadersFull),
		oneOf("kafka.sasl.mechanism", k.SASL.Mechanism, "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
		k.TLS.validate("kafka.tls"),
	}
	if used && len(k.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: at least one broker is required when agent.output is kafka"))
	}
	for i, b := range k.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("kafka.brokers[%d]: must be host:port (got %q)", i, b))
		}
	}
	if k.BatchMaxBytes < 1024 {
		errs = append(errs, fmt.Errorf("kafka.batch_max_bytes: must be at least 1024 (got %d)", k.BatchMaxBytes))
	}
	if k.Linger < 0 {
		errs = append(errs, errors.New("kafka.linger: must not be negative"))
	}
	if k.MaxBufferedBytes < int64(k.BatchMaxBytes) {
		errs = append(errs, fmt.Errorf("kafka.max_buffered_bytes: must be at least kafka.batch_max_bytes (%d)", k.BatchMaxBytes))
	}
	if k.SASL.Mechanism != "" && k.SASL.Username == "" {
		errs = append(errs, errors.New("kafka.sasl.username: required when kafka.sasl.mechanism is set"))
	}
	return errors.Join(errs...)
}

func (t TLS) validate(key string) error {
	if !t.Enabled {
		return nil
	}
	var errs []error
	for _, f := range []struct{ name, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", key, f.name, err))
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s: cert_file and key_file go together", key))
	}
	return errors.Join(errs...)
}

// Validate checks the etcd section. Empty endpoints mean "no etcd": static entries only.
func (e Etcd) Validate() error {
	errs := []error{positive("etcd.dial_timeout", e.DialTimeout), positive("etcd.lease_ttl", e.LeaseTTL), e.TLS.validate("etcd.tls")}
	if len(e.Endpoints) > 0 && len(e.CollectKeys) == 0 {
		errs = append(errs, errors.New("etcd.collect_keys: at least one key is required when etcd.endpoints is set"))
	}
	for i, k := range e.CollectKeys {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("etcd.collect_keys[%d]: must not be empty", i))
		}
	}
	if e.LeaseTTL > 0 && e.LeaseTTL < Duration(2e9) {
		errs = append(errs, errors.New("etcd.lease_ttl: must be at least 2s"))
	}
	return errors.Join(errs...)
}

// Validate checks the transfer section.
func (t Transfer) Validate() error {
	errs := []error{oneOf("transfer.sink", t.Sink, "opensearch", "file", "stdout")}
	if t.Group == "" {
		errs = append(errs, errors.New("transfer.group: required"))
	}
	if t.TopicRegex != "" {
		if len(t.Topics) > 0 {
			errs = append(errs, errors.New("transfer.topic_regex: set either transfer.topics or transfer.topic_regex, not both"))
		}
		if _, err := regexp.Compile(t.TopicRegex); err != nil {
			errs = append(errs, fmt.Errorf("transfer.topic_regex: %w", err))
		}
	}
	if t.Sink == "file" && t.OutputFile == "" {
		errs = append(errs, errors.New("transfer.output_file: required when transfer.sink is file"))
	}
	errs = append(errs, oneOf("transfer.start", t.Start, "earliest", "latest"),
		positive("transfer.shutdown_timeout", t.ShutdownTimeout),
		positive("transfer.commit_interval", t.CommitInterval))
	if t.SessionTimeout < Duration(6*time.Second) || t.SessionTimeout > Duration(30*time.Minute) {
		errs = append(errs, fmt.Errorf("transfer.session_timeout: must be between 6s and 30m, the broker's defaults (got %s)", time.Duration(t.SessionTimeout)))
	}
	if t.MaxBufferedBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("transfer.max_buffered_bytes: must be at least 1MiB (got %d)", t.MaxBufferedBytes))
	}
	for i, r := range t.Parse {
		errs = append(errs, r.validate(fmt.Sprintf("transfer.parse[%d]", i)))
	}
	return errors.Join(errs...)
}

// parseFormats are the values of transfer.parse[].format.
var parseFormats = []string{"json", "logfmt", "regex", "nginx_combined", "apache_combined"}

func (r ParseRule) validate(key string) error {
	errs := []error{oneOf(key+".format", r.Format, parseFormats...)}
	if r.Topic == "" {
		errs = append(errs, fmt.Errorf("%s.topic: required", key))
	} else if _, err := path.Match(r.Topic, ""); err != nil {
		errs = append(errs, fmt.Errorf("%s.topic: bad glob %q: %w", key, r.Topic, err))
	}
	switch {
	case r.Format == "regex" && r.Pattern == "":
		errs = append(errs, fmt.Errorf("%s.pattern: required when format is regex", key))
	case r.Format == "regex":
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.pattern: %w", key, err))
		} else if !slices.ContainsFunc(re.SubexpNames(), func(n string) bool { return n != "" }) {
			errs = append(errs, fmt.Errorf("%s.pattern: needs at least one named group such as (?P<status>\\d+)", key))
		}
	case r.Pattern != "":
		errs = append(errs, fmt.Errorf("%s.pattern: only used with format regex", key))
	}
	if r.TimeLayout != "" && r.TimeField == "" && r.Format != "nginx_combined" && r.Format != "apache_combined" {
		errs = append(errs, fmt.Errorf("%s.time_layout: set time_field too", key))
	}
	return errors.Join(errs...)
}

// transferBudget checks the keys of two sections that bound the transfer's memory together.
func (c Config) transferBudget() error {
	if c.Transfer.MaxBufferedBytes < 2*int64(c.OpenSearch.BulkMaxBytes) {
		return fmt.Errorf("transfer.max_buffered_bytes: must be at least twice opensearch.bulk_max_bytes (%d)", c.OpenSearch.BulkMaxBytes)
	}
	return nil
}

// Validate checks the opensearch section.
func (o OpenSearch) Validate() error {
	var errs []error
	for i, a := range o.Addresses {
		if err := httpURL(a); err != nil {
			errs = append(errs, fmt.Errorf("opensearch.addresses[%d]: %w", i, err))
		}
	}
	if o.Index == "" {
		errs = append(errs, errors.New("opensearch.index: required"))
	}
	if o.BulkMaxBytes < 4096 {
		errs = append(errs, fmt.Errorf("opensearch.bulk_max_bytes: must be at least 4096 (got %d)", o.BulkMaxBytes))
	}
	if o.BulkMaxDocs < 1 {
		errs = append(errs, fmt.Errorf("opensearch.bulk_max_docs: must be at least 1 (got %d)", o.BulkMaxDocs))
	}
	if o.BulkConcurrency < 1 || o.BulkConcurrency > 64 {
		errs = append(errs, fmt.Errorf("opensearch.bulk_concurrency: must be 1..64 (got %d)", o.BulkConcurrency))
	}
	errs = append(errs, positive("opensearch.flush_interval", o.FlushInterval),
		positive("opensearch.request_timeout", o.RequestTimeout),
		positive("opensearch.max_retry_backoff", o.MaxRetryBackoff))
	if o.Retention != "" && !retentionRe.MatchString(o.Retention) {
		errs = append(errs, fmt.Errorf("opensearch.retention: must be a number of days or hours such as 14d or 36h (got %q)", o.Retention))
	}
	if o.Retention != "" && o.Template == "" {
		errs = append(errs, errors.New("opensearch.retention: needs opensearch.template (the policy's name)"))
	}
	if o.Template != "" && !indexNameRe.MatchString(o.Template) {
		errs = append(errs, fmt.Errorf("opensearch.template: lowercase letters, digits, - and _ only (got %q)", o.Template))
	}
	if o.Shards < 1 {
		errs = append(errs, fmt.Errorf("opensearch.shards: must be at least 1 (got %d)", o.Shards))
	}
	if o.Replicas < 0 {
		errs = append(errs, fmt.Errorf("opensearch.replicas: must not be negative (got %d)", o.Replicas))
	}
	return errors.Join(append(errs, o.TLS.validate("opensearch.tls"))...)
}

var (
	retentionRe = regexp.MustCompile(`^[1-9][0-9]*[dh]$`)
	indexNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// Validate checks the sysagent section.
func (s Sysagent) Validate() error {
	errs := []error{positive("sysagent.interval", s.Interval)}
	if s.InfluxDB.URL != "" {
		if err := httpURL(s.InfluxDB.URL); err != nil {
			errs = append(errs, fmt.Errorf("sysagent.influxdb.url: %w", err))
		}
		switch {
		case s.InfluxDB.Bucket != "" && s.InfluxDB.Org == "":
			errs = append(errs, errors.New("sysagent.influxdb.org: required with sysagent.influxdb.bucket (InfluxDB 2.x)"))
		case s.InfluxDB.Bucket == "" && s.InfluxDB.Database == "":
			errs = append(errs, errors.New("sysagent.influxdb.database: required (InfluxDB 1.x), or set bucket and org (2.x); an empty url turns InfluxDB off"))
		}
	}
	if s.BufferPoints <= 0 {
		errs = append(errs, fmt.Errorf("sysagent.buffer_points: must be positive (got %d)", s.BufferPoints))
	}
	if s.PrometheusListen != "" {
		if _, _, err := net.SplitHostPort(s.PrometheusListen); err != nil {
			errs = append(errs, fmt.Errorf("sysagent.prometheus_listen: must be host:port (got %q)", s.PrometheusListen))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the http section. An empty listen address turns the listener off.
func (h HTTP) Validate() error {
	if h.Listen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(h.Listen); err != nil {
		return fmt.Errorf("http.listen: must be host:port (got %q)", h.Listen)
	}
	a := h.Auth
	switch {
	case a.Token != "" && (a.Username != "" || a.Password != ""):
		return errors.New("http.auth: set either token or username and password, not both")
	case (a.Username == "") != (a.Password == ""):
		return errors.New("http.auth: username and password go together")
	}
	for _, host := range h.AllowedHosts {
		if err := httpserver.ValidateAllowedHost(host); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the store section.
func (s Store) Validate() error {
	var errs []error
	if s.Path == "" {
		errs = append(errs, errors.New("store.path: must not be empty"))
	}
	if s.Retention < 0 {
		errs = append(errs, fmt.Errorf("store.retention: must not be negative (got %s)", time.Duration(s.Retention)))
	}
	if s.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("store.max_bytes: must not be negative (got %d)", s.MaxBytes))
	}
	if s.MaxTimeSkew < 0 {
		errs = append(errs, fmt.Errorf("store.max_time_skew: must not be negative (got %s)", time.Duration(s.MaxTimeSkew)))
	}
	if s.QueryTimeout < Duration(time.Second) || s.QueryTimeout > Duration(10*time.Minute) {
		errs = append(errs, fmt.Errorf("store.query_timeout: must be from 1s to 10m (got %s)", time.Duration(s.QueryTimeout)))
	}
	return errors.Join(errs...)
}

// Validate checks the server section. sysagent.influxdb is checked when the server starts
// with metrics: influxdb (an agent's file may turn InfluxDB off).
func (s Server) Validate() error {
	errs := []error{oneOf("server.metrics", s.Metrics, "influxdb", "prometheus")}
	if s.Metrics == "prometheus" {
		if err := httpURL(s.Prometheus.URL); err != nil {
			errs = append(errs, fmt.Errorf("server.prometheus.url: %w", err))
		}
		errs = append(errs, positive("server.prometheus.scrape_interval", s.Prometheus.ScrapeInterval))
	}
	return errors.Join(errs...)
}

// Validate checks the log section.
func (l Log) Validate() error {
	return errors.Join(
		oneOf("log.level", l.Level, "debug", "info", "warn", "error"),
		oneOf("log.format", l.Format, "text", "json"),
	)
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http:// or https:// URL (got %q)", s)
	}
	return nil
}
