// Package config loads the logcollect configuration file (YAML, or the original course
// project's INI), fills in defaults, applies LOGCOLLECT_* environment overrides and
// validates every key, naming the key in each error.
package config

import (
	"time"

	"github.com/logcollect/logcollect/internal/httpserver"

	"github.com/logcollect/logcollect/internal/control/entry"
)

// Config is the whole file. Each subcommand reads its own sections.
type Config struct {
	Agent      Agent      `yaml:"agent"`
	Kafka      Kafka      `yaml:"kafka"`
	Etcd       Etcd       `yaml:"etcd"`
	Transfer   Transfer   `yaml:"transfer"`
	OpenSearch OpenSearch `yaml:"opensearch"`
	Sysagent   Sysagent   `yaml:"sysagent"`
	HTTP       HTTP       `yaml:"http"`
	Log        Log        `yaml:"log"`
	Store      Store      `yaml:"store"`
	Server     Server     `yaml:"server"`
}

// Duration is a time.Duration written as "10s".
type Duration = entry.Duration

// Agent is the agent section: what to tail and where to keep state.
type Agent struct {
	ID           string        `yaml:"id"`
	DataDir      string        `yaml:"data_dir"`
	AllowedPaths []string      `yaml:"allowed_paths"`
	Collect      []entry.Entry `yaml:"collect"`
	Output       string        `yaml:"output"` // kafka | file | stdout
	OutputFile   string        `yaml:"output_file"`

	MaxOpenFiles       int      `yaml:"max_open_files"`
	CloseInactive      Duration `yaml:"close_inactive"`
	CloseRemovedAfter  Duration `yaml:"close_removed_after"`
	ShutdownTimeout    Duration `yaml:"shutdown_timeout"`
	ScanInterval       Duration `yaml:"scan_interval"`
	Watch              string   `yaml:"watch"` // auto | inotify | poll
	CheckpointInterval Duration `yaml:"checkpoint_interval"`
	CheckpointPrune    Duration `yaml:"checkpoint_prune_after"`
	ReadBufferBytes    int      `yaml:"read_buffer_bytes"`
	// Sysmetrics runs the host metrics collector (the sysagent section) inside the agent.
	Sysmetrics bool `yaml:"sysmetrics"`
}

// TLS is shared by every client section.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL is Kafka's authentication.
type SASL struct {
	Mechanism string `yaml:"mechanism"` // "" | PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
	Username  string `yaml:"username"`
	Password  string `yaml:"password" secret:"true"`
}

// Kafka is the producer (agent) and consumer (transfer) connection.
type Kafka struct {
	Brokers          []string `yaml:"brokers"`
	Acks             string   `yaml:"acks"`        // all | leader | none
	Compression      string   `yaml:"compression"` // none | gzip | snappy | lz4 | zstd
	Partitioner      string   `yaml:"partitioner"` // key | round_robin
	ClientID         string   `yaml:"client_id"`
	BatchMaxBytes    int      `yaml:"batch_max_bytes"`
	Linger           Duration `yaml:"linger"`
	MaxBufferedBytes int64    `yaml:"max_buffered_bytes"`
	// Headers is what a record carries beside its key and line: compact or full
	// (internal/kafka, docs/architecture.md "Kafka record").
	Headers string `yaml:"headers"`
	Topic   string `yaml:"topic"` // default topic for entries without one (INI compatibility)
	TLS     TLS    `yaml:"tls"`
	SASL    SASL   `yaml:"sasl"`
}

// HeadersCompact and HeadersFull are the values of kafka.headers.
const (
	HeadersCompact = "compact"
	HeadersFull    = "full"
)

// Etcd is the config center connection.
type Etcd struct {
	Endpoints   []string `yaml:"endpoints"`
	CollectKeys []string `yaml:"collect_keys"`
	DialTimeout Duration `yaml:"dial_timeout"`
	LeaseTTL    Duration `yaml:"lease_ttl"`
	Username    string   `yaml:"username"`
	Password    string   `yaml:"password" secret:"true"`
	TLS         TLS      `yaml:"tls"`
}

// Transfer is the Kafka → OpenSearch consumer.
type Transfer struct {
	Group      string   `yaml:"group"`
	Topics     []string `yaml:"topics"`
	TopicRegex string   `yaml:"topic_regex"`
	Sink       string   `yaml:"sink"` // opensearch | file | stdout
	OutputFile string   `yaml:"output_file"`

	Start            string      `yaml:"start"` // earliest | latest
	MaxBufferedBytes int64       `yaml:"max_buffered_bytes"`
	Parse            []ParseRule `yaml:"parse"`
	DLQTopic         string      `yaml:"dlq_topic"` // {topic} expands; "" turns the dead-letter topic off
	ShutdownTimeout  Duration    `yaml:"shutdown_timeout"`
	CommitInterval   Duration    `yaml:"commit_interval"`
	SessionTimeout   Duration    `yaml:"session_timeout"` // how long a dead instance keeps its partitions
	// InstanceID is the static group member id ({hostname} expands): a restarted instance
	// takes its partitions back at once. "" joins as a dynamic member.
	InstanceID string `yaml:"instance_id"`
}

// ParseRule turns the lines of the matching topics into fields.
type ParseRule struct {
	Topic      string `yaml:"topic" json:"topic"`   // a topic name or a glob (web_*)
	Format     string `yaml:"format" json:"format"` // json | logfmt | regex | nginx_combined | apache_combined
	Pattern    string `yaml:"pattern" json:"pattern"`
	TimeField  string `yaml:"time_field" json:"time_field"`   // parsed field that becomes @timestamp
	TimeLayout string `yaml:"time_layout" json:"time_layout"` // Go layout of that field; default RFC 3339
}

// OpenSearch is the transfer's sink.
type OpenSearch struct {
	Addresses []string `yaml:"addresses"`
	Index     string   `yaml:"index"`
	Username  string   `yaml:"username"`
	Password  string   `yaml:"password" secret:"true"`
	TLS       TLS      `yaml:"tls"`

	BulkMaxBytes    int      `yaml:"bulk_max_bytes"`
	BulkMaxDocs     int      `yaml:"bulk_max_docs"`
	FlushInterval   Duration `yaml:"flush_interval"`
	BulkConcurrency int      `yaml:"bulk_concurrency"`
	Compress        bool     `yaml:"compress"` // gzip request bodies
	RequestTimeout  Duration `yaml:"request_timeout"`
	MaxRetryBackoff Duration `yaml:"max_retry_backoff"`
	Retention       string   `yaml:"retention"` // e.g. 14d; "" keeps indices forever
	Template        string   `yaml:"template"`  // name of the index template and ISM policy; "" installs none
	Shards          int      `yaml:"shards"`
	Replicas        int      `yaml:"replicas"`
	RefreshInterval string   `yaml:"refresh_interval"`
}

// Sysagent is the host metrics collector.
type Sysagent struct {
	Interval         Duration `yaml:"interval"`
	InfluxDB         InfluxDB `yaml:"influxdb"`
	PrometheusListen string   `yaml:"prometheus_listen"`
	// Host is the host tag of every point; empty means the hostname.
	Host string `yaml:"host"`
	// BufferPoints bounds the points held while InfluxDB is down; the oldest go first.
	BufferPoints int `yaml:"buffer_points"`
}

// InfluxDB is where sysagent writes line protocol (1.x database or 2.x org/bucket).
type InfluxDB struct {
	URL      string `yaml:"url"`
	Database string `yaml:"database"`
	Token    string `yaml:"token" secret:"true"`
	Org      string `yaml:"org"`
	Bucket   string `yaml:"bucket"`
}

// HTTP is the process's API, UI, /metrics and /healthz listener.
type HTTP struct {
	Listen string   `yaml:"listen"`
	Auth   HTTPAuth `yaml:"auth"`
	// AllowedHosts are the names (host or host:port) the listener answers to besides its
	// listen address and localhost, 127.0.0.1 and [::1] on its port: a reverse proxy's
	// name, or the machine's names when listening on 0.0.0.0. Any other Host is refused
	// (DNS rebinding).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// Pprof serves Go's profiler at /debug/pprof/ on http.listen (off by default: it
	// shows the process's internals and costs CPU while a profile runs).
	Pprof bool `yaml:"pprof"`
}

// HTTPAuth protects the standalone's API and UI: a bearer token, or basic auth. It is
// required when http.listen is not a loopback address.
type HTTPAuth struct {
	Token    string `yaml:"token" secret:"true"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
}

// Credential is the credential the HTTP server requires (none when nothing is set).
func (a HTTPAuth) Credential() httpserver.Auth {
	return httpserver.Auth{Token: a.Token, Username: a.Username, Password: a.Password}
}

// Store is the embedded log store of `logcollect standalone`.
type Store struct {
	Path      string   `yaml:"path"`
	Retention Duration `yaml:"retention"` // 0: keep forever
	MaxBytes  int64    `yaml:"max_bytes"` // 0: no size limit
	// MaxTimeSkew: a line stamped more than this after it was read is stored at its read
	// time (counted). 0: no limit.
	MaxTimeSkew Duration `yaml:"max_time_skew"`
	// QueryTimeout bounds one search, histogram, context, fields or metrics request.
	QueryTimeout Duration `yaml:"query_timeout"`
}

// Server is `logcollect server`: the API and web UI over a cluster. Logs come from
// opensearch, entries and live components from etcd, host metrics from InfluxDB
// (sysagent.influxdb: where the sysagents write) or Prometheus.
type Server struct {
	Metrics    string           `yaml:"metrics"` // influxdb | prometheus
	Prometheus ServerPrometheus `yaml:"prometheus"`
}

// ServerPrometheus is the Prometheus that scrapes the sysagents' logcollect_host_* metrics.
type ServerPrometheus struct {
	URL string `yaml:"url"`
	// ScrapeInterval is that job's scrape interval: the shortest window of an average
	// is twice it, of a rate four times it.
	ScrapeInterval Duration `yaml:"scrape_interval"`
}

// Log configures log/slog.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Default returns the configuration used when a key is not set.
func Default() Config {
	return Config{
		Agent: Agent{
			DataDir:            "./data/agent",
			Output:             "kafka",
			OutputFile:         "./out.log",
			MaxOpenFiles:       1024,
			CloseInactive:      Duration(5 * time.Minute),
			CloseRemovedAfter:  Duration(time.Hour),
			ShutdownTimeout:    Duration(10 * time.Second),
			ScanInterval:       Duration(10 * time.Second),
			Watch:              "auto",
			CheckpointInterval: Duration(10 * time.Millisecond),
			CheckpointPrune:    Duration(72 * time.Hour),
			ReadBufferBytes:    256 << 10,
		},
		// 512 KiB batches and a 12 MiB budget: a partition's share of a produce request
		// (compressed up to the cap) holds ~2.2 MiB of access lines instead of ~4.4, so a
		// request no longer takes the whole budget and reading goes on while it is
		// acknowledged: 1.10–1.23× the lines/s of 1 MiB batches and a 9 MiB budget, in less
		// memory (53 against 56 MiB peak RSS): docs/benchmarks.md, issue 20. The batch cap
		// is also the largest record: a longer line goes to the dead letter.
		Kafka: Kafka{
			Brokers:          []string{"127.0.0.1:9092"},
			Acks:             "all",
			Compression:      "snappy", // least CPU per line in Go: docs/benchmarks.md
			Partitioner:      "key",
			ClientID:         "logcollect",
			BatchMaxBytes:    512 << 10,
			Linger:           Duration(5 * time.Millisecond),
			MaxBufferedBytes: 12 << 20, // ~29,000 access-log lines in flight
			Headers:          HeadersCompact,
		},
		Etcd: Etcd{
			Endpoints:   []string{"127.0.0.1:2379"},
			CollectKeys: []string{"collect_log_conf", "collect_log_{ip}_conf"},
			DialTimeout: Duration(5 * time.Second),
			LeaseTTL:    Duration(10 * time.Second),
		},
		Transfer: Transfer{
			Group:            "logtransfer",
			Sink:             "opensearch",
			Start:            "earliest",
			MaxBufferedBytes: 64 << 20,
			DLQTopic:         "{topic}.dlq",
			ShutdownTimeout:  Duration(30 * time.Second),
			CommitInterval:   Duration(time.Second),
			SessionTimeout:   Duration(10 * time.Second),
			InstanceID:       "{hostname}",
		},
		OpenSearch: OpenSearch{
			Addresses:       []string{"http://127.0.0.1:9200"},
			Index:           "{topic}-{date}",
			BulkMaxBytes:    5 << 20,
			BulkMaxDocs:     5000,
			FlushInterval:   Duration(time.Second),
			BulkConcurrency: 2,
			RequestTimeout:  Duration(60 * time.Second),
			MaxRetryBackoff: Duration(10 * time.Second),
			Template:        "logcollect",
			Shards:          1,
			Replicas:        0,
			RefreshInterval: "1s",
		},
		Sysagent: Sysagent{
			Interval: Duration(10 * time.Second),
			InfluxDB: InfluxDB{URL: "http://127.0.0.1:8086", Database: "sysinfo"},
			// About 50 minutes of a small host's points at the 10 s interval, a few MiB.
			BufferPoints: 10000,
		},
		HTTP: HTTP{Listen: "127.0.0.1:8080"},
		Log:  Log{Level: "info", Format: "text"},
		Store: Store{Path: "./data/store", Retention: Duration(7 * 24 * time.Hour), MaxTimeSkew: Duration(24 * time.Hour),
			QueryTimeout: Duration(10 * time.Second)},
		Server: Server{Metrics: "influxdb",
			Prometheus: ServerPrometheus{URL: "http://127.0.0.1:9090", ScrapeInterval: Duration(15 * time.Second)}},
	}
}
