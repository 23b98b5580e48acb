package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path (YAML, or the original INI format when the
// name ends in .ini), fills in defaults, applies LOGCOLLECT_* environment overrides and
// validates. Every error names the file and the key.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, path, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Agent.ID == "" {
		host, err := os.Hostname()
		if err != nil {
			return Config{}, fmt.Errorf("%s: agent.id: not set and the hostname is unknown: %w", path, err)
		}
		cfg.Agent.ID = host
	}
	return cfg, nil
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
	base := filepath.Dir(name)
	for i, e := range cfg.Agent.Collect {
		// A static entry may be written relative to the config file, which keeps example
		// configs usable from any working directory; etcd entries must be absolute.
		if e.Path != "" && !filepath.IsAbs(e.Path) {
			abs, err := filepath.Abs(filepath.Join(base, e.Path))
			if err != nil {
				return Config{}, fmt.Errorf("agent.collect[%d].path: %w", i, err)
			}
			cfg.Agent.Collect[i].Path = abs
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
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
