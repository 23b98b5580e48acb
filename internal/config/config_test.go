package config

import (
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse(nil, "/etc/logcollect.yaml", noEnv)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	def := Default()
	if cfg.Kafka.Acks != "all" || cfg.Kafka.Compression != "snappy" || cfg.Agent.MaxOpenFiles != 1024 {
		t.Fatalf("defaults not applied: %+v", cfg.Kafka)
	}
	if time.Duration(cfg.Sysagent.Interval) != 10*time.Second || cfg.OpenSearch.Index != def.OpenSearch.Index {
		t.Fatalf("defaults not applied: %+v", cfg.Sysagent)
	}
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "kafak: {}\n", "kafak: unknown key"},
		{"unknown nested key", "kafka:\n  broker: [a:1]\n", "kafka.broker: unknown key"},
		{"bad enum", "kafka:\n  acks: some\n", "kafka.acks: must be one of all, leader, none"},
		{"bad compression", "kafka:\n  compression: brotli\n", "kafka.compression: must be one of"},
		{"wrong type int", "agent:\n  max_open_files: many\n", "agent.max_open_files: must be an integer"},
		{"wrong type bool", "kafka:\n  tls: {enabled: maybe}\n", "kafka.tls.enabled: must be true or false"},
		{"list expected", "kafka:\n  brokers: a:1\n", "kafka.brokers: must be a list"},
		{"mapping expected", "kafka: 3\n", "kafka: must be a mapping of keys"},
		{"bad duration", "sysagent:\n  interval: soon\n", "sysagent.interval: time: invalid duration"},
		{"negative duration", "sysagent:\n  interval: -1s\n", "sysagent.interval: must be a positive duration"},
		{"influx bucket without org", "sysagent:\n  influxdb: {bucket: b}\n", "sysagent.influxdb.org: required"},
		{"influx without database", "sysagent:\n  influxdb: {database: \"\"}\n", "sysagent.influxdb.database: required"},
		{"zero buffer", "sysagent:\n  buffer_points: 0\n", "sysagent.buffer_points: must be positive"},
		{"bad broker", "kafka:\n  brokers: [nohost]\n", "kafka.brokers[0]: must be host:port"},
		{"bad kafka headers", "kafka:\n  headers: some\n", "kafka.headers: must be one of compact, full"},
		{"agent id with colon", "agent:\n  id: 'web:1'\n", "agent.id: \"web:1\" must not contain ':' with kafka.headers compact"},
		{"entry without topic", "agent:\n  collect:\n    - {path: /var/log/a.log}\n", "agent.collect[0]: entry \"/var/log/a.log\": topic: required"},
		{"entry unknown field", "agent:\n  collect:\n    - {path: /a.log, topic: t, colour: red}\n", "agent.collect[0].colour: unknown key"},
		{"entry bad regex", "agent:\n  collect:\n    - {path: /a.log, topic: t, include_lines: ['(']}\n", "include_lines: error parsing regexp"},
		{"entry outside allowlist", "agent:\n  allowed_paths: [/var/log/**]\n  collect:\n    - {path: /etc/passwd, topic: t}\n", "outside agent.allowed_paths"},
		{"file output needs file", "agent:\n  output: file\n  output_file: ''\n", "agent.output_file: required"},
		{"bad log level", "log: {level: loud}\n", "log.level: must be one of"},
		{"bad url", "opensearch:\n  addresses: [localhost:9200]\n", "opensearch.addresses[0]: must be an http"},
		{"bad topic regex", "transfer:\n  topic_regex: '('\n", "transfer.topic_regex"},
		{"transfer bad start", "transfer:\n  start: middle\n", "transfer.start: must be one of earliest, latest"},
		{"transfer small budget", "transfer:\n  max_buffered_bytes: 1KiB\n", "transfer.max_buffered_bytes: must be at least 1MiB"},
		{"transfer budget below batches", "transfer:\n  max_buffered_bytes: 8MiB\nopensearch:\n  bulk_max_bytes: 5MiB\n", "transfer.max_buffered_bytes: must be at least twice opensearch.bulk_max_bytes"},
		{"parse bad format", "transfer:\n  parse:\n    - {topic: t, format: xml}\n", "transfer.parse[0].format: must be one of json"},
		{"parse no topic", "transfer:\n  parse:\n    - {format: json}\n", "transfer.parse[0].topic: required"},
		{"parse regex without group", "transfer:\n  parse:\n    - {topic: t, format: regex, pattern: 'a+'}\n", "transfer.parse[0].pattern: needs at least one named group"},
		{"parse pattern not regex", "transfer:\n  parse:\n    - {topic: t, format: json, pattern: 'a'}\n", "transfer.parse[0].pattern: only used with format regex"},
		{"parse unknown key", "transfer:\n  parse:\n    - {topic: t, format: json, colour: red}\n", "transfer.parse[0].colour: unknown key"},
		{"transfer session timeout", "transfer:\n  session_timeout: 1s\n", "transfer.session_timeout: must be between 6s and 30m"},
		{"bulk concurrency", "opensearch:\n  bulk_concurrency: 0\n", "opensearch.bulk_concurrency: must be 1..64"},
		{"bulk docs", "opensearch:\n  bulk_max_docs: 0\n", "opensearch.bulk_max_docs: must be at least 1"},
		{"bad retention", "opensearch:\n  retention: 2 weeks\n", "opensearch.retention: must be a number of days or hours"},
		{"bad template name", "opensearch:\n  template: Logs!\n", "opensearch.template: lowercase letters"},
		{"query timeout zero", "store:\n  query_timeout: 0s\n", "store.query_timeout: must be from 1s to 10m"},
		{"query timeout long", "store:\n  query_timeout: 1h\n", "store.query_timeout: must be from 1s to 10m"},
		{"server metrics", "server:\n  metrics: graphite\n", "server.metrics: must be one of influxdb, prometheus"},
		{"server prometheus url", "server:\n  metrics: prometheus\n  prometheus: {url: \"localhost:9090\"}\n", "server.prometheus.url: must be an http"},
		{"server scrape interval", "server:\n  metrics: prometheus\n  prometheus: {scrape_interval: 0s}\n", "server.prometheus.scrape_interval: must be a positive"},
		{"two documents", "log: {level: info}\n---\nlog: {level: info}\n", "more than one YAML document"},
		{"not yaml", "kafka: [\n", "not valid YAML"},
		{"tls file missing", "kafka:\n  tls: {enabled: true, ca_file: /nonexistent/ca.pem}\n", "kafka.tls.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "/etc/c.yaml", noEnv)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// An agent id with ':' is fine where the key is not read back: full headers, or an
// output other than Kafka.
func TestAgentIDColonAllowedElsewhere(t *testing.T) {
	for _, y := range []string{
		"agent:\n  id: 'web:1'\nkafka:\n  headers: full\n",
		"agent:\n  id: 'web:1'\n  output: stdout\n",
	} {
		if _, err := Parse([]byte(y), "/etc/c.yaml", noEnv); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestParseYAMLValues(t *testing.T) {
	src := `
agent:
  id: web-1
  collect:
    - path: logs/app.log
      topic: app_log
      fields: {service: checkout}
      multiline: {pattern: '^\s', timeout: 3s}
kafka:
  brokers: [k1:9092, k2:9092]
  acks: leader
  max_buffered_bytes: 128MiB
etcd:
  endpoints: []
sysagent:
  interval: 30s
`
	cfg, err := Parse([]byte(src), "/srv/conf/c.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Agent.DataDir != "/srv/conf/data/agent" {
		t.Errorf("default data_dir must be relative to the config file, got %q", cfg.Agent.DataDir)
	}
	if got := cfg.Agent.Collect[0].Path; got != "/srv/conf/logs/app.log" {
		t.Errorf("relative collect path resolved to %q", got)
	}
	if cfg.Agent.Collect[0].Fields["service"] != "checkout" {
		t.Errorf("fields: %v", cfg.Agent.Collect[0].Fields)
	}
	if time.Duration(cfg.Agent.Collect[0].Multiline.Timeout) != 3*time.Second {
		t.Errorf("multiline timeout: %v", cfg.Agent.Collect[0].Multiline.Timeout)
	}
	if cfg.Kafka.MaxBufferedBytes != 128<<20 || cfg.Kafka.Acks != "leader" || len(cfg.Kafka.Brokers) != 2 {
		t.Errorf("kafka: %+v", cfg.Kafka)
	}
	if len(cfg.Etcd.Endpoints) != 0 {
		t.Errorf("etcd.endpoints: [] must mean none, got %v", cfg.Etcd.Endpoints)
	}
	if time.Duration(cfg.Sysagent.Interval) != 30*time.Second {
		t.Errorf("interval %v", cfg.Sysagent.Interval)
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(Config) bool
		want  string // error substring, or "" for success
	}{
		{"brokers list", map[string]string{"LOGCOLLECT_KAFKA_BROKERS": "a:9092, b:9092"},
			func(c Config) bool { return len(c.Kafka.Brokers) == 2 && c.Kafka.Brokers[1] == "b:9092" }, ""},
		{"nested bool", map[string]string{"LOGCOLLECT_KAFKA_TLS_INSECURE_SKIP_VERIFY": "true"},
			func(c Config) bool { return c.Kafka.TLS.InsecureSkipVerify }, ""},
		{"nested section", map[string]string{"LOGCOLLECT_SYSAGENT_INFLUXDB_DATABASE": "hosts"},
			func(c Config) bool { return c.Sysagent.InfluxDB.Database == "hosts" }, ""},
		{"duration", map[string]string{"LOGCOLLECT_AGENT_CLOSE_INACTIVE": "1m"},
			func(c Config) bool { return time.Duration(c.Agent.CloseInactive) == time.Minute }, ""},
		{"entries as JSON", map[string]string{"LOGCOLLECT_AGENT_COLLECT": `[{"path":"/var/log/x.log","topic":"x"}]`},
			func(c Config) bool { return len(c.Agent.Collect) == 1 && c.Agent.Collect[0].Topic == "x" }, ""},
		{"env beats file", map[string]string{"LOGCOLLECT_LOG_LEVEL": "debug"},
			func(c Config) bool { return c.Log.Level == "debug" }, ""},
		{"bad int names variable", map[string]string{"LOGCOLLECT_AGENT_MAX_OPEN_FILES": "lots"}, nil,
			"agent.max_open_files (from LOGCOLLECT_AGENT_MAX_OPEN_FILES): must be an integer"},
		{"bad enum after override", map[string]string{"LOGCOLLECT_KAFKA_ACKS": "2"}, nil, "kafka.acks: must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("log: {level: warn}\n"), "/c.yaml", envMap(tt.env))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Fatalf("override not applied: %+v", cfg)
			}
		})
	}
}

func TestParseINI(t *testing.T) {
	src := `
[kafka]
address = 127.0.0.1:9092
topic = web_log
chan_size = 100000

[collect]
logfile_path = /var/log/nginx/access.log

[etcd]
address=127.0.0.1:2379
collect_key=collect_log_conf
`
	cfg, err := Parse([]byte(src), "/etc/config.ini", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Agent.Collect) != 1 || cfg.Agent.Collect[0].Path != "/var/log/nginx/access.log" || cfg.Agent.Collect[0].Topic != "web_log" {
		t.Errorf("collect: %+v", cfg.Agent.Collect)
	}
	if cfg.Kafka.Brokers[0] != "127.0.0.1:9092" || cfg.Kafka.Topic != "web_log" {
		t.Errorf("kafka: %+v", cfg.Kafka)
	}
	if cfg.Etcd.Endpoints[0] != "127.0.0.1:2379" || cfg.Etcd.CollectKeys[0] != "collect_log_conf" || len(cfg.Etcd.CollectKeys) != 1 {
		t.Errorf("etcd: %+v", cfg.Etcd)
	}

	noEtcd, err := Parse([]byte("[kafka]\naddress=k:1\ntopic=t\n[collect]\nlogfile_path=/a.log\n"), "/x.ini", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(noEtcd.Etcd.Endpoints) != 0 {
		t.Errorf("INI without [etcd] must not use etcd, got %v", noEtcd.Etcd.Endpoints)
	}
}

func TestParseINIErrors(t *testing.T) {
	tests := []struct{ name, ini, want string }{
		{"unknown section", "[mysql]\nhost=x\n", "[mysql]: unknown section"},
		{"unknown key", "[kafka]\nadress=x:1\n", "[kafka] adress: unknown key"},
		{"no equals", "[kafka]\naddress\n", "line 2: expected key = value"},
		{"key outside section", "address=x\n", "outside a [section]"},
		{"path without topic", "[kafka]\naddress=x:1\n[collect]\nlogfile_path=/a.log\n", "[kafka] topic: required"},
		{"bad broker", "[kafka]\naddress=nohost\ntopic=t\n", "kafka.brokers[0]: must be host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.ini), "/c.ini", noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	cfg := Default()
	cfg.Kafka.SASL.Password = "hunter2"
	cfg.Etcd.Password = "s3cret"
	cfg.Sysagent.InfluxDB.Token = "tok"
	out, err := cfg.Masked().YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "s3cret", "tok\n"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("secret %q printed:\n%s", secret, out)
		}
	}
	if cfg.Kafka.SASL.Password != "hunter2" {
		t.Error("Masked changed the original")
	}
	// The printed YAML must load back to the same effective configuration.
	again, err := Parse(out, "/c.yaml", noEnv)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	if again.Agent.CloseInactive != cfg.Agent.CloseInactive || again.Kafka.Compression != cfg.Kafka.Compression {
		t.Errorf("round trip changed values")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("kafka:\n  brokers: [a:1]\n"), false)
	f.Add([]byte("agent:\n  collect:\n    - {path: /a, topic: t, multiline: {pattern: x}}\n"), false)
	f.Add([]byte("[kafka]\naddress=a:1\ntopic=t\n[collect]\nlogfile_path=/x\n"), true)
	f.Add([]byte("a: &x [1]\nb: *x\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, ini bool) {
		name := "/c.yaml"
		if ini {
			name = "/c.ini"
		}
		cfg, err := Parse(data, name, noEnv)
		if err == nil {
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}
