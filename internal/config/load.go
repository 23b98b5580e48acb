package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes is the largest configuration file Load accepts. A real one is a few KiB;
// the limit keeps a wrong path (/dev/zero, a log file) from being read into memory whole.
const MaxFileBytes = 1 << 20

// Load reads the configuration file at path (YAML, or the original INI format when the
// name ends in .ini), fills in defaults, applies LOGCOLLECT_* environment overrides and
// validates. Every error names the file and the key. A file over MaxFileBytes is refused.
func Load(path string) (Config, error) {
	data, err := readLimited(path, MaxFileBytes)
	if err != nil {
		return Config{}, err
	}
	cfg, err := Parse(data, path, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Agent.FillID(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.recordKey(); err != nil { // the hostname, now that it is the id
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// readLimited reads the file at path, reading at most limit+1 bytes, so an endless file
// (/dev/zero, a pipe) is refused at once.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("config %s: larger than %d bytes (%d KiB), the limit for a configuration file", path, limit, limit>>10)
	}
	return data, nil
}

// Parse decodes configuration bytes. name decides the format (.ini or YAML) and is the
// folder against which relative agent.collect paths are resolved; lookup reads the
// environment (os.LookupEnv, or a map in tests).
func Parse(data []byte, name string, lookup func(string) (string, bool)) (Config, error) {
	cfg := Default()
	if strings.EqualFold(filepath.Ext(name), ".ini") {
		if err := fromINI(data, &cfg); err != nil {
			return Config{}, err
		}
	} else if err := decodeYAML(data, &cfg); err != nil {
		return Config{}, err
	}
	if err := applyEnv(&cfg, lookup); err != nil {
		return Config{}, err
	}
	if err := resolvePaths(&cfg, filepath.Dir(name)); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// resolvePaths makes every relative file path absolute against the config file's folder
// (defaults included), so a config behaves the same from any working directory.
func resolvePaths(cfg *Config, base string) error {
	paths := map[string]*string{
		"agent.data_dir":           &cfg.Agent.DataDir,
		"agent.output_file":        &cfg.Agent.OutputFile,
		"store.path":               &cfg.Store.Path,
		"transfer.output_file":     &cfg.Transfer.OutputFile,
		"kafka.tls.ca_file":        &cfg.Kafka.TLS.CAFile,
		"kafka.tls.cert_file":      &cfg.Kafka.TLS.CertFile,
		"kafka.tls.key_file":       &cfg.Kafka.TLS.KeyFile,
		"etcd.tls.ca_file":         &cfg.Etcd.TLS.CAFile,
		"etcd.tls.cert_file":       &cfg.Etcd.TLS.CertFile,
		"etcd.tls.key_file":        &cfg.Etcd.TLS.KeyFile,
		"opensearch.tls.ca_file":   &cfg.OpenSearch.TLS.CAFile,
		"opensearch.tls.cert_file": &cfg.OpenSearch.TLS.CertFile,
		"opensearch.tls.key_file":  &cfg.OpenSearch.TLS.KeyFile,
	}
	for i := range cfg.Agent.Collect {
		paths[fmt.Sprintf("agent.collect[%d].path", i)] = &cfg.Agent.Collect[i].Path
	}
	for key, p := range paths {
		if *p == "" || filepath.IsAbs(*p) || *p == "-" {
			continue
		}
		abs, err := filepath.Abs(filepath.Join(base, *p))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*p = abs
	}
	return nil
}

func decodeYAML(data []byte, cfg *Config) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return errors.New("more than one YAML document; logcollect reads one")
	}
	return decodeNode(&doc, reflect.ValueOf(cfg).Elem(), "")
}

// FillID sets agent.id to the hostname when it is not set (its documented default).
func (a *Agent) FillID() error {
	if a.ID != "" {
		return nil
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("agent.id: not set and the hostname is unknown: %w", err)
	}
	a.ID = host
	return nil
}

// Masked returns a copy with every secret replaced by "***", for printing.
func (c Config) Masked() Config {
	maskSecrets(reflect.ValueOf(&c).Elem())
	return c
}

func maskSecrets(v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := v.Field(i)
		switch {
		case t.Field(i).Tag.Get("secret") == "true" && f.Kind() == reflect.String && f.String() != "":
			f.SetString("***")
		case f.Kind() == reflect.Struct && t.Field(i).IsExported():
			maskSecrets(f)
		}
	}
}

// YAML renders the configuration as YAML (secrets are not masked: call Masked first).
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
